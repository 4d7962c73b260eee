/**
 * P1 variants as policies: the `claimed` reading of US 9,413,753 claim 1 and the `hardened`
 * protocol differ only in these switches; the model and the implementation both take a `Policy`.
 * Mutants are not policies: they are flaws applied from outside the shipped code
 * (properties/soft-token/mutants).
 */

export interface Policy {
  readonly name: string
  /** The secure element signs a service nonce with sk_dev before the service records a request for pk_dev. */
  readonly proofOfPossession: boolean
  /**
   * The shortest OTP the service issues, in decimal digits, whatever a deployment configures;
   * `null`: no minimum (the claim sets no length: the deployment's choice stands).
   */
  readonly minOtpDigits: number | null
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
   * The OTP identifies its C1 only if no two live records share it: the service draws again
   * when a new OTP equals a live one (the claim records the OTP "as an identifier" and never says so).
   */
  readonly uniqueOtp: boolean
  /** Live issuance sessions (OTP still valid) one public key may hold at once; `null`: no bound. */
  readonly maxLivePerKey: number | null
  /** Before the PIN is asked for, the PC shows the requesting device's name and key fingerprint, and the user compares. */
  readonly showFingerprint: boolean
  /** Where the soft token goes: the claim allows "C1 and/or C2". */
  readonly delivery: "c1-and-c2" | "c1"
}

/** Claim 1 read literally; where it is silent, the simplest reading (SPEC.md §Variants). */
export const claimed: Policy = {
  name: "claimed",
  proofOfPossession: false,
  minOtpDigits: null,
  otpLifetimeSeconds: null,
  singleUse: false,
  maxAttempts: null,
  uniqueOtp: false,
  maxLivePerKey: null,
  showFingerprint: false,
  delivery: "c1-and-c2"
}

/** The smallest changes that make every P1 property hold (SPEC.md §Hardened). */
export const hardened: Policy = {
  name: "hardened",
  proofOfPossession: true,
  minOtpDigits: 8,
  otpLifetimeSeconds: 300,
  singleUse: true,
  maxAttempts: 5,
  uniqueOtp: true,
  maxLivePerKey: 2,
  showFingerprint: true,
  delivery: "c1"
}

export const policies = { claimed, hardened } as const

/** The OTP length a deployment configures by default (a common choice; the claim names none). */
export const DEFAULT_OTP_DIGITS = 6

/** The digits the service issues when the deployment asks for `configured`. */
export const otpDigitsOf = (policy: Policy, configured: number): number => Math.max(configured, policy.minOtpDigits ?? 1)

/** Entropy of an OTP of `digits` decimal digits, in bits. */
export const otpBits = (digits: number): number => digits * Math.log2(10)

/** One clock tick of the attacker's schedule, in seconds (the hardened OTP lifetime). */
export const TICK_SECONDS = 300

/** Lifetime of the soft token itself (`exp`), in seconds: one year in both variants. */
export const TOKEN_LIFETIME_SECONDS = 365 * 24 * 3600
