/**
 * P1 service computer (the soft-token issuer), SPEC.md §Claim 1 and §Service checks, one code
 * path for every `Policy` (spec/soft-token/variants.ts).
 *
 * `receive(conn, bytes)` takes a message that arrived on TLS connection `conn` (C1 or C2; the
 * TLS layer names the connection, the attacker cannot) and returns the replies, each addressed to
 * a connection. Every input is decoded once at the edge, then checked in the SPEC's fixed order;
 * a refusal fails with `ServiceRejection` (precise reason for the log and the trace; the wire gets
 * the coarse `Refused`). By design three refusals change state (SPEC.md §5): a wrong OTP counts
 * against every valid OTP (and may revoke it), an expired OTP is forgotten, and a refused request
 * has used up its C1's nonce. Time comes from the Effect `Clock`, randomness from `SecureRandom`,
 * state lives in an `IssuanceStore` (./store.ts); OTPs are compared in constant time.
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
import { DEFAULT_OTP_DIGITS, otpDigitsOf, type Policy, TOKEN_LIFETIME_SECONDS } from "../../spec/soft-token/variants.ts"
import { constantTimeEqual } from "../crypto/bytes.ts"
import { isP256Point } from "../crypto/noble.ts"
import { Crypto, SecureRandom } from "../crypto/services.ts"
import { type SigningKey, signJwt } from "../jws/jws.ts"
import { type IssuanceRecord, type IssuanceStore, makeMemoryStore } from "./store.ts"
import { cardReadInput, fingerprintOf, ISSUER, issuePopInput, jwkOf, tokenBytes } from "./token.ts"


export type ServiceRejectionReason =
  | "malformed"
  | "duplicate-request"
  | "bad-pop"
  | "too-many-sessions"
  | "busy"
  | "bad-otp"
  | "expired"
  | "unexpected"
  | "bad-card"

export interface Reply {
  readonly conn: string
  readonly bytes: Uint8Array
}

export class ServiceRejection extends Data.TaggedError("ServiceRejection")<{
  readonly reason: ServiceRejectionReason
  readonly replies: ReadonlyArray<Reply>
}> {}

export type ServiceEvent =
  | { readonly _tag: "nonce-issued" }
  | { readonly _tag: "otp-issued"; readonly session: string }
  | { readonly _tag: "otp-accepted"; readonly session: string }
  | { readonly _tag: "token-issued"; readonly session: string }

export interface ServiceStep {
  readonly replies: ReadonlyArray<Reply>
  readonly event: ServiceEvent
}

export interface SoftTokenService {
  readonly receive: (conn: string, bytes: Uint8Array) => Effect.Effect<ServiceStep, ServiceRejection>
}

export interface ServiceOptions {
  readonly policy: Policy
  /** The issuer's ES256 key. */
  readonly issuerKey: SigningKey
  /** Chip keys of genuine ID tokens (in reality: the eID PKI). */
  readonly trustedCards: ReadonlyArray<Uint8Array>
  /** The deployment's OTP length (default 6); the policy may require more (`minOtpDigits`). */
  readonly otpDigits?: number
  /** Where the state lives (default: in memory). */
  readonly store?: IssuanceStore
  readonly decode?: (bytes: Uint8Array) => Effect.Effect<ToService, ParseResult.ParseError>
}

