/**
 * P2a browser platform as a pure XState v5 machine (spec/se-channel/SPEC.md §Steps 1–3): the user
 * opens a page of an origin; the page's app hands the SE the certificate its server gave it, with
 * the identity data — stated by the page (`claimed`) or by the platform, tagged (`hardened`).
 */
import { enqueueActions, setup } from "xstate"
import type { Policy } from "../../spec/se-channel/variants.ts"
import { effectActions, fact, send } from "./effects.ts"
import { CERTS } from "./terms.ts"

export interface BrowserContext {
  readonly policy: Policy
  readonly visits: number
}

export type BrowserEvent = { readonly type: "user.visit"; readonly origin: string }

export const browserMachine = setup({
  types: { context: {} as BrowserContext, events: {} as BrowserEvent, input: {} as { readonly policy: Policy } },
  actions: {
    ...effectActions,
    visit: enqueueActions(({ context, event, enqueue }) => {
      enqueue.assign({ visits: context.visits + 1 })
      enqueue(fact("Running", `visit;origin=${event.origin}`, { peer: "se" }))
      enqueue(send("se", { _tag: "SeHello", cert: CERTS[event.origin]!, origin: event.origin, tag: context.policy.identityFrom === "platform" }))
    })
  }
}).createMachine({
  id: "browser",
  description: "P2a browser platform: loads a page of an origin and relays its app's SeHello to the SE.",
  meta: { spec: "spec/se-channel/SPEC.md §Steps 1–3" },
  context: ({ input }) => ({ policy: input.policy, visits: 0 }),
  initial: "browsing",
  states: { browsing: { on: { "user.visit": { actions: "visit" } } } }
})
