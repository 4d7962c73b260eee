/**
 * The P3 system: UserDevice, alice's HardwareToken, the AuthServer, the ResourceServer and a
 * clock, composed with an adversarial network, as a pure step function over immutable states.
 * The bounded explorer (model/explore) walks it; the conformance driver runs the same moves on
 * it and on the implementation and compares `observe()` after every step.
 *
 * Attacker (spec/hw-token-2fa/SECURITY.md §2): every message ever sent stays in `network` and can
 * be delivered again, late or never (a lost rotation response is a TokenGrant never delivered; two
 * concurrent refreshes with one token are one RefreshRequest delivered twice, in any interleaving
 * with everything else). It also holds alice's API key and its own user's hardware token
 * (mallory's, `tM`), so it can send logins with an OTP of the wrong token (`login-mallory`) —
 * which is also its best guess at alice's OTP, so the same move drives the throttling. And alice
 * may press her token without using the code (RFC 4226 §7.4's cause of desynchronisation), up to
 * `MAX_IDLE_PRESSES` times.
 */
import { initialTransition, type SnapshotFrom } from "xstate"
import { intern, keyOf, networkId, snapshotId } from "../explore/keys.ts"
import { transition } from "../explore/transition.ts"
import type { Move } from "../../spec/attacker.ts"
import { LOOK_AHEAD, type Policy } from "../../spec/hw-token-2fa/variants.ts"
import type { Actor, Trace, TraceEvent } from "../../spec/trace.ts"
import { authMachine, type AuthEvent, type AuthVerdict } from "./auth.machine.ts"
import { deviceMachine, type DeviceEvent, type SendParams } from "./device.machine.ts"
import { resourceMachine, type ResourceVerdict } from "./resource.machine.ts"
import { dataOf, type SymMessage } from "./terms.ts"
import { otpOf, tokenMachine } from "./token.machine.ts"

type DeviceSnapshot = SnapshotFrom<typeof deviceMachine>
type TokenSnapshot = SnapshotFrom<typeof tokenMachine>
type AuthSnapshot = SnapshotFrom<typeof authMachine>
type ResourceSnapshot = SnapshotFrom<typeof resourceMachine>

export interface NetMessage {
  readonly from: Actor
  readonly to: Actor
  readonly message: SymMessage
  readonly data?: string
  readonly delivered: boolean
}

/**
 * The machines the AuthServer and the ResourceServer run: the shipped ones, or a mutant's
 * (`machine.provide({ guards, actions })`, properties/hw-token-2fa/mutants).
 */
export interface Machines {
  readonly auth: typeof authMachine
  readonly rs: typeof resourceMachine
}

export const MACHINES: Machines = { auth: authMachine, rs: resourceMachine }

export interface SystemState {
  readonly policy: Policy
  readonly machines: Machines
  readonly device: DeviceSnapshot
  /** alice's token (`tA`) and the attacker's own (`tM`, mallory's). */
  readonly tokenA: TokenSnapshot
  readonly tokenM: TokenSnapshot
  readonly auth: AuthSnapshot
  readonly rs: ResourceSnapshot
  /** Time in ticks (one tick = one access-token lifetime). */
  readonly now: number
  /** Presses of alice's token whose code went nowhere. */
  readonly idlePresses: number
  readonly network: ReadonlyArray<NetMessage>
}

export const USERS = { alice: { apiKey: "kA", token: "tA" }, mallory: { apiKey: "kM", token: "tM" } } as const

export const initialState = (policy: Policy, machines: Machines = MACHINES): SystemState => ({
  policy,
  machines,
  device: initialTransition(deviceMachine, { apiKey: USERS.alice.apiKey })[0],
  tokenA: initialTransition(tokenMachine, { tokenId: "tA" })[0],
  tokenM: initialTransition(tokenMachine, { tokenId: "tM" })[0],
  auth: initialTransition(machines.auth, { policy, users: USERS })[0],
  rs: initialTransition(machines.rs)[0],
  now: 0,
  idlePresses: 0,
  network: []
})

