/**
 * The P1 system: the victim's device (with its secure element), the attacker's own device, the
 * victim's and the attacker's computers (each with an ID token), the service, a relying party and
 * the user carrying the OTP, composed as a pure step function over immutable states. The bounded
 * explorer (model/explore) walks it; the conformance driver runs the same moves on it and on the
 * implementation and compares `observe()` after every step.
 *
 * Attacker (SECURITY.md §Attacker): C1 and C2 are TLS, so on them it can only drop or delay —
 * which at this granularity is "the exchange does not happen (yet)": every C1 and C2 exchange is
 * one atomic `Honest` move, and the attacker chooses their interleaving (two concurrent issuance
 * sessions: the victim's and its own device's). Its other powers are moves: it runs its own
 * device and computer honestly or not (a request for the victim's public key), substitutes the
 * OTP the user carries (consent phishing), submits bursts of guessed OTPs, lets time pass, and at
 * a relying party presents a token it saw or one it forged.
 */
import { initialTransition, type AnyStateMachine, type SnapshotFrom } from "xstate"
import { transition } from "../explore/transition.ts"
import type { Move } from "../../spec/attacker.ts"
import { GUESS_BURST, VICTIM_ATTRS } from "../../spec/soft-token/properties.ts"
import type { Policy } from "../../spec/soft-token/variants.ts"
import type { Actor, Trace, TraceEvent } from "../../spec/trace.ts"
import { deviceMachine, type DeviceRole } from "./device.machine.ts"
import { idTokenMachine } from "./id-token.machine.ts"
import { relyingPartyMachine, type RpVerdict } from "./relying-party.machine.ts"
import { secureElementMachine } from "./secure-element.machine.ts"
import { type IssuedParams, serviceMachine } from "./service.machine.ts"
import { Labels } from "../../spec/soft-token/messages.ts"
import { possessionOver, type SendParams, type Sig, type SymMessage, type SymToken } from "./terms.ts"
import { type ComputerRole, userComputerMachine } from "./user-computer.machine.ts"

type DeviceSnapshot = SnapshotFrom<typeof deviceMachine>
type ComputerSnapshot = SnapshotFrom<typeof userComputerMachine>

export interface SystemState {
  readonly policy: Policy
  readonly device: DeviceSnapshot
  readonly evil: DeviceSnapshot
  readonly seDev: SnapshotFrom<typeof secureElementMachine>
  readonly seEvil: SnapshotFrom<typeof secureElementMachine>
  readonly service: SnapshotFrom<typeof serviceMachine>
  readonly pc: ComputerSnapshot
  readonly evilpc: ComputerSnapshot
  readonly idAlice: SnapshotFrom<typeof idTokenMachine>
  readonly idMallory: SnapshotFrom<typeof idTokenMachine>
  readonly rp: SnapshotFrom<typeof relyingPartyMachine>
  /** Who holds the client end of each connection. */
  readonly conns: Readonly<Record<string, Actor>>
  /** OTP → the C1 it was issued on (the trusted observer's knowledge, for the trace). */
  readonly otps: Readonly<Record<string, string>>
  /** The OTP the attacker slipped the user in place of her own (consent phishing), until she types it. */
  readonly phished: string | null
  /** The last OTP the attacker's own device showed (the attacker remembers it). */
  readonly attackerOtp: string | null
  /** How often the attacker has typed an OTP at its own computer (twice is enough to test single use). */
  readonly attackerTyped: number
  /** Relying-party connections on which the attacker presents a token that is not its device's own. */
  readonly forging: Readonly<Record<string, SymToken>>
  /**
   * Presentations made so far, by kind (`use`, `stolen`, `forged`): each at most once, since the
   * relying party keeps no state across presentations and a second one reaches nothing new.
   */
  readonly presented: ReadonlyArray<string>
  readonly fresh: number
  /** Messages sent so far (trace refs); not part of the state key. */
  readonly sent: number
}

export const PINS = { pc: "pin-alice", evilpc: "pin-mallory" } as const
export const DEVICE_NAMES = { device: "Alice's phone", evil: "Alice's phone" } as const

