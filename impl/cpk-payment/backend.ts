/**
 * P4 Backend (spec/cpk-payment/SPEC.md §Online step 3, §Settlement): derives the payer's public key
 * from the ID and subdomain, verifies the signature, and processes the payment.
 *
 * Checks in a fixed order, each its own reason: malformed, wrong-subdomain, bad-cert,
 * bad-signature, then (`hardened`) the registry: an online nonce seen before is `replay`; at
 * settlement a payment already settled is `replay` and one whose (payer, nonce) was already used
 * by a different payment is `double-spend` (with the `double-spend` signal). Registry check and
 * write are one transaction; a refusal writes nothing.
 */
import { Data, Effect, type ParseResult, Schema } from "effect"
import { ToBackend } from "../../spec/cpk-payment/messages.ts"
import type { Policy } from "../../spec/cpk-payment/variants.ts"
import type { Crypto } from "../crypto/services.ts"
import { type Directory, type Verify, verifyWith } from "./keys.ts"
import { type SignedBytes, signedBytes } from "./signed.ts"
import type { BackendState, BackendStore, Credit } from "./store.ts"

export type BackendReason = "malformed" | "wrong-subdomain" | "bad-cert" | "bad-signature" | "replay" | "double-spend"

export class BackendError extends Data.TaggedError("BackendError")<{ readonly reason: BackendReason }> {}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")

export interface BackendOptions {
  readonly policy: Policy
  readonly directory: Directory
  readonly store: BackendStore
  readonly signed?: SignedBytes
  readonly verify?: Verify
  readonly decode?: (bytes: Uint8Array) => Effect.Effect<ToBackend, ParseResult.ParseError>
}

export interface Backend {
  readonly receive: (bytes: Uint8Array) => Effect.Effect<Credit, BackendError, Crypto>
}

/** The registry key of a payment. */
export const usedKey = (payer: string, subdomain: string, nonce: Uint8Array): string => `${payer}|${subdomain}|${hex(nonce)}`

export const makeBackend = (options: BackendOptions): Backend => {
  const { policy, store } = options
  const signed = options.signed ?? signedBytes
  const verify = options.verify ?? verifyWith
  const decode = options.decode ?? Schema.decodeUnknown(ToBackend)

  const receive = Effect.fn("Backend.receive")(function*(bytes: Uint8Array) {
    const decoded = yield* Effect.either(decode(bytes))
    if (decoded._tag === "Left") return yield* new BackendError({ reason: "malformed" })
    const m = decoded.right
    if (!options.directory.subdomains.includes(m.subdomain)) return yield* new BackendError({ reason: "wrong-subdomain" })
    const payerKey = yield* Effect.mapError(options.directory.publicKey(m.payer, m.subdomain, m.sepPoint, m.cert), (e) => new BackendError({ reason: e.reason }))
    const covered = m._tag === "PayOnline" ? signed.online(policy, m) : signed.offline(policy, m)
    yield* Effect.mapError(verify(payerKey, covered, m.signature), () => new BackendError({ reason: "bad-signature" }))
    const credit: Credit = { kind: m._tag === "PayOnline" ? "online" : "settle", payer: m.payer, payee: m.payee, amount: m.amount, currency: m.currency, subdomain: m.subdomain, nonce: hex(m.nonce) }
    const key = usedKey(m.payer, m.subdomain, m.nonce)
    const outcome = yield* store.transact((s): readonly [BackendReason | undefined, BackendState] => {
      if (policy.freshness === "registry" && s.used.has(key)) {
        const same = s.ledger.some((c) => c.kind === credit.kind && c.payer === credit.payer && c.nonce === credit.nonce && c.payee === credit.payee && c.amount === credit.amount && c.currency === credit.currency)
        return [credit.kind === "settle" && !same ? "double-spend" : "replay", s]
      }
      return [undefined, { used: policy.freshness === "registry" ? new Set([...s.used, key]) : s.used, ledger: [...s.ledger, credit] }]
    })
    if (outcome !== undefined) return yield* new BackendError({ reason: outcome })
    return credit
  })

  return { receive }
}