type Action = { readonly type: string; readonly params?: unknown }
type Stepped = { state: SystemState; events: Array<TraceEvent> }

const put = (s: SystemState, from: Actor, to: Actor, message: SymMessage): Stepped => {
  const data = dataOf(message)
  const ref = s.network.length
  const network = [...s.network, { from, to, message, ...(data === undefined ? {} : { data }), delivered: false }]
  return { state: { ...s, network }, events: [{ _tag: "Send", from, to, ref, label: message._tag, ...(data === undefined ? {} : { data }) }] }
}

/** Interpret a participant's emitted actions: sends go on the network, facts and verdicts into the trace. */
const interpret = (s: SystemState, actor: Actor, replyTo: Actor, actions: ReadonlyArray<Action>): Stepped => {
  const events: Array<TraceEvent> = []
  let state = s
  for (const a of actions) {
    if (a.type === "send") {
      const p = a.params as SendParams
      const r = put(state, actor, actor === "device" ? p.to : replyTo, p.message)
      state = r.state
      events.push(...r.events)
    } else if (a.type === "fact") {
      events.push((a.params as { event: TraceEvent }).event)
    } else if (a.type === "verdict") {
      const v = a.params as AuthVerdict | ResourceVerdict
      if (v.accepted) events.push({ _tag: "Commit", actor, peer: "device", data: v.data })
      else {
        if ("revoked" in v && v.revoked) events.push({ _tag: "Signal", actor, signal: "family-revoked" })
        events.push({ _tag: "Reject", actor, reason: v.reason })
      }
    }
  }
  return { state, events }
}

const press = (s: SystemState, which: "tokenA" | "tokenM"): SystemState => ({ ...s, [which]: transition(tokenMachine, s[which], { type: "user.press" })[0] })

const phase = (s: SystemState): string => s.device.value as string

/**
 * Who gets the answer: the sender, on the exchange it opened, when its message arrives the first
 * time (however late); the attacker when it delivers a message again (a replay is the attacker's
 * own exchange — the device is not waiting on it and never sees the answer).
 */
const replyTo = (m: NetMessage): Actor => (m.delivered ? "attacker" : m.from)

const deliver = (s: SystemState, ref: number): Stepped | undefined => {
  const m = s.network[ref]
  if (m === undefined) return undefined
  const deliverEvent: TraceEvent = { _tag: "Deliver", to: m.to, ref, label: m.message._tag, how: m.delivered ? "replay" : "first", ...(m.data === undefined ? {} : { data: m.data }) }
  const marked: SystemState = { ...s, network: s.network.map((n, i) => (i === ref ? { ...n, delivered: true } : n)) }
  const msg = m.message
  if (m.to === "auth") {
    if (msg._tag !== "LoginRequest" && msg._tag !== "RefreshBegin" && msg._tag !== "RefreshRequest") return undefined
    const [auth, actions] = transition(s.machines.auth, s.auth, { type: `msg.${msg._tag}`, message: msg, now: s.now } as AuthEvent)
    const out = interpret({ ...marked, auth }, "auth", replyTo(m), actions as ReadonlyArray<Action>)
    return { state: out.state, events: [deliverEvent, ...out.events] }
  }
  if (m.to === "rs") {
    if (msg._tag !== "AccessRequest") return undefined
    const [rs, actions] = transition(s.machines.rs, s.rs, { type: "msg.AccessRequest", message: msg, now: s.now })
    const out = interpret({ ...marked, rs }, "rs", replyTo(m), actions as ReadonlyArray<Action>)
    return { state: out.state, events: [deliverEvent, ...out.events] }
  }
  if (m.to !== "device") return undefined
  let state = marked
  let event: DeviceEvent | undefined
  if (msg._tag === "TokenGrant") event = { type: "msg.TokenGrant", message: msg }
  else if (msg._tag === "Denied" && m.from === "auth") event = { type: "msg.Denied", message: msg }
  else if (msg._tag === "RefreshPrompt" && phase(s) === "awaitingPrompt") {
    // the user reads a new OTP off the token to answer the prompt
    event = { type: "msg.RefreshPrompt", message: msg, otp: otpOf(s.tokenA.context) }
    state = press(state, "tokenA")
  }
  if (event === undefined) return { state: marked, events: [deliverEvent] }
  const [device, actions] = transition(deviceMachine, s.device, event)
  const out = interpret({ ...state, device }, "device", "auth", actions as ReadonlyArray<Action>)
  return { state: out.state, events: [deliverEvent, ...out.events] }
}