export const initialState = (policy: Policy): SystemState => ({
  policy,
  // The attacker names its phone like the victim's: a name proves nothing, the fingerprint does.
  device: initialTransition(deviceMachine, { policy, role: "device", key: "dev", name: DEVICE_NAMES.device })[0],
  evil: initialTransition(deviceMachine, { policy, role: "evil", key: "evil", name: DEVICE_NAMES.evil })[0],
  seDev: initialTransition(secureElementMachine, { key: "dev" })[0],
  seEvil: initialTransition(secureElementMachine, { key: "evil" })[0],
  service: initialTransition(serviceMachine, { policy })[0],
  pc: initialTransition(userComputerMachine, { policy, role: "pc", pin: PINS.pc })[0],
  evilpc: initialTransition(userComputerMachine, { policy, role: "evilpc", pin: PINS.evilpc })[0],
  idAlice: initialTransition(idTokenMachine, { attrs: VICTIM_ATTRS, pin: PINS.pc })[0],
  idMallory: initialTransition(idTokenMachine, { attrs: "mallory", pin: PINS.evilpc })[0],
  rp: initialTransition(relyingPartyMachine, { policy })[0],
  conns: {},
  otps: {},
  phished: null,
  attackerOtp: null,
  attackerTyped: 0,
  forging: {},
  presented: [],
  fresh: 0,
  sent: 0
})

type Action = { readonly type: string; readonly params?: unknown }
type Queued = { readonly from: Actor; readonly conn: string; readonly message: SymMessage }

/** A mutable working copy for one step; every step starts from an immutable state and returns one. */
interface Work {
  s: SystemState
  readonly events: Array<TraceEvent>
  readonly queue: Array<Queued>
}

const fresh = (w: Work): number => {
  const n = w.s.fresh
  w.s = { ...w.s, fresh: n + 1 }
  return n
}

const machineOf = (actor: Actor): AnyStateMachine | undefined =>
  actor === "device" || actor === "evil"
    ? deviceMachine
    : actor === "pc" || actor === "evilpc"
      ? userComputerMachine
      : actor === "service"
        ? serviceMachine
        : actor === "rp"
          ? relyingPartyMachine
          : undefined

const SNAPSHOT_SLOTS = { device: "device", evil: "evil", pc: "pc", evilpc: "evilpc", service: "service", rp: "rp" } as const

const run = (w: Work, actor: Actor, event: { readonly type: string; readonly [field: string]: unknown }): void => {
  const machine = machineOf(actor)
  const slot = SNAPSHOT_SLOTS[actor as keyof typeof SNAPSHOT_SLOTS]
  if (machine === undefined || slot === undefined) return
  const [next, actions] = transition(machine, w.s[slot] as never, event as never)
  w.s = { ...w.s, [slot]: next }
  for (const a of actions as ReadonlyArray<Action>) interpret(w, actor, a)
}

const seSign = (w: Work, actor: DeviceRole, label: string, fields: ReadonlyArray<string>): Sig => {
  const slot = actor === "device" ? "seDev" : "seEvil"
  const [next, actions] = transition(secureElementMachine, w.s[slot], { type: "se.sign", label, fields })
  w.s = { ...w.s, [slot]: next }
  return ((actions as ReadonlyArray<Action>).find((a) => a.type === "signed")!.params as { sig: Sig }).sig
}

