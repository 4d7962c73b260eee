/**
 * P2b Machine as a pure XState v5 machine (SPEC.md §Steps 4–6): a scan sends the authenticating
 * data for the SID (claimed: the password hash; hardened: KE1, then on the matching KE2 — and the
 * user's approval of the fingerprint shown — KE3 with the approval MAC). Its pending login is
 * volatile: a crash loses it. What alice compares with (her Device's screen) arrives in the event.
 */
import { enqueueActions, setup } from "xstate"
import type { Policy } from "../../spec/split-login/variants.ts"
import { PASSWORD_HASH, type SymMessage } from "./terms.ts"

export interface MachineContext {
  readonly policy: Policy
  readonly pending: { readonly sid: string; readonly ke1: string } | null
}

export type MachineEvent =
  | { readonly type: "user.scan"; readonly sid: string; readonly ke1: string }
  /** `shown`: the fingerprint alice's Device shows, if it shows an SID (what she compares with). */
  | { readonly type: "msg"; readonly message: SymMessage; readonly shown: string | null }
  | { readonly type: "fault.crash" }

export type MachineVerdict = { readonly sent: SymMessage; readonly running: boolean } | { readonly refused: string }

const out = (v: MachineVerdict): never => ({ type: "verdict", params: v }) as never

export const machineMachine = setup({
  types: { context: {} as MachineContext, events: {} as MachineEvent, input: {} as { readonly policy: Policy } },
  actions: {
    verdict: (_, _params: MachineVerdict) => {},
    scan: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "user.scan") return
      if (context.policy.auth === "hash") {
        enqueue(out({ sent: { _tag: "Login", sid: event.sid, auth: PASSWORD_HASH }, running: true }))
        return
      }
      enqueue.assign({ pending: { sid: event.sid, ke1: event.ke1 } })
      enqueue(out({ sent: { _tag: "LoginStart", sid: event.sid, ke1: event.ke1 }, running: false }))
    }),
    challenge: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg") return
      const m = event.message
      const p = context.pending
      if (m._tag !== "LoginChallenge" || p === null || p.sid !== m.sid) {
        enqueue(out({ refused: m._tag === "LoginChallenge" ? "unexpected" : "malformed" }))
        return
      }
      enqueue.assign({ pending: null })
      if (m.ke2.ke1 !== p.ke1) enqueue(out({ refused: "bad-server" }))
      else if (context.policy.consentScreen && event.shown !== m.fp) enqueue(out({ refused: "user-declined" }))
      else enqueue(out({ sent: { _tag: "LoginFinish", sid: m.sid, ke3: m.ke2, approval: { key: m.ke2, sid: m.sid, fp: m.fp } }, running: true }))
    })
  }
}).createMachine({
  id: "machine",
  description: "P2b machine: scans an SID, takes the password, sends the authenticating data (hardened: OPAQUE and the user's approval).",
  meta: { spec: "spec/split-login/SPEC.md §Steps 4–6" },
  context: ({ input }) => ({ policy: input.policy, pending: null }),
  initial: "ready",
  states: {
    ready: {
      description: "Between logins, or with one OPAQUE attempt pending.",
      on: {
        "user.scan": { actions: "scan" },
        msg: { actions: "challenge" },
        "fault.crash": { actions: enqueueActions(({ enqueue }) => enqueue.assign({ pending: null })) }
      }
    }
  }
})
