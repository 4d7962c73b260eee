/**
 * The P2a system: the browser platform, the SecureElement and the Server, composed with an
 * adversarial relay, as a pure step function over immutable states. The bounded explorer
 * (model/explore) walks it; the conformance driver runs the same moves on it and on the
 * implementation and compares `observe()` after every step.
 *
 * Attacker (spec/se-channel/SECURITY.md §Attacker): the relay between SE, page and server — every
 * message stays available for replay, records can be reflected to their sender, and it owns the
 * origin `evil` (whose certificate carries the bank's key). Its forgeries: `relay-bank` (evil's
 * page hands the SE bank's genuine certificate with bank's public identity data), `swap-cert` (the
 * latest SeHello with bank's certificate in place of its own), `server-hello` (a ServerHello with
 * its own ephemeral for the latest SeOpen, with a receipt if it can compute the key), `open` (a
 * SeOpen as se1 with its own ephemeral), `finish` (a SeFinish for the server's answer to its own
 * SeOpen, if it can compute the key). It can copy the server's key store (`Compromise`).
 */
import { type AnyStateMachine, initialTransition, type SnapshotFrom } from "xstate"
import { transition } from "../explore/transition.ts"
import type { Move } from "../../spec/attacker.ts"
import { SERVER_KEY_NAME } from "../../spec/se-channel/properties.ts"
import { MAX_RECORDS, MAX_VISITS, type Policy, SE_ID, SERVER } from "../../spec/se-channel/variants.ts"
import type { Actor, Trace, TraceEvent } from "../../spec/trace.ts"
import { browserMachine } from "./browser.machine.ts"
import type { Effect } from "./effects.ts"
import { seMachine } from "./secure-element.machine.ts"
import { serverMachine } from "./server.machine.ts"
import { CERTS, derivable, type KeyTerm, keyId, keyTerm, receiptOf, STATIC, schedule as defaultSchedule, type SymMessage, type SymSchedule } from "./terms.ts"

/** The machines the SE and the server run, and the key schedule: the shipped ones, or a mutant's. */
export interface Machines {
  readonly se: typeof seMachine
  readonly server: typeof serverMachine
  readonly schedule: SymSchedule
}

export const MACHINES: Machines = { se: seMachine, server: serverMachine, schedule: defaultSchedule }

export interface NetMessage {
  readonly from: Actor
  readonly to: Actor
  readonly message: SymMessage
  readonly label: string
  readonly delivered: boolean
}

export interface SystemState {
  readonly policy: Policy
  readonly machines: Machines
  readonly browser: SnapshotFrom<typeof browserMachine>
  readonly se: SnapshotFrom<typeof seMachine>
  readonly server: SnapshotFrom<typeof serverMachine>
  /** Ephemerals drawn by the SE (`e`), the server (`s`), the attacker (`x`); records sent by each side. */
  readonly counters: { readonly e: number; readonly s: number; readonly x: number; readonly seRecords: number; readonly serverRecords: number }
  readonly compromised: boolean
  /** Channel key ids in order of first mention: `K<i+1>` is `keys[i]`. */
  readonly keys: ReadonlyArray<string>
  /** Every key a participant held, and the names the attacker already computed. */
  readonly held: ReadonlyArray<KeyTerm>
  readonly revealed: ReadonlyArray<string>
  readonly network: ReadonlyArray<NetMessage>
}

type Stepped = { state: SystemState; events: Array<TraceEvent> }

export const initialState = (policy: Policy, machines: Machines = MACHINES): SystemState => ({
  policy,
  machines,
  browser: initialTransition(browserMachine, { policy })[0],
  se: initialTransition(machines.se, { policy, schedule: machines.schedule })[0],
  server: initialTransition(machines.server, { policy, schedule: machines.schedule })[0],
  counters: { e: 0, s: 0, x: 0, seRecords: 0, serverRecords: 0 },
  compromised: false,
  keys: [],
  held: [],
  revealed: [],
  network: []
})