const interpret = (w: Work, actor: Actor, a: Action): void => {
  switch (a.type) {
    case "send": {
      const p = a.params as SendParams
      w.queue.push({ from: actor, conn: p.conn, message: p.message })
      return
    }
    case "fact":
      w.events.push((a.params as { event: TraceEvent }).event)
      return
    case "seSign": {
      const p = a.params as { label: string; fields: ReadonlyArray<string> }
      run(w, actor, { type: "se.signed", sig: seSign(w, actor as DeviceRole, p.label, p.fields) } as never)
      return
    }
    case "readCard": {
      const p = a.params as { pin: string; nonce: string }
      const slot = actor === "pc" ? "idAlice" : "idMallory"
      const [next, actions] = transition(idTokenMachine, w.s[slot], { type: "id.read", pin: p.pin, nonce: p.nonce })
      w.s = { ...w.s, [slot]: next }
      const released = (actions as ReadonlyArray<Action>).find((x) => x.type === "released")
      if (released === undefined) run(w, actor, { type: "card.withheld" })
      else run(w, actor, { type: "card.read", ...(released.params as { attrs: string; proof: Sig }) } as never)
      return
    }
    case "issued": {
      const p = a.params as IssuedParams
      w.events.push({ _tag: "Commit", actor: "service", peer: w.s.conns[p.c1] ?? "unknown", data: `token|${p.c2}|attrs=${p.token.attrs}|pk=${p.token.pk ?? "none"}` })
      return
    }
    case "verdict": {
      const v = a.params as RpVerdict
      const presenter = w.s.conns[v.conn] ?? "unknown"
      w.events.push(
        v.accepted
          ? { _tag: "Commit", actor: "rp", peer: presenter, data: `use|attrs=${v.token.attrs}|pk=${v.token.pk ?? "none"}` }
          : { _tag: "Reject", actor: "rp", reason: v.reason }
      )
      return
    }
  }
}

const serverSide = (actor: Actor) => actor === "service" || actor === "rp"
const serverOf = (conn: string): Actor => (conn.startsWith("r") ? "rp" : "service")

/** The events a message carries to its receiver; the service and the relying party get a fresh name where they need one. */
const eventFor = (w: Work, conn: string, message: SymMessage): { readonly type: string } => {
  const needsFresh = message._tag === "IssueBegin" || message._tag === "IssueRequest" || message._tag === "OtpSubmit" || message._tag === "Present"
  return needsFresh ? { type: `msg.${message._tag}`, conn, message, fresh: `n${fresh(w)}` } as never : { type: `msg.${message._tag}`, conn, message } as never
}

const deliverOne = (w: Work, m: Queued): void => {
  const to = serverSide(m.from) ? (w.s.conns[m.conn] ?? "unknown") : serverOf(m.conn)
  const ref = w.s.sent
  w.s = { ...w.s, sent: ref + 1 }
  w.events.push({ _tag: "Send", from: m.from, to, ref, label: m.message._tag }, { _tag: "Deliver", to, ref, label: m.message._tag, how: "first" })
  if (m.message._tag === "OtpIssued") w.s = { ...w.s, otps: { ...w.s.otps, [m.message.otp]: m.conn } }
  // The attacker's software answers a relying party's challenge for a token that is not its own.
  const forged = w.s.forging[m.conn]
  if (to === "evil" && forged !== undefined) {
    if (m.message._tag === "RpChallenge") {
      const signature = seSign(w, "evil", Labels.possession, possessionOver(m.message.nonce, forged))
      w.queue.push({ from: "evil", conn: m.conn, message: { _tag: "PossessionProof", signature } })
    }
    return
  }
  run(w, to, eventFor(w, m.conn, m.message))
  if ((to === "pc" || to === "evilpc") && w.s[to].value === "confirming") decide(w, to)
}

/**
 * hardened: the PC shows the device name and key fingerprint the OTP belongs to. The victim is
 * attentive: she confirms only if her phone shows the same fingerprint next to an OTP. The
 * attacker, at its own computer, always confirms.
 */
const decide = (w: Work, computer: ComputerRole): void => {
  if (computer === "evilpc") return run(w, computer, { type: "user.confirm" })
  const shown = w.s.pc.context.shown?.fingerprint
  const onPhone = w.s.device.context.display?.fingerprint
  if (shown !== undefined && shown === onPhone) return run(w, computer, { type: "user.confirm" })
  w.events.push({ _tag: "Reject", actor: "user", reason: "fingerprint-mismatch" })
  run(w, computer, { type: "user.cancel" })
}

const pump = (w: Work): void => {
  for (let m = w.queue.shift(); m !== undefined; m = w.queue.shift()) deliverOne(w, m)
}

