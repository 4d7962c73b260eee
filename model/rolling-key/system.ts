/**
 * The P5 system: client, server and (after a compromise) a clone, composed with an adversarial
 * network and crash faults, as a pure step function over immutable states. The bounded explorer
 * (model/explore) walks it; the conformance driver (properties/rolling-key) runs the same moves
 * on it and on the implementation and compares `observe()` after every step.
 *
 * Network (SECURITY.md §Attacker): every message ever sent stays in `network` and can be
 * delivered again (replay) or to another client instance (redirect). Registration messages travel
 * in TLS: the attacker may drop or delay them, but each is delivered at most once and only to its
 * addressee. The attacker can also forge a grant (a fresh rolling input with no valid proof).
 */
import { initialTransition, type SnapshotFrom } from "xstate"
import { transition } from "../explore/transition.ts"
import type { Move } from "../../spec/attacker.ts"
import type { Policy } from "../../spec/rolling-key/variants.ts"
import { type Actor, sentTo, type Trace, type TraceEvent } from "../../spec/trace.ts"
import { clientMachine, type ClientEvent, type ClientRole, type SendParams } from "./client.machine.ts"
import { serverMachine, type ServerEvent, type VerdictParams } from "./server.machine.ts"
import { keysIn, type SymMessage } from "./terms.ts"

type ClientSnapshot = SnapshotFrom<typeof clientMachine>
type ServerSnapshot = SnapshotFrom<typeof serverMachine>

export interface NetMessage {
  readonly from: Actor
  readonly to: Actor
  readonly message: SymMessage
  /** The request name (`req2@k1`) a request carries, for the trace. */
  readonly data?: string
  /** Registration messages: inside TLS, deliverable once, to the addressee only. */
  readonly tls: boolean
  readonly delivered: boolean
}

export interface SystemState {
  readonly policy: Policy
  readonly client: ClientSnapshot
  readonly server: ServerSnapshot
  readonly clone: ClientSnapshot | null
  readonly network: ReadonlyArray<NetMessage>
  /** Next fresh name (`n<fresh>`); advanced only when a step really used it. */
  readonly fresh: number
}

const TLS_MESSAGES: ReadonlySet<SymMessage["_tag"]> = new Set(["RegisterRequest", "RegisterResponse", "RegisterKey"])

export const initialState = (policy: Policy): SystemState => ({
  policy,
  client: initialTransition(clientMachine, { policy, role: "client" })[0],
  server: initialTransition(serverMachine, { policy })[0],
  clone: null,
  network: [],
  fresh: 0
})

type Action = { readonly type: string; readonly params?: unknown }

const clientOf = (s: SystemState, actor: Actor): ClientSnapshot | null =>
  actor === "client" ? s.client : actor === "clone" ? s.clone : null

const withClient = (s: SystemState, actor: Actor, snap: ClientSnapshot): SystemState =>
  actor === "clone" ? { ...s, clone: snap } : { ...s, client: snap }

/** Interpret a participant's emitted actions: sends go on the network, facts into the trace. */
const interpret = (
  s: SystemState,
  actor: Actor,
  replyTo: Actor,
  actions: ReadonlyArray<Action>,
  delivered: { readonly ref: number; readonly data?: string } | undefined
): { state: SystemState; events: Array<TraceEvent> } => {
  const events: Array<TraceEvent> = []
  let network = s.network
  for (const a of actions) {
    if (a.type === "send") {
      const p = a.params as SendParams
      const to = actor === "server" ? replyTo : "server"
      const sent: NetMessage = { from: actor, to, message: p.message, ...(p.data === undefined ? {} : { data: p.data }), tls: TLS_MESSAGES.has(p.message._tag), delivered: false }
      const ref = sameMessageOnWire(network, sent)
      if (ref === network.length) network = [...network, sent]
      events.push({ _tag: "Send", from: actor, to, ref, label: p.message._tag, ...(p.data === undefined ? {} : { data: p.data }) })
      for (const k of keysIn(p.message)) events.push({ _tag: "Reveal", name: `k${k.epoch}`, via: "wire" })
    } else if (a.type === "fact") {
      events.push((a.params as { event: TraceEvent }).event)
    } else if (a.type === "verdict") {
      const v = a.params as VerdictParams
      if (v.accepted) events.push({ _tag: "Commit", actor: "server", peer: "client", data: delivered?.data ?? `forged#${delivered?.ref ?? "?"}` })
      else {
        if (v.reason === "clone-suspected") events.push({ _tag: "Signal", actor: "server", signal: "clone-suspected" })
        events.push({ _tag: "Reject", actor: "server", reason: v.reason })
      }
    }
  }
  return { state: { ...s, network }, events }
}

