/**
 * P4 mutants: the hardened participants with exactly one deliberate flaw each, applied from
 * outside the shipped code — decorators of the real stores, of the edge decoder, of the signature
 * check, of the signed-bytes builder, of the public-key table lookup, or of the directory. The
 * model side, where the flaw exists symbolically, is a machine override (`machine.provide`).
 * Each must be killed by the properties it names, on the implementation unguided
 * (properties/harness/suite-tests.ts).
 */
import { Effect, Schema } from "effect"
import { enqueueActions } from "xstate"
import { transcript } from "../../../spec/codec.ts"
import { Labels, ToBackend, ToPayee } from "../../../spec/cpk-payment/messages.ts"
import { SUBDOMAINS } from "../../../spec/cpk-payment/variants.ts"
import { decodePoint, type PairIndex, pointBytes } from "../../../impl/cpk-payment/cpk.ts"
import { type Directory, type DirectoryOptions, makeDirectory, type Verify, verifyWith } from "../../../impl/cpk-payment/keys.ts"
import type { SignedBytes } from "../../../impl/cpk-payment/signed.ts"
import { type BackendOptions, usedKey } from "../../../impl/cpk-payment/backend.ts"
import type { WalletOptions } from "../../../impl/cpk-payment/wallet.ts"
import type { BackendState, OpenOffer, PayeeState, Store } from "../../../impl/cpk-payment/store.ts"
import type { Machines } from "../../../model/cpk-payment/system.ts"
import { checkSigned, paymentData } from "../../../model/cpk-payment/terms.ts"
import { verdict } from "../../../model/cpk-payment/backend.machine.ts"
import type { MutantDefinition } from "../../definition.ts"
import { lenientDecoder } from "../../harness/lenient-decoder.ts"

export type CpkModelFlaw = Partial<{ readonly [K in keyof Machines]: Parameters<Machines[K]["provide"]>[0] }>

export interface BackendParts {
  readonly store: Store<BackendState>
  readonly decode?: BackendOptions["decode"]
  readonly verify?: Verify
}

export interface PayeeParts {
  readonly store: Store<PayeeState>
  readonly decodePayee?: WalletOptions["decodePayee"]
  readonly verify?: Verify
}

export interface CpkImplFlaw {
  /** The pair-table lookup every directory uses. */
  readonly pairIndex?: PairIndex
  /** How every participant's directory is built. */
  readonly directory?: (options: DirectoryOptions) => Directory
  /** The signed-bytes builder every participant uses. */
  readonly signed?: SignedBytes
  readonly backend?: (real: BackendParts) => BackendParts
  readonly payee?: (real: PayeeParts) => PayeeParts
}

export type CpkMutant = MutantDefinition<CpkModelFlaw, CpkImplFlaw>

/** A store whose every write goes through `rewrite(before, after)` first. */
const rewriting = <S>(inner: Store<S>, rewrite: (before: S, after: S) => S): Store<S> => ({
  snapshot: inner.snapshot,
  transact: <A>(f: (state: S) => readonly [A, S]) =>
    inner.transact((state) => {
      const [a, next] = f(state)
      return [a, rewrite(state, next)] as const
    })
})

/** The registry keys an accepted payment of `kind` added, dropped again. */
const forgetUsed = (kind: "online" | "settle") => (before: BackendState, after: BackendState): BackendState => {
  const added = after.ledger.slice(before.ledger.length)
  if (!added.some((c) => c.kind === kind)) return after
  const used = new Set(after.used)
  for (const k of after.used) if (!before.used.has(k)) used.delete(k)
  return { ...after, used }
}

const strictBackend = Schema.decodeUnknown(ToBackend)
const strictPayee = Schema.decodeUnknown(ToPayee)

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")

/**
 * The payee's wallet with its offer check comparing the payment with itself: the decoder notes
 * the offer a payment names and its terms, and the store shows the check that offer with the
 * payment's own amount and currency (every offer still open keeps its real terms afterwards).
 * The wallet's code runs as shipped; only what its check reads is the payment's.
 */