const remember = (w: Work): void => {
  const otp = w.s.evil.context.display?.otp
  if (otp !== undefined && otp !== w.s.attackerOtp) w.s = { ...w.s, attackerOtp: otp }
}

const session = (s: SystemState, before: (w: Work) => void): { state: SystemState; events: Trace } => {
  const w: Work = { s, events: [], queue: [] }
  before(w)
  pump(w)
  remember(w)
  return { state: w.s, events: w.events }
}

const request = (s: SystemState, actor: DeviceRole, claimKey?: string) =>
  session(s, (w) => {
    const conn = `s${fresh(w)}`
    w.s = { ...w.s, conns: { ...w.s.conns, [conn]: actor } }
    run(w, actor, { type: "user.request", conn, ...(claimKey === undefined ? {} : { claimKey }) } as never)
  })

const typeOtp = (s: SystemState, computer: ComputerRole, otp: string) =>
  session(s, (w) => {
    const conn = `t${fresh(w)}`
    w.s = { ...w.s, conns: { ...w.s.conns, [conn]: computer } }
    const attrs = computer === "pc" ? w.s.idAlice.context.attrs : w.s.idMallory.context.attrs
    w.events.push({ _tag: "Running", actor: computer, peer: "service", data: `${conn}|otp-of=${w.s.otps[otp] ?? "none"}|attrs=${attrs}` })
    run(w, computer, { type: "user.type", otp, conn })
  })

/**
 * A burst of GUESS_BURST wrong OTPs from the attacker's computer, each on its own C2. One
 * Send/Deliver pair stands for the burst (the trace stays short); each guess gets the service's
 * verdict. Symbolic OTPs are fresh names, so a guess never equals an issued one: P1.otp-guessing
 * judges the odds the real attacker would have had.
 */
const guesses = (s: SystemState) =>
  session(s, (w) => {
    const ref = w.s.sent
    w.s = { ...w.s, sent: ref + 1 }
    w.events.push({ _tag: "Send", from: "evilpc", to: "service", ref, label: `OtpSubmit×${GUESS_BURST}` }, { _tag: "Deliver", to: "service", ref, label: `OtpSubmit×${GUESS_BURST}`, how: "first" })
    // Each guess goes on a C2 of its own: the names are used up as in the implementation.
    w.s = { ...w.s, fresh: w.s.fresh + GUESS_BURST }
    const [service, actions] = transition(serviceMachine, w.s.service, { type: "msg.OtpGuesses", count: GUESS_BURST })
    w.s = { ...w.s, service }
    for (const a of actions as ReadonlyArray<Action>) if (a.type === "fact") interpret(w, "service", a)
  })

const present = (s0: SystemState, token: SymToken | null, kind: string) =>
  session({ ...s0, presented: [...s0.presented, kind] }, (w) => {
    const conn = `r${fresh(w)}`
    if (token === null) {
      w.s = { ...w.s, conns: { ...w.s.conns, [conn]: "device" } }
      run(w, "device", { type: "user.use", conn })
    } else {
      w.s = { ...w.s, conns: { ...w.s.conns, [conn]: "evil" }, forging: { ...w.s.forging, [conn]: token } }
      w.queue.push({ from: "evil", conn, message: { _tag: "Present", token } })
    }
  })

/** A token the attacker made itself: the victim's attributes, its own key, its own signature. */
export const FORGED_TOKEN: SymToken = { signer: "evil", attrs: VICTIM_ATTRS, pk: "evil" }