const freshName = (s: SystemState) => `n${s.fresh}`

/**
 * The network keeps one copy of identical messages (outside TLS): a second copy gives the
 * attacker nothing it could not do by replaying the first, and keeping it would only multiply
 * states. Returns the index of the identical message, or the next free index. The
 * implementation's harness applies the same rule, so message numbers agree across the worlds.
 */
const sameMessageOnWire = (network: ReadonlyArray<NetMessage>, m: NetMessage): number => {
  if (m.tls) return network.length
  const wanted = JSON.stringify([m.from, m.to, m.data, m.message])
  const i = network.findIndex((n) => !n.tls && JSON.stringify([n.from, n.to, n.data, n.message]) === wanted)
  return i < 0 ? network.length : i
}

/**
 * Advance the fresh counter only if the step used the name, so no-op moves merge in the explorer.
 * Every use of a fresh name ends up in a message the step sent (device id, challenge, rolling
 * input, ephemeral key, client-chosen input), so looking there is enough.
 */
const settleFresh = (before: SystemState, after: SystemState): SystemState => {
  const name = freshName(before)
  const sent = after.network.slice(before.network.length)
  const pattern = new RegExp(`\\b${name}[a-z]?\\b`)
  return sent.some((m) => pattern.test(JSON.stringify(m.message))) ? { ...after, fresh: before.fresh + 1 } : after
}

const clientEvent = (message: SymMessage): ClientEvent | undefined => {
  switch (message._tag) {
    case "RegisterResponse":
    case "AuthChallenge":
    case "AuthGranted":
    case "AuthRejected":
      return { type: `msg.${message._tag}`, message } as ClientEvent
    default:
      return undefined
  }
}

const serverEvent = (message: SymMessage, fresh: string): ServerEvent | undefined => {
  switch (message._tag) {
    case "RegisterRequest":
    case "AuthBegin":
    case "AuthRequest":
      return { type: `msg.${message._tag}`, message, fresh } as ServerEvent
    case "RegisterKey":
      return { type: "msg.RegisterKey", message }
    default:
      return undefined
  }
}

const deliver = (s: SystemState, ref: number, to: Actor | undefined): { state: SystemState; events: Array<TraceEvent> } | undefined => {
  const m = s.network[ref]
  if (m === undefined) return undefined
  const target = to ?? m.to
  if (m.tls && (m.delivered || target !== m.to)) return undefined
  const deliverEvent: TraceEvent = {
    _tag: "Deliver",
    to: target,
    ref,
    label: m.message._tag,
    how: m.delivered ? "replay" : "first",
    ...(m.data === undefined ? {} : { data: m.data })
  }
  const network = s.network.map((n, i) => (i === ref ? { ...n, delivered: true } : n))
  const marked: SystemState = { ...s, network }
  if (target === "server") {
    const event = serverEvent(m.message, freshName(s))
    if (event === undefined) return undefined
    const [server, actions] = transition(serverMachine, s.server, event)
    const out = interpret({ ...marked, server }, "server", m.from, actions as ReadonlyArray<Action>, { ref, ...(m.data === undefined ? {} : { data: m.data }) })
    return { state: settleFresh(s, out.state), events: [deliverEvent, ...out.events] }
  }
  const snap = clientOf(s, target)
  const event = clientEvent(m.message)
  if (snap === null || event === undefined) return undefined
  const [next, actions] = transition(clientMachine, snap, event)
  const out = interpret(withClient(marked, target, next), target, "server", actions as ReadonlyArray<Action>, undefined)
  return { state: out.state, events: [deliverEvent, ...out.events] }
}

