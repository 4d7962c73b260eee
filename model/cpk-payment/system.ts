/**
 * The P4 system: KMC, PayerWallet (zhang), PayeeWallet (li) and Backend, composed with an
 * adversarial network, as a pure step function over immutable states. The bounded explorer
 * (model/explore) walks it; the conformance driver runs the same moves on it and on the
 * implementation and compares `observe()` after every step.
 *
 * Attacker (spec/cpk-payment/SECURITY.md §Attacker): every QR shown and every message sent stays
 * available for replay; it is a registered user itself (`mallory`, holding its own key); it holds
 * zhang's `transit` key (a transit terminal is a weaker device); it knows every user's public
 * certificate; it can register a coalition of identities with the KMC (`collude`). Its forgeries:
 * `redirect:payee` / `redirect:amount` (the latest online payment with payee → mallory or
 * amount → 10000), `redirect:settle` (the latest offline payment settled to mallory), `replay:settle`
 * (the latest offline payment QR it saw, submitted for settlement as it is), `forge:online`
 * and `forge:offline` (a payment as zhang signed with mallory's key), `underpay:offline` (mallory
 * paying li as itself, 1 CNY for li's latest offer), `transit` (a payment as zhang
 * in the transit subdomain with zhang's transit key), `collude` (a payment as zhang signed with
 * the key a coalition computes).
 */
import { initialTransition, type SnapshotFrom } from "xstate"
import { intern, keyOf, networkId, snapshotId } from "../explore/keys.ts"
import { transition } from "../explore/transition.ts"
import type { Move } from "../../spec/attacker.ts"
import { collusionBound, type Policy, WORLD_COLUMNS, WORLD_ROWS } from "../../spec/cpk-payment/variants.ts"
import type { Actor, Trace, TraceEvent } from "../../spec/trace.ts"
import { backendMachine, type BackendVerdict } from "./backend.machine.ts"
import { kmcMachine } from "./kmc.machine.ts"
import { payeeMachine } from "./payee.machine.ts"
import { payerMachine, type SendParams } from "./payer.machine.ts"
import { certifiedSep, coveredBy, dataOf, issuedKey, roleOf, type SymMessage } from "./terms.ts"

/** The machines the Backend and the PayeeWallet run: the shipped ones, or a mutant's (`machine.provide`). */
export interface Machines {
  readonly backend: typeof backendMachine
  readonly payee: typeof payeeMachine
}

export const MACHINES: Machines = { backend: backendMachine, payee: payeeMachine }

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
  readonly kmc: SnapshotFrom<typeof kmcMachine>
  readonly payer: SnapshotFrom<typeof payerMachine>
  readonly payee: SnapshotFrom<typeof payeeMachine>
  readonly backend: SnapshotFrom<typeof backendMachine>
  /** Nonces drawn so far by the payer (`n`), the payee (`o`) and the attacker (`x`). */
  readonly counters: { readonly n: number; readonly o: number; readonly x: number }
  /** Online payments and offers the users started (each bounded, to keep the exploration finite). */
  readonly started: { readonly pay: number; readonly offer: number }
  readonly colluded: boolean
  readonly network: ReadonlyArray<NetMessage>
}

/** The payee's price and currency, and the most each user starts in one exploration. */
export const PRICE = { amount: "100", currency: "CNY" } as const
/** What mallory pays for an offer of `PRICE` (`underpay:offline`). */
export const UNDERPAID = { amount: "1" } as const
export const MAX_STARTED = 2
/** The keys the model's coalition uses: the rank of the world's selection space. */
export const COALITION = collusionBound(WORLD_ROWS, WORLD_COLUMNS)

type Action = { readonly type: string; readonly params?: unknown }
type Stepped = { state: SystemState; events: Array<TraceEvent> }

