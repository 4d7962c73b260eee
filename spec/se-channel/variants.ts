/**
 * P2a variants as policies: only what differs between the `claimed` reading of US 10,812,467 and
 * the `hardened` protocol (SPEC.md §Variants). Deliberate flaws (mutants) are applied from outside
 * the shipped code (properties/se-channel/mutants), never through a policy field.
 */

export interface Policy {
  readonly name: "claimed" | "hardened"
  /**
   * Who states the identity data the SE checks the certificate's link against. `page`: the claim's
   * "the secure element gets the application certificate and the specific data" from the web
   * application, i.e. from whatever page the browser runs; `platform`: the browser platform states
   * the page's origin and TLS certificate hash and MACs them with the key it shares with the SE
   * (paired once, as CTAP's platform–authenticator shared secret), so a page cannot claim
   * another origin's data.
   */
  readonly identityFrom: "page" | "platform"
  /**
   * Key confirmation. `none`: each side opens the channel as soon as it has derived the key (the
   * claim: "generate an ephemeral session key and use it for opening a secure channel"); `both`:
   * the server's ServerHello carries a receipt (HMAC under a confirmation key, as SCP11's receipt)
   * that the SE checks before it opens, and the SE's SeFinish carries one the server checks.
   */
  readonly confirmation: "none" | "both"
  /**
   * What the KDF's salt covers. `none`: HKDF over the two ECDH values alone; `transcript`: a hash
   * of both identities (SE id, certificate subject), the server's certified key and both ephemeral
   * public keys.
   */
  readonly kdfSalt: "none" | "transcript"
  /**
   * Whether the SE proves its identity. `none`: the SE sends its certificate and nothing binds it
   * to the ephemeral; `signature`: the SE signs (its id, its ephemeral, the subject it believes it
   * talks to) with its certified static key, and the server refuses SeOpen without it.
   */
  readonly seAuth: "none" | "signature"
}

export const claimed: Policy = { name: "claimed", identityFrom: "page", confirmation: "none", kdfSalt: "none", seAuth: "none" }

export const hardened: Policy = { name: "hardened", identityFrom: "platform", confirmation: "both", kdfSalt: "transcript", seAuth: "signature" }

export const policies = { claimed, hardened } as const

/**
 * The world both sides run in (SPEC.md §World): the honest server `bank`, the user's secure
 * element `se1`, and the attacker's origin `evil`, to which the CA issued an application
 * certificate for a public key the attacker submitted: the bank's own (the CA asks for no proof
 * of possession; SECURITY.md §Attacker).
 */
export const ORIGINS = ["bank", "evil"] as const
export type Origin = (typeof ORIGINS)[number]
export const SERVER = "bank"
export const SE_ID = "se1"

/** The most visits, records per direction, and attacker ephemerals in one run (both worlds). */
export const MAX_VISITS = 2
export const MAX_RECORDS = 2
