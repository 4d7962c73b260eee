/**
 * HOTP (RFC 4226) and TOTP (RFC 6238) with SHA-1, SHA-256 and SHA-512 and 6–8 digits.
 *
 * - generation: HOTP(K, C) = Truncate(HMAC(K, C)) mod 10^Digit (RFC 4226 §5.3), with C the 8-byte
 *   big-endian counter; TOTP is HOTP with C = floor((T − T0) / X) (RFC 6238 §4.2).
 * - HOTP verification: a look-ahead window of `window` counters from the next expected one
 *   (RFC 4226 §7.4); the verifier returns the counter to store next (matched + 1), so an OTP and
 *   every earlier counter is spent (§7.2 "the counter is incremented").
 * - HOTP resynchronisation (RFC 4226 §7.4): outside the window, two *consecutive* OTPs found
 *   within a larger, still bounded, resynchronisation window.
 * - TOTP verification: `drift` time steps either side of now (RFC 6238 §5.2 "at most one time step
 *   is allowed as the network delay"), and never a step at or before the last one accepted
 *   (§5.2: "the verifier MUST NOT accept the second attempt of the same OTP").
 *
 * Candidate codes are compared in constant time and every candidate in the window is computed
 * and compared (no early exit): the position of a match is not leaked by timing.
 * Verification *fails* with `OtpRejected` (no detail: it would be an oracle); bad parameters fail
 * with `OtpInputError` at the edge.
 */
import { hmac } from "@noble/hashes/hmac.js"
import { sha1 } from "@noble/hashes/legacy.js"
import { sha256, sha512 } from "@noble/hashes/sha2.js"
import { Data, Effect } from "effect"

export type OtpHash = "SHA1" | "SHA256" | "SHA512"

export class OtpInputError extends Data.TaggedError("OtpInputError")<{ readonly detail: string }> {}

/** The OTP did not verify. No reason: which check failed would help a guesser. */
export class OtpRejected extends Data.TaggedError("OtpRejected")<{}> {}

const HASHES = { SHA1: sha1, SHA256: sha256, SHA512: sha512 } as const

/** RFC 4226 §4 R6: at least 128 bits of shared secret (160 recommended). */
export const MIN_SECRET_BYTES = 16
/** Largest counter we take: 2^53 − 1 keeps it a safe integer (RFC 4226's C is 8 bytes). */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER

export interface HotpParams {
  readonly hash?: OtpHash
  /** 6, 7 or 8 (RFC 4226 §5.3 "a minimum of 6 digits"; RFC 6238 uses 8 in its vectors). */
  readonly digits?: number
}

const check = (ok: boolean, detail: string): void => {
  if (!ok) throw new OtpInputError({ detail })
}

const checkParams = (secret: Uint8Array, digits: number, hash: OtpHash) => {
  check(secret instanceof Uint8Array && secret.length >= MIN_SECRET_BYTES, `expected a secret of at least ${MIN_SECRET_BYTES} bytes, got ${secret?.length}`)
  check(Number.isInteger(digits) && digits >= 6 && digits <= 8, `expected 6 to 8 digits, got ${digits}`)
  check(hash in HASHES, `expected hash SHA1, SHA256 or SHA512, got ${String(hash)}`)
}

const checkCounter = (counter: number, label = "counter") =>
  check(Number.isSafeInteger(counter) && counter >= 0 && counter <= MAX_COUNTER, `expected a ${label} in [0, 2^53), got ${counter}`)

const counterBytes = (counter: number): Uint8Array => {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(counter))
  return out
}

/** RFC 4226 §5.3 dynamic truncation: 31 bits at the offset named by the low nibble of the last byte. */
export const dynamicTruncate = (mac: Uint8Array): number => {
  const offset = mac[mac.length - 1]! & 0x0f
  return ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!
}

const generate = (secret: Uint8Array, counter: number, digits: number, hash: OtpHash): string => {
  const code = dynamicTruncate(hmac(HASHES[hash], secret, counterBytes(counter))) % 10 ** digits
  return code.toString().padStart(digits, "0")
}

/** HOTP value of `counter` (throws `OtpInputError` on bad parameters: a programming error). */
export const hotp = (secret: Uint8Array, counter: number, params: HotpParams = {}): string => {
  const digits = params.digits ?? 6
  const hash = params.hash ?? "SHA1"
  checkParams(secret, digits, hash)
  checkCounter(counter)
  return generate(secret, counter, digits, hash)
}

export interface TotpParams extends HotpParams {
  /** Time step X in seconds (RFC 6238 §4.1; default 30). */
  readonly period?: number
  /** T0, the Unix time to start counting steps from (default 0). */
  readonly t0?: number
}

/** The time step of `unixSeconds`: floor((T − T0) / X). */
export const timeStep = (unixSeconds: number, params: TotpParams = {}): number => {
  const period = params.period ?? 30
  const t0 = params.t0 ?? 0
  check(Number.isInteger(period) && period >= 1, `expected a positive integer period, got ${period}`)
  check(Number.isFinite(unixSeconds) && unixSeconds >= t0, `expected a time at or after T0, got ${unixSeconds}`)
  return Math.floor((unixSeconds - t0) / period)
}

export const totp = (secret: Uint8Array, unixSeconds: number, params: TotpParams = {}): string =>
  hotp(secret, timeStep(unixSeconds, params), params)

const utf8 = new TextEncoder()

/**
 * Does `candidate` equal any of the codes of `counters`? Every code is computed and compared in
 * constant time, and the match position is accumulated branch-free; −1 when none matches.
 */
