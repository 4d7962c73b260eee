/**
 * P1 service computer (the soft-token issuer), SPEC.md §Claim 1 and §Service checks, one code
 * path for every `Policy` (spec/soft-token/variants.ts).
 *
 * `receive(conn, bytes)` takes a message that arrived on TLS connection `conn` (C1 or C2; the
 * TLS layer names the connection, the attacker cannot) and returns the replies, each addressed to
 * a connection. Every input is decoded once at the edge, then checked in the SPEC's fixed order;
 * a refusal fails with `ServiceRejection` (precise reason for the log and the trace; the wire gets
 * the coarse `Refused`). By design two refusals change state: a wrong OTP counts against every
 * valid OTP (and may revoke it), and an expired OTP is forgotten. Time comes from the Effect
 * `Clock`, randomness from `SecureRandom`; OTPs are compared in constant time.
 */
import { Clock, Data, Effect, type ParseResult, Schema } from "effect"
import {
  AttributeRequest,
  IssueNonce,
  NONCE_BYTES,
  OtpIssued,
  Refused,
  ToService,
  TokenIssued,
  type AttributeResponse,
  type IssueRequest,
  type OtpSubmit
} from "../../spec/soft-token/messages.ts"
import type { Policy } from "../../spec/soft-token/variants.ts"
import { constantTimeEqual } from "../crypto/bytes.ts"
import { Crypto, SecureRandom } from "../crypto/services.ts"
import { type SigningKey, signJwt } from "../jws/jws.ts"
import { cardReadInput, fingerprintOf, ISSUER, issuePopInput, jwkOf, tokenBytes } from "./token.ts"

export type ServiceRejectionReason = "malformed" | "duplicate-request" | "bad-pop" | "bad-otp" | "expired" | "unexpected" | "bad-card"

export interface Reply {
  readonly conn: string
  readonly bytes: Uint8Array
}

export class ServiceRejection extends Data.TaggedError("ServiceRejection")<{
  readonly reason: ServiceRejectionReason
  readonly replies: ReadonlyArray<Reply>
  /** Sessions whose OTP stopped being valid because of this input (revoked, expired). */
  readonly closed: ReadonlyArray<string>
}> {}

export type ServiceEvent =
  | { readonly _tag: "nonce-issued" }
  | { readonly _tag: "otp-issued"; readonly session: string; readonly bits: number }
  | { readonly _tag: "otp-accepted"; readonly session: string }
  | { readonly _tag: "token-issued"; readonly session: string; readonly attributes: Readonly<Record<string, string>>; readonly publicKey: Uint8Array | null }

export interface ServiceStep {
  readonly replies: ReadonlyArray<Reply>
  readonly event: ServiceEvent
  readonly closed: ReadonlyArray<string>
}

/** One issuance session, keyed by its C1: the OTP is "recorded as an identifier of the first connection". */
export interface IssuanceRecord {
  readonly publicKey: Uint8Array
  readonly deviceName: string
  /** Null once no longer valid (matched under single use, expired, revoked). */
  readonly otp: string | null
  readonly issuedAtMillis: number
  readonly wrong: number
}

export interface SoftTokenService {
  readonly receive: (conn: string, bytes: Uint8Array) => Effect.Effect<ServiceStep, ServiceRejection>
  /** Sessions in creation order. */
  readonly observe: Effect.Effect<ReadonlyArray<IssuanceRecord & { readonly session: string }>>
}

export interface ServiceOptions {
  readonly policy: Policy
  /** The issuer's ES256 key. */
  readonly issuerKey: SigningKey
  /** Chip keys of genuine ID tokens (in reality: the eID PKI). */
  readonly trustedCards: ReadonlyArray<Uint8Array>
  readonly decode?: (bytes: Uint8Array) => Effect.Effect<ToService, ParseResult.ParseError>
}

const utf8 = new TextEncoder()
const EMPTY = new Uint8Array(0)

