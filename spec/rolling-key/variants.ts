/**
 * P5 variants as policies: the `claimed` reading of NZ624154 and the `hardened` protocol differ
 * only in these switches, and the model and the implementation both take a `Policy`, so the
 * variant is a parameter of one code path, never a copy. A switch exists here only if the two
 * variants set it differently; deliberate flaws (mutants) are applied from outside the shipped
 * code (properties/rolling-key/mutants), never through a policy field.
 */

export interface Policy {
  readonly name: string
  /**
   * Where the authorisation-code input comes from. `client-random`: the claim's wording, the
   * client picks it; `server-challenge`: the client asks with a fresh nonce of its own
   * (AuthBegin), the server answers with a fresh challenge that echoes it (AuthChallenge), the
   * code covers both and the server consumes the challenge at its first check.
   */
  readonly input: "client-random" | "server-challenge"
  /**
   * The server keeps the key retired by the device's last successful login, to recognise a clone
   * (`detect`: a code under it raises clone-suspected), or not at all (`none`).
   */
  readonly retired: "none" | "detect"
  /** The grant carries a MAC under the verified key, and the client checks it before rolling. */
  readonly authenticatedGrant: boolean
  /** `sent-back`: the client returns K0 to the server (the claim); `ecdh`: both derive it, nothing crosses the wire. */
  readonly initialKey: "sent-back" | "ecdh"
}

/** NZ624154 read literally; where it is silent, the simplest reading (see SPEC.md §Variants). */
export const claimed: Policy = {
  name: "claimed",
  input: "client-random",
  retired: "none",
  authenticatedGrant: false,
  initialKey: "sent-back"
}

/** The smallest changes that make every P5 property hold (see SPEC.md §Hardened). */
export const hardened: Policy = {
  name: "hardened",
  input: "server-challenge",
  retired: "detect",
  authenticatedGrant: true,
  initialKey: "ecdh"
}

export const policies = { claimed, hardened } as const
