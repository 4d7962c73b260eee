/**
 * Symbolic terms of P2b (perfect-crypto assumption, spec/split-login/SECURITY.md §Model). SIDs are
 * names `s1, s2, …` in the order the server opens them; a device key is `k<n>` (the n-th login's),
 * its fingerprint `fp(k<n>)`; the claimed authenticating data is the term `h(alice,pw)`, the same in
 * every session. OPAQUE is symbolic: KE1 is `ke1:<m>` (the Machine's m-th attempt, `ke1:x` the
 * attacker's own), KE2 pairs it with the server's nonce `n<j>`, and KE3 — which only the holder of
 * the password can make — names the KE2 it answers; the approval MAC names the session key (that
 * KE2) and the SID and fingerprint it covers.
 */

export const PASSWORD_HASH = "h(alice,pw)"

export interface Ke2 {
  readonly ke1: string
  readonly nonce: string
}

export type SymMessage =
  | { readonly _tag: "Open"; readonly key: string | null }
  | { readonly _tag: "Opened"; readonly sid: string }
  | { readonly _tag: "Login"; readonly sid: string; readonly auth: string }
  | { readonly _tag: "LoginStart"; readonly sid: string; readonly ke1: string }
  | { readonly _tag: "LoginChallenge"; readonly sid: string; readonly ke2: Ke2; readonly fp: string }
  | { readonly _tag: "LoginFinish"; readonly sid: string; readonly ke3: Ke2; readonly approval: { readonly key: Ke2; readonly sid: string; readonly fp: string } }
  | { readonly _tag: "Poll"; readonly sid: string; readonly key: string | null }
  | { readonly _tag: "Result"; readonly sid: string }

export const fingerprintOf = (key: string | null): string => `fp(${key ?? ""})`

export const sameKe2 = (a: Ke2, b: Ke2): boolean => a.ke1 === b.ke1 && a.nonce === b.nonce

/** The `data` a message carries in `Send` / `Deliver` events (as the implementation's harness names it). */
export const dataOf = (m: SymMessage): string | undefined => (m._tag === "Open" ? undefined : `sid=${m.sid}`)