const userAction = (s: SystemState, actor: Actor, action: string): { state: SystemState; events: Array<TraceEvent> } | undefined => {
  const snap = clientOf(s, actor)
  if (snap === null) return undefined
  const fresh = freshName(s)
  const event: ClientEvent | undefined =
    action === "register" ? { type: "user.register", ephemeral: `${fresh}e` } : action === "login" ? { type: "user.login", input: fresh } : undefined
  if (event === undefined) return undefined
  const [next, actions] = transition(clientMachine, snap, event)
  if (next === snap) return undefined
  const out = interpret(withClient(s, actor, next), actor, "server", actions as ReadonlyArray<Action>, undefined)
  return { state: settleFresh(s, out.state), events: out.events }
}

/** Run a user action and then deliver every message it causes, once each, in order. */
const honest = (s: SystemState, actor: Actor, action: string): { state: SystemState; events: Array<TraceEvent> } | undefined => {
  const first = userAction(s, actor, action)
  if (first === undefined) return undefined
  let state = first.state
  const events = [...first.events]
  const queue = sentTo(first.events, actor)
  while (queue.length > 0) {
    const r = deliver(state, queue.shift()!, undefined)
    if (r === undefined) continue
    state = r.state
    events.push(...r.events)
    queue.push(...sentTo(r.events, actor))
  }
  return { state, events }
}

const forgedGrant = (s: SystemState, to: Actor): { state: SystemState; events: Array<TraceEvent> } | undefined => {
  const snap = clientOf(s, to)
  if (snap === null || snap.context.deviceId === null) return undefined
  const message: SymMessage = { _tag: "AuthGranted", deviceId: snap.context.deviceId, rollingInput: `${freshName(s)}f`, proof: null }
  const ref = s.network.length
  const injected: SystemState = { ...s, network: [...s.network, { from: "attacker", to, message, tls: false, delivered: false }] }
  const r = deliver(injected, ref, undefined)
  if (r === undefined) return undefined
  const events: Array<TraceEvent> = [{ _tag: "Send", from: "attacker", to, ref, label: "AuthGranted" }, ...r.events.map((e) => (e._tag === "Deliver" ? { ...e, how: "injected" as const } : e))]
  return { state: settleFresh(s, r.state), events }
}

export const step = (s: SystemState, move: Move): { state: SystemState; events: Trace } | undefined => {
  switch (move._tag) {
    case "User":
      return userAction(s, move.actor, move.action)
    case "Honest":
      return honest(s, move.actor, move.action)
    case "Deliver":
      return deliver(s, move.ref, move.to)
    case "Crash": {
      if (move.actor === "server") return { state: { ...s, server: transition(serverMachine, s.server, { type: "fault.crash" })[0] }, events: [{ _tag: "Crash", actor: "server" }] }
      const snap = clientOf(s, move.actor)
      if (snap === null) return undefined
      return { state: withClient(s, move.actor, transition(clientMachine, snap, { type: "fault.crash" })[0]), events: [{ _tag: "Crash", actor: move.actor }] }
    }
    case "Timeout": {
      const snap = clientOf(s, move.actor)
      if (snap === null) return undefined
      const [next] = transition(clientMachine, snap, { type: "timer.expired" })
      return next === snap ? undefined : { state: withClient(s, move.actor, next), events: [{ _tag: "Tick", actor: move.actor }] }
    }
    case "Compromise": {
      const c = s.client.context
      if (s.clone !== null || c.storedKey === null || c.deviceId === null) return undefined
      const role: ClientRole = "clone"
      const clone = initialTransition(clientMachine, { policy: s.policy, role, stored: { deviceId: c.deviceId, key: c.storedKey, nextRequest: c.nextRequest } })[0]
      return { state: { ...s, clone }, events: [{ _tag: "Reveal", name: `k${c.storedKey.epoch}`, via: "compromise" }] }
    }
    case "Inject":
      return move.forge === "grant" ? forgedGrant(s, move.to) : undefined
  }
}

/** What decides which moves are enabled; the implementation's harness builds the same view. */
export interface MoveView {
  /** The device first, then the clone if there is one. */
  readonly clients: ReadonlyArray<{ readonly actor: Actor; readonly phase: string }>
  /** Whether the device has a key in storage (a compromise copies it). */
  readonly deviceHasKey: boolean
  readonly network: ReadonlyArray<{ readonly to: Actor; readonly tls: boolean; readonly delivered: boolean }>
}

/**
 * The attacker's and users' moves, in a fixed order: user actions, forged grants and timeouts per
 * client; delivery (replay, redirect between device and clone) of every message; crashes;
 * a compromise when `clone` is allowed. Shared by the explorer and the implementation's harness.
 */
