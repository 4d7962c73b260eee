/**
 * P4 PayeeWallet as a pure XState v5 machine (spec/cpk-payment/SPEC.md §Offline steps 1 and 4,
 * §Settlement): signs offers, verifies the payer's payment under the key derived from the payer's
 * ID, — `hardened` — only for an open offer of its own, which it consumes; keeps accepted payments
 * and submits each once for settlement.
 */
import { enqueueActions, setup } from "xstate"
import type { TraceEvent } from "../../spec/trace.ts"
import type { Policy } from "../../spec/cpk-payment/variants.ts"
import { checkSigned, coveredBy, certifiedSep, issuedKey, offerData, paymentData, type SymMessage } from "./terms.ts"
import type { SendParams } from "./payer.machine.ts"

type Payment = Extract<SymMessage, { _tag: "OfflinePayment" }>

export interface Held {
  readonly message: Extract<SymMessage, { _tag: "Settle" }>
  readonly submitted: boolean
}

export interface PayeeContext {
  readonly policy: Policy
  readonly id: string
  /** Open offers (`hardened`): nonce → amount and currency. */
  readonly offers: Readonly<Record<string, { readonly amount: string; readonly currency: string }>>
  readonly held: ReadonlyArray<Held>
}

export type PayeeEvent =
  | { readonly type: "user.offer"; readonly amount: string; readonly currency: string; readonly nonce: string }
  | { readonly type: "msg.OfflinePayment"; readonly message: Payment }
  | { readonly type: "user.settle" }

const send = (message: SymMessage, to: string): never => ({ type: "send", params: { message, to } }) as never
const fact = (event: TraceEvent): never => ({ type: "fact", params: { event } }) as never
const reject = (reason: string): never => fact({ _tag: "Reject", actor: "payee", reason })

const offerProblem = (context: PayeeContext, m: Payment): string | undefined => {
  if (context.policy.freshness === "none") return undefined
  const open = m.offer === null ? undefined : context.offers[m.offer]
  if (open === undefined) return "unknown-offer"
  if (open.amount !== m.amount || open.currency !== m.currency) return "wrong-amount"
  return undefined
}

export const payeeMachine = setup({
  types: { context: {} as PayeeContext, events: {} as PayeeEvent, input: {} as { readonly policy: Policy; readonly id: string } },
  actions: {
    send: (_, _params: SendParams) => {},
    fact: (_, _params: { readonly event: TraceEvent }) => {},
    offer: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "user.offer") return
      const { policy, id } = context
      const base = { _tag: "OfflineOffer" as const, payee: id, amount: event.amount, currency: event.currency, sub: "pay", nonce: event.nonce, sep: policy.separatingKey ? certifiedSep(id, "pay") : null }
      const message: SymMessage = { ...base, sig: { key: issuedKey(policy, id, "pay"), over: coveredBy(policy, { ...base, sig: { key: "", over: "" } }) } }
      if (policy.freshness === "registry") enqueue.assign({ offers: { ...context.offers, [event.nonce]: { amount: event.amount, currency: event.currency } } })
      enqueue(fact({ _tag: "Running", actor: "payee", peer: "payer", data: offerData(base) }))
      enqueue(send(message, "payer"))
    }),
    refuse: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.OfflinePayment") return
      const m = event.message
      const r = m.sub !== "pay" ? "wrong-subdomain" : m.payee !== context.id ? "wrong-payee" : checkSigned(context.policy, "pay", m.payer, m) ?? offerProblem(context, m)
      enqueue(reject(r!))
    }),
    accept: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.OfflinePayment") return
      const m = event.message
      const offers = { ...context.offers }
      if (m.offer !== null) delete offers[m.offer]
      enqueue.assign({ offers: context.policy.freshness === "registry" ? offers : context.offers, held: [...context.held, { message: { ...m, _tag: "Settle" }, submitted: false }] })
      enqueue(fact({ _tag: "Commit", actor: "payee", peer: m.payer === "zhang" ? "payer" : m.payer, data: paymentData("offline", m) }))
    }),
    settle: enqueueActions(({ context, enqueue }) => {
      for (const h of context.held) if (!h.submitted) enqueue(send(h.message, "backend"))
      enqueue.assign({ held: context.held.map((h) => ({ ...h, submitted: true })) })
    })
  },
  guards: {
    invalid: ({ context, event }) => {
      if (event.type !== "msg.OfflinePayment") return false
      const m = event.message
      return m.payee !== context.id || checkSigned(context.policy, "pay", m.payer, m) !== undefined || offerProblem(context, m) !== undefined
    }
  }
}).createMachine({
  id: "payeeWallet",
  description: "P4 payee's wallet: signs offline offers, verifies and keeps offline payments, submits them for settlement.",
  meta: { spec: "spec/cpk-payment/SPEC.md §Offline, §Settlement" },
  context: ({ input }) => ({ policy: input.policy, id: input.id, offers: {}, held: [] }),
  initial: "ready",
  states: {
    ready: {
      description: "Checks a payment in order: subdomain, payee, certificate, signature, open offer.",
      on: {
        "user.offer": { actions: "offer" },
        "msg.OfflinePayment": [{ guard: "invalid", actions: "refuse" }, { actions: "accept" }],
        "user.settle": { actions: "settle" }
      }
    }
  }
})
