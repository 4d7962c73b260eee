/**
 * Symbolic terms of P4 (perfect-crypto assumption, spec/cpk-payment/SECURITY.md §Model). A key is
 * a name: `id@sub` (the combined CPK key) or `id@sub+sep` (with the hardened separating key);
 * a signature is the pair (key, covered string) and only a holder of the key can make it; a
 * separating point `sep` is carried with the KMC's certificate, which only the KMC can make, so a
 * message's `sep` verifies only if it is the one the KMC certified for (id, sub). Nonces are names
 * (`n1` the payer's first, `o1` the payee's first offer, `x1` the attacker's first).
 */
import type { Policy } from "../../spec/cpk-payment/variants.ts"

export interface SigTerm {
  readonly key: string
  readonly over: string
}

export interface PaymentFields {
  readonly payer: string
  readonly payee: string
  readonly amount: string
  readonly currency: string
  readonly sub: string
  readonly nonce: string
}

export type SymMessage =
  | ({ readonly _tag: "PayOnline"; readonly sep: string | null; readonly sig: SigTerm } & PaymentFields)
  | { readonly _tag: "OfflineOffer"; readonly payee: string; readonly amount: string; readonly currency: string; readonly sub: string; readonly nonce: string; readonly sep: string | null; readonly sig: SigTerm }
  | ({ readonly _tag: "OfflinePayment"; readonly offer: string | null; readonly sep: string | null; readonly sig: SigTerm } & PaymentFields)
  | ({ readonly _tag: "Settle"; readonly offer: string | null; readonly sep: string | null; readonly sig: SigTerm } & PaymentFields)

/** The separating point the KMC certifies for (id, sub) under `hardened`. */
export const certifiedSep = (id: string, sub: string): string => `s:${id}@${sub}`

/** The name of the key a verifier derives for (id, sub) from what the message carries. */
export const derivedKey = (policy: Policy, id: string, sub: string, sep: string | null): string =>
  policy.separatingKey ? `${id}@${sub}+${sep}` : `${id}@${sub}`

/** The key the KMC issued to (id, sub). */
export const issuedKey = (policy: Policy, id: string, sub: string): string => derivedKey(policy, id, sub, certifiedSep(id, sub))

/** What a signature covers (impl/cpk-payment/signed.ts, symbolically). */
export const coveredBy = (policy: Policy, m: SymMessage): string => {
  if (policy.signs === "nonce") return `nonce:${m.nonce}`
  switch (m._tag) {
    case "PayOnline":
      return `online:${m.payer}:${m.payee}:${m.amount}:${m.currency}:${m.sub}:${m.nonce}`
    case "OfflineOffer":
      return `offer:${m.payee}:${m.amount}:${m.currency}:${m.sub}:${m.nonce}`
    default:
      return `offline:${m.payer}:${m.payee}:${m.amount}:${m.currency}:${m.sub}:${m.nonce}:${m.offer ?? ""}`
  }
}

export type CheckReason = "wrong-subdomain" | "wrong-payee" | "bad-cert" | "bad-signature"

/**
 * The checks every verifier runs, in the implementation's order: its subdomain, (`hardened`) the
 * certificate of the signer's separating point, the signature under the derived key.
 */
export const checkSigned = (policy: Policy, served: string, signer: string, m: SymMessage): CheckReason | undefined => {
  if (m.sub !== served) return "wrong-subdomain"
  if (policy.separatingKey && m.sep !== certifiedSep(signer, m.sub)) return "bad-cert"
  if (m.sig.key !== derivedKey(policy, signer, m.sub, m.sep) || m.sig.over !== coveredBy(policy, m)) return "bad-signature"
  return undefined
}

/** The trace data of a payment (spec/cpk-payment/properties.ts). */
export const paymentData = (kind: "pay" | "offline" | "settle", m: PaymentFields): string =>
  `${kind};payer=${m.payer};payee=${m.payee};amount=${m.amount};cur=${m.currency};sub=${m.sub};n=${m.nonce}`

export const offerData = (m: { readonly payee: string; readonly amount: string; readonly currency: string; readonly sub: string; readonly nonce: string }): string =>
  `offer;payee=${m.payee};amount=${m.amount};cur=${m.currency};sub=${m.sub};n=${m.nonce}`

/** The role that holds an identity (the peer of a Commit). */
export const roleOf = (id: string): string => (id === "zhang" ? "payer" : id === "li" ? "payee" : id)

/** The data string a message carries in `Send` / `Deliver` events. */
export const dataOf = (m: SymMessage): string =>
  m._tag === "PayOnline" ? paymentData("pay", m) : m._tag === "OfflineOffer" ? offerData(m) : paymentData(m._tag === "Settle" ? "settle" : "offline", m)
