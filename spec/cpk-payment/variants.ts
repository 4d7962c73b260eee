/**
 * P4 variants as policies: only what differs between the `claimed` reading of the seed and the
 * `hardened` protocol. Deliberate flaws (mutants) are applied from outside the shipped code
 * (properties/cpk-payment/mutants), never through a policy field.
 */

export interface Policy {
  readonly name: string
  /**
   * What a signature covers. `nonce`: the seed's "uses the private key to sign the random number
   * R", the payee, amount and currency travel beside it unsigned; `payload`: the canonical
   * transcript of payer, payee, amount, currency, subdomain, nonce(s) and time.
   */
  readonly signs: "nonce" | "payload"
  /**
   * Single use. `none`: the seed keeps no record; `registry`: the backend consumes each
   * (payer, subdomain, nonce) once, online and at settlement (a duplicate at settlement raises
   * `double-spend`), and the payee accepts an offline payment only for an open offer of its own,
   * which it consumes.
   */
  readonly freshness: "none" | "registry"
  /**
   * `false`: the public key is Σ selected R alone (pure CPK, linear, open to collusion); `true`:
   * the KMC adds a random separating key s per user and certifies S = s·G (CPK 2.0-style), so
   * the public key is Σ selected R + S and a coalition's linear system has one unknown per user.
   */
  readonly separatingKey: boolean
}

export const claimed: Policy = { name: "claimed", signs: "nonce", freshness: "none", separatingKey: false }

export const hardened: Policy = { name: "hardened", signs: "payload", freshness: "registry", separatingKey: true }

export const policies = { claimed, hardened } as const

/** The business subdomains of the deployment: payments, and a transit-card subdomain whose keys live on a less protected terminal. */
export const SUBDOMAINS = ["pay", "transit"] as const

/** The matrix the worlds run on (h rows × m columns); 32×32 in deployment (SPEC.md §CPK). */
export const WORLD_ROWS = 4
export const WORLD_COLUMNS = 4

/**
 * The rank of the selection space: the number of keys with independent selections that determine
 * every identity's key (SPEC.md §Collusion). With h rows and m columns it is m(h−1)+1 — the
 * indicator vectors are exactly those whose m column blocks have equal sums; the brief's h(m−1)+1
 * is the same number for the square matrices CPK deploys: 993 for 32×32.
 */
export const collusionBound = (rows: number, columns: number): number => columns * (rows - 1) + 1
