/**
 * P1 relying party as a pure XState v5 machine, both variants by `policy`. Spec:
 * spec/soft-token/SPEC.md §Usage (implied by claim 1: a token is checked with a fresh proof of
 * possession of sk_dev).
 *
 * Checks in a fixed order: the issuer's signature, then — on the holder's answer — the secure
 * element's signature over this relying party's fresh challenge under the bound key (a symbolic
 * token always binds one). Verdicts are emitted.
 */
import { enqueueActions, not, setup } from "xstate"
import { Labels } from "../../spec/soft-token/messages.ts"
import type { Policy } from "../../spec/soft-token/variants.ts"
import { ISSUER_KEY, possessionOver, type SendParams, type Sig, type SymMessage, type SymToken, sign, sigEquals } from "./terms.ts"

export interface RelyingPartyContext {
  readonly policy: Policy
  readonly pending: Readonly<Record<string, { readonly token: SymToken; readonly nonce: string }>>
}

export type RelyingPartyEvent =
  | { readonly type: "msg.Present"; readonly conn: string; readonly fresh: string; readonly message: Extract<SymMessage, { _tag: "Present" }> }
  | { readonly type: "msg.PossessionProof"; readonly conn: string; readonly message: Extract<SymMessage, { _tag: "PossessionProof" }> }

export type RpVerdict = { readonly accepted: true; readonly token: SymToken; readonly conn: string } | { readonly accepted: false; readonly reason: string; readonly conn: string }

const send = (conn: string, message: SymMessage): never => ({ type: "send", params: { conn, message } }) as never
const verdict = (v: RpVerdict): never => ({ type: "verdict", params: v }) as never

const without = (r: RelyingPartyContext["pending"], conn: string) => Object.fromEntries(Object.entries(r).filter(([c]) => c !== conn))

export const relyingPartyMachine = setup({
  types: { context: {} as RelyingPartyContext, events: {} as RelyingPartyEvent, input: {} as { readonly policy: Policy } },
  actions: {
    send: (_, _params: SendParams) => {},
    verdict: (_, _params: RpVerdict) => {},
    challenge: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.Present") return
      enqueue.assign({ pending: { ...context.pending, [event.conn]: { token: event.message.token, nonce: event.fresh } } })
      enqueue(send(event.conn, { _tag: "RpChallenge", nonce: event.fresh }))
    }),
    judge: enqueueActions(({ context, event, enqueue, check }) => {
      if (event.type !== "msg.PossessionProof") return
      const p = context.pending[event.conn]
      enqueue.assign({ pending: without(context.pending, event.conn) })
      if (p === undefined) return enqueue(verdict({ accepted: false, reason: "no-challenge", conn: event.conn }))
      // A named guard (declared after the actions), so that a mutant can override the check.
      const ok = (check as unknown as (g: { type: string; params: unknown }) => boolean)({ type: "possessionValid", params: { signature: event.message.signature, token: p.token, nonce: p.nonce } })
      enqueue(ok ? verdict({ accepted: true, token: p.token, conn: event.conn }) : verdict({ accepted: false, reason: "bad-possession", conn: event.conn }))
    }),
    refuse: enqueueActions(({ event, enqueue }, params: { readonly reason: string }) => {
      enqueue(verdict({ accepted: false, reason: params.reason, conn: event.conn }))
      enqueue(send(event.conn, { _tag: "Refused" }))
    })
  },
  guards: {
    issuerSigned: ({ event }) => event.type === "msg.Present" && event.message.token.signer === ISSUER_KEY,
    /** The holder's answer is the bound key's signature over our challenge and the token. */
    possessionValid: (_, params: { readonly signature: Sig; readonly token: SymToken; readonly nonce: string }) =>
      sigEquals(params.signature, sign(params.token.pk, Labels.possession, possessionOver(params.nonce, params.token)))
  }
}).createMachine({
  id: "relyingParty",
  description: "P1 relying party: checks the soft token, then a fresh secure-element signature under its bound key.",
  meta: { spec: "spec/soft-token/SPEC.md §Usage" },
  context: ({ input }) => ({ policy: input.policy, pending: {} }),
  initial: "serving",
  states: {
    serving: {
      on: {
        "msg.Present": [
          { guard: not("issuerSigned"), actions: { type: "refuse", params: { reason: "bad-token" } } },
          { actions: "challenge" }
        ],
        "msg.PossessionProof": { actions: "judge" }
      }
    }
  }
})
