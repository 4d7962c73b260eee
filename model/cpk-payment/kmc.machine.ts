/**
 * P4 KMC as a pure XState v5 machine (spec/cpk-payment/SPEC.md §KMC): it registers identities and
 * issues each its key per subdomain. Symbolically the key is its name (model/cpk-payment/terms.ts);
 * the machine records who was issued what, so the system can hand the attacker exactly the keys
 * of the identities it registered (its own, and a coalition's).
 */
import { assign, setup } from "xstate"
import type { Policy } from "../../spec/cpk-payment/variants.ts"

export interface KmcContext {
  readonly policy: Policy
  /** `id@sub` of every key issued, in order. */
  readonly issued: ReadonlyArray<string>
}

export type KmcEvent = { readonly type: "kmc.issue"; readonly id: string; readonly sub: string }

export const kmcMachine = setup({
  types: { context: {} as KmcContext, events: {} as KmcEvent, input: {} as { readonly policy: Policy } },
  actions: {
    issue: assign({ issued: ({ context, event }) => [...context.issued, `${event.id}@${event.sub}`] })
  },
  guards: {
    fresh: ({ context, event }) => !context.issued.includes(`${event.id}@${event.sub}`)
  }
}).createMachine({
  id: "kmc",
  description: "P4 key management centre: holds the secret matrix per subdomain and issues each registered identity its key.",
  meta: { spec: "spec/cpk-payment/SPEC.md §KMC" },
  context: ({ input }) => ({ policy: input.policy, issued: [] }),
  initial: "serving",
  states: {
    serving: {
      description: "Issues a key once per (identity, subdomain).",
      on: { "kmc.issue": { guard: "fresh", actions: "issue" } }
    }
  }
})
