/**
 * P4 wallets (spec/cpk-payment/SPEC.md §Online, §Offline): the phone's soft-key system, one
 * service per role. A wallet holds its user's key per subdomain (issued by the KMC) and the
 * directory; it decodes every scanned QR once, at the edge, with the strict schema.
 *
 * Payer: scans the payee's PaymentRequest and signs a PayOnline for the backend; scans an
 * OfflineOffer, verifies the payee's signature under the key derived from the payee's ID, and —
 * the user having agreed — signs an OfflinePayment. Payee: shows PaymentRequests and signed
 * OfflineOffers, verifies the payer's OfflinePayment and keeps it for settlement.
 *
 * Checks in a fixed order, each its own reason: malformed, wrong-subdomain, wrong-payee, bad-cert,
 * bad-signature, then (`hardened`) unknown-offer / wrong-amount.
 */
import { Data, Effect, type ParseResult, Schema } from "effect"
import { NONCE_BYTES, OfflineOffer, OfflinePayment, PaymentRequest, PayOnline, Settle, ToPayee, ToPayer } from "../../spec/cpk-payment/messages.ts"
import type { Policy } from "../../spec/cpk-payment/variants.ts"
import { type Crypto, SecureRandom } from "../crypto/services.ts"
import { type Directory, signWith, type UserKey, type Verify, verifyWith } from "./keys.ts"
import { type SignedBytes, signedBytes, timeBytes } from "./signed.ts"
import type { PayeeStore } from "./store.ts"

export type WalletReason = "malformed" | "wrong-subdomain" | "wrong-payee" | "bad-cert" | "bad-signature" | "unknown-offer" | "wrong-amount" | "no-key"

export class WalletError extends Data.TaggedError("WalletError")<{ readonly reason: WalletReason }> {}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")
const empty = new Uint8Array(0)

export interface WalletOptions {
  readonly policy: Policy
  readonly id: string
  readonly keys: ReadonlyMap<string, UserKey>
  readonly directory: Directory
  readonly signed?: SignedBytes
  readonly verify?: Verify
  readonly decodePayer?: (bytes: Uint8Array) => Effect.Effect<ToPayer, ParseResult.ParseError>
  readonly decodePayee?: (bytes: Uint8Array) => Effect.Effect<ToPayee, ParseResult.ParseError>
}

const nowBytes = Effect.map(Effect.clockWith((c) => c.currentTimeMillis), timeBytes)
const nonce = Effect.flatMap(SecureRandom, (r) => r.bytes(NONCE_BYTES))

const keyFor = (options: WalletOptions, subdomain: string) => {
  const key = options.keys.get(subdomain)
  return key === undefined ? Effect.fail(new WalletError({ reason: "no-key" })) : Effect.succeed(key)
}

const refuse = (reason: WalletReason) => Effect.fail(new WalletError({ reason }))

export interface PayerWallet {
  /** Scan a PaymentRequest QR and sign the payment for the backend. */
  readonly payOnline: (qr: Uint8Array) => Effect.Effect<Uint8Array, WalletError, Crypto | SecureRandom>
  /** Scan an OfflineOffer QR: verify the payee, (the user agrees), sign the OfflinePayment QR. */
  readonly answerOffer: (qr: Uint8Array) => Effect.Effect<{ readonly offer: OfflineOffer; readonly payment: Uint8Array }, WalletError, Crypto | SecureRandom>
}

export const makePayerWallet = (options: WalletOptions): PayerWallet => {
  const signed = options.signed ?? signedBytes
  const verify = options.verify ?? verifyWith
  const decode = options.decodePayer ?? Schema.decodeUnknown(ToPayer)
  const scan = (qr: Uint8Array) => Effect.mapError(decode(qr), () => new WalletError({ reason: "malformed" }))

  const payOnline = Effect.fn("PayerWallet.payOnline")(function*(qr: Uint8Array) {
    const request = yield* scan(qr)
    if (request._tag !== "PaymentRequest") return yield* refuse("malformed")
    const key = yield* keyFor(options, request.subdomain)
    const fields = { payer: options.id, payee: request.payee, amount: request.amount, currency: request.currency, subdomain: request.subdomain, nonce: yield* nonce, time: yield* nowBytes }
    const signature = yield* signWith(key, signed.online(options.policy, fields))
    return PayOnline.encode(PayOnline.make({ ...fields, sepPoint: key.sepPoint, cert: key.cert, signature }))
  })

  const answerOffer = Effect.fn("PayerWallet.answerOffer")(function*(qr: Uint8Array) {
    const offer = yield* scan(qr)
    if (offer._tag !== "OfflineOffer") return yield* refuse("malformed")
    const key = yield* keyFor(options, offer.subdomain)
    const payeeKey = yield* Effect.mapError(options.directory.publicKey(offer.payee, offer.subdomain, offer.sepPoint, offer.cert), (e) => new WalletError({ reason: e.reason }))
    yield* Effect.mapError(verify(payeeKey, signed.offer(options.policy, offer), offer.signature), () => new WalletError({ reason: "bad-signature" }))
    const fields = {
      payer: options.id,
      payee: offer.payee,
      amount: offer.amount,
      currency: offer.currency,
      subdomain: offer.subdomain,
      nonce: yield* nonce,
      offerNonce: options.policy.freshness === "registry" ? offer.nonce : empty,
      time: yield* nowBytes
    }
    const signature = yield* signWith(key, signed.offline(options.policy, fields))
    return { offer, payment: OfflinePayment.encode(OfflinePayment.make({ ...fields, sepPoint: key.sepPoint, cert: key.cert, signature })) }
  })

  return { payOnline, answerOffer }
}

