/**
 * P3 variants as policies: the `claimed` reading of US 10,554,641 and the `hardened` protocol
 * differ only in these switches; the model and the implementation both take a `Policy`.
 * Mutants are not policies: each is one flaw applied from outside the shipped code
 * (properties/hw-token-2fa/mutants). The OTP look-ahead window, which token an OTP is checked
 * against, the one-tick lockout and the website's expiry check are the same in both variants,
 * so they are constants of the protocol, not switches. So is what validating an OTP stores: both
 * variants validate HOTP as RFC 4226 §7.2 does, storing the counter after the match (SPEC.md §3).
 */

/** Look-ahead window s of RFC 4226 §7.4, in counters, shared by model and implementation. */
export const LOOK_AHEAD = 3
/** Consecutive OTP failures before the account is throttled (RFC 4226 §7.3 parameter T). */
export const MAX_OTP_FAILURES = 3
/** Seconds per clock tick in the implementation; an access token lives exactly one tick. */
export const TICK_SECONDS = 300
export const ACCESS_TOKEN_LIFETIME = TICK_SECONDS

export interface Policy {
  readonly name: string
  /** A refresh token is marked used, atomically with issuing its successor. */
  readonly consumeRefresh: boolean
  /** Presenting a used refresh token revokes its whole family (RFC 9700 §4.14.2). */
  readonly revokeFamilyOnReuse: boolean
  /** Consecutive OTP failures that throttle the account until the next tick; `null`: no throttling. */
  readonly maxOtpFailures: number | null
}

/** US 10,554,641 claim 1 read literally; where it is silent, the simplest reading (SPEC.md §3). */
export const claimed: Policy = {
  name: "claimed",
  consumeRefresh: false,
  revokeFamilyOnReuse: false,
  maxOtpFailures: null
}

/** The smallest changes that make every P3 property hold (SPEC.md §4). */
export const hardened: Policy = {
  name: "hardened",
  consumeRefresh: true,
  revokeFamilyOnReuse: true,
  maxOtpFailures: MAX_OTP_FAILURES
}

export const policies = { claimed, hardened } as const