export const enabledMoves = (view: MoveView, options: { readonly clone: boolean }): Array<Move> => {
  const out: Array<Move> = []
  const hasClone = view.clients.some((c) => c.actor === "clone")
  for (const { actor, phase } of view.clients) {
    if (phase === "unregistered" && actor === "client") out.push({ _tag: "User", actor, action: "register" })
    if (phase === "ready") out.push({ _tag: "User", actor, action: "login" }, { _tag: "Honest", actor, action: "login" })
    if (phase === "awaitingGrant") out.push({ _tag: "Inject", to: actor, forge: "grant" })
    if (phase.startsWith("awaiting") || phase === "registering") out.push({ _tag: "Timeout", actor })
  }
  view.network.forEach((m, ref) => {
    if (m.tls) {
      if (!m.delivered) out.push({ _tag: "Deliver", ref })
      return
    }
    out.push({ _tag: "Deliver", ref })
    if (m.to === "client" && hasClone) out.push({ _tag: "Deliver", ref, to: "clone" })
    if (m.to === "clone") out.push({ _tag: "Deliver", ref, to: "client" })
  })
  out.push({ _tag: "Crash", actor: "client" }, { _tag: "Crash", actor: "server" })
  if (options.clone && !hasClone && view.deviceHasKey) out.push({ _tag: "Compromise", actor: "client", into: "clone" })
  return out
}

export const moves = (s: SystemState, options: { readonly clone: boolean }): ReadonlyArray<Move> =>
  enabledMoves(
    {
      clients: [{ actor: "client", phase: s.client.value as string }, ...(s.clone === null ? [] : [{ actor: "clone", phase: s.clone.value as string }])],
      deviceHasKey: s.client.context.storedKey !== null,
      network: s.network
    },
    options
  )

/** Faults stop: the device gives up any pending attempt, registers if it has no key, and logs in once. */
export const continuation = (s: SystemState): Trace => {
  const events: Array<TraceEvent> = [{ _tag: "FaultsEnd" }]
  let state = s
  const phase = () => state.client.value as string
  if (phase().startsWith("awaiting") || phase() === "registering") {
    state = step(state, { _tag: "Timeout", actor: "client" })!.state
    events.push({ _tag: "Tick", actor: "client" })
  }
  if (phase() === "unregistered") {
    const r = honest(state, "client", "register")
    if (r !== undefined) {
      state = r.state
      events.push(...r.events)
    }
  }
  const r = honest(state, "client", "login")
  if (r !== undefined) events.push(...r.events)
  return events
}

/** A canonical string of everything that determines the future (policy is fixed per exploration). */
export const stateKey = (s: SystemState): string => {
  const client = (snap: ClientSnapshot | null) =>
    snap === null ? null : { v: snap.value, ...snap.context, policy: undefined, role: undefined }
  return JSON.stringify([
    client(s.client),
    client(s.clone),
    s.server.context.devices,
    s.network.map((m) => [m.from, m.to, m.message, m.data, m.tls && m.delivered]),
    s.fresh
  ])
}

/** What the conformance driver compares with the implementation after every step. */
export interface Observation {
  readonly client: { readonly phase: string; readonly epoch: number | null }
  readonly server: ReadonlyArray<{ readonly currentEpoch: number; readonly previousEpoch: number | null; readonly retiredEpoch: number | null; readonly hasChallenge: boolean }>
}

export const observe = (s: SystemState): Observation => ({
  client: { phase: s.client.value as string, epoch: s.client.context.key?.epoch ?? null },
  // Only devices with a key: a claimed registration awaiting its RegisterKey is not a device yet.
  server: Object.values(s.server.context.devices).flatMap((d) => d.current === null ? [] : [{
    currentEpoch: d.current.epoch,
    previousEpoch: d.previous?.epoch ?? null,
    retiredEpoch: d.retired?.epoch ?? null,
    hasChallenge: d.challenge !== null
  }])
})

/** A state after an honest registration (so the explorer's depth goes to the authentication phase). */
export const registeredState = (policy: Policy): { state: SystemState; trace: Trace } => {
  const r = honest(initialState(policy), "client", "register")!
  return { state: r.state, trace: r.events }
}
