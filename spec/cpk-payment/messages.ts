/**
 * P4 cpk-payment (seed 003, China Smartcity): every QR payload and wire message, with its
 * canonical encoding (spec/codec.ts: strict length-prefixed frames), and the domain-separation
 * labels of every signed byte string and of the keyed selection.
 *
 * One schema per message serves both variants: the fields of the hardened separating key
 * (`sepPoint`, `cert`) and the offline offer binding (`offerNonce`) are empty in `claimed`.
 * See SPEC.md for which step of the seed each message carries.
 */
import { Either, Schema } from "effect"
import { emptyOrFixed, type FieldCodec, fixedBytes, message, utf8, wireUnion, type MessageOfCodec } from "../codec.ts"

export const NONCE_BYTES = 16
export const SIGNATURE_BYTES = 64
/** SEC1 compressed P-256 point. */
export const POINT_BYTES = 33
export const TIME_BYTES = 8
/** Amounts are decimal minor units, at most 12 digits (below 2^53). */
export const MAX_AMOUNT_DIGITS = 12

const ascii = new TextDecoder("ascii")
const asciiEncoder = new TextEncoder()

/** A field of ASCII bytes matching `pattern` (after the length check). */
const pattern = (name: string, min: number, max: number, re: RegExp, samples: ReadonlyArray<string>): FieldCodec<string> => ({
  schema: Schema.String.pipe(Schema.filter((s) => s.length >= min && s.length <= max && re.test(s), { message: () => `expected ${name}` })),
  encode: (value) => asciiEncoder.encode(value),
  decode: (bytes) => {
    if (bytes.length < min || bytes.length > max) return Either.left(`expected ${name} of ${min}..${max} bytes, got ${bytes.length}`)
    if (bytes.some((b) => b > 0x7e || b < 0x20)) return Either.left(`expected ${name}: non-ASCII byte`)
    const s = ascii.decode(bytes)
    return re.test(s) ? Either.right(s) : Either.left(`expected ${name}`)
  },
  describe: name,
  shape: { lengths: [min, max], samples }
})

/** An identity (ID) as the KMC registered it: lowercase letters, digits, `-`, `.`, `@`. */
export const identity = pattern("an identity", 1, 64, /^[a-z0-9.@-]+$/, ["zhang", "shop-1", "Zhang", "zhang\n"])
/** A business subdomain identifier. */
export const subdomain = pattern("a subdomain", 1, 32, /^[a-z0-9-]+$/, ["payments", "transit", "pay ments"])
/** Decimal minor units, no leading zero. */
export const amount = pattern("an amount", 1, MAX_AMOUNT_DIGITS, /^(0|[1-9][0-9]*)$/, ["0", "1250", "01250", "+12", "1e3"])
/** ISO 4217 alphabetic code. */
export const currency = pattern("a currency code", 3, 3, /^[A-Z]{3}$/, ["CNY", "EUR", "cny", "\uFEFFCNY"])

const nonce = fixedBytes(NONCE_BYTES)
const signature = fixedBytes(SIGNATURE_BYTES)
const time = fixedBytes(TIME_BYTES)
/** `hardened`: the signer's KMC-certified separating point S = s·G; empty in `claimed`. */
const sepPoint = emptyOrFixed(POINT_BYTES)
/** `hardened`: the KMC's ECDSA signature over (subdomain, ID, S); empty in `claimed`. */
const cert = emptyOrFixed(SIGNATURE_BYTES)

/** Online, step 1 (payee's screen → payer's camera): the payee's QR code, unsigned. */
export const PaymentRequest = message("PaymentRequest", 1, { payee: identity, amount, currency, subdomain })

/** Online, step 2 (payer → backend): the payer's signed payment. */
export const PayOnline = message("PayOnline", 2, {
  payer: identity,
  payee: identity,
  amount,
  currency,
  subdomain,
  nonce,
  time,
  sepPoint,
  cert,
  signature
})

/** Offline, step 1 (payee's screen → payer's camera): the payee's signed offer. */
export const OfflineOffer = message("OfflineOffer", 3, {
  payee: identity,
  amount,
  currency,
  subdomain,
  nonce,
  time,
  sepPoint,
  cert,
  signature
})

const offlineFields = {
  payer: identity,
  payee: identity,
  amount,
  currency,
  subdomain,
  nonce,
  /** `hardened`: the nonce of the offer this payment answers; empty in `claimed`. */
  offerNonce: emptyOrFixed(NONCE_BYTES),
  time,
  sepPoint,
  cert,
  signature
}

/** Offline, step 2 (payer's screen → payee's camera): the payer's signed payment. */
export const OfflinePayment = message("OfflinePayment", 4, offlineFields)

/** Settlement (payee → backend, later, over TLS): a payment the payee accepted offline, forwarded as received. */
export const Settle = message("Settle", 5, offlineFields)

export type PaymentRequest = MessageOfCodec<typeof PaymentRequest>
export type PayOnline = MessageOfCodec<typeof PayOnline>
export type OfflineOffer = MessageOfCodec<typeof OfflineOffer>
export type OfflinePayment = MessageOfCodec<typeof OfflinePayment>
export type Settle = MessageOfCodec<typeof Settle>

export const ToBackend = wireUnion(PayOnline, Settle)
export type ToBackend = PayOnline | Settle
export const ToPayer = wireUnion(PaymentRequest, OfflineOffer)
export type ToPayer = PaymentRequest | OfflineOffer
export const ToPayee = wireUnion(OfflinePayment)
export type ToPayee = OfflinePayment

/** Domain-separation labels (spec/codec.ts `transcript`). */
export const Labels = {
  /** HMAC message of the keyed selection: (subdomain, ID). */
  select: "authlab/cpk-payment/select/v1",
  /** `claimed`: the seed's "sign the random number R": the signature covers R alone. */
  nonceOnly: "authlab/cpk-payment/nonce/v1",
  online: "authlab/cpk-payment/online/v1",
  offer: "authlab/cpk-payment/offer/v1",
  offline: "authlab/cpk-payment/offline/v1",
  keyCert: "authlab/cpk-payment/key-cert/v1"
} as const