const userAction = (s: SystemState, actor: Actor, action: string): Stepped | undefined => {
  if (actor === "clock" && action === "tick") {
    const [auth] = transition(s.machines.auth, s.auth, { type: "clock.tick" })
    return { state: { ...s, now: s.now + 1, auth }, events: [{ _tag: "Tick", actor: "clock" }] }
  }
  if (actor === "token" && action === "press") {
    if (s.idlePresses >= MAX_IDLE_PRESSES) return undefined
    return { state: { ...press(s, "tokenA"), idlePresses: s.idlePresses + 1 }, events: [] }
  }
  if (actor !== "device") return undefined
  let state = s
  let event: DeviceEvent
  if (action === "login") {
    if (phase(s) !== "idle" && phase(s) !== "loggingIn") return undefined
    event = { type: "user.login", otp: otpOf(s.tokenA.context) }
    state = press(state, "tokenA")
  } else if (action === "refresh" || action === "access") {
    if (phase(s) !== "active") return undefined
    event = { type: `user.${action}` }
  } else return undefined
  const [device, actions] = transition(deviceMachine, s.device, event)
  const sent = interpret({ ...state, device }, "device", "auth", actions as ReadonlyArray<Action>)
  if (action !== "refresh") return sent
  // A refresh starts with the claim's hand-shake — present the expired access token, be asked
  // for the refresh token — which carries nothing the attacker could use; it runs to the point
  // where the RefreshRequest (refresh token + OTP) is on the wire, undelivered.
  let out = sent
  for (let ref = s.network.length; ref < out.state.network.length; ref++) {
    const r = deliver(out.state, ref)
    if (r === undefined) continue
    out = { state: r.state, events: [...out.events, ...r.events] }
    if (out.state.network[out.state.network.length - 1]?.message._tag === "RefreshRequest") break
  }
  return out
}

/** Idle presses the exploration allows: one more than the look-ahead window absorbs. */
export const MAX_IDLE_PRESSES = LOOK_AHEAD + 1

/**
 * Run a user action, then deliver every message it causes, once each, in order; a device that
 * obtained a new pair then uses it on the website once (the honest device's whole exchange).
 */
const honest = (s: SystemState, actor: Actor, action: string): Stepped | undefined => {
  const r = exchange(s, actor, action)
  if (r === undefined || action === "access" || !r.events.some((e) => e._tag === "Accept" && e.actor === "device")) return r
  const a = exchange(r.state, "device", "access")
  return a === undefined ? r : { state: a.state, events: [...r.events, ...a.events] }
}

const exchange = (s: SystemState, actor: Actor, action: string): Stepped | undefined => {
  const first = userAction(s, actor, action)
  if (first === undefined) return undefined
  let state = first.state
  const events = [...first.events]
  for (let ref = s.network.length; ref < state.network.length; ref++) {
    const m = state.network[ref]!
    if (m.delivered || (m.from !== actor && m.to !== actor)) continue
    const r = deliver(state, ref)
    if (r === undefined) continue
    state = r.state
    events.push(...r.events)
  }
  return { state, events }
}

