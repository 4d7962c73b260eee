/**
 * P1 user computer (the PC with a card reader) as a pure XState v5 machine, both variants by
 * `policy`. Spec: spec/soft-token/SPEC.md §Claim 1 steps 8–10, 11, 13.
 *
 * It opens C2, sends the OTP the user typed, and relays the ID token's read. In `hardened` it
 * first shows what the service says the OTP belongs to (device name, key fingerprint) and waits
 * for the user's `user.confirm` / `user.cancel`. Reading the card is an emitted `readCard`
 * action answered with `card.read` / `card.withheld` by the system.
 */
import { assign, enqueueActions, setup } from "xstate"
import type { Policy } from "../../spec/soft-token/variants.ts"
import type { TraceEvent } from "../../spec/trace.ts"
import type { SendParams, Sig, SymMessage } from "./terms.ts"

export type ComputerRole = "pc" | "evilpc"

export interface UserComputerContext {
  readonly policy: Policy
  readonly role: ComputerRole
  readonly pin: string
  readonly c2: string | null
  readonly nonce: string | null
  /** hardened: what the screen shows before the PIN is asked for. */
  readonly shown: { readonly deviceName: string | null; readonly fingerprint: string } | null
  readonly tokens: number
}

export type UserComputerEvent =
  | { readonly type: "user.type"; readonly otp: string; readonly conn: string }
  | { readonly type: "user.confirm" }
  | { readonly type: "user.cancel" }
  | { readonly type: "card.read"; readonly attrs: string; readonly proof: Sig }
  | { readonly type: "card.withheld" }
  | { readonly type: "msg.AttributeRequest"; readonly message: Extract<SymMessage, { _tag: "AttributeRequest" }> }
  | { readonly type: "msg.TokenIssued"; readonly message: Extract<SymMessage, { _tag: "TokenIssued" }> }
  | { readonly type: "msg.Refused"; readonly message: Extract<SymMessage, { _tag: "Refused" }> }

const send = (conn: string, message: SymMessage): never => ({ type: "send", params: { conn, message } }) as never
const readCard = (pin: string, nonce: string): never => ({ type: "readCard", params: { pin, nonce } }) as never

export const userComputerMachine = setup({
  types: {
    context: {} as UserComputerContext,
    events: {} as UserComputerEvent,
    input: {} as { readonly policy: Policy; readonly role: ComputerRole; readonly pin: string }
  },
  actions: {
    send: (_, _params: SendParams) => {},
    fact: (_, _params: { readonly event: TraceEvent }) => {},
    readCard: (_, _params: { readonly pin: string; readonly nonce: string }) => {},
    /** Claim 1 (8)–(10): open C2 and send the typed OTP. */
    submit: enqueueActions(({ event, enqueue }) => {
      if (event.type !== "user.type") return
      enqueue.assign({ c2: event.conn, nonce: null, shown: null })
      enqueue(send(event.conn, { _tag: "OtpSubmit", otp: event.otp }))
    }),
    prompt: assign(({ event }) =>
      event.type !== "msg.AttributeRequest" || event.message.fingerprint === null
        ? {}
        : { nonce: event.message.nonce, shown: { deviceName: event.message.deviceName, fingerprint: event.message.fingerprint } }
    ),
    keepNonce: assign(({ event }) => (event.type === "msg.AttributeRequest" ? { nonce: event.message.nonce } : {})),
    read: enqueueActions(({ context, enqueue }) => enqueue(readCard(context.pin, context.nonce!))),
    answer: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "card.read") return
      enqueue(send(context.c2!, { _tag: "AttributeResponse", attributes: event.attrs, cardProof: event.proof }))
      enqueue.assign({ nonce: null, shown: null })
    }),
    reset: assign({ nonce: null, shown: null }),
    keep: assign(({ context }) => ({ tokens: context.tokens + 1 }))
  },
  guards: {
    showsDevice: ({ event }) => event.type === "msg.AttributeRequest" && event.message.fingerprint !== null
  }
}).createMachine({
  id: "userComputer",
  description: "P1 user computer: C2, the typed OTP, (hardened) the confirmation screen, the ID token read.",
  meta: { spec: "spec/soft-token/SPEC.md §Claim 1 (8)–(11)" },
  context: ({ input }) => ({ policy: input.policy, role: input.role, pin: input.pin, c2: null, nonce: null, shown: null, tokens: 0 }),
  initial: "idle",
  states: {
    idle: {
      on: { "user.type": { target: "submitted", actions: "submit" }, "msg.TokenIssued": { actions: "keep" } }
    },
    submitted: {
      description: "The OTP went over C2; waiting for the service to ask for the attributes.",
      on: {
        "msg.AttributeRequest": [
          { guard: "showsDevice", target: "confirming", actions: "prompt" },
          { target: "reading", actions: ["keepNonce", "read"] }
        ],
        "msg.Refused": { target: "idle", actions: "reset" }
      }
    },
    confirming: {
      description: "hardened: the screen shows the requesting device's name and key fingerprint.",
      on: { "user.confirm": { target: "reading", actions: "read" }, "user.cancel": { target: "idle", actions: "reset" } }
    },
    reading: {
      description: "Claim 1 (11): PIN entered, the card is read.",
      on: { "card.read": { target: "idle", actions: "answer" }, "card.withheld": { target: "idle", actions: "reset" } }
    }
  }
})
