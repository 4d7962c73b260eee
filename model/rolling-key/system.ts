/**
 * The P5 system: client, server and (after a compromise) a clone, composed with an adversarial
 * network and crash faults, as a pure step function over immutable states. The bounded explorer
 * (model/explore) walks it; the conformance driver (properties/rolling-key) runs the same moves
 * on it and on the implementation and compares `observe()` after every step.
 *
 * Network (SECURITY.md §Attacker): every message ever sent stays in `network` and can be
 * delivered again (replay) or to another client instance (redirect). Registration messages travel
 * in TLS: the attacker may drop or delay them, but each is delivered at most once and only to its
 * addressee. The attacker can also forge a grant (a fresh rolling input with no valid proof),
 * and it uses the keys it holds after a compromise: it computes every successor of a copied key
 * under the rolling inputs it sees (`attackerKeys`, revealed as they become computable), sends
 * codes it computed (`Inject{code}`) and grants with a valid proof (`Inject{grant:keyed}`).
 */
import { initialTransition, type SnapshotFrom } from "xstate"
import { intern, keyOf, memoOf, type NamedPart, namedPart, snapshotId, snapshotPart, symmetricKey, termId } from "../explore/keys.ts"
import { transition } from "../explore/transition.ts"
import type { Move } from "../../spec/attacker.ts"
import type { Policy } from "../../spec/rolling-key/variants.ts"
import { type Actor, sentTo, type Trace, type TraceEvent } from "../../spec/trace.ts"
import { clientMachine, type ClientEvent, type ClientRole, type SendParams } from "./client.machine.ts"
import { serverMachine, type ServerEvent, type VerdictParams } from "./server.machine.ts"
import { authCode, grantProof, initialKeyFromInput, type Key, nextKey, type SymMessage } from "./terms.ts"

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
  /** Its sender, addressee, request name and body as one string, made once: what makes two messages the same. */
  readonly content: string
}

/**
 * A message as sent (not delivered yet), made once per body object, route and request name: the
 * memoised transitions hand out the same body objects again, so equal messages are one object and
 * what is computed of one (its content, its part of a state key) is computed once. Looked up by
 * the route's strings one after the other, not by one string built per send (whose hashing was
 * ~1 % of P5's exploration); whether it travels in TLS follows from its tag.
 */
const netMessage = (from: Actor, to: Actor, message: SymMessage, data: string | undefined): NetMessage => {
  let byRoute = onWire.get(message)
  if (byRoute === undefined) onWire.set(message, (byRoute = new Map()))
  const route = `${from}>${to}`
  let byData = byRoute.get(route)
  if (byData === undefined) byRoute.set(route, (byData = new Map()))
  let made = byData.get(data)
  if (made === undefined) {
    const tls = TLS_MESSAGES.has(message._tag)
    const content = JSON.stringify([from, to, data, message])
    byData.set(data, (made = data === undefined ? { from, to, message, tls, delivered: false, content } : { from, to, message, data, tls, delivered: false, content }))
  }
  return made
}
const onWire = new WeakMap<SymMessage, Map<string, Map<string | undefined, NetMessage>>>()

/** The message once delivered (made once per message, like `netMessage`). */
const deliveredOnce = (m: NetMessage): NetMessage => {
  let d = delivered.get(m)
  if (d === undefined) delivered.set(m, (d = { ...m, delivered: true }))
  return d
}
const delivered = new WeakMap<NetMessage, NetMessage>()

/**
 * The participant machines a system runs: the shipped ones, or (for a mutant) the same machines
 * with some named actions or guards replaced (`machine.provide`, properties/rolling-key/mutants).
 */
export interface Machines {
  readonly client: typeof clientMachine
  readonly server: typeof serverMachine
}

export const shippedMachines: Machines = { client: clientMachine, server: serverMachine }