const matchAmong = (secret: Uint8Array, candidate: string, counters: ReadonlyArray<number>, digits: number, hash: OtpHash): number => {
  const given = utf8.encode(candidate)
  let found = -1
  for (const c of counters) {
    const expected = utf8.encode(generate(secret, c, digits, hash))
    let diff = given.length ^ expected.length
    for (let i = 0; i < expected.length; i++) diff |= (given[i] ?? 0) ^ expected[i]!
    // keep the first match; the loop runs over every candidate regardless
    found = diff === 0 && found < 0 ? c : found
  }
  return found
}

const wellFormed = (otp: string, digits: number) => typeof otp === "string" && otp.length === digits && /^[0-9]+$/.test(otp)

export interface HotpVerifyParams extends HotpParams {
  /** The next counter the verifier expects (the stored counter). */
  readonly counter: number
  /** Look-ahead: counters `counter … counter + window − 1` are tried (RFC 4226 §7.4 parameter s). */
  readonly window: number
}

/** The verified counter and the one to store next (matched + 1): every earlier counter is spent. */
export interface HotpMatch {
  readonly matched: number
  readonly nextCounter: number
}

const effectOf = <A>(body: () => A | undefined): Effect.Effect<A, OtpRejected | OtpInputError> =>
  Effect.suspend((): Effect.Effect<A, OtpRejected | OtpInputError> => {
    try {
      const r = body()
      return r === undefined ? Effect.fail(new OtpRejected()) : Effect.succeed(r)
    } catch (e) {
      return e instanceof OtpInputError ? Effect.fail(e) : Effect.die(e)
    }
  })

/** Bound on any window we search, so a misconfigured verifier cannot be made to grind (RFC 4226 §7.4 "s"). */
export const MAX_WINDOW = 1000

/** `verifyHotp` as a plain function: the match, or undefined; throws `OtpInputError` on bad parameters. */
export const matchHotp = (secret: Uint8Array, otp: string, params: HotpVerifyParams): HotpMatch | undefined => {
    const digits = params.digits ?? 6
    const hash = params.hash ?? "SHA1"
    checkParams(secret, digits, hash)
    checkCounter(params.counter)
    check(Number.isInteger(params.window) && params.window >= 1 && params.window <= MAX_WINDOW, `expected a window in [1, ${MAX_WINDOW}], got ${params.window}`)
    if (!wellFormed(otp, digits)) return undefined
    const counters: Array<number> = []
    for (let c = params.counter; c < params.counter + params.window && c <= MAX_COUNTER; c++) counters.push(c)
    const matched = matchAmong(secret, otp, counters, digits, hash)
    return matched < 0 ? undefined : { matched, nextCounter: matched + 1 }
}

export const verifyHotp = (secret: Uint8Array, otp: string, params: HotpVerifyParams): Effect.Effect<HotpMatch, OtpRejected | OtpInputError> =>
  effectOf(() => matchHotp(secret, otp, params))

export interface HotpResyncParams extends HotpParams {
  readonly counter: number
  /** The larger, still bounded, resynchronisation window (RFC 4226 §7.4). */
  readonly resyncWindow: number
}

/**
 * RFC 4226 §7.4 resynchronisation: `first` and `second` must be the codes of two consecutive
 * counters c, c+1 with counter ≤ c < counter + resyncWindow; the counter to store is then c + 2.
 */
export const resyncHotp = (
  secret: Uint8Array,
  first: string,
  second: string,
  params: HotpResyncParams
): Effect.Effect<HotpMatch, OtpRejected | OtpInputError> =>
  effectOf(() => {
    const digits = params.digits ?? 6
    const hash = params.hash ?? "SHA1"
    checkParams(secret, digits, hash)
    checkCounter(params.counter)
    check(Number.isInteger(params.resyncWindow) && params.resyncWindow >= 1 && params.resyncWindow <= MAX_WINDOW, `expected a resync window in [1, ${MAX_WINDOW}], got ${params.resyncWindow}`)
    if (!wellFormed(first, digits) || !wellFormed(second, digits)) return undefined
    let found = -1
    for (let c = params.counter; c < params.counter + params.resyncWindow && c + 1 <= MAX_COUNTER; c++) {
      const a = matchAmong(secret, first, [c], digits, hash)
      const b = matchAmong(secret, second, [c + 1], digits, hash)
      found = a >= 0 && b >= 0 && found < 0 ? c : found
    }
    return found < 0 ? undefined : { matched: found + 1, nextCounter: found + 2 }
  })

export interface TotpVerifyParams extends TotpParams {
  /** Now, in Unix seconds (from the caller's clock: the verifier reads no clock itself). */
  readonly now: number
  /** Steps accepted either side of now (RFC 6238 §5.2; default 1). */
  readonly drift?: number
  /** The last time step accepted for this secret, if any: it and every earlier step are spent. */
  readonly lastStep?: number
}

/** The time step that matched; store it as the next `lastStep`. */
export const verifyTotp = (secret: Uint8Array, otp: string, params: TotpVerifyParams): Effect.Effect<number, OtpRejected | OtpInputError> =>
  effectOf(() => {
    const digits = params.digits ?? 6
    const hash = params.hash ?? "SHA1"
    const drift = params.drift ?? 1
    checkParams(secret, digits, hash)
    check(Number.isInteger(drift) && drift >= 0 && drift <= 10, `expected a drift of 0 to 10 steps, got ${drift}`)
    const now = timeStep(params.now, params)
    if (!wellFormed(otp, digits)) return undefined
    const counters: Array<number> = []
    for (let s = Math.max(0, now - drift); s <= now + drift; s++) if (params.lastStep === undefined || s > params.lastStep) counters.push(s)
    const matched = matchAmong(secret, otp, counters, digits, hash)
    return matched < 0 ? undefined : matched
  })
