/**
 * P1 ID token (an eID card) as a pure XState v5 machine. Spec: spec/soft-token/SPEC.md §Claim 1
 * ("reading at least one attribute stored in an ID token"), §Decisions (PIN, chip signature).
 *
 * The attributes are released only after the right PIN, signed by the chip over the service's
 * read nonce (the end-to-end read of an eID; the PC relays but cannot alter them). Three wrong
 * PINs block the card.
 */
import { assign, enqueueActions, setup } from "xstate"
import { cardProof, type Sig } from "./terms.ts"

export interface IdTokenContext {
  readonly attrs: string
  readonly pin: string
  readonly wrongPins: number
}

export type IdTokenEvent = { readonly type: "id.read"; readonly pin: string; readonly nonce: string }

export const MAX_WRONG_PINS = 3

const released = (attrs: string, proof: Sig): never => ({ type: "released", params: { attrs, proof } }) as never
const withheld = (reason: "wrong-pin" | "blocked"): never => ({ type: "withheld", params: { reason } }) as never

export const idTokenMachine = setup({
  types: { context: {} as IdTokenContext, events: {} as IdTokenEvent, input: {} as { readonly attrs: string; readonly pin: string } },
  actions: {
    released: (_, _params: { readonly attrs: string; readonly proof: Sig }) => {},
    withheld: (_, _params: { readonly reason: "wrong-pin" | "blocked" }) => {},
    release: enqueueActions(({ context, event, enqueue }) => {
      enqueue.assign({ wrongPins: 0 })
      enqueue(released(context.attrs, cardProof(context.attrs, event.nonce)))
    }),
    wrongPin: assign(({ context }) => ({ wrongPins: context.wrongPins + 1 })),
    withhold: enqueueActions(({ context, enqueue }) => enqueue(withheld(context.wrongPins >= MAX_WRONG_PINS ? "blocked" : "wrong-pin")))
  },
  guards: {
    rightPin: ({ context, event }) => event.pin === context.pin,
    lastTry: ({ context }) => context.wrongPins + 1 >= MAX_WRONG_PINS
  }
}).createMachine({
  id: "idToken",
  description: "P1 ID token: attributes behind a PIN, released signed over the reader's nonce.",
  meta: { spec: "spec/soft-token/SPEC.md §Claim 1 (11)" },
  context: ({ input }) => ({ attrs: input.attrs, pin: input.pin, wrongPins: 0 }),
  initial: "ready",
  states: {
    ready: {
      on: {
        "id.read": [
          { guard: "rightPin", actions: "release" },
          { guard: "lastTry", target: "blocked", actions: ["wrongPin", "withhold"] },
          { actions: ["wrongPin", "withhold"] }
        ]
      }
    },
    blocked: { on: { "id.read": { actions: "withhold" } } }
  }
})