export interface SystemState {
  readonly policy: Policy
  /** Fixed per exploration, like the policy (not part of the state key). */
  readonly machines: Machines
  readonly client: ClientSnapshot
  readonly server: ServerSnapshot
  readonly clone: ClientSnapshot | null
  readonly network: ReadonlyArray<NetMessage>
  /** Next fresh name (`n<fresh>`); advanced only when a step really used it. */
  readonly fresh: number
  /**
   * The keys some participant holds that the attacker can compute, in the order it learned them:
   * copied in a compromise, or derived from what it saw (a key in a message body, K0 from a
   * registration body by the public formula, a successor under a rolling input seen in a grant).
   */
  readonly attackerKeys: ReadonlyArray<{ readonly key: Key; readonly via: "wire" | "compromise" }>
  /** The attacker's own requests so far (`attacker<N>@k<E>`). */
  readonly attackerRequests: number
}

const TLS_MESSAGES: ReadonlySet<SymMessage["_tag"]> = new Set(["RegisterRequest", "RegisterResponse", "RegisterKey"])

export const initialState = (policy: Policy, machines: Machines = shippedMachines): SystemState => ({
  policy,
  machines,
  client: initialTransition(machines.client, { policy, role: "client" })[0],
  server: initialTransition(machines.server, { policy })[0],
  clone: null,
  network: [],
  fresh: 0,
  attackerKeys: [],
  attackerRequests: 0
})

type Action = { readonly type: string; readonly params?: unknown }

const clientOf = (s: SystemState, actor: Actor): ClientSnapshot | null =>
  actor === "client" ? s.client : actor === "clone" ? s.clone : null

// A step that changes nothing returns the very state it was given (most moves change nothing:
// a replay refused, a crash with nothing in memory), so `step` and the explorer see it at once.
const withClient = (s: SystemState, actor: Actor, snap: ClientSnapshot): SystemState =>
  actor === "clone" ? (snap === s.clone ? s : { ...s, clone: snap }) : snap === s.client ? s : { ...s, client: snap }

const withServer = (s: SystemState, server: ServerSnapshot): SystemState => (server === s.server ? s : { ...s, server })

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
      const sent = netMessage(actor, to, p.message, p.data)
      const ref = sameMessageOnWire(network, sent)
      if (ref === network.length) network = [...network, sent]
      // Written out rather than with a conditional spread: this is the explorer's hottest path.
      events.push(p.data === undefined ? { _tag: "Send", from: actor, to, ref, label: p.message._tag } : { _tag: "Send", from: actor, to, ref, label: p.message._tag, data: p.data })
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
  return { state: network === s.network ? s : { ...s, network }, events }
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
  const i = network.findIndex((n) => !n.tls && n.content === m.content)
  return i < 0 ? network.length : i
}

/**
 * Advance the fresh counter only if the step used the name, so no-op moves merge in the explorer.
 * Every use of a fresh name ends up in a message the step sent (device id, challenge, rolling
 * input, ephemeral key, client-chosen input), so looking there is enough.
 */
const settleFresh = (before: SystemState, after: SystemState): SystemState => {
  if (after.network.length === before.network.length) return after
  const pattern = freshPattern(before.fresh)
  // `content` is the message's JSON with its sender, addressee and data, none of which is a word
  // starting with `n` and a digit: a match there is a match in the message.
  for (let i = before.network.length; i < after.network.length; i++) if (pattern.test(after.network[i]!.content)) return { ...after, fresh: before.fresh + 1 }
  return after
}

const freshPatterns: Array<RegExp> = []
/** The word `n<fresh>` with an optional one-letter suffix (`n3`, `n3e`, `n3g`), compiled once per name. */
const freshPattern = (fresh: number): RegExp => (freshPatterns[fresh] ??= new RegExp(`\\bn${fresh}[a-z]?\\b`))

/*
 * The events handed to the machines are made once per message (and fresh name) and reused: the
 * memoised transition (../explore/transition.ts) then finds an event's id by the object, and
 * equal deliveries do not build equal events again.
 */
const clientEvents = new WeakMap<SymMessage, ClientEvent | null>()

const clientEvent = (message: SymMessage): ClientEvent | undefined => {
  let event = clientEvents.get(message)
  if (event === undefined) clientEvents.set(message, (event = clientEventNow(message) ?? null))
  return event ?? undefined
}