export const step = (s: SystemState, move: Move): { state: SystemState; events: Trace } | undefined => {
  const enabled = moves(s).some((m) => JSON.stringify(m) === JSON.stringify(move))
  if (!enabled) return undefined
  switch (move._tag) {
    case "Honest":
      if (move.actor === "device" || move.actor === "evil") {
        if (move.action === "request") return request(s, move.actor)
        if (move.action === "use") return present(s, null, "use")
      }
      if (move.actor === "user") {
        const otp = s.phished ?? s.device.context.display!.otp
        const r = typeOtp({ ...s, phished: null }, "pc", otp)
        return r
      }
      if (move.actor === "evilpc") return typeOtp({ ...s, attackerTyped: s.attackerTyped + 1 }, "evilpc", s.attackerOtp!)
      return undefined
    case "Inject":
      if (move.to === "service" && move.forge === "foreign-key") return request(s, "evil", "dev")
      if (move.to === "service" && move.forge === "guesses") return guesses(s)
      if (move.to === "user" && move.forge === "phish") {
        const ref = s.sent
        return {
          state: { ...s, phished: s.attackerOtp, sent: ref + 1 },
          events: [
            { _tag: "Send", from: "attacker", to: "user", ref, label: "PhishedOtp" },
            { _tag: "Deliver", to: "user", ref, label: "PhishedOtp", how: "injected" }
          ]
        }
      }
      if (move.to === "rp" && move.forge === "stolen-token") return present(s, s.device.context.token, "stolen")
      if (move.to === "rp" && move.forge === "forged-token") return present(s, FORGED_TOKEN, "forged")
      return undefined
    case "Timeout": {
      const [service] = transition(serviceMachine, s.service, { type: "clock.tick" })
      return { state: { ...s, service }, events: [{ _tag: "Tick", actor: "clock" }] }
    }
    default:
      return undefined
  }
}

/** What decides which moves are enabled; the implementation's harness builds the same view. */
export interface MoveView {
  readonly device: { readonly phase: string; readonly hasToken: boolean; readonly showsOtp: boolean }
  readonly evil: { readonly phase: string }
  readonly pcIdle: boolean
  readonly evilpcIdle: boolean
  /** The attacker may type at its own computer at most MAX_ATTACKER_TYPING times. */
  readonly attackerMayType: boolean
  readonly attackerKnowsOtp: boolean
  readonly phished: boolean
  /** Some OTP is currently valid at the service. */
  readonly otpOutstanding: boolean
  /** Some valid OTP has had fewer than GUESS_BURST wrong guesses counted against it (one burst per OTP is enough). */
  readonly guessable: boolean
  /** Presentation kinds already made (each at most once). */
  readonly presented: ReadonlyArray<string>
  /** Clock ticks so far (bounded: two lifetimes are enough to expire anything). */
  readonly ticks: number
}

export const MAX_TICKS = 2
export const MAX_ATTACKER_TYPING = 2

/**
 * The attacker's and users' moves, in a fixed order. Shared by the explorer and the
 * implementation's harness (which builds the same `MoveView` from the real participants).
 */
export const enabledMoves = (v: MoveView): Array<Move> => {
  const out: Array<Move> = []
  if (v.device.phase === "idle") out.push({ _tag: "Honest", actor: "device", action: "request" })
  if (v.evil.phase === "idle") {
    out.push({ _tag: "Honest", actor: "evil", action: "request" })
    out.push({ _tag: "Inject", to: "service", forge: "foreign-key" })
  }
  if (v.attackerKnowsOtp && !v.phished) out.push({ _tag: "Inject", to: "user", forge: "phish" })
  if (v.pcIdle && (v.phished || v.device.showsOtp)) out.push({ _tag: "Honest", actor: "user", action: "type" })
  if (v.evilpcIdle && v.attackerKnowsOtp && v.attackerMayType) out.push({ _tag: "Honest", actor: "evilpc", action: "type" })
  if (v.guessable) out.push({ _tag: "Inject", to: "service", forge: "guesses" })
  if (v.otpOutstanding && v.ticks < MAX_TICKS) out.push({ _tag: "Timeout", actor: "clock" })
  if (v.device.hasToken && v.device.phase === "holding") {
    if (!v.presented.includes("use")) out.push({ _tag: "Honest", actor: "device", action: "use" })
    if (!v.presented.includes("stolen")) out.push({ _tag: "Inject", to: "rp", forge: "stolen-token" })
  }
  if (!v.presented.includes("forged")) out.push({ _tag: "Inject", to: "rp", forge: "forged-token" })
  return out
}

