/**
 * The P2b system: Server, alice's Device and Machine, and the attacker's own device, composed with
 * an adversarial network, as a pure step function over immutable states. The bounded explorer
 * (model/explore) walks it; the conformance driver runs the same moves on it and on the
 * implementation and compares `observe()` after every step. The moves and when they are enabled
 * are in ./moves.ts (shared with the implementation's world).
 *
 * Attacker (spec/split-login/SECURITY.md §Attacker): reads, replays and rewrites every message of
 * the open Machine ↔ Server link; delays or drops TLS records (Device ↔ Server) but cannot read or
 * replay them; sees every screen (the SID shown as a QR code); opens sessions for alice on its own
 * device and shows their QR codes to alice (QRLjacking); polls with any SID it has seen; runs a
 * dictionary attack on what it captured (in the model: a deterministic function of the password
 * on the wire is a test for every guess, and alice's password is in the dictionary).
 */
import { initialTransition, type SnapshotFrom } from "xstate"
import { transition } from "../explore/transition.ts"
import type { Move } from "../../spec/attacker.ts"
import type { Policy } from "../../spec/split-login/variants.ts"
import type { Actor, Trace, TraceEvent } from "../../spec/trace.ts"
import { deviceMachine } from "./device.machine.ts"
import { machineMachine, type MachineVerdict } from "./machine.machine.ts"
import { enabledMoves, MAX_LOGINS, MAX_SCANS, type Observation, TLS_LABELS } from "./moves.ts"
import { serverMachine, type ServerVerdict } from "./server.machine.ts"
import { dataOf, fingerprintOf, PASSWORD_HASH, type SymMessage } from "./terms.ts"

export { enabledMoves, type Observation } from "./moves.ts"

/** The server machine the system runs: the shipped one, or a mutant's (`machine.provide`). */
export interface Machines {
  readonly server: typeof serverMachine
  readonly machine: typeof machineMachine
}

export const MACHINES: Machines = { server: serverMachine, machine: machineMachine }

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
  readonly server: SnapshotFrom<typeof serverMachine>
  readonly device: SnapshotFrom<typeof deviceMachine>
  readonly machine: SnapshotFrom<typeof machineMachine>
  /** Names drawn so far: SIDs, device keys, Machine KE1s, server nonces. */
  readonly counters: { readonly sid: number; readonly key: number; readonly ke1: number; readonly nonce: number }
  readonly counts: { readonly logins: number; readonly scans: number; readonly evilOpens: number; readonly ticks: number }
  readonly evil: { readonly key: string | null; readonly sids: ReadonlyArray<string> }
  readonly seenSid: string | null
  readonly guessed: boolean
  readonly password: boolean
  readonly passwordEquivalent: boolean
  readonly network: ReadonlyArray<NetMessage>
}

type Action = { readonly type: string; readonly params?: unknown }
type Stepped = { state: SystemState; events: Array<TraceEvent> }

export const initialState = (policy: Policy, machines: Machines = MACHINES): SystemState => ({
  policy,
  machines,
  server: initialTransition(machines.server, { policy })[0],
  device: initialTransition(deviceMachine)[0],
  machine: initialTransition(machines.machine, { policy })[0],
  counters: { sid: 0, key: 0, ke1: 0, nonce: 0 },
  counts: { logins: 0, scans: 0, evilOpens: 0, ticks: 0 },
  evil: { key: null, sids: [] },
  seenSid: null,
  guessed: false,
  password: false,
  passwordEquivalent: false,
  network: []
})

const put = (s: SystemState, from: Actor, to: Actor, message: SymMessage, delivered = false): Stepped => {
  const ref = s.network.length
  const data = dataOf(message)
  const events: Array<TraceEvent> = [{ _tag: "Send", from, to, ref, label: message._tag, ...(data === undefined ? {} : { data }) }]
  let state: SystemState = { ...s, network: [...s.network, { from, to, message, label: message._tag, delivered }] }
  // the observer: the claimed hash is the stored verifier, a password-equivalent on the wire
  if (!state.passwordEquivalent && from !== "attacker" && message._tag === "Login" && message.auth === PASSWORD_HASH) {
    state = { ...state, passwordEquivalent: true }
    events.push({ _tag: "Reveal", name: "password-equivalent", via: "wire" })
  }
  return { state, events }
}

const verdictsOf = (actions: ReadonlyArray<Action>) => actions.filter((a) => a.type === "verdict").map((a) => a.params)

