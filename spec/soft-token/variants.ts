/**
 * P1 variants as policies: the `claimed` reading of US 9,413,753 claim 1 and the `hardened`
 * protocol differ only in these switches; the model and the implementation both take a `Policy`.
 * Mutants (properties/soft-token/mutants) are the hardened policy with one switch flipped.
 */

export interface Policy {
  readonly name: string
  /** The secure element signs a service nonce with sk_dev before the service records a request for pk_dev. */
  readonly proofOfPossession: boolean
  /** Decimal digits of the OTP (entropy = digits · log2 10 bits). */
  readonly otpDigits: number
  /** Seconds an OTP stays valid after issuance; `null`: forever (the claim is silent). */
  readonly otpLifetimeSeconds: number | null
  /** The service deletes an OTP once it matched (the claim only says it is "recorded"). */
  readonly singleUse: boolean
  /**
   * Wrong OTPs the service evaluates while an OTP is outstanding before it revokes that OTP
   * (every wrong guess could have been aimed at it); `null`: no limit.
   */
  readonly maxAttempts: number | null
  /**
   * How a submitted OTP finds its C1. `by-otp`: the record whose OTP it is (the claim: the OTP is
   * C1's identifier). `latest-session`: a flaw, the most recent pending request is taken.
   */
  readonly lookup: "by-otp" | "latest-session"
  /** Before the PIN is asked for, the PC shows the requesting device's name and key fingerprint, and the user compares. */
  readonly showFingerprint: boolean
  /** Where the soft token goes: the claim allows "C1 and/or C2". */
  readonly delivery: "c1-and-c2" | "c1"
  /** The token signs pk_dev with the attributes (the claim); a flaw signs the attributes alone (a bearer token). */
  readonly bindKey: boolean
  /** The relying party verifies the issuer's signature (a flaw: it only decodes the token). */
  readonly rpVerifiesIssuer: boolean
  /** Lifetime of the soft token itself (`exp`), in seconds. */
  readonly tokenLifetimeSeconds: number
}

/** Claim 1 read literally; where it is silent, the simplest reading (SPEC.md §Variants). */
export const claimed: Policy = {
  name: "claimed",
  proofOfPossession: false,
  otpDigits: 6,
  otpLifetimeSeconds: null,
  singleUse: false,
  maxAttempts: null,
  lookup: "by-otp",
  showFingerprint: false,
  delivery: "c1-and-c2",
  bindKey: true,
  rpVerifiesIssuer: true,
  tokenLifetimeSeconds: 365 * 24 * 3600
}

/** The smallest changes that make every P1 property hold (SPEC.md §Hardened). */
export const hardened: Policy = {
  name: "hardened",
  proofOfPossession: true,
  otpDigits: 8,
  otpLifetimeSeconds: 300,
  singleUse: true,
  maxAttempts: 5,
  lookup: "by-otp",
  showFingerprint: true,
  delivery: "c1",
  bindKey: true,
  rpVerifiesIssuer: true,
  tokenLifetimeSeconds: 365 * 24 * 3600
}

export const policies = { claimed, hardened } as const

/** Entropy of an OTP of `digits` decimal digits, in bits. */
export const otpBits = (digits: number): number => digits * Math.log2(10)

/** One clock tick of the attacker's schedule, in seconds (the hardened OTP lifetime). */
export const TICK_SECONDS = 300