/** The name of a key term (assigned on first mention). */
const named = (s: SystemState, key: KeyTerm): { state: SystemState; name: string } => {
  const id = keyId(key)
  const i = s.keys.indexOf(id)
  if (i >= 0) return { state: s, name: `K${i + 1}` }
  return { state: { ...s, keys: [...s.keys, id] }, name: `K${s.keys.length + 1}` }
}

const dataOf = (m: SymMessage): string | undefined => (m._tag === "SeOpen" ? `open;se=${m.seId};e=${m.eph}` : m._tag === "ServerHello" || m._tag === "SeFinish" || m._tag === "Record" ? `chan;e=${m.chan}` : undefined)

const put = (s: SystemState, from: Actor, to: Actor, message: SymMessage, label: string = message._tag): Stepped => {
  const ref = s.network.length
  const data = dataOf(message)
  return {
    state: { ...s, network: [...s.network, { from, to, message, label, delivered: from === "attacker" }] },
    events: [{ _tag: "Send", from, to, ref, label, ...(data === undefined ? {} : { data }) }]
  }
}

const holding = (s: SystemState, key: KeyTerm): SystemState => (s.held.some((k) => keyId(k) === keyId(key)) ? s : { ...s, held: [...s.held, key] })

const interpret = (s: SystemState, actor: Actor, actions: ReadonlyArray<{ readonly type: string; readonly params?: unknown }>): Stepped => {
  const events: Array<TraceEvent> = []
  let state = s
  for (const a of actions as ReadonlyArray<Effect>) {
    if (a.type === "send") {
      const r = put(state, actor, a.params.to, a.params.message)
      state = r.state
      events.push(...r.events)
    } else if (a.type === "reject") events.push({ _tag: "Reject", actor, reason: a.params.reason })
    else if (a.type === "hold") {
      const n = named(holding(state, a.params.key), a.params.key)
      state = n.state
      events.push({ _tag: "Secret", actor, name: n.name })
    } else if (a.type === "fact") {
      const p = a.params
      let data = p.data
      let keyName: string | undefined
      if (p.key !== undefined) {
        const n = named(state, p.key)
        state = n.state
        keyName = n.name
        if (p.named !== false) data = `${data};k=${n.name}`
      }
      if (p.kind === "Accept") events.push({ _tag: "Accept", actor, data })
      else events.push({ _tag: p.kind, actor, peer: p.peer ?? "", data })
      if (p.kind === "Commit" && p.key !== undefined) {
        state = holding(state, p.key)
        events.push({ _tag: "Secret", actor, name: keyName! })
      }
    }
  }
  return { state, events }
}

/** The private keys the attacker holds: its ephemerals, and the bank's static key once compromised. */
const knownKeys = (s: SystemState): ReadonlySet<string> => new Set([...Array.from({ length: s.counters.x }, (_, i) => `x${i + 1}`), ...(s.compromised ? [STATIC] : [])])

/** Reveal every held key the attacker can now compute (once each). */
const reveals = (r: Stepped): Stepped => {
  const known = knownKeys(r.state)
  let state = r.state
  const events = [...r.events]
  for (const k of state.held) {
    if (!derivable(k, known)) continue
    const n = named(state, k)
    if (state.revealed.includes(n.name)) continue
    state = { ...n.state, revealed: [...n.state.revealed, n.name] }
    events.push({ _tag: "Reveal", name: n.name, via: "wire" })
  }
  return { state, events }
}

const feed = (s: SystemState, actor: "se" | "server", event: unknown): Stepped => {
  const machine = actor === "se" ? s.machines.se : s.machines.server
  const snapshot = actor === "se" ? s.se : s.server
  const [next, actions] = transition(machine as AnyStateMachine, snapshot as never, event as never)
  return interpret({ ...s, [actor]: next }, actor, actions as never)
}

