/**
 * P2b Server as a pure XState v5 machine (spec/split-login/SPEC.md §Server checks): opens sessions,
 * checks the authenticating data (claimed: the password hash; hardened: symbolic OPAQUE and the
 * approval MAC), answers polls. SIDs and server nonces arrive in the events (no randomness inside).
 * Checks in the implementation's order; a refusal changes nothing.
 */
import { enqueueActions, setup } from "xstate"
import type { Policy } from "../../spec/split-login/variants.ts"
import { fingerprintOf, type Ke2, PASSWORD_HASH, sameKe2, type SymMessage } from "./terms.ts"

export interface Session {
  readonly sid: string
  readonly opener: string
  readonly key: string | null
  readonly expired: boolean
  readonly logins: number
  readonly releases: number
  readonly challenge?: { readonly ke2: Ke2; readonly fp: string }
}

export interface ServerContext {
  readonly policy: Policy
  readonly sessions: ReadonlyArray<Session>
}

export type ServerEvent =
  | { readonly type: "msg"; readonly conn: string; readonly message: SymMessage; readonly sid: string; readonly nonce: string }
  | { readonly type: "clock.tick" }

/** What the server did with one input, for the system to turn into trace facts and replies. */
export type ServerVerdict =
  | { readonly _tag: "opened"; readonly sid: string; readonly conn: string }
  | { readonly _tag: "challenged"; readonly sid: string; readonly conn: string; readonly reply: SymMessage }
  | { readonly _tag: "logged-in"; readonly sid: string; readonly opener: string }
  | { readonly _tag: "released"; readonly sid: string; readonly conn: string }
  | { readonly _tag: "refused"; readonly reason: string }

export const verdict = (v: ServerVerdict): never => ({ type: "verdict", params: v }) as never

type Msg = Extract<ServerEvent, { type: "msg" }>

/** The refusal for `event`, in the implementation's order, or undefined when it is accepted. */
export const refusalOf = (context: ServerContext, event: Msg): string | undefined => {
  const { policy } = context
  const m = event.message
  if (m._tag === "Open") return policy.poll === "device-key" && m.key === null ? "malformed" : undefined
  if (m._tag === "Opened" || m._tag === "Result" || m._tag === "LoginChallenge") return "malformed"
  if ((m._tag === "Login" && policy.auth !== "hash") || ((m._tag === "LoginStart" || m._tag === "LoginFinish") && policy.auth !== "opaque")) return "wrong-flow"
  const s = context.sessions.find((x) => x.sid === m.sid)
  if (s === undefined) return "unknown-sid"
  if (policy.sidLifetimeSeconds !== null && s.expired) return "expired"
  if (m._tag !== "Poll" && policy.singleUse && s.logins > 0) return "sid-used"
  switch (m._tag) {
    case "Login":
      return m.auth === PASSWORD_HASH ? undefined : "bad-auth"
    case "LoginStart":
      return s.challenge === undefined ? undefined : "sid-used"
    case "LoginFinish":
      if (s.challenge === undefined || !sameKe2(m.ke3, s.challenge.ke2)) return "bad-auth"
      return sameKe2(m.approval.key, s.challenge.ke2) && m.approval.sid === m.sid && m.approval.fp === s.challenge.fp ? undefined : "bad-approval"
    case "Poll":
      if (policy.poll === "device-key" && m.key !== s.key) return "wrong-device"
      if (s.logins === 0) return "pending"
      return policy.singleUse && s.releases > 0 ? "sid-used" : undefined
  }
}

const withSession = (context: ServerContext, sid: string, change: (s: Session) => Session) => context.sessions.map((s) => (s.sid === sid ? change(s) : s))

export const serverMachine = setup({
  types: { context: {} as ServerContext, events: {} as ServerEvent, input: {} as { readonly policy: Policy } },
  actions: {
    verdict: (_, _params: ServerVerdict) => {},
    refuse: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === "msg") enqueue(verdict({ _tag: "refused", reason: refusalOf(context, event)! }))
    }),
    accept: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg") return
      const m = event.message
      const s = "sid" in m ? context.sessions.find((x) => x.sid === m.sid) : undefined
      switch (m._tag) {
        case "Open":
          enqueue.assign({ sessions: [...context.sessions, { sid: event.sid, opener: event.conn, key: context.policy.poll === "device-key" ? m.key : null, expired: false, logins: 0, releases: 0 }] })
          enqueue(verdict({ _tag: "opened", sid: event.sid, conn: event.conn }))
          return
        case "LoginStart": {
          const ke2 = { ke1: m.ke1, nonce: event.nonce }
          const fp = fingerprintOf(s!.key)
          enqueue.assign({ sessions: withSession(context, m.sid, (x) => ({ ...x, challenge: { ke2, fp } })) })
          enqueue(verdict({ _tag: "challenged", sid: m.sid, conn: event.conn, reply: { _tag: "LoginChallenge", sid: m.sid, ke2, fp } }))
          return
        }
        case "Login":
        case "LoginFinish":
          enqueue.assign({ sessions: withSession(context, m.sid, ({ challenge: _, ...x }) => ({ ...x, logins: x.logins + 1 })) })
          enqueue(verdict({ _tag: "logged-in", sid: m.sid, opener: s!.opener }))
          return
        case "Poll":
          enqueue.assign({ sessions: withSession(context, m.sid, (x) => ({ ...x, releases: x.releases + 1 })) })
          enqueue(verdict({ _tag: "released", sid: m.sid, conn: event.conn }))
          return
      }
    }),
    expireAll: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ sessions: context.sessions.map((s) => ({ ...s, expired: true })) })
    })
  },
  guards: {
    refused: ({ context, event }) => event.type === "msg" && refusalOf(context, event) !== undefined
  }
}).createMachine({
  id: "server",
  description: "P2b server: opens sessions, checks the authenticating data for an SID, releases the session to a poll.",
  meta: { spec: "spec/split-login/SPEC.md §Server checks" },
  context: ({ input }) => ({ policy: input.policy, sessions: [] }),
  initial: "serving",
  states: {
    serving: {
      description: "Checks in order: flow, SID known, not expired, not used, then the message's own check.",
      on: {
        msg: [{ guard: "refused", actions: "refuse" }, { actions: "accept" }],
        "clock.tick": { actions: "expireAll" }
      }
    }
  }
})