const offerTermsUnchecked = (real: PayeeParts): PayeeParts => {
  let paying: { readonly offer: string; readonly terms: OpenOffer } | undefined
  return {
    ...real,
    decodePayee: (bytes) =>
      Effect.tap(strictPayee(bytes), (m) => Effect.sync(() => void (paying = { offer: hex(m.offerNonce), terms: { amount: m.amount, currency: m.currency } }))),
    store: {
      snapshot: real.store.snapshot,
      transact: <A>(f: (state: PayeeState) => readonly [A, PayeeState]) =>
        real.store.transact((state) => {
          const p = paying
          paying = undefined
          if (p === undefined || !state.offers.has(p.offer)) return f(state)
          const [a, next] = f({ ...state, offers: new Map(state.offers).set(p.offer, p.terms) })
          return [a, { ...next, offers: new Map([...next.offers].map(([k, v]) => [k, state.offers.get(k) ?? v])) }] as const
        })
    }
  }
}

/** The hardened transcripts with the currency left out (signer and verifier alike). */
const withoutCurrency: SignedBytes = {
  online: (_policy, m) => transcript(Labels.online, [m.payer, m.payee, m.amount, m.subdomain, m.nonce, m.time]),
  offer: (_policy, m) => transcript(Labels.offer, [m.payee, m.amount, m.subdomain, m.nonce, m.time]),
  offline: (_policy, m) => transcript(Labels.offline, [m.payer, m.payee, m.amount, m.subdomain, m.nonce, m.offerNonce, m.time])
}

