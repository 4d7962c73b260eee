/**
 * P3 AuthServer (spec/hw-token-2fa/SPEC.md §2, §5): one code path for every `Policy`.
 *
 * Every input: decode once at the edge (strict `ToAuth` schema), then the checks in SPEC §5's
 * fixed order inside ONE atomic store transaction, then the reply. Randomness (refresh tokens)
 * is drawn before the transaction and the access token is signed after it, so the transaction
 * is pure and a refused input changes nothing — except what a refusal changes by design: a wrong
 * OTP is counted (throttling), a reused refresh token revokes its family.
 *
 * Time comes from the Effect `Clock` (tests and the harness inject it). Refusals fail with
 * `AuthRejection` carrying the precise reason (log, trace); the wire reply is the coarse `Denied`.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { Clock, Context, Data, Effect, type ParseResult, Redacted, Schema } from "effect"
import { transcript } from "../../spec/codec.ts"
import {
  ACCESS_TOKEN_TYP,
  Denied,
  Labels,
  REFRESH_TOKEN_BYTES,
  RefreshPrompt,
  ToAuth,
  TokenGrant,
  type LoginRequest,
  type RefreshBegin,
  type RefreshRequest
} from "../../spec/hw-token-2fa/messages.ts"
import { ACCESS_TOKEN_LIFETIME, LOOK_AHEAD, type Policy, TICK_SECONDS } from "../../spec/hw-token-2fa/variants.ts"
import { type Crypto, SecureRandom } from "../crypto/services.ts"
import { type SigningKey, signJwt, type VerificationKey, verificationKeyOf, verifyCompact } from "../jws/jws.ts"
import { type HotpMatch, type HotpVerifyParams, matchHotp } from "../otp/otp.ts"
import type { AuthState, AuthStore, RefreshRecord, TokenRecord } from "./store.ts"
import { OTP_DIGITS } from "./token.ts"

export type AuthRejectReason = "malformed" | "bad-credential" | "bad-otp" | "throttled" | "bad-refresh" | "reused"

export class AuthRejection extends Data.TaggedError("AuthRejection")<{
  readonly reason: AuthRejectReason
  /** `reused` only: whether the family was revoked. */
  readonly revoked?: boolean
  readonly reply: Uint8Array
}> {}

export interface TokenName {
  readonly family: number
  readonly serial: number
}

export type AuthEvent =
  | { readonly _tag: "issued"; readonly kind: "login" | "refresh"; readonly username: string; readonly presented?: TokenName; readonly issued: TokenName }
  | { readonly _tag: "prompted"; readonly username: string }

export interface AuthStep {
  readonly reply: Uint8Array
  readonly event: AuthEvent
}

export interface AuthObservation {
  readonly nextCounter: number
  readonly failures: number
  readonly locked: boolean
  readonly refresh: ReadonlyArray<readonly [string, string]>
}

export interface AuthServer {
  readonly receive: (bytes: Uint8Array) => Effect.Effect<AuthStep, AuthRejection>
  /** The key the ResourceServer verifies access tokens with (EdDSA only). */
  readonly verificationKey: VerificationKey
  /** Alice-shaped view of one user, for the conformance driver. */
  readonly observe: (username: string) => Effect.Effect<AuthObservation>
}

/** A generic tag, so `AuthServer` names both the service tag and the interface `makeAuthServer` returns. */
export const AuthServer = Context.GenericTag<AuthServer>("authlab/hw-token-2fa/AuthServer")

