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
import { initialTransition, type SnapshotFrom } from "xstate"
import { intern, keyOf, snapshotId } from "../explore/keys.ts"
import { transition } from "../explore/transition.ts"
import type { Move } from "../../spec/attacker.ts"
import { GUESS_BURST, VICTIM_ATTRS } from "../../spec/soft-token/properties.ts"
import { otpDigitsOf, type Policy } from "../../spec/soft-token/variants.ts"
import type { Actor, Trace, TraceEvent } from "../../spec/trace.ts"
import { deviceMachine, type DeviceRole } from "./device.machine.ts"
import { idTokenMachine } from "./id-token.machine.ts"
import { relyingPartyMachine, type RpVerdict } from "./relying-party.machine.ts"
import { secureElementMachine } from "./secure-element.machine.ts"
import { type IssuedParams, serviceMachine } from "./service.machine.ts"
import { Labels } from "../../spec/soft-token/messages.ts"
import { popOver, possessionOver, type SendParams, type Sig, type SymMessage, type SymToken } from "./terms.ts"
import { type ComputerRole, userComputerMachine } from "./user-computer.machine.ts"

type DeviceSnapshot = SnapshotFrom<typeof deviceMachine>
type ComputerSnapshot = SnapshotFrom<typeof userComputerMachine>

/** The participant machines a system runs: the shipped ones, or a mutant's overrides (`machine.provide`). */
export interface Machines {
  readonly device: typeof deviceMachine
  readonly service: typeof serviceMachine
  readonly userComputer: typeof userComputerMachine
  readonly relyingParty: typeof relyingPartyMachine
}

export const MACHINES: Machines = { device: deviceMachine, service: serviceMachine, userComputer: userComputerMachine, relyingParty: relyingPartyMachine }

/** The deployment both worlds run (properties/soft-token/definition.ts). */
export interface Deployment {
  /** The OTP length the deployment configures (the policy may require more). */
  readonly otpDigits: number
}

/** The symbolic OTP space: one name per OTP the service can issue (10^digits, capped: beyond it nothing in a bounded run collides). */
export const otpSpaceOf = (digits: number): number => 10 ** Math.min(digits, 9)

/** An OTP someone carries, and the C1 it was issued on (the trusted observer's knowledge, for the trace). */
export interface KnownOtp {
  readonly otp: string
  readonly session: string
}

