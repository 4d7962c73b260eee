/**
 * P5 variants as policies: the `claimed` reading of NZ624154 and the `hardened` protocol differ
 * only in these switches, and the model and the implementation both take a `Policy`, so the
 * variant is a parameter of one code path, never a copy. Mutants (properties/rolling-key/mutants)
 * are the hardened policy with one switch flipped.
 */

export interface Policy {
  readonly name: string
  /**
   * Where the authorisation-code input comes from. `client-random`: the claim's wording, the
   * client picks it; `server-challenge`: the server issues a fresh challenge (AuthBegin /
   * AuthChallenge) and the code must cover it.
   */
  readonly input: "client-random" | "server-challenge"
  /** The server forgets a challenge once a request has been checked against it (success or not). */
  readonly consumeChallenge: boolean
  /** The server keeps the previous key, so a client whose grant was lost can still log in. */
  readonly keepPrevious: boolean
  /**
   * The server keeps the key retired by the device's last successful login, to recognise a clone
   * (`detect`, raise clone-suspected), to accept it anyway (`accept`: a flaw), or not at all (`none`).
   */
  readonly retired: "none" | "detect" | "accept"
  /** The grant carries a MAC under the verified key, and the client checks it before rolling. */
  readonly authenticatedGrant: boolean
  /** `sent-back`: the client returns K0 to the server (the claim); `ecdh`: both derive it, nothing crosses the wire. */
  readonly initialKey: "sent-back" | "ecdh"
  /** The client writes a new key to durable storage before it may use it (a crash then loses nothing). */
  readonly persistBeforeUse: boolean
}

/** NZ624154 read literally; where it is silent, the simplest reading (see SPEC.md §Variants). */
export const claimed: Policy = {
  name: "claimed",
  input: "client-random",
  consumeChallenge: false,
  keepPrevious: true,
  retired: "none",
  authenticatedGrant: false,
  initialKey: "sent-back",
  persistBeforeUse: true
}

/** The smallest changes that make every P5 property hold (see SPEC.md §Hardened). */
export const hardened: Policy = {
  name: "hardened",
  input: "server-challenge",
  consumeChallenge: true,
  keepPrevious: true,
  retired: "detect",
  authenticatedGrant: true,
  initialKey: "ecdh",
  persistBeforeUse: true
}

export const policies = { claimed, hardened } as const