const toServer = (s: SystemState, conn: Actor, message: SymMessage): Stepped => {
  const [server, actions] = transition(s.machines.server, s.server, { type: "msg", conn, message, sid: `s${s.counters.sid + 1}`, nonce: `n${s.counters.nonce + 1}` })
  let state: SystemState = { ...s, server }
  const events: Array<TraceEvent> = []
  for (const v of verdictsOf(actions as ReadonlyArray<Action>) as ReadonlyArray<ServerVerdict>) {
    switch (v._tag) {
      case "refused":
        events.push({ _tag: "Reject", actor: "server", reason: v.reason })
        break
      case "opened": {
        state = { ...state, counters: { ...state.counters, sid: state.counters.sid + 1 } }
        events.push({ _tag: "Accept", actor: "server", data: `open;sid=${v.sid};opener=${conn}` })
        if (conn === "evil") state = { ...state, evil: { ...state.evil, sids: [...state.evil.sids, v.sid] } }
        else {
          const r = put(state, "server", conn, { _tag: "Opened", sid: v.sid })
          state = r.state
          events.push(...r.events)
        }
        break
      }
      case "challenged": {
        state = { ...state, counters: { ...state.counters, nonce: state.counters.nonce + 1 } }
        events.push({ _tag: "Accept", actor: "server", data: `challenge;sid=${v.sid}` })
        const r = put(state, "server", conn === "machine" ? "machine" : "attacker", v.reply, conn !== "machine")
        state = r.state
        events.push(...r.events)
        break
      }
      case "logged-in":
        events.push({ _tag: "Commit", actor: "server", peer: "machine", data: `login;sid=${v.sid};opener=${v.opener}` })
        break
      case "released": {
        events.push({ _tag: "Accept", actor: "server", data: `release;sid=${v.sid};to=${conn}` })
        if (conn === "device") {
          const r = put(state, "server", "device", { _tag: "Result", sid: v.sid })
          state = r.state
          events.push(...r.events)
        } else events.push({ _tag: "Commit", actor: conn, peer: "server", data: `session;sid=${v.sid}` })
        break
      }
    }
  }
  return { state, events }
}

/** The Machine's verdict: a message sent (with its Running when it is the authenticating data) or a refusal. */
const machineOut = (s: SystemState, actions: ReadonlyArray<Action>): Stepped => {
  let state = s
  const events: Array<TraceEvent> = []
  for (const v of verdictsOf(actions) as ReadonlyArray<MachineVerdict>) {
    if ("refused" in v) {
      events.push({ _tag: "Reject", actor: "machine", reason: v.refused })
      continue
    }
    if (v.running) events.push({ _tag: "Running", actor: "machine", peer: "server", data: `login;sid=${(v.sent as { sid: string }).sid}` })
    const r = put(state, "machine", "server", v.sent)
    state = r.state
    events.push(...r.events)
  }
  return { state, events }
}

const toMachine = (s: SystemState, message: SymMessage): Stepped => {
  const d = s.device.context
  const [machine, actions] = transition(s.machines.machine, s.machine, { type: "msg", message, shown: d.sid === null ? null : fingerprintOf(d.key) })
  return machineOut({ ...s, machine }, actions as ReadonlyArray<Action>)
}

const toDevice = (s: SystemState, message: SymMessage): Stepped => {
  const [device, actions] = transition(deviceMachine, s.device, { type: "msg", message })
  const v = verdictsOf(actions as ReadonlyArray<Action>)[0] as { accepted: boolean; reason?: string }
  if (!v.accepted) return { state: { ...s, device }, events: [{ _tag: "Reject", actor: "device", reason: v.reason ?? "unexpected" }] }
  if (message._tag === "Opened") return { state: { ...s, device, seenSid: message.sid }, events: [{ _tag: "Accept", actor: "device", data: `showing;sid=${message.sid}` }] }
  return { state: { ...s, device }, events: [{ _tag: "Commit", actor: "device", peer: "server", data: `session;sid=${(message as { sid: string }).sid}` }] }
}

const deliverMessage = (s: SystemState, ref: number, how: "first" | "replay" | "injected"): Stepped => {
  const m = s.network[ref]!
  const data = dataOf(m.message)
  const deliverEvent: TraceEvent = { _tag: "Deliver", to: m.to, ref, label: m.label, how, ...(data === undefined ? {} : { data }) }
  const marked: SystemState = { ...s, network: s.network.map((n, i) => (i === ref ? { ...n, delivered: true } : n)) }
  const conn = m.from === "attacker" ? "attacker" : m.from
  const out = m.to === "server" ? toServer(marked, conn, m.message) : m.to === "machine" ? toMachine(marked, m.message) : m.to === "device" ? toDevice(marked, m.message) : { state: marked, events: [] }
  return { state: out.state, events: [deliverEvent, ...out.events] }
}

const deviceShows = (s: SystemState) => s.device.context.sid !== null && !s.device.context.session

