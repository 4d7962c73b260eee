/**
 * P2b variants as policies: only what differs between the `claimed` reading of US 9,635,022
 * claims 1–2 and the `hardened` protocol. Mutants are flaws applied from outside the shipped code
 * (properties/split-login/mutants), never a policy field.
 */

export interface Policy {
  readonly name: string
  /**
   * What the Machine sends. `hash`: claim 1's "authenticating data generated from the password"
   * read as the simplest such data, a deterministic hash of (username, password) that the server
   * compares with its record; `opaque`: an OPAQUE login (RFC 9807) bound to the SID's server nonce,
   * plus the approval MAC under its session key.
   */
  readonly auth: "hash" | "opaque"
  /**
   * What a poll must show. `sid`: claim 2's "second reference data based on the identifier" alone;
   * `device-key`: also the key the opening Device sent over TLS (constant-time compared).
   */
  readonly poll: "sid" | "device-key"
  /** An SID completes at most one login and releases its result at most once. */
  readonly singleUse: boolean
  /** Seconds an SID lives after it is opened; `null`: forever (the claim is silent). */
  readonly sidLifetimeSeconds: number | null
  /** The Machine shows the opening device's key fingerprint and the user compares it with her Device's screen. */
  readonly consentScreen: boolean
}

export const claimed: Policy = { name: "claimed", auth: "hash", poll: "sid", singleUse: false, sidLifetimeSeconds: null, consentScreen: false }

export const hardened: Policy = { name: "hardened", auth: "opaque", poll: "device-key", singleUse: true, sidLifetimeSeconds: 120, consentScreen: true }

export const policies = { claimed, hardened } as const

/** One clock step of the attacker's schedule (`Timeout` of the server), in seconds: longer than the hardened SID lifetime. */
export const TICK_SECONDS = 300

/** The registered user, her password, and the dictionary the attacker guesses from (SECURITY.md §Offline guessing). */
export const USERNAME = "alice"
export const PASSWORD = "sunshine"
export const DICTIONARY: ReadonlyArray<string> = ["123456", "password", "qwerty", "letmein", "dragon", "iloveyou", "hunter2", "sunshine"]
