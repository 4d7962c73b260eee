/**
 * P4 PayerWallet as a pure XState v5 machine (spec/cpk-payment/SPEC.md §Online steps 1–2,
 * §Offline steps 2–3): signs the payee's request for the backend; verifies a payee's offer under
 * the key derived from the payee's ID and, the user agreeing, signs its own payment. Nonces
 * arrive in the events (the system names them).
 */
import { enqueueActions, setup } from "xstate"
import type { TraceEvent } from "../../spec/trace.ts"
import type { Policy } from "../../spec/cpk-payment/variants.ts"
import { checkSigned, coveredBy, certifiedSep, issuedKey, offerData, paymentData, type SymMessage } from "./terms.ts"

export interface PayerContext {
  readonly policy: Policy
  readonly id: string
  /** Payments signed so far. */
  readonly signed: number
}

export interface PaymentRequest {
  readonly payee: string
  readonly amount: string
  readonly currency: string
  readonly sub: string
}

export type PayerEvent =
  | { readonly type: "user.pay"; readonly request: PaymentRequest; readonly nonce: string }
  | { readonly type: "msg.OfflineOffer"; readonly message: Extract<SymMessage, { _tag: "OfflineOffer" }>; readonly nonce: string }

export interface SendParams {
  readonly message: SymMessage
  readonly to: string
}

const send = (message: SymMessage, to: string): never => ({ type: "send", params: { message, to } }) as never
const fact = (event: TraceEvent): never => ({ type: "fact", params: { event } }) as never

export const payerMachine = setup({
  types: { context: {} as PayerContext, events: {} as PayerEvent, input: {} as { readonly policy: Policy; readonly id: string } },
  actions: {
    send: (_, _params: SendParams) => {},
    fact: (_, _params: { readonly event: TraceEvent }) => {},
    payOnline: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "user.pay") return
      const { policy, id } = context
      const base = { _tag: "PayOnline" as const, payer: id, ...event.request, nonce: event.nonce, sep: policy.separatingKey ? certifiedSep(id, event.request.sub) : null }
      const message: SymMessage = { ...base, sig: { key: issuedKey(policy, id, base.sub), over: coveredBy(policy, { ...base, sig: { key: "", over: "" } }) } }
      enqueue.assign({ signed: context.signed + 1 })
      enqueue(fact({ _tag: "Running", actor: "payer", peer: "backend", data: paymentData("pay", base) }))
      enqueue(send(message, "backend"))
    }),
    answerOffer: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.OfflineOffer") return
      const { policy, id } = context
      const offer = event.message
      enqueue(fact({ _tag: "Commit", actor: "payer", peer: "payee", data: offerData(offer) }))
      const base = {
        _tag: "OfflinePayment" as const,
        payer: id,
        payee: offer.payee,
        amount: offer.amount,
        currency: offer.currency,
        sub: offer.sub,
        nonce: event.nonce,
        offer: policy.freshness === "registry" ? offer.nonce : null,
        sep: policy.separatingKey ? certifiedSep(id, offer.sub) : null
      }
      const message: SymMessage = { ...base, sig: { key: issuedKey(policy, id, base.sub), over: coveredBy(policy, { ...base, sig: { key: "", over: "" } }) } }
      enqueue.assign({ signed: context.signed + 1 })
      enqueue(fact({ _tag: "Running", actor: "payer", peer: "payee", data: paymentData("offline", base) }))
      enqueue(send(message, "payee"))
    }),
    refuseOffer: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.OfflineOffer") return
      enqueue(fact({ _tag: "Reject", actor: "payer", reason: checkSigned(context.policy, "pay", event.message.payee, event.message)! }))
    })
  },
  guards: {
    offerInvalid: ({ context, event }) => event.type === "msg.OfflineOffer" && checkSigned(context.policy, "pay", event.message.payee, event.message) !== undefined
  }
}).createMachine({
  id: "payerWallet",
  description: "P4 payer's wallet: signs online payments; verifies offline offers and signs the payment the user agrees to.",
  meta: { spec: "spec/cpk-payment/SPEC.md §Online, §Offline" },
  context: ({ input }) => ({ policy: input.policy, id: input.id, signed: 0 }),
  initial: "ready",
  states: {
    ready: {
      description: "Holds its keys; every exchange is one scan and one signature.",
      on: {
        "user.pay": { actions: "payOnline" },
        "msg.OfflineOffer": [{ guard: "offerInvalid", actions: "refuseOffer" }, { actions: "answerOffer" }]
      }
    }
  }
})
