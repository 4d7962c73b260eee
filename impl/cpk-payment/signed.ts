/**
 * The byte strings P4 signatures cover (SPEC.md §Signed bytes), one function per message, under
 * the policy: `nonce` (the seed: the signature covers the random number R alone) or `payload`
 * (the canonical transcript of everything the receiver acts on). Signer and verifier call the
 * same function, so they cannot disagree on the bytes.
 */
import { transcript } from "../../spec/codec.ts"
import { Labels, type OfflineOffer, type OfflinePayment, type PayOnline } from "../../spec/cpk-payment/messages.ts"
import type { Policy } from "../../spec/cpk-payment/variants.ts"

type Unsigned<M> = Omit<M, "_tag" | "signature" | "sepPoint" | "cert">

export interface SignedBytes {
  readonly online: (policy: Policy, m: Unsigned<PayOnline>) => Uint8Array
  readonly offer: (policy: Policy, m: Unsigned<OfflineOffer>) => Uint8Array
  readonly offline: (policy: Policy, m: Unsigned<OfflinePayment>) => Uint8Array
}

export const signedBytes: SignedBytes = {
  online: (policy, m) =>
    policy.signs === "nonce" ? transcript(Labels.nonceOnly, [m.nonce]) : transcript(Labels.online, [m.payer, m.payee, m.amount, m.currency, m.subdomain, m.nonce, m.time]),
  offer: (policy, m) =>
    policy.signs === "nonce" ? transcript(Labels.nonceOnly, [m.nonce]) : transcript(Labels.offer, [m.payee, m.amount, m.currency, m.subdomain, m.nonce, m.time]),
  offline: (policy, m) =>
    policy.signs === "nonce"
      ? transcript(Labels.nonceOnly, [m.nonce])
      : transcript(Labels.offline, [m.payer, m.payee, m.amount, m.currency, m.subdomain, m.nonce, m.offerNonce, m.time])
}

export const keyCertBytes = (subdomain: string, id: string, sepPoint: Uint8Array): Uint8Array => transcript(Labels.keyCert, [subdomain, id, sepPoint])

export const timeBytes = (millis: number): Uint8Array => {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(millis))
  return out
}
