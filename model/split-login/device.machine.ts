/**
 * P2b Device as a pure XState v5 machine (SPEC.md §Steps 1, 3, 7): a login draws a fresh key (its
 * name arrives in the event), the SID it is sent is shown (with the key's fingerprint), a result
 * for that SID is the session. Its state is durable (a crash changes nothing).
 */
import { assign, setup } from "xstate"
import type { SymMessage } from "./terms.ts"

export interface DeviceContext {
  readonly key: string | null
  readonly sid: string | null
  readonly session: boolean
}

export type DeviceEvent = { readonly type: "user.login"; readonly key: string | null } | { readonly type: "msg"; readonly message: SymMessage }

const opened = (context: DeviceContext, event: DeviceEvent) => event.type === "msg" && event.message._tag === "Opened" && context.sid === null
const result = (context: DeviceContext, event: DeviceEvent) => event.type === "msg" && event.message._tag === "Result" && event.message.sid === context.sid && !context.session

export const deviceMachine = setup({
  types: { context: {} as DeviceContext, events: {} as DeviceEvent },
  actions: {
    verdict: (_, _params: { readonly accepted: boolean; readonly reason?: string }) => {}
  },
  guards: { opened: ({ context, event }) => opened(context, event), result: ({ context, event }) => result(context, event) }
}).createMachine({
  id: "device",
  description: "P2b device: sends the username, shows the SID (and its key's fingerprint), polls for the result.",
  meta: { spec: "spec/split-login/SPEC.md §Steps 1, 3, 7" },
  context: { key: null, sid: null, session: false },
  initial: "idle",
  states: {
    idle: {
      description: "Shows what it holds: nothing, an SID as a QR code, or the logged-in session.",
      on: {
        "user.login": { actions: assign(({ event }) => ({ key: event.key, sid: null, session: false })) },
        msg: [
          { guard: "opened", actions: [assign(({ event }) => ({ sid: (event.message as Extract<SymMessage, { _tag: "Opened" }>).sid })), { type: "verdict", params: { accepted: true } }] },
          { guard: "result", actions: [assign({ session: true }), { type: "verdict", params: { accepted: true } }] },
          { actions: { type: "verdict", params: { accepted: false, reason: "unexpected" } } }
        ]
      }
    }
  }
})