const deliverMessage = (s: SystemState, ref: number, how: "first" | "replay" | "injected", to?: Actor): Stepped | undefined => {
  const m = s.network[ref]
  if (m === undefined) return undefined
  const target = to ?? m.to
  const data = dataOf(m.message)
  const deliverEvent: TraceEvent = { _tag: "Deliver", to: target, ref, label: m.label, how, ...(data === undefined ? {} : { data }) }
  const marked: SystemState = { ...s, network: s.network.map((n, i) => (i === ref ? { ...n, delivered: true } : n)) }
  const msg = m.message
  let out: Stepped
  if (target === "se") {
    if (msg._tag === "SeHello") {
      // the SE draws an ephemeral only for a hello it accepts
      const eph = `e${s.counters.e + 1}`
      out = feed(marked, "se", { type: "msg.SeHello", message: msg, eph })
      if (out.events.some((e) => e._tag === "Accept")) out = { ...out, state: { ...out.state, counters: { ...out.state.counters, e: s.counters.e + 1 } } }
    } else if (msg._tag === "ServerHello" || msg._tag === "Record") out = feed(marked, "se", { type: `msg.${msg._tag}`, message: msg })
    else out = { state: marked, events: [] }
  } else if (target === "server") {
    if (msg._tag === "SeOpen") {
      const eph = `s${s.counters.s + 1}`
      out = feed(marked, "server", { type: "msg.SeOpen", message: msg, eph })
      if (out.events.some((e) => e._tag === "Running")) out = { ...out, state: { ...out.state, counters: { ...out.state.counters, s: s.counters.s + 1 } } }
    } else if (msg._tag === "SeFinish" || msg._tag === "Record") out = feed(marked, "server", { type: `msg.${msg._tag}`, message: msg })
    else out = { state: marked, events: [] }
  } else out = { state: marked, events: [] }
  return reveals({ state: out.state, events: [deliverEvent, ...out.events] })
}

const hasOpen = (c: { readonly latest?: string }) => c.latest !== undefined

/** A user action; `bounded` applies the exploration's limits (the continuation does not). */
const userAction = (s: SystemState, actor: Actor, action: string, bounded = true): Stepped | undefined => {
  if (actor === "browser" && (action === "visit-bank" || action === "visit-evil")) {
    if (bounded && s.browser.context.visits >= MAX_VISITS) return undefined
    const [browser, actions] = transition(browserMachine, s.browser, { type: "user.visit", origin: action === "visit-bank" ? "bank" : "evil" })
    return interpret({ ...s, browser }, "browser", actions as never)
  }
  if (actor === "se" && action === "send") {
    if ((bounded && s.counters.seRecords >= MAX_RECORDS) || !hasOpen(s.se.context)) return undefined
    const n = s.counters.seRecords + 1
    return feed({ ...s, counters: { ...s.counters, seRecords: n } }, "se", { type: "user.send", payload: `se-${n}` })
  }
  if (actor === "server" && action === "send") {
    if ((bounded && s.counters.serverRecords >= MAX_RECORDS) || !hasOpen(s.server.context)) return undefined
    const n = s.counters.serverRecords + 1
    return feed({ ...s, counters: { ...s.counters, serverRecords: n } }, "server", { type: "user.send", payload: `srv-${n}` })
  }
  return undefined
}

/** The action, then every message it causes delivered once, in order (the honest exchange). */
const honest = (s: SystemState, actor: Actor, action: string, bounded = true): Stepped | undefined => {
  const first = userAction(s, actor, action, bounded)
  if (first === undefined) return undefined
  let state = first.state
  const events = [...first.events]
  for (let ref = s.network.length; ref < state.network.length; ref++) {
    if (state.network[ref]!.delivered) continue
    const r = deliverMessage(state, ref, "first")
    if (r === undefined) continue
    state = r.state
    events.push(...r.events)
  }
  return { state, events }
}

const latest = <T extends SymMessage["_tag"]>(s: SystemState, tag: T, from?: Actor): Extract<SymMessage, { _tag: T }> | undefined =>
  [...s.network].reverse().find((m) => m.message._tag === tag && (from === undefined ? m.from !== "attacker" : m.from === from))?.message as never

