/**
 * P4 Backend as a pure XState v5 machine (spec/cpk-payment/SPEC.md §Online step 3, §Settlement):
 * derives the payer's key from the ID and subdomain, verifies the signature, and — `hardened` —
 * consumes the (payer, subdomain, nonce) in its registry, online and at settlement.
 */
import { enqueueActions, setup } from "xstate"
import type { Policy } from "../../spec/cpk-payment/variants.ts"
import { checkSigned, paymentData, type SymMessage } from "./terms.ts"

type Payment = Extract<SymMessage, { _tag: "PayOnline" | "Settle" }>

export interface LedgerEntry {
  readonly kind: "online" | "settle"
  readonly payer: string
  readonly payee: string
  readonly amount: string
  readonly currency: string
  readonly nonce: string
}

export interface BackendContext {
  readonly policy: Policy
  /** `payer|sub|nonce`, sorted. */
  readonly used: ReadonlyArray<string>
  readonly ledger: ReadonlyArray<LedgerEntry>
}

export type BackendEvent = { readonly type: "msg.payment"; readonly message: Payment }

export type BackendVerdict =
  | { readonly accepted: true; readonly kind: "pay" | "settle"; readonly payer: string; readonly data: string }
  | { readonly accepted: false; readonly reason: string; readonly signal?: string }

export const SERVED = "pay"

export const verdict = (v: BackendVerdict): never => ({ type: "verdict", params: v }) as never

const usedKey = (m: Payment) => `${m.payer}|${m.sub}|${m.nonce}`
const entryOf = (m: Payment): LedgerEntry => ({ kind: m._tag === "PayOnline" ? "online" : "settle", payer: m.payer, payee: m.payee, amount: m.amount, currency: m.currency, nonce: m.nonce })

export const backendMachine = setup({
  types: { context: {} as BackendContext, events: {} as BackendEvent, input: {} as { readonly policy: Policy } },
  actions: {
    verdict: (_, _params: BackendVerdict) => {},
    refuseCheck: enqueueActions(({ context, event, enqueue }) => {
      enqueue(verdict({ accepted: false, reason: checkSigned(context.policy, SERVED, event.message.payer, event.message)! }))
    }),
    refuseUsed: enqueueActions(({ context, event, enqueue }) => {
      const e = entryOf(event.message)
      const same = context.ledger.some((c) => JSON.stringify(c) === JSON.stringify(e))
      if (e.kind === "settle" && !same) enqueue(verdict({ accepted: false, reason: "double-spend", signal: "double-spend" }))
      else enqueue(verdict({ accepted: false, reason: "replay" }))
    }),
    accept: enqueueActions(({ context, event, enqueue }) => {
      const m = event.message
      enqueue.assign({
        used: context.policy.freshness === "registry" ? [...context.used, usedKey(m)].sort() : context.used,
        ledger: [...context.ledger, entryOf(m)]
      })
      const kind = m._tag === "PayOnline" ? "pay" : "settle"
      enqueue(verdict({ accepted: true, kind, payer: m.payer, data: paymentData(kind, m) }))
    })
  },
  guards: {
    checksFail: ({ context, event }) => checkSigned(context.policy, SERVED, event.message.payer, event.message) !== undefined,
    used: ({ context, event }) => context.policy.freshness === "registry" && context.used.includes(usedKey(event.message))
  }
}).createMachine({
  id: "backend",
  description: "P4 backend: verifies a payment under the payer's ID-derived key and processes it; hardened consumes each nonce once.",
  meta: { spec: "spec/cpk-payment/SPEC.md §Online, §Settlement" },
  context: ({ input }) => ({ policy: input.policy, used: [], ledger: [] }),
  initial: "serving",
  states: {
    serving: {
      description: "Checks in order: subdomain, certificate, signature, registry.",
      on: {
        "msg.payment": [{ guard: "checksFail", actions: "refuseCheck" }, { guard: "used", actions: "refuseUsed" }, { actions: "accept" }]
      }
    }
  }
})
