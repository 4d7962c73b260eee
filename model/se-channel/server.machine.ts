/**
 * P2a Server as a pure XState v5 machine (spec/se-channel/SPEC.md §Steps 5–6), the same checks in
 * the same order as impl/se-channel/server.ts: SeOpen — SE signature (`hardened`), duplicate
 * channel; SeFinish — pending channel, receipt; Record — open channel, sequence number, key. The
 * server's ephemeral name arrives in the event (the system draws it).
 */
import { enqueueActions, setup } from "xstate"
import { type Policy, SERVER } from "../../spec/se-channel/variants.ts"
import { effectActions, fact, hold, reject, send } from "./effects.ts"
import { type KeyTerm, keyTerm, receiptOf, receiptValid, recordKey, STATIC, type SymMessage, type SymSchedule } from "./terms.ts"

export interface ServerSessionTerm {
  readonly seId: string
  readonly s: string
  readonly key: KeyTerm
  readonly status: "pending" | "open"
  readonly sent: number
  readonly received: number
}

export interface ServerContext {
  readonly policy: Policy
  readonly schedule: SymSchedule
  /** By the SE's ephemeral (the channel). */
  readonly sessions: Readonly<Record<string, ServerSessionTerm>>
  readonly latest?: string
}

type Msg<T extends SymMessage["_tag"]> = Extract<SymMessage, { _tag: T }>

export type ServerEvent =
  | { readonly type: "msg.SeOpen"; readonly message: Msg<"SeOpen">; readonly eph: string }
  | { readonly type: "msg.SeFinish"; readonly message: Msg<"SeFinish"> }
  | { readonly type: "msg.Record"; readonly message: Msg<"Record"> }
  | { readonly type: "user.send"; readonly payload: string }
  | { readonly type: "fault.crash" }

export type ServerCheck = "se-signature"

const refusal = (c: ServerContext, event: ServerEvent, skip: ReadonlySet<ServerCheck>): string | undefined => {
  if (event.type === "msg.SeOpen") {
    if (c.policy.seAuth === "signature" && !skip.has("se-signature") && !event.message.sig) return "bad-signature"
    if (c.sessions[event.message.eph] !== undefined) return "duplicate-channel"
    return undefined
  }
  if (event.type === "msg.SeFinish") {
    const session = c.sessions[event.message.chan]
    if (session?.status !== "pending") return "unknown-channel"
    if (!receiptValid(event.message.confirm, session.key, "se")) return "bad-confirmation"
    return undefined
  }
  if (event.type === "msg.Record") {
    const m = event.message
    const session = c.sessions[m.chan]
    if (session?.status !== "open") return "unknown-channel"
    if (m.seq !== session.received) return "bad-sequence"
    if (m.key !== recordKey(session.key, "se>server")) return "bad-record"
  }
  return undefined
}

const NONE: ReadonlySet<ServerCheck> = new Set()

export const serverMachine = setup({
  types: { context: {} as ServerContext, events: {} as ServerEvent, input: {} as { readonly policy: Policy; readonly schedule: SymSchedule } },
  actions: {
    ...effectActions,
    refuse: enqueueActions(({ context, event, enqueue }) => enqueue(reject(refusal(context, event, NONE)!))),
    answer: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.SeOpen") return
      const m = event.message
      const key = keyTerm(context.policy, context.schedule, { seId: m.seId, subject: SERVER, serverKey: STATIC, e: m.eph, s: event.eph })
      const opened = context.policy.confirmation === "none"
      enqueue.assign({
        sessions: { ...context.sessions, [m.eph]: { seId: m.seId, s: event.eph, key, status: opened ? "open" : "pending", sent: 0, received: 0 } },
        ...(opened ? { latest: m.eph } : {})
      })
      enqueue(fact("Running", `chan;se=${m.seId};srv=${SERVER};e=${m.eph};s=${event.eph}`, { peer: "se", key }))
      enqueue(hold(key))
      const open = `open;se=${m.seId};e=${m.eph}`
      enqueue(opened ? fact("Commit", open, { peer: "se", key, named: false }) : fact("Accept", open))
      enqueue(send("se", { _tag: "ServerHello", chan: m.eph, eph: event.eph, confirm: opened ? null : receiptOf(key, "server") }))
    }),
    open: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.SeFinish") return
      const session = context.sessions[event.message.chan]!
      enqueue.assign({ sessions: { ...context.sessions, [event.message.chan]: { ...session, status: "open" } }, latest: event.message.chan })
      enqueue(fact("Commit", `open;se=${session.seId};e=${event.message.chan}`, { peer: "se", key: session.key, named: false }))
    }),
    acceptRecord: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.Record") return
      const session = context.sessions[event.message.chan]!
      enqueue.assign({ sessions: { ...context.sessions, [event.message.chan]: { ...session, received: session.received + 1 } } })
      enqueue(fact("Accept", `rec;p=${event.message.payload}`, { key: session.key }))
    }),
    sendRecord: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "user.send" || context.latest === undefined) return
      const session = context.sessions[context.latest]!
      enqueue.assign({ sessions: { ...context.sessions, [context.latest]: { ...session, sent: session.sent + 1 } } })
      enqueue(fact("Running", `rec;p=${event.payload}`, { peer: "se", key: session.key }))
      enqueue(send("se", { _tag: "Record", chan: context.latest, seq: session.sent, key: recordKey(session.key, "server>se"), dir: "server>se", payload: event.payload }))
    }),
    crash: enqueueActions(({ enqueue }) => enqueue.assign({ sessions: {}, latest: undefined }))
  },
  guards: {
    refused: ({ context, event }) => refusal(context, event, NONE) !== undefined
  }
}).createMachine({
  id: "server",
  description: "P2a server: answers a SeOpen with its ephemeral (and receipt), opens on the SeOpen (claimed) or on the SE's receipt (hardened), seals and opens records.",
  meta: { spec: "spec/se-channel/SPEC.md §Steps 5–6" },
  context: ({ input }) => ({ policy: input.policy, schedule: input.schedule, sessions: {} }),
  initial: "serving",
  states: {
    serving: {
      description: "Holds the static key its certificate names; sessions are volatile.",
      on: {
        "msg.SeOpen": [{ guard: "refused", actions: "refuse" }, { actions: "answer" }],
        "msg.SeFinish": [{ guard: "refused", actions: "refuse" }, { actions: "open" }],
        "msg.Record": [{ guard: "refused", actions: "refuse" }, { actions: "acceptRecord" }],
        "user.send": { actions: "sendRecord" },
        "fault.crash": { actions: "crash" }
      }
    }
  }
})

/** The server's refusal rule with the checks in `skip` left out (a mutant's guard and refusal). */
export const serverRefusal = (skip: ReadonlySet<ServerCheck>) => (c: ServerContext, event: ServerEvent): string | undefined => refusal(c, event, skip)