export const initialState = (policy: Policy, machines: Machines = MACHINES): SystemState => {
  let kmc = initialTransition(kmcMachine, { policy })[0]
  for (const [id, sub] of [["zhang", "pay"], ["zhang", "transit"], ["li", "pay"], ["mallory", "pay"]] as const) kmc = transition(kmcMachine, kmc, { type: "kmc.issue", id, sub })[0]
  return {
    policy,
    machines,
    kmc,
    payer: initialTransition(payerMachine, { policy, id: "zhang" })[0],
    payee: initialTransition(machines.payee, { policy, id: "li" })[0],
    backend: initialTransition(machines.backend, { policy })[0],
    counters: { n: 0, o: 0, x: 0 },
    started: { pay: 0, offer: 0 },
    colluded: false,
    network: []
  }
}

const put = (s: SystemState, from: Actor, to: Actor, message: SymMessage, label: string = message._tag): Stepped => {
  const ref = s.network.length
  const data = dataOf(message)
  return { state: { ...s, network: [...s.network, { from, to, message, label, delivered: from === "attacker" }] }, events: [{ _tag: "Send", from, to, ref, label, data }] }
}

const interpret = (s: SystemState, actor: Actor, actions: ReadonlyArray<Action>): Stepped => {
  const events: Array<TraceEvent> = []
  let state = s
  for (const a of actions) {
    if (a.type === "send") {
      const p = a.params as SendParams
      const r = put(state, actor, p.to, p.message)
      state = r.state
      events.push(...r.events)
    } else if (a.type === "fact") events.push((a.params as { event: TraceEvent }).event)
    else if (a.type === "verdict") {
      const v = a.params as BackendVerdict
      if (v.accepted) events.push({ _tag: "Commit", actor, peer: roleOf(v.payer), data: v.data })
      else {
        if (v.signal !== undefined) events.push({ _tag: "Signal", actor, signal: v.signal })
        events.push({ _tag: "Reject", actor, reason: v.reason })
      }
    }
  }
  return { state, events }
}

const deliverMessage = (s: SystemState, ref: number, how: "first" | "replay" | "injected"): Stepped | undefined => {
  const m = s.network[ref]
  if (m === undefined) return undefined
  const deliverEvent: TraceEvent = { _tag: "Deliver", to: m.to, ref, label: m.label, how, data: dataOf(m.message) }
  const marked: SystemState = { ...s, network: s.network.map((n, i) => (i === ref ? { ...n, delivered: true } : n)) }
  const msg = m.message
  if (m.to === "backend" && (msg._tag === "PayOnline" || msg._tag === "Settle")) {
    const [backend, actions] = transition(s.machines.backend, s.backend, { type: "msg.payment", message: msg })
    const out = interpret({ ...marked, backend }, "backend", actions as ReadonlyArray<Action>)
    return { state: out.state, events: [deliverEvent, ...out.events] }
  }
  if (m.to === "payer" && msg._tag === "OfflineOffer") {
    const nonce = `n${s.counters.n + 1}`
    const [payer, actions] = transition(payerMachine, s.payer, { type: "msg.OfflineOffer", message: msg, nonce })
    const signed = payer.context.signed !== s.payer.context.signed
    const out = interpret({ ...marked, payer, counters: signed ? { ...s.counters, n: s.counters.n + 1 } : s.counters }, "payer", actions as ReadonlyArray<Action>)
    return { state: out.state, events: [deliverEvent, ...out.events] }
  }
  if (m.to === "payee" && msg._tag === "OfflinePayment") {
    const [payee, actions] = transition(s.machines.payee, s.payee, { type: "msg.OfflinePayment", message: msg })
    const out = interpret({ ...marked, payee }, "payee", actions as ReadonlyArray<Action>)
    return { state: out.state, events: [deliverEvent, ...out.events] }
  }
  return { state: marked, events: [deliverEvent] }
}

const unsubmitted = (s: SystemState) => s.payee.context.held.some((h) => !h.submitted)