const inject = (s: SystemState, forge: string): Stepped | undefined => {
  let state = s
  let message: SymMessage
  if (forge === "login-guess") message = { _tag: "LoginRequest", apiKey: USERS.alice.apiKey, otp: "guess" }
  else if (forge === "login-mallory") {
    message = { _tag: "LoginRequest", apiKey: USERS.alice.apiKey, otp: otpOf(s.tokenM.context) }
    state = press(state, "tokenM")
  } else return undefined
  const sent = put(state, "attacker", "auth", message)
  const ref = state.network.length
  const r = deliver(sent.state, ref)!
  return { state: r.state, events: [...sent.events, ...r.events.map((e) => (e._tag === "Deliver" ? { ...e, how: "injected" as const } : e))] }
}

export const step = (s: SystemState, move: Move): { state: SystemState; events: Trace } | undefined => {
  switch (move._tag) {
    case "User":
      return userAction(s, move.actor, move.action)
    case "Honest":
      return honest(s, move.actor, move.action)
    case "Deliver": {
      const m = s.network[move.ref]
      return move.to === undefined && m !== undefined && deliverable({ from: m.from, to: m.to, label: m.message._tag }) ? deliver(s, move.ref) : undefined
    }
    case "Timeout": {
      if (move.actor !== "device") return undefined
      const [device] = transition(deviceMachine, s.device, { type: "timer.expired" })
      return device === s.device ? undefined : { state: { ...s, device }, events: [{ _tag: "Tick", actor: "device" }] }
    }
    case "Inject":
      return move.to === "auth" ? inject(s, move.forge) : undefined
    case "Crash":
    case "Compromise":
      return undefined
  }
}

/** What decides which moves are enabled; the implementation's harness builds the same view. */
export interface MoveView {
  readonly phase: string
  readonly idlePresses: number
  readonly network: ReadonlyArray<{ readonly from: Actor; readonly to: Actor; readonly label: string }>
}

/**
 * Messages the attacker's delivery moves leave out, because delivering one (again) changes no
 * participant's state and only yields an equally inert message: RefreshBegin (the AuthServer
 * answers with a RefreshPrompt and stores nothing), RefreshPrompt (it carries only the username;
 * a device waiting for one gets the same from its own exchange), and the ResourceServer's
 * answers (the device acts on neither). The attacker's own forged logins are not replayed either:
 * it can forge another one (`Inject`). Leaving them out keeps the bounded exploration deep.
 */
export const INERT: ReadonlySet<string> = new Set(["RefreshBegin", "RefreshPrompt", "AccessGranted"])

export const deliverable = (m: { readonly from: Actor; readonly to: Actor; readonly label: string }): boolean =>
  (m.to === "auth" || m.to === "rs" || m.to === "device") && m.from !== "attacker" && !INERT.has(m.label) && !(m.from === "rs" && m.label === "Denied")

export const PENDING: ReadonlySet<string> = new Set(["loggingIn", "awaitingPrompt", "refreshing"])

/**
 * The users' and attacker's moves, in a fixed order: the device's actions by phase, a clock
 * tick, the two forged logins, then the delivery (first or again) of every message addressed to a
 * participant. Shared by the explorer and the implementation's harness.
 */
export const enabledMoves = (view: MoveView): Array<Move> => {
  const out: Array<Move> = []
  if (view.phase === "idle" || view.phase === "loggingIn") out.push({ _tag: "User", actor: "device", action: "login" })
  if (view.phase === "active") out.push({ _tag: "User", actor: "device", action: "refresh" }, { _tag: "Honest", actor: "device", action: "refresh" })
  if (PENDING.has(view.phase)) out.push({ _tag: "Timeout", actor: "device" })
  out.push({ _tag: "User", actor: "clock", action: "tick" })
  if (view.idlePresses < MAX_IDLE_PRESSES) out.push({ _tag: "User", actor: "token", action: "press" })
  out.push({ _tag: "Inject", to: "auth", forge: "login-mallory" })
  view.network.forEach((m, ref) => {
    if (deliverable(m)) out.push({ _tag: "Deliver", ref })
  })
  return out
}

export const moves = (s: SystemState): ReadonlyArray<Move> =>
  enabledMoves({ phase: phase(s), idlePresses: s.idlePresses, network: s.network.map((m) => ({ from: m.from, to: m.to, label: m.message._tag })) })