const scan = (s: SystemState, sid: string): Stepped => {
  const ke1 = s.policy.auth === "opaque" ? `ke1:${s.counters.ke1 + 1}` : ""
  const [machine, actions] = transition(s.machines.machine, s.machine, { type: "user.scan", sid, ke1 })
  const next: SystemState = { ...s, machine, counts: { ...s.counts, scans: s.counts.scans + 1 }, counters: { ...s.counters, ke1: s.counters.ke1 + (s.policy.auth === "opaque" ? 1 : 0) } }
  return machineOut(next, actions as ReadonlyArray<Action>)
}

const newKey = (s: SystemState): { key: string | null; state: SystemState } =>
  s.policy.poll === "device-key" ? { key: `k${s.counters.key + 1}`, state: { ...s, counters: { ...s.counters, key: s.counters.key + 1 } } } : { key: null, state: s }

const userAction = (s: SystemState, actor: Actor, action: string, bounded = true): Stepped | undefined => {
  if (actor === "device" && action === "login") {
    if (bounded && s.counts.logins >= MAX_LOGINS) return undefined
    const { key, state } = newKey(s)
    const [device] = transition(deviceMachine, state.device, { type: "user.login", key })
    return put({ ...state, device, counts: { ...state.counts, logins: state.counts.logins + 1 } }, "device", "server", { _tag: "Open", key })
  }
  if (actor === "user" && action === "scan") {
    if (!deviceShows(s) || (bounded && s.counts.scans >= MAX_SCANS)) return undefined
    return scan(s, s.device.context.sid!)
  }
  if (actor === "device" && action === "poll") {
    if (s.device.context.sid === null) return undefined
    return put(s, "device", "server", { _tag: "Poll", sid: s.device.context.sid!, key: s.device.context.key })
  }
  return undefined
}

/** Every message sent from `from` on delivered once, in order (the Machine's last flight too, unless `holdLast`). */
const deliverNew = (s: SystemState, from: number, events: Array<TraceEvent>, holdLast = false): SystemState => {
  let state = s
  for (let ref = from; ref < state.network.length; ref++) {
    const m = state.network[ref]!
    if (m.delivered || m.to === "attacker" || (holdLast && LAST_FLIGHTS.has(m.label))) continue
    const d = deliverMessage(state, ref, "first")
    state = d.state
    events.push(...d.events)
  }
  return state
}

/** The Machine's authenticating flights, which `H:user:scan` leaves on the wire. */
const LAST_FLIGHTS: ReadonlySet<string> = new Set(["Login", "LoginFinish"])

/** An honest exchange: `actions` in turn, every message delivered once, in order; the first must be enabled. */
const honest = (s: SystemState, actions: ReadonlyArray<readonly [Actor, string]>, options: { readonly bounded: boolean; readonly holdLast?: boolean }): Stepped | undefined => {
  let state = s
  const events: Array<TraceEvent> = []
  for (const [i, [actor, action]] of actions.entries()) {
    const from = state.network.length
    const r = userAction(state, actor, action, options.bounded)
    if (r === undefined) {
      if (i === 0) return undefined
      break
    }
    state = deliverNew(r.state, from, (events.push(...r.events), events), options.holdLast)
  }
  return { state, events }
}

/** The whole login: open, scan, poll. */
const LOGIN: ReadonlyArray<readonly [Actor, string]> = [["device", "login"], ["user", "scan"], ["device", "poll"]]

/** A request from the attacker's own device, on its own TLS connection. */
const evilRequest = (s: SystemState, message: SymMessage): Stepped => {
  const ref = s.network.length
  const data = dataOf(message)
  const state: SystemState = { ...s, network: [...s.network, { from: "attacker", to: "server", message, label: message._tag, delivered: true }] }
  const r = toServer(state, "evil", message)
  return { state: r.state, events: [{ _tag: "Send", from: "evil", to: "server", ref, label: message._tag, ...(data === undefined ? {} : { data }) }, { _tag: "Deliver", to: "server", ref, label: message._tag, how: "injected", ...(data === undefined ? {} : { data }) }, ...r.events] }
}

const latestAuth = (s: SystemState) => [...s.network].reverse().find((m) => m.from === "machine" && (m.label === "Login" || m.label === "LoginFinish"))