/** The attacker's forgery `forge` for `to`, or undefined when it has nothing to build it from. */
export const forgery = (s: SystemState, to: Actor, forge: string): { message: SymMessage; state: SystemState } | undefined => {
  const x = `x${s.counters.x + 1}`
  const drawn: SystemState = { ...s, counters: { ...s.counters, x: s.counters.x + 1 } }
  if (to === "se" && forge === "se:relay-bank") return { message: { _tag: "SeHello", cert: CERTS.bank!, origin: "bank", tag: false }, state: s }
  if (to === "se" && forge === "se:swap-cert") {
    const m = latest(s, "SeHello")
    return m === undefined ? undefined : { message: { ...m, cert: CERTS.bank! }, state: s }
  }
  if (to === "se" && forge === "se:server-hello") {
    const open = latest(s, "SeOpen", "se")
    const session = open === undefined ? undefined : s.se.context.sessions[open.eph]
    if (open === undefined) return undefined
    // the receipt the attacker can make: under the key the SE would derive, if it can compute it
    const key = session === undefined ? undefined : keyTerm(s.policy, s.machines.schedule, { seId: SE_ID, subject: session.subject, serverKey: session.serverKey, e: open.eph, s: x })
    const confirm = key !== undefined && derivable(key, knownKeys(drawn)) ? receiptOf(key, "server") : null
    return { message: { _tag: "ServerHello", chan: open.eph, eph: x, confirm }, state: drawn }
  }
  if (to === "server" && forge === "server:open") return { message: { _tag: "SeOpen", seId: SE_ID, eph: x, sig: false }, state: drawn }
  if (to === "server" && forge === "server:finish") {
    const answer = [...s.network].reverse().find((m) => m.message._tag === "ServerHello" && m.from === "server" && m.message.chan.startsWith("x"))?.message
    if (answer?._tag !== "ServerHello") return undefined
    const key = keyTerm(s.policy, s.machines.schedule, { seId: SE_ID, subject: SERVER, serverKey: STATIC, e: answer.chan, s: answer.eph })
    return derivable(key, knownKeys(s)) ? { message: { _tag: "SeFinish", chan: answer.chan, confirm: receiptOf(key, "se") }, state: s } : undefined
  }
  return undefined
}

const inject = (s: SystemState, to: Actor, forge: string): Stepped | undefined => {
  const f = forgery(s, to, forge)
  if (f === undefined) return undefined
  const sent = put(f.state, "attacker", to, f.message)
  const r = deliverMessage(sent.state, f.state.network.length, "injected")!
  return { state: r.state, events: [...sent.events, ...r.events] }
}

/** The attacker's forgeries, in a fixed order (both worlds enable the same ones). */
export const FORGES: ReadonlyArray<readonly [Actor, string]> = [
  ["se", "se:relay-bank"],
  ["se", "se:swap-cert"],
  ["se", "se:server-hello"],
  ["server", "server:open"],
  ["server", "server:finish"]
]

/** What decides which moves are enabled; the implementation's world builds the same view from what it has seen. */
export interface MoveView {
  readonly visits: number
  readonly seRecords: number
  readonly serverRecords: number
  readonly seOpen: boolean
  readonly serverOpen: boolean
  readonly compromised: boolean
  /** Whether each forgery has what it needs (the model's `forgery` is defined). */
  readonly forgeable: (to: Actor, forge: string) => boolean
  readonly network: ReadonlyArray<{ readonly from: Actor; readonly to: Actor; readonly label: string }>
}

export const enabledMoves = (view: MoveView): Array<Move> => {
  const out: Array<Move> = []
  if (view.visits < MAX_VISITS)
    for (const action of ["visit-bank", "visit-evil"]) out.push({ _tag: "User", actor: "browser", action }, { _tag: "Honest", actor: "browser", action })
  if (view.seOpen && view.seRecords < MAX_RECORDS) out.push({ _tag: "User", actor: "se", action: "send" })
  if (view.serverOpen && view.serverRecords < MAX_RECORDS) out.push({ _tag: "User", actor: "server", action: "send" })
  out.push({ _tag: "Crash", actor: "se" }, { _tag: "Crash", actor: "server" })
  if (!view.compromised) out.push({ _tag: "Compromise", actor: "server", into: "attacker" })
  for (const [to, forge] of FORGES) if (view.forgeable(to, forge)) out.push({ _tag: "Inject", to, forge })
  view.network.forEach((m, ref) => {
    if (m.from === "attacker") return
    out.push({ _tag: "Deliver", ref })
    // a record reflected to its own sender
    if (m.label === "Record") out.push({ _tag: "Deliver", ref, to: m.from })
  })
  return out
}