/**
 * The continuation only sends and delivers new messages, so it depends on the participants, the
 * clock and the network's *length* (message refs), not on the messages in flight: memoised on
 * that smaller key, per policy, it is computed once for the many states that differ only in
 * what the attacker has not delivered yet.
 */
const continuationMemo = new WeakMap<Machines, WeakMap<Policy, Map<string, Trace>>>()

const continuationKey = (s: SystemState): string => {
  const { policy: _p, ...auth } = s.auth.context
  return JSON.stringify([s.device.value, s.device.context, s.tokenA.context.counter, s.tokenM.context.counter, auth, s.now, s.network.length])
}

/** Faults stop; a tick passes; the device gives up a pending exchange, recovers a pair, and uses it. */
export const continuation = (s: SystemState): Trace => {
  let byPolicy = continuationMemo.get(s.machines)
  if (byPolicy === undefined) continuationMemo.set(s.machines, (byPolicy = new WeakMap()))
  let memo = byPolicy.get(s.policy)
  if (memo === undefined) byPolicy.set(s.policy, (memo = new Map()))
  const key = continuationKey(s)
  const hit = memo.get(key)
  if (hit !== undefined) return hit
  if (memo.size > 100_000) memo.clear()
  const computed = computeContinuation(s)
  memo.set(key, computed)
  return computed
}

const computeContinuation = (s: SystemState): Trace => {
  const events: Array<TraceEvent> = [{ _tag: "FaultsEnd" }]
  let state = s
  const run = (r: Stepped | { state: SystemState; events: Trace } | undefined) => {
    if (r === undefined) return
    state = r.state
    events.push(...r.events)
  }
  run(userAction(state, "clock", "tick"))
  if (PENDING.has(phase(state))) run(step(state, { _tag: "Timeout", actor: "device" }))
  if (phase(state) === "active") run(honest(state, "device", "refresh"))
  if (phase(state) === "idle") run(honest(state, "device", "login"))
  return events
}

/** A canonical string of everything that determines the future (the policy is fixed per exploration). */
export const stateKey = (s: SystemState): string =>
  keyOf([
    // The AuthServer's whole snapshot (its policy is fixed per exploration).
    snapshotId(s.auth),
    intern(JSON.stringify([s.device.value, s.device.context.accessToken, s.device.context.refreshToken, s.tokenA.context.counter, s.tokenM.context.counter, s.now, s.idlePresses])),
    networkId(s.network)
  ])

/** What the conformance driver compares with the implementation after every step. */
export interface Observation {
  readonly device: { readonly phase: string; readonly refreshToken: string | null; readonly accessToken: string | null }
  readonly tokenCounter: number
  readonly auth: {
    readonly nextCounter: number
    readonly failures: number
    readonly locked: boolean
    /** Refresh token name → status, sorted by name. */
    readonly refresh: ReadonlyArray<readonly [string, string]>
  }
}

export const observe = (s: SystemState): Observation => {
  const alice = s.auth.context.users.alice!
  return {
    device: { phase: phase(s), refreshToken: s.device.context.refreshToken, accessToken: s.device.context.accessToken?.name ?? null },
    tokenCounter: s.tokenA.context.counter,
    auth: {
      nextCounter: s.auth.context.counters.tA ?? 0,
      failures: s.policy.maxOtpFailures === null ? 0 : alice.failures,
      locked: s.policy.maxOtpFailures === null ? false : alice.locked,
      refresh: Object.entries(s.auth.context.refresh).map(([n, r]) => [n, r.status] as const).sort(([a], [b]) => a.localeCompare(b))
    }
  }
}

/** The starting point: alice enrolled and logged in honestly (so depth goes to refresh and attacks). */
export const loggedInState = (policy: Policy, machines: Machines = MACHINES): { state: SystemState; trace: Trace } => {
  const r = honest(initialState(policy, machines), "device", "login")!
  return { state: r.state, trace: r.events }
}