/** A user action; `bounded` applies the exploration's limit on started exchanges (the continuation does not). */
const userAction = (s: SystemState, actor: Actor, action: string, bounded = true): Stepped | undefined => {
  if (actor === "payer" && action === "pay") {
    if (bounded && s.started.pay >= MAX_STARTED) return undefined
    const nonce = `n${s.counters.n + 1}`
    const [payer, actions] = transition(payerMachine, s.payer, { type: "user.pay", request: { payee: "li", ...PRICE, sub: "pay" }, nonce })
    return interpret({ ...s, payer, counters: { ...s.counters, n: s.counters.n + 1 }, started: { ...s.started, pay: s.started.pay + 1 } }, "payer", actions as ReadonlyArray<Action>)
  }
  if (actor === "payee" && (action === "offer" || action === "offline")) {
    if (bounded && s.started.offer >= MAX_STARTED) return undefined
    const nonce = `o${s.counters.o + 1}`
    const [payee, actions] = transition(s.machines.payee, s.payee, { type: "user.offer", ...PRICE, nonce })
    return interpret({ ...s, payee, counters: { ...s.counters, o: s.counters.o + 1 }, started: { ...s.started, offer: s.started.offer + 1 } }, "payee", actions as ReadonlyArray<Action>)
  }
  if (actor === "payee" && action === "settle") {
    if (!unsubmitted(s)) return undefined
    const [payee, actions] = transition(s.machines.payee, s.payee, { type: "user.settle" })
    return interpret({ ...s, payee }, "payee", actions as ReadonlyArray<Action>)
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

const latest = (s: SystemState, tags: ReadonlyArray<SymMessage["_tag"]>): SymMessage | undefined =>
  [...s.network].reverse().find((m) => m.from !== "attacker" && tags.includes(m.message._tag))?.message

const signAs = (policy: Policy, key: string, m: Omit<SymMessage, "sig">): SymMessage => {
  const unsigned = { ...m, sig: { key: "", over: "" } } as SymMessage
  return { ...unsigned, sig: { key, over: coveredBy(policy, unsigned) } }
}

/** The attacker's forgery `forge` for `to`, or undefined when it has nothing to build it from. */
export const forgery = (s: SystemState, to: Actor, forge: string): { message: SymMessage; label: string; state: SystemState } | undefined => {
  const { policy } = s
  const x = `x${s.counters.x + 1}`
  const withNonce = { ...s, counters: { ...s.counters, x: s.counters.x + 1 } }
  const zhangSep = (sub: string) => (policy.separatingKey ? certifiedSep("zhang", sub) : null)
  const asZhang = { payer: "zhang", payee: "mallory", ...PRICE, sub: "pay", nonce: x }
  if (to === "backend") {
    if (forge === "redirect:payee" || forge === "redirect:amount") {
      const m = latest(s, ["PayOnline"])
      if (m === undefined) return undefined
      return { message: forge === "redirect:payee" ? { ...m, payee: "mallory" } : ({ ...m, amount: "10000" } as SymMessage), label: "PayOnline", state: s }
    }
    if (forge === "redirect:settle" || forge === "replay:settle") {
      const m = latest(s, ["OfflinePayment", "Settle"])
      if (m === undefined || m._tag === "PayOnline" || m._tag === "OfflineOffer") return undefined
      return { message: { ...m, _tag: "Settle", ...(forge === "redirect:settle" ? { payee: "mallory" } : {}) }, label: "Settle", state: s }
    }
    if (forge === "forge:online") return { message: signAs(policy, issuedKey(policy, "mallory", "pay"), { _tag: "PayOnline", ...asZhang, sep: zhangSep("pay") }), label: "PayOnline", state: withNonce }
    if (forge === "transit")
      return { message: signAs(policy, issuedKey(policy, "zhang", "transit"), { _tag: "PayOnline", ...asZhang, sub: "transit", sep: zhangSep("transit") }), label: "PayOnline", state: withNonce }
    if (forge === "collude") {
      if (s.colluded) return undefined
      // the coalition's solution is zhang's combined key: zhang's whole key in claimed, not in hardened
      let kmc = s.kmc
      for (let i = 0; i < COALITION; i++) kmc = transition(kmcMachine, kmc, { type: "kmc.issue", id: `c${i}`, sub: "pay" })[0]
      return { message: signAs(policy, "zhang@pay", { _tag: "PayOnline", ...asZhang, sep: zhangSep("pay") }), label: `collusion:${COALITION}-keys`, state: { ...withNonce, kmc, colluded: true } }
    }
  }
  if (to === "payee" && forge === "forge:offline") {
    const offer = latest(s, ["OfflineOffer"])
    const m = { _tag: "OfflinePayment" as const, ...asZhang, payee: "li", offer: policy.freshness === "registry" ? (offer?.nonce ?? null) : null, sep: zhangSep("pay") }
    return { message: signAs(policy, issuedKey(policy, "mallory", "pay"), m), label: "OfflinePayment", state: withNonce }
  }
  if (to === "payee" && forge === "underpay:offline") {
    // mallory pays as itself, under its own key and certificate: only the offer's terms are wrong
    const offer = latest(s, ["OfflineOffer"])
    if (offer === undefined || offer._tag !== "OfflineOffer") return undefined
    const m = {
      _tag: "OfflinePayment" as const,
      payer: "mallory",
      payee: offer.payee,
      ...UNDERPAID,
      currency: offer.currency,
      sub: "pay",
      nonce: x,
      offer: policy.freshness === "registry" ? offer.nonce : null,
      sep: policy.separatingKey ? certifiedSep("mallory", "pay") : null
    }
    return { message: signAs(policy, issuedKey(policy, "mallory", "pay"), m), label: "OfflinePayment", state: withNonce }
  }
  return undefined
}

const inject = (s: SystemState, to: Actor, forge: string): Stepped | undefined => {
  const f = forgery(s, to, forge)
  if (f === undefined) return undefined
  const sent = put(f.state, "attacker", to, f.message, f.label)
  const r = deliverMessage(sent.state, f.state.network.length, "injected")!
  return { state: r.state, events: [...sent.events, ...r.events] }
}

export const deliverable = (m: { readonly from: Actor; readonly to: Actor }): boolean => m.from !== "attacker" && (m.to === "backend" || m.to === "payer" || m.to === "payee")

/** The attacker's forgeries, in a fixed order (both worlds enable the same ones). */
export const FORGES: ReadonlyArray<readonly [Actor, string]> = [
  ["backend", "redirect:payee"],
  ["backend", "redirect:amount"],
  ["backend", "redirect:settle"],
  ["backend", "replay:settle"],
  ["backend", "forge:online"],
  ["backend", "transit"],
  ["backend", "collude"],
  ["payee", "forge:offline"],
  ["payee", "underpay:offline"]
]

/** What decides which moves are enabled; the implementation's world builds the same view from what it has seen. */
export interface MoveView {
  readonly started: { readonly pay: number; readonly offer: number }
  readonly unsubmitted: boolean
  readonly colluded: boolean
  readonly network: ReadonlyArray<{ readonly from: Actor; readonly to: Actor; readonly label: string }>
}

export const enabledMoves = (view: MoveView): Array<Move> => {
  const out: Array<Move> = []
  if (view.started.pay < MAX_STARTED) out.push({ _tag: "User", actor: "payer", action: "pay" }, { _tag: "Honest", actor: "payer", action: "pay" })
  if (view.started.offer < MAX_STARTED) out.push({ _tag: "User", actor: "payee", action: "offer" }, { _tag: "Honest", actor: "payee", action: "offline" })
  if (view.unsubmitted) out.push({ _tag: "User", actor: "payee", action: "settle" }, { _tag: "Honest", actor: "payee", action: "settle" })
  const seen = (labels: ReadonlyArray<string>) => view.network.some((m) => m.from !== "attacker" && labels.includes(m.label))
  for (const [to, forge] of FORGES) {
    if ((forge === "redirect:payee" || forge === "redirect:amount") && !seen(["PayOnline"])) continue
    if ((forge === "redirect:settle" || forge === "replay:settle") && !seen(["OfflinePayment", "Settle"])) continue
    if (forge === "underpay:offline" && !seen(["OfflineOffer"])) continue
    if (forge === "collude" && view.colluded) continue
    out.push({ _tag: "Inject", to, forge })
  }
  view.network.forEach((m, ref) => {
    if (deliverable(m)) out.push({ _tag: "Deliver", ref })
  })
  return out
}

export const moves = (s: SystemState): ReadonlyArray<Move> =>
  enabledMoves({ started: s.started, unsubmitted: unsubmitted(s), colluded: s.colluded, network: s.network.map((m) => ({ from: m.from, to: m.to, label: m.label })) })

export const step = (s: SystemState, move: Move): { state: SystemState; events: Trace } | undefined => {
  switch (move._tag) {
    case "User":
      return move.action === "offline" ? undefined : userAction(s, move.actor, move.action)
    case "Honest":
      return move.action === "offer" ? undefined : honest(s, move.actor, move.action)
    case "Deliver": {
      const m = s.network[move.ref]
      return move.to === undefined && m !== undefined && deliverable(m) ? deliverMessage(s, move.ref, m.delivered ? "replay" : "first") : undefined
    }
    case "Inject":
      return inject(s, move.to, move.forge)
    default:
      return undefined
  }
}

/**
 * The continuation only sends and delivers new messages, so it depends on the participants, the
 * counters and the network's length (message refs), not on what is in flight: memoised on that
 * smaller key, per machines and policy.
 */
const continuationMemo = new WeakMap<Machines, WeakMap<Policy, Map<string, Trace>>>()

export const continuation = (s: SystemState): Trace => {
  let byPolicy = continuationMemo.get(s.machines)
  if (byPolicy === undefined) continuationMemo.set(s.machines, (byPolicy = new WeakMap()))
  let memo = byPolicy.get(s.policy)
  if (memo === undefined) byPolicy.set(s.policy, (memo = new Map()))
  const { policy: _a, ...payee } = s.payee.context
  const { policy: _b, ...backend } = s.backend.context
  const key = JSON.stringify([s.payer.context.signed, payee, backend, s.counters, s.network.length])
  let c = memo.get(key)
  if (c === undefined) {
    if (memo.size > 100_000) memo.clear()
    memo.set(key, (c = computeContinuation(s)))
  }
  return c
}

/** Faults stop: an honest online payment, an honest offline exchange, and a settlement. */
const computeContinuation = (s: SystemState): Trace => {
  const events: Array<TraceEvent> = [{ _tag: "FaultsEnd" }]
  let state = s
  for (const [actor, action] of [["payer", "pay"], ["payee", "offline"], ["payee", "settle"]] as const) {
    const r = honest(state, actor, action, false)
    if (r === undefined) continue
    state = r.state
    events.push(...r.events)
  }
  return events
}

export const stateKey = (s: SystemState): string =>
  keyOf([
    // The payee's and backend's whole snapshots (their policy is fixed per exploration).
    snapshotId(s.payee),
    snapshotId(s.backend),
    intern(JSON.stringify([s.payer.context.signed, s.counters, s.started, s.colluded])),
    networkId(s.network, (m) => `${m.label}${m.delivered ? "!" : ""}`)
  ])

/** What the conformance driver compares with the implementation after every step. */
export interface Observation {
  readonly payer: { readonly signed: number }
  readonly payee: { readonly offers: ReadonlyArray<string>; readonly held: ReadonlyArray<readonly [string, string, boolean]> }
  readonly backend: { readonly used: number; readonly ledger: ReadonlyArray<string> }
}

export const observe = (s: SystemState): Observation => ({
  payer: { signed: s.payer.context.signed },
  payee: { offers: Object.keys(s.payee.context.offers).sort(), held: s.payee.context.held.map((h) => [h.message.payer, h.message.nonce, h.submitted] as const) },
  backend: { used: s.backend.context.used.length, ledger: s.backend.context.ledger.map((c) => `${c.kind};${c.payer};${c.payee};${c.amount};${c.currency};${c.nonce}`) }
})

/** The starting point: everyone enrolled with the KMC, nothing paid yet. */
export const enrolledState = (policy: Policy, machines: Machines = MACHINES): { state: SystemState; trace: Trace } => ({ state: initialState(policy, machines), trace: [] })

export const honestRun = (policy: Policy): Trace => {
  let state = initialState(policy)
  const events: Array<TraceEvent> = []
  for (const [actor, action] of [["payer", "pay"], ["payee", "offline"], ["payee", "settle"]] as const) {
    const r = honest(state, actor, action)!
    state = r.state
    events.push(...r.events)
  }
  return events
}