export const mutants: ReadonlyArray<CpkMutant> = [
  {
    name: "online-nonce-not-yielded",
    flaw: "The backend builds the registry write for an online payment but never yields it, so the nonce is not consumed (implementation only).",
    expectedKilledBy: ["P4.online-replay"],
    impl: { backend: (real) => ({ ...real, store: rewriting(real.store, forgetUsed("online")) }) }
  },
  {
    name: "settle-not-consumed",
    flaw: "The settlement path credits the payment without recording its nonce; only the online path consumes (implementation only).",
    expectedKilledBy: ["P4.offline-replay"],
    impl: { backend: (real) => ({ ...real, store: rewriting(real.store, forgetUsed("settle")) }) }
  },
  {
    name: "nonce-burnt-before-verify",
    flaw: "The backend records the payment's nonce as it decodes it, before the signature check that then fails (implementation only).",
    expectedKilledBy: ["P4.tampered-input", "P4.malformed-input"],
    impl: {
      backend: (real) => ({
        ...real,
        decode: (bytes) =>
          Effect.tap(strictBackend(bytes), (m) => real.store.transact((s) => [undefined, { ...s, used: new Set([...s.used, usedKey(m.payer, m.subdomain, m.nonce)]) }] as const))
      })
    }
  },
  {
    name: "currency-outside-transcript",
    flaw: "The signed transcripts leave the currency out, so a payment's currency can be changed (implementation only).",
    expectedKilledBy: ["P4.no-redirection", "P4.tampered-input"],
    impl: { signed: withoutCurrency }
  },
  {
    name: "payee-verify-either-truthy",
    flaw: "The payee's wallet runs the signature check as an Either and tests it for truthiness, so every signature passes (implementation only).",
    expectedKilledBy: ["P4.unforgeability"],
    impl: {
      payee: (real) => ({
        ...real,
        // an Either is an object: always truthy
        verify: (publicKey, bytes, signature) => Effect.flatMap(Effect.either(verifyWith(publicKey, bytes, signature)), (verified) => (verified ? Effect.void : Effect.dieMessage("unreachable")))
      })
    }
  },
  {
    name: "table-columns-same-row",
    flaw: "The public-key table lookup indexes a column pair with the first column's row twice, so two columns select the same row (implementation only).",
    expectedKilledBy: ["P4.liveness"],
    impl: { pairIndex: (dims, selection, k) => selection[2 * k]! * dims.rows + selection[2 * k]! }
  },
  {
    name: "offer-not-consumed",
    flaw: "The payee accepts a payment for an open offer but leaves the offer open, so the same payment QR is accepted again.",
    expectedKilledBy: ["P4.offline-replay"],
    model: {
      payee: {
        actions: {
          accept: enqueueActions(({ context, event, enqueue }) => {
            if (event.type !== "msg.OfflinePayment") return
            const m = event.message
            enqueue.assign({ held: [...context.held, { message: { ...m, _tag: "Settle" }, submitted: false }] })
            enqueue({ type: "fact", params: { event: { _tag: "Commit", actor: "payee", peer: m.payer === "zhang" ? "payer" : m.payer, data: paymentData("offline", m) } } } as never)
          })
        }
      }
    },
    impl: {
      payee: (real) => ({
        ...real,
        store: rewriting(real.store, (before, after) => (after.payments.length > before.payments.length ? { ...after, offers: before.offers } : after))
      })
    }
  },
  {
    name: "offer-terms-unchecked",
    flaw: "The payee accepts a payment for an open offer of its own without comparing the payment's amount and currency with the offer's.",
    expectedKilledBy: ["P4.offer-terms"],
    model: {
      payee: {
        guards: {
          invalid: ({ context, event }) => {
            if (event.type !== "msg.OfflinePayment") return false
            const m = event.message
            return m.payee !== context.id || checkSigned(context.policy, "pay", m.payer, m) !== undefined || (m.offer === null || context.offers[m.offer] === undefined)
          }
        },
        actions: {
          refuse: enqueueActions(({ context, event, enqueue }) => {
            if (event.type !== "msg.OfflinePayment") return
            const m = event.message
            const r = m.sub !== "pay" ? "wrong-subdomain" : m.payee !== context.id ? "wrong-payee" : checkSigned(context.policy, "pay", m.payer, m) ?? "unknown-offer"
            enqueue({ type: "fact", params: { event: { _tag: "Reject", actor: "payee", reason: r } } } as never)
          })
        }
      }
    },
    impl: { payee: offerTermsUnchecked }
  },
  {
    name: "every-subdomain-served",
    flaw: "The directories load every published subdomain's matrix, so a payment in another subdomain verifies under that subdomain's key.",
    expectedKilledBy: ["P4.subdomain-separation"],
    model: {
      backend: {
        guards: { checksFail: ({ context, event }) => checkSigned(context.policy, event.message.sub, event.message.payer, event.message) !== undefined },
        actions: {
          refuseCheck: enqueueActions(({ context, event, enqueue }) => {
            enqueue(verdict({ accepted: false, reason: checkSigned(context.policy, event.message.sub, event.message.payer, event.message)! }))
          })
        }
      }
    },
    impl: { directory: (options) => makeDirectory({ ...options, subdomains: SUBDOMAINS }) }
  },
  {
    name: "certificate-unchecked",
    flaw: "The directory adds the separating point a message carries without verifying the KMC's certificate over (subdomain, ID, point), so anyone can present a point that turns zhang's public key into one of its own.",
    expectedKilledBy: ["P4.unforgeability"],
    impl: {
      directory: (options) => {
        // The CPK part from an honest directory, plus whatever point the message carries.
        const plain = makeDirectory({ ...options, policy: { ...options.policy, separatingKey: false } })
        return {
          ...plain,
          publicKey: (id, subdomain, sepPoint, cert) =>
            Effect.map(plain.publicKey(id, subdomain, sepPoint, cert), (cpk) => {
              const s = decodePoint(sepPoint)
              return s === undefined ? cpk : pointBytes(decodePoint(cpk)!.add(s))
            })
        }
      }
    }
  },
  {
    name: "lenient-decoder",
    flaw: "The backend's decoder ignores trailing bytes after a well-formed message (implementation only).",
    expectedKilledBy: ["P4.malformed-input"],
    impl: { backend: (real) => ({ ...real, decode: lenientDecoder(strictBackend) }) }
  }
]