const clientEventNow = (message: SymMessage): ClientEvent | undefined => {
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

const serverEvents = new WeakMap<SymMessage, Map<string, ServerEvent | null>>()

const serverEvent = (message: SymMessage, fresh: string): ServerEvent | undefined => {
  let byFresh = serverEvents.get(message)
  if (byFresh === undefined) serverEvents.set(message, (byFresh = new Map()))
  let event = byFresh.get(fresh)
  if (event === undefined) byFresh.set(fresh, (event = serverEventNow(message, fresh) ?? null))
  return event ?? undefined
}

const serverEventNow = (message: SymMessage, fresh: string): ServerEvent | undefined => {
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

/** The user's and the faults' events, made once per fresh name (or once). */
const userEvents = new Map<string, ClientEvent | null>()
const userEvent = (action: string, fresh: string): ClientEvent | undefined => {
  const key = `${action}\u0000${fresh}`
  let event = userEvents.get(key)
  if (event === undefined)
    userEvents.set(key, (event = action === "register" ? { type: "user.register", ephemeral: `${fresh}e` } : action === "login" ? { type: "user.login", input: fresh } : null))
  return event ?? undefined
}
const CRASH = { type: "fault.crash" } as const
const TIMER_EXPIRED = { type: "timer.expired" } as const

const deliver = (s: SystemState, ref: number, to: Actor | undefined): { state: SystemState; events: Array<TraceEvent> } | undefined => {
  const m = s.network[ref]
  if (m === undefined) return undefined
  const target = to ?? m.to
  if (m.tls && (m.delivered || target !== m.to)) return undefined
  const how = m.delivered ? "replay" : "first"
  const deliverEvent: TraceEvent =
    m.data === undefined ? { _tag: "Deliver", to: target, ref, label: m.message._tag, how } : { _tag: "Deliver", to: target, ref, label: m.message._tag, how, data: m.data }
  const marked: SystemState = m.delivered ? s : { ...s, network: s.network.map((n, i) => (i === ref ? deliveredOnce(n) : n)) }
  if (target === "server") {
    const event = serverEvent(m.message, freshName(s))
    if (event === undefined) return undefined
    const [server, actions] = transition(s.machines.server, s.server, event)
    const out = interpret(withServer(marked, server), "server", m.from, actions as ReadonlyArray<Action>, { ref, ...(m.data === undefined ? {} : { data: m.data }) })
    return { state: settleFresh(s, out.state), events: [deliverEvent, ...out.events] }
  }
  const snap = clientOf(s, target)
  const event = clientEvent(m.message)
  if (snap === null || event === undefined) return undefined
  const [next, actions] = transition(s.machines.client, snap, event)
  const out = interpret(withClient(marked, target, next), target, "server", actions as ReadonlyArray<Action>, undefined)
  return { state: out.state, events: [deliverEvent, ...out.events] }
}

const userAction = (s: SystemState, actor: Actor, action: string): { state: SystemState; events: Array<TraceEvent> } | undefined => {
  const snap = clientOf(s, actor)
  if (snap === null) return undefined
  const event = userEvent(action, freshName(s))
  if (event === undefined) return undefined
  const [next, actions] = transition(s.machines.client, snap, event)
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

/**
 * One object per attacker-built message content, in the explorer's key space: the attacker builds
 * the same forged message again in many states, and what is computed of a message (its content,
 * its id, its part of a key, the machines' event) is remembered by the object.
 */
const canonical = (message: SymMessage): SymMessage => {
  const made = memoOf<SymMessage>(canonical)
  const content = JSON.stringify(message)
  const known = made.get(content)
  if (known !== undefined) return known
  made.set(content, message)
  return message
}

/** Put an attacker-built message on the wire and deliver it to `to` at once. */
const injected = (s: SystemState, to: Actor, built: SymMessage, data?: string): { state: SystemState; events: Array<TraceEvent> } | undefined => {
  const message = canonical(built)
  const ref = s.network.length
  const withMessage: SystemState = { ...s, network: [...s.network, netMessage("attacker", to, message, data)] }
  const r = deliver(withMessage, ref, undefined)
  if (r === undefined) return undefined
  const events: Array<TraceEvent> = [
    { _tag: "Send", from: "attacker", to, ref, label: message._tag, ...(data === undefined ? {} : { data }) },
    ...r.events.map((e) => (e._tag === "Deliver" ? { ...e, how: "injected" as const } : e))
  ]
  return { state: settleFresh(s, r.state), events }
}

const forgedGrant = (s: SystemState, to: Actor): { state: SystemState; events: Array<TraceEvent> } | undefined => {
  const snap = clientOf(s, to)
  if (snap === null || snap.context.deviceId === null) return undefined
  return injected(s, to, { _tag: "AuthGranted", deviceId: snap.context.deviceId, rollingInput: `${freshName(s)}f`, proof: null })
}

/**
 * The keys the attacker uses itself: those it got through a compromise (copied, or computed from
 * a copied one). Keys it can compute from the wire alone already break P5.key-secrecy; using them
 * too would only multiply states.
 */
const usableKeys = (s: SystemState) => s.attackerKeys.filter((k) => k.via === "compromise")

/** Whether a code over the latest challenge seen reaches a check (the challenge is still outstanding; claimed: no challenges). */
const codeMatters = (s: SystemState): boolean => {
  if (s.policy.input !== "server-challenge") return true
  const c = latestChallenge(s)
  return c !== undefined && s.server.context.devices[c.deviceId]?.challenge?.challenge === c.challenge
}

/** The attacker's newest usable key (highest epoch; the first learned among equals). */
const newestKey = (s: SystemState): Key | undefined =>
  usableKeys(s).reduce<Key | undefined>((best, k) => (best === undefined || k.key.epoch > best.epoch ? k.key : best), undefined)

const latestChallenge = (s: SystemState): Extract<SymMessage, { _tag: "AuthChallenge" }> | undefined => {
  for (let i = s.network.length - 1; i >= 0; i--) {
    const m = s.network[i]!.message
    if (m._tag === "AuthChallenge") return m
  }
  return undefined
}

/** A code the attacker computes with its newest key over the latest challenge seen (claimed: over an input of its own). */
const forgedRequest = (s: SystemState): { state: SystemState; events: Array<TraceEvent> } | undefined => {
  const key = newestKey(s)
  const deviceId = s.client.context.deviceId
  if (key === undefined || deviceId === null) return undefined
  const c = latestChallenge(s)
  const attempt = c !== undefined ? { deviceId: c.deviceId, nonce: c.clientNonce, input: c.challenge } : { deviceId, nonce: "", input: `${freshName(s)}a` }
  const message: SymMessage = { _tag: "AuthRequest", deviceId: attempt.deviceId, input: attempt.input, code: authCode(key, attempt.deviceId, attempt.nonce, attempt.input) }
  const r = injected({ ...s, attackerRequests: s.attackerRequests + 1 }, "server", message, `attacker${s.attackerRequests}@k${key.epoch}`)
  return r
}

/** A grant with a valid proof under the attacker's newest key, for `to`'s latest request on the wire. */
const keyedGrant = (s: SystemState, to: Actor): { state: SystemState; events: Array<TraceEvent> } | undefined => {
  const key = newestKey(s)
  if (key === undefined) return undefined
  for (let i = s.network.length - 1; i >= 0; i--) {
    const w = s.network[i]!
    if (w.from !== to || w.message._tag !== "AuthRequest") continue
    const r = w.message
    let nonce: string | undefined = s.policy.input === "server-challenge" ? undefined : ""
    for (let j = i; j >= 0 && nonce === undefined; j--) {
      const m = s.network[j]!.message
      if (m._tag === "AuthChallenge" && m.challenge === r.input) nonce = m.clientNonce
    }
    if (nonce === undefined) return undefined
    const rollingInput = `${freshName(s)}g`
    return injected(s, to, { _tag: "AuthGranted", deviceId: r.deviceId, rollingInput, proof: grantProof(key, r.deviceId, nonce, r.input, rollingInput) }, `attacker-grant@k${key.epoch}`)
  }
  return undefined
}

/** Every key a participant holds now. */
const heldKeys = (s: SystemState): Array<Key> => {
  const keys: Array<Key> = []
  for (const c of [s.client, s.clone]) if (c !== null) for (const k of [c.context.key, c.context.storedKey]) if (k !== null) keys.push(k)
  for (const d of Object.values(s.server.context.devices)) for (const k of [d.current, d.previous, d.retired]) if (k !== null) keys.push(k)
  return keys
}

/**
 * What the attacker can compute after a step: the held keys it can derive from the wire (every
 * message body, TLS included) and from the keys it already has, each revealed once.
 */
const deduce = (s: SystemState): { state: SystemState; events: Array<TraceEvent> } => {
  // Computed each time: a scan of a dozen messages costs less than the state key a memo needs.
  const learned = deduceNow(s)
  return learned.events.length === 0 ? { state: s, events: [] } : { state: { ...s, attackerKeys: learned.known }, events: [...learned.events] }
}

const NOTHING_LEARNED = { known: [], events: [] } as const

const deduceNow = (s: SystemState): { readonly known: SystemState["attackerKeys"]; readonly events: ReadonlyArray<TraceEvent> } => {
  // Only a held key the attacker does not know yet can be revealed; a step mostly reveals
  // nothing, so nothing is copied until something is.
  let unknown: Map<string, Key> | undefined
  for (const k of heldKeys(s)) if (!s.attackerKeys.some((x) => x.key.name === k.name)) (unknown ??= new Map()).set(k.name, k)
  if (unknown === undefined) return NOTHING_LEARNED
  const hidden = unknown
  let known: Array<SystemState["attackerKeys"][number]> | undefined
  const events: Array<TraceEvent> = []
  const learn = (name: string, via: "wire" | "compromise") => {
    const k = hidden.get(name)
    if (k === undefined) return
    hidden.delete(name)
    ;(known ??= [...s.attackerKeys]).push({ key: k, via })
    events.push({ _tag: "Reveal", name: `k${k.epoch}`, via })
  }
  for (const m of s.network) {
    if (m.message._tag === "RegisterKey") learn(m.message.rollingKey.name, "wire")
    else if (m.message._tag === "RegisterResponse") learn(initialKeyFromInput(m.message.serverInput).name, "wire")
  }
  // Successors of every key it knows (and of each it learns on the way) under the rolling inputs it saw.
  const knownNow = () => known ?? s.attackerKeys
  for (let i = 0; i < knownNow().length && hidden.size > 0; i++) {
    const parent = knownNow()[i]!
    for (const m of s.network) if (m.message._tag === "AuthGranted") learn(nextKey(parent.key, m.message.rollingInput).name, parent.via)
  }
  return known === undefined ? NOTHING_LEARNED : { known, events }
}

/**
 * The clone's first snapshot, made once per machine, policy and copied storage (an XState initial
 * transition costs ~70 µs, and the compromise of one stored key is met in many states).
 */
const cloneOf = (machine: Machines["client"], policy: Policy, stored: { readonly deviceId: string; readonly key: Key; readonly nextRequest: number }): ClientSnapshot => {
  const made = memoOf<ClientSnapshot>(cloneOf, machine, policy)
  const content = JSON.stringify(stored)
  let clone = made.get(content)
  if (clone === undefined) made.set(content, (clone = initialTransition(machine, { policy, role: "clone" satisfies ClientRole, stored })[0]))
  return clone
}

export const step = (s: SystemState, move: Move): { state: SystemState; events: Trace } | undefined => {
  const r = stepOnly(s, move)
  if (r === undefined) return undefined
  // Every state a step returns is closed under what the attacker can deduce: one unchanged has
  // nothing new to deduce.
  if (r.state === s) return r
  const d = deduce(r.state)
  return d.events.length === 0 ? r : { state: d.state, events: [...r.events, ...d.events] }
}

const stepOnly = (s: SystemState, move: Move): { state: SystemState; events: Trace } | undefined => {
  switch (move._tag) {
    case "User":
      return userAction(s, move.actor, move.action)
    case "Honest":
      return honest(s, move.actor, move.action)
    case "Deliver":
      return deliver(s, move.ref, move.to)
    case "Crash": {
      if (move.actor === "server") return { state: withServer(s, transition(s.machines.server, s.server, CRASH)[0]), events: [{ _tag: "Crash", actor: "server" }] }
      const snap = clientOf(s, move.actor)
      if (snap === null) return undefined
      return { state: withClient(s, move.actor, transition(s.machines.client, snap, CRASH)[0]), events: [{ _tag: "Crash", actor: move.actor }] }
    }
    case "Timeout": {
      const snap = clientOf(s, move.actor)
      if (snap === null) return undefined
      const [next] = transition(s.machines.client, snap, TIMER_EXPIRED)
      return next === snap ? undefined : { state: withClient(s, move.actor, next), events: [{ _tag: "Tick", actor: move.actor }] }
    }
    case "Compromise": {
      const c = s.client.context
      if (s.clone !== null || c.storedKey === null || c.deviceId === null) return undefined
      const clone = cloneOf(s.machines.client, s.policy, { deviceId: c.deviceId, key: c.storedKey, nextRequest: c.nextRequest })
      const known = s.attackerKeys.some((k) => k.key.name === c.storedKey!.name)
      const attackerKeys = known ? s.attackerKeys : [...s.attackerKeys, { key: c.storedKey, via: "compromise" as const }]
      return { state: { ...s, clone, attackerKeys }, events: [{ _tag: "Reveal", name: `k${c.storedKey.epoch}`, via: "compromise" }] }
    }
    case "Inject":
      return move.forge === "grant" ? forgedGrant(s, move.to) : move.forge === "code" ? forgedRequest(s) : move.forge === "grant:keyed" ? keyedGrant(s, move.to) : undefined
  }
}

/** What decides which moves are enabled in the model (the implementation's world decides its own). */
export interface MoveView {
  /** The device first, then the clone if there is one. */
  readonly clients: ReadonlyArray<{ readonly actor: Actor; readonly phase: string }>
  /** Whether the device has a key in storage (a compromise copies it). */
  readonly deviceHasKey: boolean
  readonly network: ReadonlyArray<{ readonly to: Actor; readonly tls: boolean; readonly delivered: boolean }>
  /** The clients for which a grant with a proof under the attacker's newest key would verify. */
  readonly keyedGrantTo: ReadonlyArray<Actor>
  /**
   * Whether the attacker has a code left to make (one per key it learned) that can change
   * something: over a challenge still outstanding (claimed: always). Moves whose only effect is
   * one more useless message are left out of the model (the implementation keeps them).
   */
  readonly attackerCanCode: boolean
}

/**
 * The attacker's and users' moves, in a fixed order: user actions, forged grants (with a proof,
 * when the attacker holds a key) and timeouts per client; delivery (replay, redirect between
 * device and clone) of every message not addressed to the attacker itself; crashes; a compromise
 * when `clone` is allowed; a code the attacker computes when it holds a key. The implementation's
 * world computes its own moves, a superset of these (properties/rolling-key/impl-world.ts).
 */
export const enabledMoves = (view: MoveView, options: { readonly clone: boolean }): Array<Move> => {
  const out: Array<Move> = []
  const hasClone = view.clients.some((c) => c.actor === "clone")
  for (const { actor, phase } of view.clients) {
    if (phase === "unregistered" && actor === "client") out.push({ _tag: "User", actor, action: "register" })
    if (phase === "ready") out.push({ _tag: "User", actor, action: "login" }, { _tag: "Honest", actor, action: "login" })
    if (phase === "awaitingGrant") out.push({ _tag: "Inject", to: actor, forge: "grant" })
    if (phase === "awaitingGrant" && view.keyedGrantTo.includes(actor)) out.push({ _tag: "Inject", to: actor, forge: "grant:keyed" })
    if (phase.startsWith("awaiting") || phase === "registering") out.push({ _tag: "Timeout", actor })
  }
  view.network.forEach((m, ref) => {
    if (m.to === "attacker") return
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
  if (view.attackerCanCode) out.push({ _tag: "Inject", to: "server", forge: "code" })
  return out
}

export const moves = (s: SystemState, options: { readonly clone: boolean }): ReadonlyArray<Move> =>
  enabledMoves(
    {
      clients: [{ actor: "client", phase: s.client.value as string }, ...(s.clone === null ? [] : [{ actor: "clone", phase: s.clone.value as string }])],
      deviceHasKey: s.client.context.storedKey !== null,
      network: s.network,
      keyedGrantTo: (["client", "clone"] as const).filter((a) => {
        const key = newestKey(s)
        return key !== undefined && clientOf(s, a)?.context.key?.name === key.name
      }),
      attackerCanCode: s.attackerRequests < usableKeys(s).length && codeMatters(s)
    },
    options
  )

/**
 * Faults stop: the device restarts from its durable storage (so whatever it held only in memory
 * is gone, and any pending attempt with it), registers if it has no key, and logs in once.
 *
 * Many states differ only in what the device held in memory, and the restart makes them equal:
 * the honest part after the restart is memoised on what it depends on in the restarted state
 * (`continuationKey`), per machines and policy.
 */
export const continuation = (s: SystemState): Trace => {
  const restarted = step(s, { _tag: "Crash", actor: "client" })!
  return [{ _tag: "FaultsEnd" }, ...restarted.events, ...honestAfterRestart(restarted.state)]
}

/**
 * What the honest part after a restart depends on: the participants, the fresh-name counter, what
 * the attacker knows and has sent, and of the network only its length and its refusals. Every
 * message the honest exchange sends carries a name fresh at that point (a nonce, a challenge, a
 * rolling input, an ephemeral key) and so lands at the next index, except a refusal
 * (`AuthRejected` names only the device and a reason), which `sameMessageOnWire` merges with an
 * identical one already on the wire — its index and whether it was delivered are in the key. What
 * the attacker deduces during the exchange comes from the new messages and the keys held then:
 * an older message's key or rolling input was deduced from when it was sent (`deduce` runs after
 * every step). Measured at depth 7 of the hardened model: 30 k distinct keys where the whole
 * restarted state had 75 k; properties/rolling-key/continuation-memo.test.ts compares every memoised
 * continuation with one computed afresh, on every P5 subject.
 *
 * The key is taken up to a renaming of fresh names (`symmetricKey`, as the state key): the events
 * of an honest run hold no fresh name (request names count requests, keys are named by epoch,
 * messages by their index), and from a state renamed one-to-one the honest run is the renamed run
 * (the machines only compare names, and the next fresh name comes from the counter, in the key).
 * Depth 7 of the hardened model: 4,086 keys where the concrete ones were 8,099.
 */
export const continuationKey = (s: SystemState, options: { readonly refusals: boolean } = { refusals: true }): string => {
  const fixed: Array<NamedPart | number> = [snapshotPart(s.client), s.clone === null ? -1 : snapshotPart(s.clone), snapshotPart(s.server), s.fresh, s.attackerRequests, namedPart(s.attackerKeys), s.network.length]
  const refusals: Array<NamedPart> = []
  if (options.refusals)
    s.network.forEach((m, i) => {
      if (m.message._tag !== "AuthRejected") return
      fixed.push(i, m.delivered ? 1 : 0)
      refusals.push(messagePart(m))
    })
  return symmetricKey(fixed, refusals, [])
}

const honestAfterRestart = (restarted: SystemState): Trace => {
  // Keyed by ids, so kept in the key space (a memo across explorations would read another's ids).
  const memo = memoOf<Trace>(honestAfterRestart, restarted.machines, restarted.policy)
  const key = continuationKey(restarted)
  const hit = memo.get(key)
  if (hit !== undefined) return hit
  const events = honestAfterRestartNow(restarted)
  if (memo.size > 100_000) memo.clear()
  memo.set(key, events)
  return events
}

/** The continuation computed afresh, without the memo (for the test that the memo's key is enough). */
export const continuationNow = (s: SystemState): Trace => {
  const restarted = step(s, { _tag: "Crash", actor: "client" })!
  return [{ _tag: "FaultsEnd" }, ...restarted.events, ...honestAfterRestartNow(restarted.state)]
}

const honestAfterRestartNow = (restarted: SystemState): Array<TraceEvent> => {
  const events: Array<TraceEvent> = []
  let state = restarted
  if ((state.client.value as string) === "unregistered") {
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


/**
 * The key the explorer merges states on: everything that determines the future, up to a renaming
 * of fresh names and the order of the messages whose order no step reads (model/explore/keys.ts
 * `symmetricKey`; ../explore/README.md says why that is sound for P5 and what it saves).
 *
 * What the steps read of the network's order is kept: which challenge is the latest (the
 * attacker's code is made over it), which request of the device and of the clone is the latest
 * (a keyed grant answers it), and the order of the grants (the attacker learns successor keys in
 * that order, and its newest key is the first learned among keys of equal epoch). Whether a
 * message was delivered matters only inside TLS (deliverable once).
 */
export const stateKey = (s: SystemState): string => {
  const grants: Array<NamedPart> = []
  const others: Array<NamedPart> = []
  let challenge: NamedPart | -1 = -1
  let clientRequest: NamedPart | -1 = -1
  let cloneRequest: NamedPart | -1 = -1
  for (const m of s.network) {
    const part = messagePart(m)
    if (m.message._tag === "AuthGranted") grants.push(part)
    else others.push(part)
    if (m.message._tag === "AuthChallenge") challenge = part
    else if (m.message._tag === "AuthRequest" && m.from === "client") clientRequest = part
    else if (m.message._tag === "AuthRequest" && m.from === "clone") cloneRequest = part
  }
  return symmetricKey(
    [
      snapshotPart(s.client),
      s.clone === null ? -1 : snapshotPart(s.clone),
      snapshotPart(s.server),
      s.fresh,
      s.attackerRequests,
      namedPart(s.attackerKeys),
      challenge,
      clientRequest,
      cloneRequest
    ],
    grants,
    others
  )
}

const messagePart = (m: NetMessage): NamedPart => namedPart(m, () => (m.tls && m.delivered ? `delivered:${m.content}` : m.content))

/**
 * The key of the state itself, names and order included: what `stateKey` would be without the
 * symmetry (properties/rolling-key/symmetry.test.ts explores with both and compares).
 */
export const concreteStateKey = (s: SystemState): string =>
  keyOf([
    snapshotId(s.client),
    s.clone === null ? -1 : snapshotId(s.clone),
    snapshotId(s.server),
    s.fresh,
    s.attackerRequests,
    termId(s.attackerKeys),
    ...s.network.map((m) => (m.tls && m.delivered ? -1 - intern(m.content) : intern(m.content)))
  ])

/** What the conformance driver compares with the implementation after every step. */
export interface Observation {
  readonly client: { readonly phase: string; readonly epoch: number | null }
  readonly server: ReadonlyArray<{ readonly currentEpoch: number; readonly previousEpoch: number | null; readonly retiredEpoch: number | null; readonly hasChallenge: boolean }>
}

/**
 * The observation is a function of the device's and the server's snapshots, which the memoised
 * transitions share between states: made once per pair, so the explorer's state covering
 * (`cover`, a string per observation) can remember its string by the observation object.
 */
const observations = new WeakMap<ServerSnapshot, WeakMap<ClientSnapshot, Observation>>()

export const observe = (s: SystemState): Observation => {
  let byClient = observations.get(s.server)
  if (byClient === undefined) observations.set(s.server, (byClient = new WeakMap()))
  let o = byClient.get(s.client)
  if (o === undefined) byClient.set(s.client, (o = observeNow(s)))
  return o
}

const observeNow = (s: SystemState): Observation => ({
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
export const registeredState = (policy: Policy, machines: Machines = shippedMachines): { state: SystemState; trace: Trace } => {
  const r = honest(initialState(policy, machines), "client", "register")!
  const d = deduce(r.state)
  return { state: d.state, trace: [...r.events, ...d.events] }
}