export const moveView = (s: SystemState): MoveView => ({
  device: { phase: s.device.value as string, hasToken: s.device.context.token !== null, showsOtp: s.device.context.display !== null },
  evil: { phase: s.evil.value as string },
  pcIdle: s.pc.value === "idle",
  evilpcIdle: s.evilpc.value === "idle",
  attackerMayType: s.attackerTyped < MAX_ATTACKER_TYPING,
  attackerKnowsOtp: s.attackerOtp !== null,
  phished: s.phished !== null,
  otpOutstanding: Object.values(s.service.context.sessions).some((r) => r.otp !== null),
  guessable: Object.values(s.service.context.sessions).some((r) => r.otp !== null && r.wrong < GUESS_BURST),
  presented: s.presented,
  ticks: s.service.context.now
})

export const moves = (s: SystemState): ReadonlyArray<Move> => enabledMoves(moveView(s))

/** No liveness property in P1: the fault-free continuation is just the marker. */
export const continuation = (_s: SystemState): Trace => [{ _tag: "FaultsEnd" }]

const ctx = (snap: { readonly value: unknown; readonly context: object }) => ({ v: snap.value, ...snap.context, policy: undefined })

/** A canonical string of everything that determines the future (policy is fixed per exploration). */
export const stateKey = (s: SystemState): string =>
  JSON.stringify([
    ctx(s.device),
    ctx(s.evil),
    ctx(s.service),
    ctx(s.pc),
    ctx(s.evilpc),
    s.idAlice.context,
    s.idMallory.context,
    ctx(s.rp),
    s.conns,
    s.otps,
    s.phished,
    s.attackerOtp,
    s.attackerTyped,
    s.forging,
    s.presented,
    s.fresh
  ])

/** What the conformance driver compares with the implementation after every step. */
export interface Observation {
  readonly device: { readonly phase: string; readonly token: string | null; readonly showsOtp: boolean }
  readonly evil: { readonly phase: string; readonly token: string | null }
  readonly pc: string
  readonly evilpc: string
  /** One entry per issuance session, in order: requested key, whether its OTP is still valid, wrong guesses counted. */
  readonly service: ReadonlyArray<{ readonly pk: string; readonly valid: boolean; readonly wrong: number }>
}

const tokenName = (t: SymToken | null) => (t === null ? null : `${t.attrs}|${t.pk ?? "none"}`)

export const observe = (s: SystemState): Observation => ({
  device: { phase: s.device.value as string, token: tokenName(s.device.context.token), showsOtp: s.device.context.display !== null },
  evil: { phase: s.evil.value as string, token: tokenName(s.evil.context.token) },
  pc: s.pc.value as string,
  evilpc: s.evilpc.value as string,
  service: Object.values(s.service.context.sessions).map((r) => ({ pk: r.pk, valid: r.otp !== null, wrong: r.wrong }))
})

/** The honest run for the sequence diagram: request, type, use. */
export const honestTrace = (policy: Policy): Trace => {
  let s = initialState(policy)
  const events: Array<TraceEvent> = []
  for (const move of [
    { _tag: "Honest", actor: "device", action: "request" },
    { _tag: "Honest", actor: "user", action: "type" },
    { _tag: "Honest", actor: "device", action: "use" }
  ] as const) {
    const r = step(s, move)
    if (r === undefined) break
    s = r.state
    events.push(...r.events)
  }
  return events
}

const HISTORY_TAGS: ReadonlySet<TraceEvent["_tag"]> = new Set(["Running", "Commit", "Accept", "Signal", "Reveal", "Tick", "Reject"])

/**
 * The part of a step's events the P1 properties read beyond the state: the explorer's default
 * (agreement, secrecy, signal facts) plus clock ticks and refusals, whose order relative to an
 * OTP's issuance and acceptance is what P1.otp-expiry and P1.otp-guessing judge.
 */
export const historyKey = (events: Trace): string => {
  let out = ""
  for (const e of events) if (HISTORY_TAGS.has(e._tag)) out += JSON.stringify(e) + ";"
  return out
}
