/**
 * P2a SecureElement as a pure XState v5 machine (spec/se-channel/SPEC.md §Steps 3–6), the same
 * checks in the same order as impl/se-channel/secure-element.ts: SeHello — platform tag
 * (`hardened`), CA signature, link; ServerHello — pending channel, receipt (`hardened`); Record —
 * open channel, sequence number, key. Ephemeral names arrive in the events (the system draws them).
 */
import { enqueueActions, setup } from "xstate"
import type { Policy } from "../../spec/se-channel/variants.ts"
import { SE_ID } from "../../spec/se-channel/variants.ts"
import { effectActions, fact, hold, reject, send } from "./effects.ts"
import { certName, type KeyTerm, keyTerm, receiptOf, receiptValid, recordKey, type SymMessage, type SymSchedule } from "./terms.ts"

export interface SeSessionTerm {
  readonly subject: string
  readonly serverKey: string
  readonly origin: string
  readonly status: "pending" | "open"
  readonly s?: string
  readonly key?: KeyTerm
  readonly sent: number
  readonly received: number
}

export interface SeContext {
  readonly policy: Policy
  readonly schedule: SymSchedule
  /** By the SE's ephemeral (the channel). */
  readonly sessions: Readonly<Record<string, SeSessionTerm>>
  readonly latest?: string
}

type Msg<T extends SymMessage["_tag"]> = Extract<SymMessage, { _tag: T }>

export type SeEvent =
  | { readonly type: "msg.SeHello"; readonly message: Msg<"SeHello">; readonly eph: string }
  | { readonly type: "msg.ServerHello"; readonly message: Msg<"ServerHello"> }
  | { readonly type: "msg.Record"; readonly message: Msg<"Record"> }
  | { readonly type: "user.send"; readonly payload: string }
  | { readonly type: "fault.crash" }

const sessionKey = (c: SeContext, m: Msg<"ServerHello">, session: SeSessionTerm): KeyTerm =>
  keyTerm(c.policy, c.schedule, { seId: SE_ID, subject: session.subject, serverKey: session.serverKey, e: m.chan, s: m.eph })

/** Why the SE refuses `event`, or undefined (the checks of impl/se-channel/secure-element.ts, in its order). */
/** The checks a mutant may leave out. */
export type SeCheck = "platform-tag" | "link" | "receipt"

const refusal = (c: SeContext, event: SeEvent, skip: ReadonlySet<SeCheck>): string | undefined => {
  if (event.type === "msg.SeHello") {
    const m = event.message
    if (c.policy.identityFrom === "platform" && !skip.has("platform-tag") && !m.tag) return "bad-platform-tag"
    if (m.cert.sig !== "ca") return "bad-certificate"
    if (!skip.has("link") && m.cert.link !== m.origin) return "link-mismatch"
    return undefined
  }
  if (event.type === "msg.ServerHello") {
    const session = c.sessions[event.message.chan]
    if (session?.status !== "pending") return "unknown-channel"
    if (c.policy.confirmation === "both" && !skip.has("receipt") && !receiptValid(event.message.confirm, sessionKey(c, event.message, session), "server")) return "bad-confirmation"
    return undefined
  }
  if (event.type === "msg.Record") {
    const m = event.message
    const session = c.sessions[m.chan]
    if (session?.status !== "open" || session.key === undefined) return "unknown-channel"
    if (m.seq !== session.received) return "bad-sequence"
    if (m.key !== recordKey(session.key, "server>se")) return "bad-record"
  }
  return undefined
}

const NONE: ReadonlySet<SeCheck> = new Set()

export const seMachine = setup({
  types: { context: {} as SeContext, events: {} as SeEvent, input: {} as { readonly policy: Policy; readonly schedule: SymSchedule } },
  actions: {
    ...effectActions,
    refuse: enqueueActions(({ context, event, enqueue }) => enqueue(reject(refusal(context, event, NONE)!))),
    acceptHello: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.SeHello") return
      const m = event.message
      enqueue.assign({ sessions: { ...context.sessions, [event.eph]: { subject: m.cert.subject, serverKey: m.cert.key, origin: m.origin, status: "pending", sent: 0, received: 0 } } })
      enqueue(fact("Accept", `hello;cert=${certName(m.cert)};origin=${m.origin}`))
      enqueue(fact("Running", `open;se=${SE_ID};e=${event.eph}`, { peer: "server" }))
      enqueue(send("server", { _tag: "SeOpen", seId: SE_ID, eph: event.eph, sig: context.policy.seAuth === "signature" }))
    }),
    open: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.ServerHello") return
      const m = event.message
      const session = context.sessions[m.chan]!
      const key = sessionKey(context, m, session)
      enqueue.assign({ sessions: { ...context.sessions, [m.chan]: { ...session, status: "open", s: m.eph, key } }, latest: m.chan })
      enqueue(fact("Commit", `chan;se=${SE_ID};srv=${session.subject};e=${m.chan};s=${m.eph}`, { peer: "server", key }))
      if (context.policy.confirmation === "both") enqueue(send("server", { _tag: "SeFinish", chan: m.chan, confirm: receiptOf(key, "se") }))
    }),
    acceptRecord: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.Record") return
      const session = context.sessions[event.message.chan]!
      enqueue.assign({ sessions: { ...context.sessions, [event.message.chan]: { ...session, received: session.received + 1 } } })
      enqueue(fact("Accept", `rec;p=${event.message.payload}`, { key: session.key! }))
    }),
    sendRecord: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "user.send" || context.latest === undefined) return
      const session = context.sessions[context.latest]!
      enqueue.assign({ sessions: { ...context.sessions, [context.latest]: { ...session, sent: session.sent + 1 } } })
      enqueue(fact("Running", `rec;p=${event.payload}`, { peer: "server", key: session.key! }))
      enqueue(send("server", { _tag: "Record", chan: context.latest, seq: session.sent, key: recordKey(session.key!, "se>server"), dir: "se>server", payload: event.payload }))
    }),
    crash: enqueueActions(({ enqueue }) => enqueue.assign({ sessions: {}, latest: undefined }))
  },
  guards: {
    refused: ({ context, event }) => refusal(context, event, NONE) !== undefined
  }
}).createMachine({
  id: "secureElement",
  description: "P2a secure element: checks the application certificate and its link, runs the handshake, opens the channel, seals and opens records.",
  meta: { spec: "spec/se-channel/SPEC.md §Steps 3–6" },
  context: ({ input }) => ({ policy: input.policy, schedule: input.schedule, sessions: {} }),
  initial: "ready",
  states: {
    ready: {
      description: "Holds its static key, the CA's key and the pairing key; sessions are volatile.",
      on: {
        "msg.SeHello": [{ guard: "refused", actions: "refuse" }, { actions: "acceptHello" }],
        "msg.ServerHello": [{ guard: "refused", actions: "refuse" }, { actions: "open" }],
        "msg.Record": [{ guard: "refused", actions: "refuse" }, { actions: "acceptRecord" }],
        "user.send": { actions: "sendRecord" },
        "fault.crash": { actions: "crash" }
      }
    }
  }
})

/** The SE's refusal rule with the checks in `skip` left out (a mutant's guard and refusal). */
export const seRefusal = (skip: ReadonlySet<SeCheck>) => (c: SeContext, event: SeEvent): string | undefined => refusal(c, event, skip)