export interface AuthServerOptions {
  readonly policy: Policy
  readonly store: AuthStore
  /** The Ed25519 key access tokens are signed with. */
  readonly signingKey: SigningKey
  /** The edge decoder; default strict `Schema.decodeUnknown(ToAuth)`. */
  readonly decode?: (bytes: Uint8Array) => Effect.Effect<ToAuth, ParseResult.ParseError>
  /** The HOTP verifier (RFC 4226 §7.2, §7.4); default `matchHotp` of impl/otp. */
  readonly verifyOtp?: (secret: Uint8Array, otp: string, params: HotpVerifyParams) => HotpMatch | undefined
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")

/** SHA-256(label ‖ bytes): what the store keeps instead of an API key or a refresh token. */
export const secretHash = (label: string, bytes: Uint8Array): string => hex(sha256(transcript(label, [bytes])))

const denied = (reason: "denied" | "throttled" | "malformed") => Denied.encode(Denied.make({ reason }))
const refuse = (reason: AuthRejectReason, revoked?: boolean) =>
  new AuthRejection({ reason, reply: denied(reason === "throttled" ? "throttled" : reason === "malformed" ? "malformed" : "denied"), ...(revoked === undefined ? {} : { revoked }) })

const tickOf = (seconds: number) => Math.floor(seconds / TICK_SECONDS)

/**
 * An OTP as this deployment's tokens show it: exactly `OTP_DIGITS` ASCII digits. Anything else
 * (a letter, a space, 7 or 8 digits the frame allows) is malformed input, refused at the edge —
 * not a wrong guess that would count towards throttling the user (SPEC.md §5).
 */
const wellFormedOtp = (otp: Uint8Array): boolean => otp.length === OTP_DIGITS && otp.every((b) => b >= 0x30 && b <= 0x39)

/** Failures that still count now: the lockout lasts until the tick after the one they were counted in. */
const liveFailures = (t: TokenRecord, tick: number) => (t.failureTick < tick ? 0 : t.failures)

const isLocked = (policy: Policy, t: TokenRecord, tick: number) =>
  policy.maxOtpFailures !== null && liveFailures(t, tick) >= policy.maxOtpFailures

type Decision =
  | { readonly ok: true; readonly username: string; readonly issued: TokenName; readonly presented?: TokenName }
  | { readonly ok: false; readonly rejection: AuthRejection }

export const makeAuthServer = (options: AuthServerOptions): Effect.Effect<AuthServer, never, Crypto | SecureRandom> =>
  Effect.gen(function*() {
    const { policy, store } = options
    const decode = options.decode ?? Schema.decodeUnknown(ToAuth)
    const verifyOtp = options.verifyOtp ?? matchHotp
    const random = yield* SecureRandom
    const verificationKey = yield* Effect.orDie(verificationKeyOf(options.signingKey))
    const services = yield* Effect.context<Crypto>()

    /**
     * Check the OTP for `username` and, on a match, spend it; on a miss, count it. Pure: returns
     * the new state and whether it matched. Order (SPEC §5): throttled? → OTP in window.
     */
    const checkOtp = (state: AuthState, username: string, otp: string, tick: number): readonly [AuthRejection | undefined, AuthState] => {
      const linked = state.tokens.get(state.users.get(username)!.keyId)!
      if (isLocked(policy, linked, tick)) return [refuse("throttled"), state]
      const m = verifyOtp(Redacted.value(linked.secret), otp, { counter: linked.counter, window: LOOK_AHEAD, digits: OTP_DIGITS })
      const tokens = new Map(state.tokens)
      if (m !== undefined) {
        tokens.set(linked.keyId, { ...linked, counter: m.nextCounter, failures: 0 })
        return [undefined, { ...state, tokens }]
      }
      if (policy.maxOtpFailures === null) return [refuse("bad-otp"), state]
      tokens.set(linked.keyId, { ...linked, failures: liveFailures(linked, tick) + 1, failureTick: tick })
      return [refuse("bad-otp"), { ...state, tokens }]
    }

    /** Store a new refresh token (by hash) as the next serial of `family`. */
    const issue = (state: AuthState, username: string, family: number, rtHash: string, refresh = state.refresh): readonly [TokenName, AuthState] => {
      const serial = state.serials.get(family) ?? 0
      const next = new Map(refresh)
      next.set(rtHash, { username, family, serial, status: "active" })
      const serials = new Map(state.serials)
      serials.set(family, serial + 1)
      return [{ family, serial }, { ...state, refresh: next, serials }]
    }

    const grant = Effect.fn("AuthServer.grant")(function*(decision: Extract<Decision, { ok: true }>, kind: "login" | "refresh", rt: Uint8Array, now: number) {
      const accessToken = yield* Effect.orDie(
        Effect.provide(
          signJwt(options.signingKey, {
            sub: decision.username,
            iat: now,
            exp: now + ACCESS_TOKEN_LIFETIME,
            fam: decision.issued.family,
            ser: decision.issued.serial
          }, { typ: ACCESS_TOKEN_TYP }),
          services
        )
      )
      const reply = TokenGrant.encode(TokenGrant.make({ accessToken, refreshToken: rt }))
      const event: AuthEvent = {
        _tag: "issued",
        kind,
        username: decision.username,
        issued: decision.issued,
        ...(decision.presented === undefined ? {} : { presented: decision.presented })
      }
      return { reply, event } satisfies AuthStep
    })

    const nowSeconds = Effect.map(Clock.currentTimeMillis, (ms) => Math.floor(ms / 1000))

    const onLogin = Effect.fn("AuthServer.onLogin")(function*(m: LoginRequest) {
      const now = yield* nowSeconds
      const rt = yield* random.bytes(REFRESH_TOKEN_BYTES)
      const rtHash = secretHash(Labels.refreshTokenHash, rt)
      const keyHash = secretHash(Labels.apiKeyHash, m.apiKey)
      const otp = new TextDecoder().decode(m.otp)
      const decision = yield* store.transact((state): readonly [Decision, AuthState] => {
        // 1. the credential: which username this API key belongs to (compared by hash)
        const user = [...state.users.values()].find((u) => u.apiKeyHash === keyHash)
        if (user === undefined) return [{ ok: false, rejection: refuse("bad-credential") }, state]
        // 2.–3. the linked key id; throttling; the OTP
        const [rejection, checked] = checkOtp(state, user.username, otp, tickOf(now))
        if (rejection !== undefined) return [{ ok: false, rejection }, checked]
        // 4. a new family, its first pair
        const family = checked.families + 1
        const [issued, next] = issue({ ...checked, families: family }, user.username, family, rtHash)
        return [{ ok: true, username: user.username, issued }, next]
      })
      if (!decision.ok) return yield* decision.rejection
      return yield* grant(decision, "login", rt, now)
    })

    const onRefreshBegin = Effect.fn("AuthServer.onRefreshBegin")(function*(m: RefreshBegin) {
      // The claim: the expired access token is presented. Its signature must be ours; its expiry
      // is what brought the device here, so it is not checked.
      const verified = yield* Effect.either(Effect.provide(verifyCompact(m.accessToken, [verificationKey]), services))
      if (verified._tag === "Left") return yield* refuse("malformed")
      let sub: unknown
      try {
        sub = (JSON.parse(new TextDecoder().decode(verified.right.payload)) as { sub?: unknown }).sub
      } catch {
        sub = undefined
      }
      if (typeof sub !== "string" || sub.length === 0 || sub.length > 64 || verified.right.header.typ !== ACCESS_TOKEN_TYP) return yield* refuse("malformed")
      return { reply: RefreshPrompt.encode(RefreshPrompt.make({ username: sub })), event: { _tag: "prompted", username: sub } } satisfies AuthStep
    })

    const onRefresh = Effect.fn("AuthServer.onRefresh")(function*(m: RefreshRequest) {
      const now = yield* nowSeconds
      const rt = yield* random.bytes(REFRESH_TOKEN_BYTES)
      const newHash = secretHash(Labels.refreshTokenHash, rt)
      const presentedHash = secretHash(Labels.refreshTokenHash, m.refreshToken)
      const otp = new TextDecoder().decode(m.otp)
      const decision = yield* store.transact((state): readonly [Decision, AuthState] => {
        // 1. the refresh token (by hash): unknown or revoked, or already used (a reuse)
        const record = state.refresh.get(presentedHash)
        if (record === undefined || record.status === "revoked") return [{ ok: false, rejection: refuse("bad-refresh") }, state]
        if (record.status === "used") {
          if (!policy.revokeFamilyOnReuse) return [{ ok: false, rejection: refuse("reused", false) }, state]
          const refresh = new Map<string, RefreshRecord>()
          for (const [h, r] of state.refresh) refresh.set(h, r.family === record.family ? { ...r, status: "revoked" } : r)
          return [{ ok: false, rejection: refuse("reused", true) }, { ...state, refresh }]
        }
        // 2.–4. its username → the linked key id → throttling → the OTP
        const [rejection, checked] = checkOtp(state, record.username, otp, tickOf(now))
        if (rejection !== undefined) return [{ ok: false, rejection }, checked]
        // 5. consume it and issue its successor in the same family — one write
        const refresh = new Map(checked.refresh)
        if (policy.consumeRefresh) refresh.set(presentedHash, { ...record, status: "used" })
        const [issued, next] = issue(checked, record.username, record.family, newHash, refresh)
        return [{ ok: true, username: record.username, issued, presented: { family: record.family, serial: record.serial } }, next]
      })
      if (!decision.ok) return yield* decision.rejection
      return yield* grant(decision, "refresh", rt, now)
    })

    const receive = Effect.fn("AuthServer.receive")(function*(bytes: Uint8Array) {
      const decoded = yield* Effect.either(decode(bytes))
      if (decoded._tag === "Left") return yield* refuse("malformed")
      const m = decoded.right
      if (m._tag !== "RefreshBegin" && !wellFormedOtp(m.otp)) return yield* refuse("malformed")
      switch (m._tag) {
        case "LoginRequest":
          return yield* onLogin(m)
        case "RefreshBegin":
          return yield* onRefreshBegin(m)
        case "RefreshRequest":
          return yield* onRefresh(m)
      }
    })

    const observe = (username: string) =>
      Effect.gen(function*() {
        const state = yield* store.snapshot
        const tick = tickOf(yield* nowSeconds)
        const user = state.users.get(username)
        const token = user === undefined ? undefined : state.tokens.get(user.keyId)
        const counted = policy.maxOtpFailures !== null && token !== undefined
        return {
          nextCounter: token?.counter ?? 0,
          failures: counted ? liveFailures(token, tick) : 0,
          locked: counted ? isLocked(policy, token, tick) : false,
          refresh: [...state.refresh.values()]
            .filter((r) => r.username === username)
            .map((r) => [`F${r.family}.${r.serial}`, r.status] as const)
            .sort(([a], [b]) => a.localeCompare(b))
        } satisfies AuthObservation
      })

    return { receive, verificationKey, observe } satisfies AuthServer
  })

/** Enrol a user: the API key (stored hashed) and the linked hardware token's key id and secret. */
export const enrol = (
  state: AuthState,
  user: { readonly username: string; readonly apiKey: Uint8Array; readonly keyId: string; readonly secret: Uint8Array }
): AuthState => {
  const users = new Map(state.users)
  users.set(user.username, { username: user.username, apiKeyHash: secretHash(Labels.apiKeyHash, user.apiKey), keyId: user.keyId })
  const tokens = new Map(state.tokens)
  tokens.set(user.keyId, { keyId: user.keyId, secret: Redacted.make(Uint8Array.from(user.secret)), counter: 0, failures: 0, failureTick: 0 })
  return { ...state, users, tokens }
}