export interface SystemState {
  readonly policy: Policy
  readonly machines: Machines
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
  /** The OTP the attacker slipped the user in place of her own (consent phishing), until she types it. */
  readonly phished: KnownOtp | null
  /** The last OTP the attacker's own device showed (the attacker remembers it). */
  readonly attackerOtp: KnownOtp | null
  /** C1s the attacker's script opened so far (`f<n>`, named apart from the devices' `s<n>`). */
  readonly flooded: number
  /** How often the attacker has typed an OTP at its own computer (twice is enough to test single use). */
  readonly attackerTyped: number
  /**
   * Clock ticks so far, counted here as the implementation's world counts them, not read off the
   * service's clock: a service whose clock stands still (a mutant) must not make the tick a move
   * the model offers forever where the implementation stops.
   */
  readonly ticks: number
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

export const initialState = (policy: Policy, deployment: Deployment, machines: Machines = MACHINES): SystemState => ({
  policy,
  machines,
  // The attacker names its phone like the victim's: a name proves nothing, the fingerprint does.
  device: initialTransition(machines.device, { policy, role: "device", key: "dev", name: DEVICE_NAMES.device })[0],
  evil: initialTransition(machines.device, { policy, role: "evil", key: "evil", name: DEVICE_NAMES.evil })[0],
  seDev: initialTransition(secureElementMachine, { key: "dev" })[0],
  seEvil: initialTransition(secureElementMachine, { key: "evil" })[0],
  service: initialTransition(machines.service, { policy, otpDigits: otpDigitsOf(policy, deployment.otpDigits), otpSpace: otpSpaceOf(otpDigitsOf(policy, deployment.otpDigits)) })[0],
  pc: initialTransition(machines.userComputer, { policy, role: "pc", pin: PINS.pc })[0],
  evilpc: initialTransition(machines.userComputer, { policy, role: "evilpc", pin: PINS.evilpc })[0],
  idAlice: initialTransition(idTokenMachine, { attrs: VICTIM_ATTRS, pin: PINS.pc })[0],
  idMallory: initialTransition(idTokenMachine, { attrs: "mallory", pin: PINS.evilpc })[0],
  rp: initialTransition(machines.relyingParty, { policy })[0],
  conns: {},
  phished: null,
  attackerOtp: null,
  flooded: 0,
  attackerTyped: 0,
  ticks: 0,
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

const machineOf = (m: Machines, actor: Actor) =>
  actor === "device" || actor === "evil"
    ? m.device
    : actor === "pc" || actor === "evilpc"
      ? m.userComputer
      : actor === "service"
        ? m.service
        : actor === "rp"
          ? m.relyingParty
          : undefined

const SNAPSHOT_SLOTS = { device: "device", evil: "evil", pc: "pc", evilpc: "evilpc", service: "service", rp: "rp" } as const

const run = (w: Work, actor: Actor, event: { readonly type: string; readonly [field: string]: unknown }): void => {
  const machine = machineOf(w.s.machines, actor)
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
      w.events.push({ _tag: "Commit", actor: "service", peer: w.s.conns[p.c1] ?? "unknown", data: `token|${p.c2}|attrs=${p.token.attrs}|pk=${p.token.pk}|on=${p.c1}` })
      return
    }
    case "verdict": {
      const v = a.params as RpVerdict
      const presenter = w.s.conns[v.conn] ?? "unknown"
      w.events.push(
        v.accepted
          ? { _tag: "Commit", actor: "rp", peer: presenter, data: `use|attrs=${v.token.attrs}|pk=${v.token.pk}` }
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
  // What comes back on the flood's C1s is read by the attacker's script, not by its phone.
  if (m.conn.startsWith("f")) return
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

/** The attacker remembers a new OTP its phone shows (its script's flood remembers its own). */
const remember = (w: Work, before: string | undefined): void => {
  const otp = w.s.evil.context.display?.otp
  const session = w.s.evil.context.c1
  if (otp !== undefined && session !== null && `${otp}@${session}` !== before) w.s = { ...w.s, attackerOtp: { otp, session } }
}

const session = (s: SystemState, before: (w: Work) => void): { state: SystemState; events: Trace } => {
  const w: Work = { s, events: [], queue: [] }
  const shown = s.evil.context.display === null ? undefined : `${s.evil.context.display.otp}@${s.evil.context.c1}`
  before(w)
  pump(w)
  remember(w, shown)
  return { state: w.s, events: w.events }
}

const request = (s: SystemState, actor: DeviceRole, claimKey?: string) =>
  session(s, (w) => {
    const conn = `s${fresh(w)}`
    w.s = { ...w.s, conns: { ...w.s.conns, [conn]: actor } }
    run(w, actor, { type: "user.request", conn, ...(claimKey === undefined ? {} : { claimKey }) } as never)
  })

const typeOtp = (s: SystemState, computer: ComputerRole, typed: KnownOtp) =>
  session(s, (w) => {
    const conn = `t${fresh(w)}`
    w.s = { ...w.s, conns: { ...w.s.conns, [conn]: computer } }
    const attrs = computer === "pc" ? w.s.idAlice.context.attrs : w.s.idMallory.context.attrs
    w.events.push({ _tag: "Running", actor: computer, peer: "service", data: `${conn}|otp-of=${typed.session}|attrs=${attrs}` })
    run(w, computer, { type: "user.type", otp: typed.otp, conn })
  })

/** What the victim's phone shows, with the C1 it came on. */
const victimDisplay = (s: SystemState): KnownOtp | undefined => {
  const otp = s.device.context.display?.otp
  return otp === undefined || s.device.context.c1 === null ? undefined : { otp, session: s.device.context.c1 }
}

/**
 * The attacker's script opens C1s of its own for its own key, one after another, until the OTPs
 * valid on them cover the OTP space (every later OTP then equals one of them) or the service
 * refuses one. One Send/Deliver pair stands for the flood; each C1 gets its Running and the
 * service's verdict. Under `hardened` each request carries a proof of possession by the
 * attacker's secure element over the service's nonce.
 */
const flood = (s: SystemState) =>
  session(s, (w) => {
    const ref = w.s.sent
    w.s = { ...w.s, sent: ref + 1 }
    w.events.push({ _tag: "Send", from: "evil", to: "service", ref, label: "IssueRequest×flood" }, { _tag: "Deliver", to: "service", ref, label: "IssueRequest×flood", how: "first" })
    const space = w.s.service.context.space
    const covered = () => {
      const held = new Set(Object.values(w.s.service.context.sessions).flatMap((r) => (r.otp !== null && r.pk === "evil" ? [r.otp] : [])))
      return held.size >= space
    }
    for (let k = 0; k < FLOOD_LIMIT && !covered(); k++) {
      const conn = `f${w.s.flooded}`
      w.s = { ...w.s, flooded: w.s.flooded + 1, conns: { ...w.s.conns, [conn]: "evil" } }
      let pop: Sig | null = null
      const replies: Array<SymMessage> = []
      const toService = (message: SymMessage, fresh: string) => {
        const [service, actions] = transition(w.s.machines.service, w.s.service, { type: `msg.${message._tag}`, conn, fresh, message } as never)
        w.s = { ...w.s, service }
        for (const a of actions as ReadonlyArray<Action>) {
          if (a.type === "fact" || a.type === "issued") interpret(w, "service", a)
          if (a.type === "send") replies.push((a.params as SendParams).message)
        }
      }
      if (w.s.policy.proofOfPossession) {
        toService({ _tag: "IssueBegin" }, `${conn}n`)
        const nonce = replies.find((r) => r._tag === "IssueNonce")
        if (nonce === undefined || nonce._tag !== "IssueNonce") break
        pop = seSign(w, "evil", Labels.issuePop, popOver(nonce.nonce, "evil", DEVICE_NAMES.evil))
      }
      w.events.push({ _tag: "Running", actor: "evil", peer: "service", data: `${conn}|pk=evil|own=evil` })
      toService({ _tag: "IssueRequest", publicKey: "evil", deviceName: DEVICE_NAMES.evil, pop }, `${conn}o`)
      const issued = replies.find((r) => r._tag === "OtpIssued")
      if (issued === undefined || issued._tag !== "OtpIssued") break
      w.s = { ...w.s, attackerOtp: { otp: issued.otp, session: conn } }
    }
  })

/**
 * A burst of up to GUESS_BURST wrong OTPs from the attacker's computer, each on its own C2
 * (ending early once no valid OTP is left). One
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
    const [service, actions] = transition(w.s.machines.service, w.s.service, { type: "msg.OtpGuesses", count: GUESS_BURST })
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
      if (move.actor === "device") {
        if (move.action === "request") return request(s, move.actor)
        if (move.action === "use") return present(s, null, "use")
      }
      if (move.actor === "user") return typeOtp({ ...s, phished: null }, "pc", s.phished ?? victimDisplay(s)!)
      return undefined
    case "Inject":
      // The attacker's own phone and computer, run as the attacker pleases: moves of their own.
      if (move.to === "service" && move.forge === "own-request") return request(s, "evil")
      if (move.to === "service" && move.forge === "own-otp") return typeOtp({ ...s, attackerTyped: s.attackerTyped + 1 }, "evilpc", s.attackerOtp!)
      if (move.to === "service" && move.forge === "foreign-key") return request(s, "evil", "dev")
      if (move.to === "service" && move.forge === "guesses") return guesses(s)
      if (move.to === "service" && move.forge === "flood") return flood(s)
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
      const [service] = transition(s.machines.service, s.service, { type: "clock.tick" })
      return { state: { ...s, service, ticks: s.ticks + 1 }, events: [{ _tag: "Tick", actor: "clock" }] }
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
  /** The attacker's script has flooded the service with requests already (once is enough). */
  readonly flooded: boolean
}

export const MAX_TICKS = 2
export const MAX_ATTACKER_TYPING = 2
/** The most C1s one flood opens (the model covers its space of 10^d names in 10^d; random draws in about 10^d · ln 10^d). */
export const FLOOD_LIMIT = 2000

/**
 * The attacker's and users' moves, in a fixed order. Shared by the explorer and the
 * implementation's harness (which builds the same `MoveView` from the real participants).
 */
export const enabledMoves = (v: MoveView): Array<Move> => {
  const out: Array<Move> = []
  if (v.device.phase === "idle") out.push({ _tag: "Honest", actor: "device", action: "request" })
  if (v.evil.phase === "idle") {
    out.push({ _tag: "Inject", to: "service", forge: "own-request" })
    out.push({ _tag: "Inject", to: "service", forge: "foreign-key" })
  }
  if (v.attackerKnowsOtp && !v.phished) out.push({ _tag: "Inject", to: "user", forge: "phish" })
  if (v.pcIdle && (v.phished || v.device.showsOtp)) out.push({ _tag: "Honest", actor: "user", action: "type" })
  if (v.evilpcIdle && v.attackerKnowsOtp && v.attackerMayType) out.push({ _tag: "Inject", to: "service", forge: "own-otp" })
  if (v.guessable) out.push({ _tag: "Inject", to: "service", forge: "guesses" })
  if (!v.flooded) out.push({ _tag: "Inject", to: "service", forge: "flood" })
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
  ticks: s.ticks,
  flooded: s.flooded > 0
})

export const moves = (s: SystemState): ReadonlyArray<Move> => enabledMoves(moveView(s))

/**
 * Faults stop: unless her phone already holds a token binding her attributes to its key, the
 * victim starts again — a new request, and she types what her phone shows (P1.issuance-liveness).
 */
export const continuation = (s: SystemState): Trace => {
  // Many states differ only in what the victim's attempt never touches (the relying party, the
  // attacker's computer, …): the attempt is computed once per combination of the parts it reads.
  // Snapshots are immutable and shared, so their identity stands for their content.
  let byService = continuations.get(s.service)
  if (byService === undefined) continuations.set(s.service, (byService = new Map()))
  const key = `${idOf(s.device)}|${idOf(s.evil)}|${idOf(s.pc)}|${idOf(s.idAlice)}|${idOf(s.conns)}|${idOf(s.machines)}|${s.fresh}|${s.sent}`
  let events = byService.get(key)
  if (events === undefined) byService.set(key, (events = attempt(s)))
  return events
}

const continuations = new WeakMap<object, Map<string, Trace>>()
const ids = new WeakMap<object, number>()
let nextId = 0
const idOf = (o: object): number => {
  let id = ids.get(o)
  if (id === undefined) ids.set(o, (id = nextId++))
  return id
}

const attempt = (s: SystemState): Trace => {
  const events: Array<TraceEvent> = [{ _tag: "FaultsEnd" }]
  const t = s.device.context.token
  if (t !== null && t.attrs === VICTIM_ATTRS && t.pk === "dev") return events
  const requested = request(s, "device")
  events.push(...requested.events)
  const shown = victimDisplay(requested.state)
  if (shown !== undefined) events.push(...typeOtp(requested.state, "pc", shown).events)
  return events
}

/**
 * A canonical key of everything that determines the future, from the ids of its parts
 * (model/explore/keys.ts): the participants' whole snapshots (their policy is fixed per
 * exploration) and the attacker's bookkeeping; `sent` only numbers trace refs.
 */
export const stateKey = (s: SystemState): string =>
  keyOf([
    snapshotId(s.device),
    snapshotId(s.evil),
    snapshotId(s.service),
    snapshotId(s.pc),
    snapshotId(s.evilpc),
    snapshotId(s.idAlice),
    snapshotId(s.idMallory),
    snapshotId(s.rp),
    intern(JSON.stringify([s.conns, s.phished, s.attackerOtp, s.flooded, s.attackerTyped, s.ticks, s.forging, s.presented, s.fresh]))
  ])

/** What the conformance driver compares with the implementation after every step. */
export interface Observation {
  readonly device: { readonly phase: string; readonly token: string | null; readonly showsOtp: boolean }
  readonly evil: { readonly phase: string; readonly token: string | null }
  readonly pc: string
  readonly evilpc: string
  /** One entry per issuance session, in order: requested key, whether its OTP is still valid, wrong guesses counted. */
  readonly service: ReadonlyArray<{ readonly pk: string; readonly valid: boolean; readonly wrong: number }>
  /**
   * Whether some C1 of the attacker's flood still has a valid OTP (the flood's own records are not
   * listed: how many C1s it takes to cover the OTP space depends on the draws — in turn here, at random in the implementation).
   */
  readonly flood: boolean
}

const tokenName = (t: SymToken | null) => (t === null ? null : `${t.attrs}|${t.pk}`)

export const observe = (s: SystemState): Observation => ({
  device: { phase: s.device.value as string, token: tokenName(s.device.context.token), showsOtp: s.device.context.display !== null },
  evil: { phase: s.evil.value as string, token: tokenName(s.evil.context.token) },
  pc: s.pc.value as string,
  evilpc: s.evilpc.value as string,
  service: Object.entries(s.service.context.sessions).flatMap(([c, r]) => (c.startsWith("f") ? [] : [{ pk: r.pk, valid: r.otp !== null, wrong: r.wrong }])),
  flood: Object.entries(s.service.context.sessions).some(([c, r]) => c.startsWith("f") && r.otp !== null)
})

/** The honest run for the sequence diagram: request, type, use. */
export const honestTrace = (policy: Policy, deployment: Deployment): Trace => {
  let s = initialState(policy, deployment)
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