export interface PayeeWallet {
  readonly request: (amount: string, currency: string, subdomain: string) => Effect.Effect<Uint8Array>
  readonly offer: (amount: string, currency: string, subdomain: string) => Effect.Effect<Uint8Array, WalletError, Crypto | SecureRandom>
  /** Scan an OfflinePayment QR: verify the payer and (`hardened`) the offer it answers; keep it for settlement. */
  readonly receive: (qr: Uint8Array) => Effect.Effect<OfflinePayment, WalletError, Crypto>
  /** Settle messages for every accepted payment not yet submitted (each is submitted once). */
  readonly settle: Effect.Effect<ReadonlyArray<Uint8Array>>
}

export const makePayeeWallet = (options: WalletOptions & { readonly store: PayeeStore }): PayeeWallet => {
  const signed = options.signed ?? signedBytes
  const verify = options.verify ?? verifyWith
  const decode = options.decodePayee ?? Schema.decodeUnknown(ToPayee)
  const { store, policy } = options

  const request = (amount: string, currency: string, subdomain: string) =>
    Effect.succeed(PaymentRequest.encode(PaymentRequest.make({ payee: options.id, amount, currency, subdomain })))

  const offer = Effect.fn("PayeeWallet.offer")(function*(amount: string, currency: string, subdomain: string) {
    const key = yield* keyFor(options, subdomain)
    const fields = { payee: options.id, amount, currency, subdomain, nonce: yield* nonce, time: yield* nowBytes }
    const signature = yield* signWith(key, signed.offer(policy, fields))
    if (policy.freshness === "registry") yield* store.transact((s) => [undefined, { ...s, offers: new Map([...s.offers, [hex(fields.nonce), { amount, currency }]]) }] as const)
    return OfflineOffer.encode(OfflineOffer.make({ ...fields, sepPoint: key.sepPoint, cert: key.cert, signature }))
  })

  const receive = Effect.fn("PayeeWallet.receive")(function*(qr: Uint8Array) {
    const decoded = yield* Effect.either(decode(qr))
    if (decoded._tag === "Left") return yield* refuse("malformed")
    const m = decoded.right
    if (!options.directory.subdomains.includes(m.subdomain)) return yield* refuse("wrong-subdomain")
    if (m.payee !== options.id) return yield* refuse("wrong-payee")
    const payerKey = yield* Effect.mapError(options.directory.publicKey(m.payer, m.subdomain, m.sepPoint, m.cert), (e) => new WalletError({ reason: e.reason }))
    yield* Effect.mapError(verify(payerKey, signed.offline(policy, m), m.signature), () => new WalletError({ reason: "bad-signature" }))
    const held = { bytes: Settle.encode(Settle.make({ ...m })), payer: m.payer, nonce: hex(m.nonce), submitted: false }
    const outcome = yield* store.transact((s): readonly [WalletReason | undefined, typeof s] => {
      if (policy.freshness === "none") return [undefined, { ...s, payments: [...s.payments, held] }]
      const open = s.offers.get(hex(m.offerNonce))
      if (open === undefined) return ["unknown-offer", s]
      if (open.amount !== m.amount || open.currency !== m.currency) return ["wrong-amount", s]
      const offers = new Map(s.offers)
      offers.delete(hex(m.offerNonce))
      return [undefined, { offers, payments: [...s.payments, held] }]
    })
    if (outcome !== undefined) return yield* refuse(outcome)
    return m
  })

  const settle = store.transact((s) => [s.payments.filter((p) => !p.submitted).map((p) => p.bytes), { ...s, payments: s.payments.map((p) => ({ ...p, submitted: true })) }] as const)

  return { request, offer, receive, settle }
}