export const moves = (s: SystemState): ReadonlyArray<Move> =>
  enabledMoves({
    visits: s.browser.context.visits,
    seRecords: s.counters.seRecords,
    serverRecords: s.counters.serverRecords,
    seOpen: hasOpen(s.se.context),
    serverOpen: hasOpen(s.server.context),
    compromised: s.compromised,
    forgeable: (to, forge) => forgery(s, to, forge) !== undefined,
    network: s.network.map((m) => ({ from: m.from, to: m.to, label: m.label }))
  })

export const step = (s: SystemState, move: Move): { state: SystemState; events: Trace } | undefined => {
  switch (move._tag) {
    case "User":
      return userAction(s, move.actor, move.action)
    case "Honest":
      return move.actor === "browser" ? honest(s, move.actor, move.action) : undefined
    case "Deliver": {
      const m = s.network[move.ref]
      if (m === undefined || m.from === "attacker") return undefined
      if (move.to !== undefined && !(m.label === "Record" && move.to === m.from)) return undefined
      return deliverMessage(s, move.ref, m.delivered || move.to !== undefined ? "replay" : "first", move.to)
    }
    case "Crash": {
      if (move.actor !== "se" && move.actor !== "server") return undefined
      const r = feed(s, move.actor, { type: "fault.crash" })
      return { state: r.state, events: [{ _tag: "Crash", actor: move.actor }, ...r.events] }
    }
    case "Compromise":
      if (move.actor !== "server" || s.compromised) return undefined
      return reveals({ state: { ...s, compromised: true }, events: [{ _tag: "Reveal", name: SERVER_KEY_NAME, via: "compromise" }] })
    case "Inject":
      return inject(s, move.to, move.forge)
    default:
      return undefined
  }
}

/** Faults stop: a visit to the bank's page, the whole handshake, a record each way. */
export const continuation = (s: SystemState): Trace => {
  const events: Array<TraceEvent> = [{ _tag: "FaultsEnd" }]
  let state = s
  for (const [actor, action] of [["browser", "visit-bank"], ["se", "send"], ["server", "send"]] as const) {
    const r = honest(state, actor, action, false)
    if (r === undefined) continue
    state = r.state
    events.push(...r.events)
  }
  return events
}

const contextOf = (c: { readonly sessions: unknown; readonly latest?: string }) => [c.sessions, c.latest ?? null]

export const stateKey = (s: SystemState): string =>
  JSON.stringify([contextOf(s.se.context), contextOf(s.server.context), s.browser.context.visits, s.counters, s.compromised, s.keys, s.revealed, s.network.map((m) => [m.from, m.to, m.message, m.delivered])])

/** What the conformance driver compares with the implementation after every step. */
export interface Observation {
  readonly se: { readonly sessions: ReadonlyArray<string>; readonly latest: string | null }
  readonly server: { readonly sessions: ReadonlyArray<string>; readonly latest: string | null }
  readonly visits: number
}

export const observe = (s: SystemState): Observation => ({
  se: {
    sessions: Object.entries(s.se.context.sessions).map(([e, x]) => `${e}:${x.status}:${x.subject}:${x.origin}:${x.s ?? "-"}:${x.sent}:${x.received}`).sort(),
    latest: s.se.context.latest ?? null
  },
  server: {
    sessions: Object.entries(s.server.context.sessions).map(([e, x]) => `${e}:${x.status}:${x.seId}:${x.s}:${x.sent}:${x.received}`).sort(),
    latest: s.server.context.latest ?? null
  },
  visits: s.browser.context.visits
})

export const freshState = (policy: Policy, machines: Machines = MACHINES): { state: SystemState; trace: Trace } => ({ state: initialState(policy, machines), trace: [] })

export const honestRun = (policy: Policy): Trace => continuation(initialState(policy)).slice(1)
