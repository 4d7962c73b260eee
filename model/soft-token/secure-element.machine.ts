/**
 * P1 secure element as a pure XState v5 machine. Spec: spec/soft-token/SPEC.md §Claim 1, step 1
 * ("a secret key … is stored in a protected memory area of the secure element").
 *
 * The key never leaves it: the only thing it does is sign what it is asked to (an emitted
 * `signed` action, interpreted by model/soft-token/system.ts) — there is no event that reads it.
 */
import { enqueueActions, setup } from "xstate"
import type { Sig } from "./terms.ts"

export interface SecureElementContext {
  /** The name of sk_dev (perfect crypto: only this machine can make signatures under it). */
  readonly key: string
}

export type SecureElementEvent = { readonly type: "se.sign"; readonly label: string; readonly fields: ReadonlyArray<string> }

const signed = (sig: Sig): never => ({ type: "signed", params: { sig } }) as never

export const secureElementMachine = setup({
  types: { context: {} as SecureElementContext, events: {} as SecureElementEvent, input: {} as { readonly key: string } },
  actions: {
    signed: (_, _params: { readonly sig: Sig }) => {},
    /** ECDSA P-256 over the caller's transcript (symbolically: the key name and the fields). */
    sign: enqueueActions(({ context, event, enqueue }) => {
      enqueue(signed({ key: context.key, over: [event.label, ...event.fields].join("|") }))
    })
  }
}).createMachine({
  id: "secureElement",
  description: "P1 secure element: holds sk_dev (P-256) and signs; exports only the public key.",
  meta: { spec: "spec/soft-token/SPEC.md §Claim 1 (1)" },
  context: ({ input }) => ({ key: input.key }),
  initial: "ready",
  states: { ready: { on: { "se.sign": { actions: "sign" } } } }
})