const inject = (s: SystemState, forge: string): Stepped | undefined => {
  if (forge === "open") {
    const { key, state } = newKey(s)
    return evilRequest({ ...state, evil: { ...state.evil, key }, counts: { ...state.counts, evilOpens: state.counts.evilOpens + 1 } }, { _tag: "Open", key })
  }
  const target = s.evil.sids[s.evil.sids.length - 1]
  if (forge === "phish") {
    if (target === undefined) return undefined
    const r = scan(s, target)
    const events = [...r.events]
    return { state: deliverNew(r.state, s.network.length, events), events }
  }
  if (forge === "poll-seen") return s.seenSid === null ? undefined : evilRequest(s, { _tag: "Poll", sid: s.seenSid, key: s.evil.key })
  if (forge === "replay") {
    const m = latestAuth(s)?.message
    if (m === undefined || target === undefined || (m._tag !== "Login" && m._tag !== "LoginFinish")) return undefined
    const sent = put(s, "attacker", "server", { ...m, sid: target }, true)
    const r = deliverMessage(sent.state, s.network.length, "injected")
    return { state: r.state, events: [...sent.events, ...r.events] }
  }
  if (forge === "dictionary") {
    const found = s.network.some((m) => m.from !== "attacker" && !TLS_LABELS.has(m.label) && m.message._tag === "Login" && m.message.auth === PASSWORD_HASH)
    return { state: { ...s, guessed: true, password: s.password || found }, events: found ? [{ _tag: "Reveal", name: "password", via: "wire" }] : [] }
  }
  return undefined
}

export const moves = (s: SystemState): ReadonlyArray<Move> =>
  enabledMoves({
    ...s.counts,
    deviceShows: deviceShows(s),
    deviceHasSid: s.device.context.sid !== null,
    sidSeen: s.seenSid !== null,
    evilHasSid: s.evil.sids.length > 0,
    authSeen: latestAuth(s) !== undefined,
    openLinkSeen: s.network.some((m) => m.from !== "attacker" && !TLS_LABELS.has(m.label)),
    guessed: s.guessed,
    network: s.network
  })

export const step = (s: SystemState, move: Move): { state: SystemState; events: Trace } | undefined => {
  switch (move._tag) {
    case "User":
      return userAction(s, move.actor, move.action)
    case "Honest":
      if (move.actor === "device" && move.action === "login") return honest(s, LOGIN.slice(0, 2), { bounded: true })
      if (move.actor === "device" && move.action === "open") return honest(s, [["device", "login"]], { bounded: true })
      if (move.actor === "user" && move.action === "scan") return honest(s, [["user", "scan"]], { bounded: true, holdLast: true })
      return undefined
    case "Deliver": {
      const m = s.network[move.ref]
      if (m === undefined || move.to !== undefined || m.from === "attacker" || m.to === "attacker" || (TLS_LABELS.has(m.label) && m.delivered)) return undefined
      return deliverMessage(s, move.ref, m.delivered ? "replay" : "first")
    }
    case "Timeout": {
      const [server] = transition(s.machines.server, s.server, { type: "clock.tick" })
      return { state: { ...s, server, counts: { ...s.counts, ticks: s.counts.ticks + 1 } }, events: [{ _tag: "Tick", actor: "server" }] }
    }
    case "Crash": {
      if (move.actor !== "machine") return { state: s, events: [{ _tag: "Crash", actor: move.actor }] }
      const [machine] = transition(s.machines.machine, s.machine, { type: "fault.crash" })
      return { state: { ...s, machine }, events: [{ _tag: "Crash", actor: "machine" }] }
    }
    case "Inject":
      return inject(s, move.forge)
    default:
      return undefined
  }
}

/**
 * The fault-free continuation: a whole login, then the device polls once more, as a client whose
 * answer was lost retries. The server must not release the session again (P2b.sid-single-use): a
 * second release on a retry is a flaw no attacker move is needed for, so every run checks it.
 */
const CONTINUATION: ReadonlyArray<readonly [Actor, string]> = [...LOGIN, ["device", "poll"]]

export const continuation = (s: SystemState): Trace => [{ _tag: "FaultsEnd" }, ...(honest(s, CONTINUATION, { bounded: false })?.events ?? [])]

export const stateKey = (s: SystemState): string =>
  JSON.stringify([s.server.context.sessions, s.device.context, s.machine.context.pending, s.counters, s.counts, s.evil, s.seenSid, s.guessed, s.password, s.passwordEquivalent, s.network.map((m) => [m.from, m.to, m.message, m.delivered])])

export const observe = (s: SystemState): Observation => ({
  server: s.server.context.sessions.map((x) => [x.sid, x.opener, x.logins, x.releases, x.challenge !== undefined] as const).sort((a, b) => a[0].localeCompare(b[0], "en", { numeric: true })),
  device: { sid: s.device.context.sid, session: s.device.context.session },
  machine: { pending: s.machine.context.pending?.sid ?? null },
  attacker: { password: s.password }
})

/** The starting point: alice registered, nothing else. */
export const registeredState = (policy: Policy, machines: Machines = MACHINES): { state: SystemState; trace: Trace } => ({ state: initialState(policy, machines), trace: [] })

export const honestRun = (policy: Policy): Trace => honest(initialState(policy), LOGIN, { bounded: true })?.events ?? []