/** A uniformly random decimal string of `digits` digits (rejection sampling on 32-bit draws). */
const randomDigits = (random: { readonly bytes: (n: number) => Effect.Effect<Uint8Array> }, digits: number) =>
  Effect.gen(function*() {
    const modulus = 10 ** digits
    const limit = Math.floor(2 ** 32 / modulus) * modulus
    for (;;) {
      const b = yield* random.bytes(4)
      const n = ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!
      if (n < limit) return String(n % modulus).padStart(digits, "0")
    }
  })

export const makeService = (options: ServiceOptions) =>
  Effect.gen(function*() {
    const { policy } = options
    const crypto = yield* Crypto
    const random = yield* SecureRandom
    const decode = options.decode ?? Schema.decodeUnknown(ToService)
    const sessions = new Map<string, IssuanceRecord>()
    const nonces = new Map<string, Uint8Array>()
    const reads = new Map<string, { readonly session: string; readonly nonce: Uint8Array }>()
    const refused = Refused.encode(Refused.make({ reason: "denied" }))
    const bits = policy.otpDigits * Math.log2(10)

    const refuse = (conn: string, reason: ServiceRejectionReason, closed: ReadonlyArray<string> = []) =>
      Effect.fail(new ServiceRejection({ reason, replies: [{ conn, bytes: refused }], closed }))

    const issueBegin = (conn: string) =>
      Effect.gen(function*() {
        if (!policy.proofOfPossession) return yield* refuse(conn, "malformed")
        const nonce = yield* random.bytes(NONCE_BYTES)
        nonces.set(conn, nonce)
        const step: ServiceStep = { replies: [{ conn, bytes: IssueNonce.encode(IssueNonce.make({ nonce })) }], event: { _tag: "nonce-issued" }, closed: [] }
        return step
      })

    /** Claim 1 (3)–(6); hardened first checks the secure element's signature over our nonce. */
    const issueRequest = (conn: string, m: IssueRequest) =>
      Effect.gen(function*() {
        if (sessions.has(conn)) return yield* refuse(conn, "duplicate-request")
        if (policy.proofOfPossession) {
          const nonce = nonces.get(conn)
          nonces.delete(conn)
          if (nonce === undefined) return yield* refuse(conn, "bad-pop")
          const ok = yield* Effect.match(crypto.ecdsaP256Verify(m.publicKey, issuePopInput(nonce, m.publicKey, m.deviceName), m.pop), {
            onSuccess: () => true,
            onFailure: () => false
          })
          if (!ok) return yield* refuse(conn, "bad-pop")
        }
        const otp = yield* randomDigits(random, policy.otpDigits)
        const now = yield* Clock.currentTimeMillis
        sessions.set(conn, { publicKey: m.publicKey, deviceName: m.deviceName, otp, issuedAtMillis: now, wrong: 0 })
        const step: ServiceStep = {
          replies: [{ conn, bytes: OtpIssued.encode(OtpIssued.make({ otp })) }],
          event: { _tag: "otp-issued", session: conn, bits },
          closed: []
        }
        return step
      })

    /** Claim 1 (12): compare the OTP with every valid record, in constant time and without early exit. */
    const otpSubmit = (conn: string, m: OtpSubmit) =>
      Effect.gen(function*() {
        if (reads.has(conn)) return yield* refuse(conn, "unexpected")
        const submitted = utf8.encode(m.otp)
        let own: string | undefined
        for (const [session, r] of sessions) {
          const equal = r.otp !== null && constantTimeEqual(utf8.encode(r.otp), submitted)
          if (equal && own === undefined) own = session
        }
        const now = yield* Clock.currentTimeMillis
        if (own === undefined) {
          // A wrong OTP counts against every valid one (it could have been aimed at any).
          const closed: Array<string> = []
          for (const [session, r] of sessions) {
            if (r.otp === null) continue
            const wrong = r.wrong + 1
            const revoke = policy.maxAttempts !== null && wrong >= policy.maxAttempts
            sessions.set(session, { ...r, wrong, otp: revoke ? null : r.otp })
            if (revoke) closed.push(session)
          }
          return yield* refuse(conn, "bad-otp", closed)
        }
        const record = sessions.get(own)!
        if (policy.otpLifetimeSeconds !== null && now - record.issuedAtMillis >= policy.otpLifetimeSeconds * 1000) {
          sessions.set(own, { ...record, otp: null })
          return yield* refuse(conn, "expired", [own])
        }
        // The flawed lookup binds the submission to the latest pending session, not the OTP's own.
        const bound = policy.lookup === "by-otp" ? own : [...sessions].filter(([, r]) => r.otp !== null).at(-1)![0]
        const boundRecord = sessions.get(bound)!
        if (policy.singleUse) sessions.set(own, { ...record, otp: null })
        const nonce = yield* random.bytes(NONCE_BYTES)
        reads.set(conn, { session: bound, nonce })
        const request = AttributeRequest.make({
          nonce,
          deviceName: policy.showFingerprint ? boundRecord.deviceName : "",
          fingerprint: policy.showFingerprint ? fingerprintOf(boundRecord.publicKey) : EMPTY
        })
        const step: ServiceStep = {
          replies: [{ conn, bytes: AttributeRequest.encode(request) }],
          event: { _tag: "otp-accepted", session: own },
          closed: policy.singleUse ? [own] : []
        }
        return step
      })

    /** Claim 1 (11), (13): the chip's signed attributes, then the token over attributes and pk_dev. */
    const attributeResponse = (conn: string, m: AttributeResponse) =>
      Effect.gen(function*() {
        const read = reads.get(conn)
        if (read === undefined) return yield* refuse(conn, "unexpected")
        const trusted = options.trustedCards.some((k) => constantTimeEqual(k, m.cardKey))
        const ok = trusted && (yield* Effect.match(crypto.ed25519Verify(m.cardKey, cardReadInput(read.nonce, m.attributes), m.cardProof), {
          onSuccess: () => true,
          onFailure: () => false
        }))
        let attributes: Record<string, string> | undefined
        try {
          const parsed: unknown = JSON.parse(m.attributes)
          if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) && Object.values(parsed).every((v) => typeof v === "string"))
            attributes = parsed as Record<string, string>
        } catch {
          attributes = undefined
        }
        if (!ok || attributes === undefined) return yield* refuse(conn, "bad-card")
        reads.delete(conn)
        const record = sessions.get(read.session)!
        const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        const jti = Array.from(yield* random.bytes(16), (b) => b.toString(16).padStart(2, "0")).join("")
        const token = yield* Effect.orDie(
          signJwt(options.issuerKey, {
            iss: ISSUER,
            iat: now,
            exp: now + policy.tokenLifetimeSeconds,
            jti,
            attrs: attributes,
            ...(policy.bindKey ? { cnf: { jwk: jwkOf(record.publicKey) } } : {})
          }).pipe(Effect.provideService(Crypto, crypto))
        )
        const bytes = TokenIssued.encode(TokenIssued.make({ token: tokenBytes(token) }))
        const replies: Array<Reply> = [{ conn: read.session, bytes }]
        if (policy.delivery === "c1-and-c2") replies.push({ conn, bytes })
        const step: ServiceStep = {
          replies,
          event: { _tag: "token-issued", session: read.session, attributes, publicKey: policy.bindKey ? record.publicKey : null },
          closed: []
        }
        return step
      })

    const service: SoftTokenService = {
      receive: (conn, bytes) =>
        Effect.gen(function*() {
          const m = yield* Effect.mapError(decode(bytes), () => new ServiceRejection({ reason: "malformed", replies: [], closed: [] }))
          switch (m._tag) {
            case "IssueBegin":
              return yield* issueBegin(conn)
            case "IssueRequest":
              return yield* issueRequest(conn, m)
            case "OtpSubmit":
              return yield* otpSubmit(conn, m)
            case "AttributeResponse":
              return yield* attributeResponse(conn, m)
          }
        }),
      observe: Effect.sync(() => [...sessions].map(([session, r]) => ({ session, ...r })))
    }
    return service
  })