/** How often the service draws again for an OTP no live record holds before it gives up (`busy`). */
const MAX_DRAWS = 64

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
    const store = options.store ?? makeMemoryStore()
    const digits = otpDigitsOf(policy, options.otpDigits ?? DEFAULT_OTP_DIGITS)
    const refused = Refused.encode(Refused.make({ reason: "denied" }))

    const refuse = (conn: string, reason: ServiceRejectionReason) => Effect.fail(new ServiceRejection({ reason, replies: [{ conn, bytes: refused }] }))

    const expired = (r: IssuanceRecord, now: number) => policy.otpLifetimeSeconds !== null && now - r.issuedAtMillis >= policy.otpLifetimeSeconds * 1000

    const issueBegin = (conn: string) =>
      Effect.gen(function*() {
        if (!policy.proofOfPossession) return yield* refuse(conn, "malformed")
        const nonce = yield* random.bytes(NONCE_BYTES)
        yield* store.putNonce(conn, nonce)
        const step: ServiceStep = { replies: [{ conn, bytes: IssueNonce.encode(IssueNonce.make({ nonce })) }], event: { _tag: "nonce-issued" } }
        return step
      })

    /** Claim 1 (3)–(6); hardened first checks the secure element's signature over our nonce. */
    const issueRequest = (conn: string, m: IssueRequest) =>
      Effect.gen(function*() {
        // The key to certify must be a P-256 point, in every variant: refused here, before any
        // state is read or written, rather than failing when the token is signed.
        if (!isP256Point(m.publicKey)) return yield* refuse(conn, "malformed")
        if ((yield* store.record(conn)) !== undefined) return yield* refuse(conn, "duplicate-request")
        if (policy.proofOfPossession) {
          const nonce = yield* store.takeNonce(conn)
          if (nonce === undefined) return yield* refuse(conn, "bad-pop")
          const ok = yield* Effect.match(crypto.ecdsaP256Verify(m.publicKey, issuePopInput(nonce, m.publicKey, m.deviceName), m.pop), {
            onSuccess: () => true,
            onFailure: () => false
          })
          if (!ok) return yield* refuse(conn, "bad-pop")
        }
        const now = yield* Clock.currentTimeMillis
        if (policy.maxLivePerKey !== null) {
          const live = (yield* store.records).filter(([, r]) => r.otp !== null && !expired(r, now) && constantTimeEqual(r.publicKey, m.publicKey))
          if (live.length >= policy.maxLivePerKey) return yield* refuse(conn, "too-many-sessions")
        }
        // The OTP is C1's identifier: under `uniqueOtp` no two live records share one.
        const taken = (otp: string) =>
          Effect.gen(function*() {
            const holder = yield* store.findValid(otp)
            const r = holder === undefined ? undefined : yield* store.record(holder)
            return r !== undefined && !expired(r, now)
          })
        let otp = yield* randomDigits(random, digits)
        if (policy.uniqueOtp) {
          let draws = 1
          while (yield* taken(otp)) {
            if (draws++ >= MAX_DRAWS) return yield* refuse(conn, "busy")
            otp = yield* randomDigits(random, digits)
          }
        }
        // Expired OTPs are forgotten first, so the new one is the only record that holds its value.
        for (const [session, r] of yield* store.records) if (r.otp !== null && expired(r, now)) yield* store.close(session, "expired")
        yield* store.create(conn, { publicKey: m.publicKey, deviceName: m.deviceName, otp, issuedAtMillis: now, wrong: 0 })
        const step: ServiceStep = { replies: [{ conn, bytes: OtpIssued.encode(OtpIssued.make({ otp })) }], event: { _tag: "otp-issued", session: conn } }
        return step
      })

    /** Claim 1 (12): the OTP against every valid record (the store compares in constant time). */
    const otpSubmit = (conn: string, m: OtpSubmit) =>
      Effect.gen(function*() {
        if ((yield* store.pendingRead(conn)) !== undefined) return yield* refuse(conn, "unexpected")
        const own = yield* store.findValid(m.otp)
        const now = yield* Clock.currentTimeMillis
        if (own === undefined) {
          // A wrong OTP counts against every valid one (it could have been aimed at any).
          for (const [session, r] of yield* store.records) {
            if (r.otp === null) continue
            const wrong = yield* store.countWrong(session)
            if (policy.maxAttempts !== null && wrong >= policy.maxAttempts) yield* store.close(session, "revoked")
          }
          return yield* refuse(conn, "bad-otp")
        }
        const record = (yield* store.record(own))!
        if (expired(record, now)) {
          yield* store.close(own, "expired")
          return yield* refuse(conn, "expired")
        }
        if (policy.singleUse) yield* store.close(own, "used")
        const nonce = yield* random.bytes(NONCE_BYTES)
        yield* store.openRead(conn, { session: own, nonce })
        const request = AttributeRequest.make({
          nonce,
          deviceName: policy.showFingerprint ? record.deviceName : "",
          fingerprint: policy.showFingerprint ? fingerprintOf(record.publicKey) : EMPTY
        })
        const step: ServiceStep = { replies: [{ conn, bytes: AttributeRequest.encode(request) }], event: { _tag: "otp-accepted", session: own } }
        return step
      })

    /** Claim 1 (11), (13): the chip's signed attributes, then the token over attributes and pk_dev. */
    const attributeResponse = (conn: string, m: AttributeResponse) =>
      Effect.gen(function*() {
        const read = yield* store.pendingRead(conn)
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
        const record = yield* store.record(read.session)
        if (!ok || attributes === undefined || record === undefined) return yield* refuse(conn, "bad-card")
        yield* store.closeRead(conn)
        const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        const jti = Array.from(yield* random.bytes(16), (b) => b.toString(16).padStart(2, "0")).join("")
        const token = yield* Effect.orDie(
          signJwt(options.issuerKey, { iss: ISSUER, iat: now, exp: now + TOKEN_LIFETIME_SECONDS, jti, attrs: attributes, cnf: { jwk: jwkOf(record.publicKey) } }).pipe(
            Effect.provideService(Crypto, crypto)
          )
        )
        const bytes = TokenIssued.encode(TokenIssued.make({ token: tokenBytes(token) }))
        const replies: Array<Reply> = [{ conn: read.session, bytes }]
        if (policy.delivery === "c1-and-c2") replies.push({ conn, bytes })
        const step: ServiceStep = { replies, event: { _tag: "token-issued", session: read.session } }
        return step
      })

    const service: SoftTokenService = {
      receive: (conn, bytes) =>
        Effect.gen(function*() {
          const m = yield* Effect.mapError(decode(bytes), () => new ServiceRejection({ reason: "malformed", replies: [] }))
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
        })
    }
    return service
  })
