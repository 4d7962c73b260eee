/**
 * P3 ResourceServer (the website) as a pure XState v5 machine: it checks an access token's
 * signature (symbolic: every access term was signed by the AuthServer) and its expiry against
 * the time handed in with the event, and grants access to the token's subject.
 * Spec: spec/hw-token-2fa/SPEC.md §2 ("allowing … secure access to the website").
 */
import { enqueueActions, setup } from "xstate"
import type { AccessTerm, SymMessage } from "./terms.ts"

/** Stateless: every check is over the token and the time handed in with the event. */
export type ResourceContext = Record<string, never>

export type ResourceEvent = { readonly type: "msg.AccessRequest"; readonly message: { readonly _tag: "AccessRequest"; readonly accessToken: AccessTerm }; readonly now: number }

export type ResourceVerdict =
  | { readonly accepted: true; readonly data: string }
  | { readonly accepted: false; readonly reason: "expired" | "invalid" }

export const send = (message: SymMessage): never => ({ type: "send", params: { message } }) as never
export const verdict = (v: ResourceVerdict): never => ({ type: "verdict", params: v }) as never

export const resourceMachine = setup({
  types: {
    context: {} as ResourceContext,
    events: {} as ResourceEvent
  },
  actions: {
    send: (_, _params: { readonly message: SymMessage }) => {},
    verdict: (_, _params: ResourceVerdict) => {},
    grant: enqueueActions(({ event, enqueue }) => {
      const at = event.message.accessToken
      enqueue(verdict({ accepted: true, data: `access;at=${at.name};sub=${at.sub};exp=${at.exp};now=${event.now}` }))
      enqueue(send({ _tag: "AccessGranted", subject: at.sub }))
    }),
    refuseExpired: enqueueActions(({ enqueue }) => {
      enqueue(verdict({ accepted: false, reason: "expired" }))
      enqueue(send({ _tag: "Denied", reason: "expired" }))
    })
  },
  guards: {
    expired: ({ event }) => event.now >= event.message.accessToken.exp
  }
}).createMachine({
  id: "resourceServer",
  description: "P3 website: grants access to the subject of a valid, unexpired access token.",
  meta: { spec: "spec/hw-token-2fa/SPEC.md §2" },
  context: {},
  initial: "serving",
  states: {
    serving: {
      description: "Stateless: every check is over the token and the current time.",
      on: {
        "msg.AccessRequest": [{ guard: "expired", actions: "refuseExpired" }, { actions: "grant" }]
      }
    }
  }
})
