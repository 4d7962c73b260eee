/**
 * The P3 implementation as a `World`: the real Effect services (impl/hw-token-2fa) over an
 * in-memory store, real crypto (the node:crypto layer: every access token is signed and verified
 * with Ed25519, ~20× faster there than in pure JS; impl/crypto proves the layers agree), a
 * seeded random source and an injected clock, driven by the attacker's moves (spec/attacker.ts).
 * The world is its own attacker: its enabled moves come from the messages it has seen and its
 * participants' state, never from the model — every move the model would enable in the same
 * situation (so model paths replay here), plus attacks that only exist in bytes.
 *
 * The harness is the trusted observer that turns what happens into the trace conventions of
 * spec/hw-token-2fa/properties.ts: it names OTPs by the token counter it saw pressed
 * (`tA#3`), refresh tokens by the family and serial the server reported when it issued their
 * bytes (`F1.2`), access tokens by their `fam`/`ser` claims, and checks that a refused input left
 * the refuser's state untouched (P3.malformed-input). Participants never see any of this.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { Context, Effect, Either, Layer, Redacted, Schema } from "effect"
import type { Move } from "../../spec/attacker.ts"
import { joinAnyFrame, splitAnyFrame } from "../../spec/codec.ts"
import { AccessRequest, LoginRequest, RefreshRequest, ToAuth, ToDevice, ToResource } from "../../spec/hw-token-2fa/messages.ts"
import { fieldsOf } from "../../spec/hw-token-2fa/properties.ts"
import { LOOK_AHEAD, type Policy, TICK_SECONDS } from "../../spec/hw-token-2fa/variants.ts"
import type { Actor, Trace, TraceEvent } from "../../spec/trace.ts"
import { racingStore } from "../harness/race.ts"
import { CryptoNode } from "../../impl/crypto/node.ts"
import { steppedClock } from "../../impl/clock.ts"
import { SecureRandomSeeded } from "../../impl/crypto/random.ts"
import { type Crypto, SecureRandom } from "../../impl/crypto/services.ts"
import { base64urlDecode } from "../../impl/jws/jws.ts"
import { type AuthServer, AuthRejection, type AuthStep, enrol, makeAuthServer } from "../../impl/hw-token-2fa/auth-server.ts"
import { makeUserDevice, type UserDevice } from "../../impl/hw-token-2fa/device.ts"
import { AccessRejection, makeResourceServer, type ResourceServer } from "../../impl/hw-token-2fa/resource-server.ts"
import { type AuthState, type AuthStore, emptyAuthState, fingerprint, makeInMemoryAuthStore } from "../../impl/hw-token-2fa/store.ts"
import { type HardwareToken, makeHardwareToken } from "../../impl/hw-token-2fa/token.ts"
import type { Observation } from "../../model/hw-token-2fa/system.ts"
import { byteAttack, byteAttackMoves } from "../harness/byte-attacks.ts"
import type { World } from "../harness/world.ts"
import type { RemoteParticipants, ServedAnswer } from "../definition.ts"
import { servedSeed } from "../harness/served.ts"
import type { HwToken2faImplFlaw } from "./mutants/index.ts"

/** Garbage the attacker throws; each must be refused without a state change. */
export const MALFORMED_KINDS = ["truncated", "trailing", "random", "jws-tampered", "jws-alg-none"] as const

/**
 * OTPs that are not what a token shows, in a login with alice's API key (the attacker holds it):
 * decodable ones (a letter, a space, 7 or 8 digits — the frame allows 6 to 8 bytes) and ones the
 * frame refuses (short, empty). All are malformed: refused at the edge, never counted as a guess.
 */
export const BAD_OTPS: Readonly<Record<string, string>> = {
  "otp-letter": "12345a",
  "otp-space": " 12345",
  "otp-seven": "1234567",
  "otp-eight": "12345678",
  "otp-short": "12345",
  "otp-empty": ""
}

/** Which deliveries the race move runs the second copy at: before the first's first store access, or between its first and second. */
const RACE_POINTS = [1, 2] as const

/** The clock starts at a multiple of the tick, so "one tick later" is exactly one step of time. */
export const T0 = TICK_SECONDS * 5_666_667

/** Idle presses of alice's token the attacker's schedule may contain: one more than the window absorbs. */
export const MAX_IDLE_PRESSES = LOOK_AHEAD + 1

/** Device phases with an exchange open (it may time out). */
const PENDING: ReadonlySet<string> = new Set(["loggingIn", "awaitingPrompt", "refreshing"])

/**
 * Messages whose delivery (again) changes no participant's state and yields only equally inert
 * messages: RefreshBegin, RefreshPrompt and the ResourceServer's answers (SECURITY.md §6). The
 * attacker's own messages are not redelivered either: it forges new ones.
 */
const INERT: ReadonlySet<string> = new Set(["RefreshBegin", "RefreshPrompt", "AccessGranted"])

const deliverable = (m: { readonly from: Actor; readonly to: Actor; readonly label: string }): boolean =>
  (m.to === "auth" || m.to === "rs" || m.to === "device") && m.from !== "attacker" && !INERT.has(m.label) && !(m.from === "rs" && m.label === "Denied")

export interface ImplWorldOptions {
  readonly policy: Policy
  readonly seed: number
  /** Whether the attacker throws malformed bytes (P3.malformed-input). */
  readonly malformed: boolean
  /** A mutant's decorators of the real parts. */
  readonly flaw?: HwToken2faImplFlaw
  /**
   * The AuthServer and the ResourceServer are served elsewhere (`authlab conform`): provisioned
   * with this run's enrolment (`Enrolment`), driven through these proxies at the world's time;
   * their store is out of sight (the local one stays as enrolled), and races are two concurrent
   * requests instead of an interleaving at the store.
   */
  readonly remote?: RemoteParticipants
}

/** The out-of-band set-up a served AuthServer is provisioned with (`remote.reset`), as JSON bytes. */
export interface Enrolment {
  /** Seeds the served participants' randomness, so a run replays. */
  readonly seed: number
  readonly users: ReadonlyArray<{ readonly username: string; readonly apiKey: string; readonly keyId: string; readonly secret: string }>
}

export const enrolmentState = (e: Enrolment): AuthState =>
  e.users.reduce((state, u) => enrol(state, { username: u.username, apiKey: Buffer.from(u.apiKey, "hex"), keyId: u.keyId, secret: Buffer.from(u.secret, "hex") }), emptyAuthState)

/**
 * The served AuthServer as a participant of the world: its answers read back as the service's
 * results, the issued token's family, serial and user read from the access token it replied with
 * (claims read, not verified: the world observes), the login/refresh kind from the outcome's name.
 * `queued` holds answers a concurrent batch already got, consumed in order.
 */
const remoteParts = (remote: RemoteParticipants, nowMillis: () => number, queued: Array<ServedAnswer>) => {
  const answer = (participant: string, bytes: Uint8Array) => queued.shift() ?? remote.send(participant, bytes, nowMillis())
  const auth: Pick<AuthServer, "receive"> = {
    receive: (bytes) =>
      Effect.suspend((): Effect.Effect<AuthStep, AuthRejection> => {
        const a = answer("auth", bytes)
        const reply = a.reply ?? new Uint8Array(0)
        if (a._tag === "Refusal") return Effect.fail(new AuthRejection({ reason: a.reason as AuthRejection["reason"], reply }))
        const grant = decodeDevice(reply)
        if (a.outcome === "prompted" || Either.isLeft(grant) || grant.right._tag !== "TokenGrant") return Effect.succeed({ reply, event: { _tag: "prompted" as const, username: "?" } })
        const c = claimsOf(grant.right.accessToken)
        const issued = { family: c.fam ?? -1, serial: c.ser ?? -1 }
        return Effect.succeed({ reply, event: { _tag: "issued" as const, kind: a.outcome === "refresh-issued" ? ("refresh" as const) : ("login" as const), username: c.sub ?? "?", issued } })
      })
  }
  const rs: ResourceServer = {
    receive: (bytes) =>
      Effect.suspend(() => {
        const a = answer("rs", bytes)
        const reply = a.reply ?? new Uint8Array(0)
        if (a._tag === "Refusal") return Effect.fail(new AccessRejection({ reason: a.reason === "expired" ? "expired" : "invalid", reply }))
        const request = decodeResource(bytes)
        const granted = decodeDevice(reply)
        const claims = Either.isRight(request) ? claimsOf(request.right.accessToken) : {}
        return Effect.succeed({ reply, subject: Either.isRight(granted) && granted.right._tag === "AccessGranted" ? granted.right.subject : "?", claims })
      })
  }
  return { auth, rs }
}

interface WireMessage {
  readonly from: Actor
  readonly to: Actor
  readonly bytes: Uint8Array
  readonly label: string
  readonly data?: string
  delivered: boolean
}

const decodeAuth = Schema.decodeUnknownEither(ToAuth)
const decodeDevice = Schema.decodeUnknownEither(ToDevice)
const decodeResource = Schema.decodeUnknownEither(ToResource)

const labelOf = (bytes: Uint8Array, to: Actor): string => {
  const d: Either.Either<{ readonly _tag: string }, unknown> = to === "auth" ? decodeAuth(bytes) : to === "rs" ? decodeResource(bytes) : decodeDevice(bytes)
  return Either.isRight(d) ? d.right._tag : "garbage"
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")

/**
 * Whether a refusal changed only what the design names for it (SPEC.md §5): a wrong OTP counts
 * a failure on one token (its count and the tick it was counted in); a reused refresh token
 * revokes records of its one family; every other refusal changes nothing.
 */
export const refusalChangeAllowed = (reason: string, before: AuthState, after: AuthState): boolean => {
  if (fingerprint(before) === fingerprint(after)) return true
  if (reason === "bad-otp") {
    const changed = [...after.tokens.values()].filter((t) => {
      const b = before.tokens.get(t.keyId)
      return b === undefined || b.failures !== t.failures || b.failureTick !== t.failureTick
    })
    const tokens = new Map([...after.tokens].map(([k, t]) => [k, { ...t, failures: before.tokens.get(k)?.failures ?? -1, failureTick: before.tokens.get(k)?.failureTick ?? -1 }]))
    return changed.length <= 1 && fingerprint({ ...after, tokens }) === fingerprint(before)
  }
  if (reason === "reused") {
    const families = new Set<number>()
    const refresh = new Map(after.refresh)
    for (const [h, r] of after.refresh) {
      const b = before.refresh.get(h)
      if (b !== undefined && b.status !== r.status && r.status === "revoked") {
        families.add(r.family)
        refresh.set(h, b)
      }
    }
    return families.size <= 1 && fingerprint({ ...after, refresh }) === fingerprint(before)
  }
  return false
}

/** Whether some refresh record went to `revoked` between the two states (read from the store, not the server's report). */
const revokedBetween = (before: AuthState, after: AuthState): boolean =>
  [...after.refresh].some(([h, r]) => r.status === "revoked" && before.refresh.get(h)?.status !== "revoked")

/** The `fam`/`ser`/`exp`/`sub` claims of an access token, read without verifying (the harness observes). */
const claimsOf = (jws: string): { fam?: number; ser?: number; exp?: number; sub?: string } => {
  const payload = base64urlDecode(jws.split(".")[1] ?? "")
  try {
    return payload === undefined ? {} : JSON.parse(new TextDecoder().decode(payload))
  } catch {
    return {}
  }
}
const accessName = (jws: string | null): string | null => {
  if (jws === null) return null
  const c = claimsOf(jws)
  return c.fam === undefined ? null : `a${c.fam}.${c.ser}`
}

/**
 * The AuthServer's Ed25519 key: one per process, not per run. Importing a key costs ~10× a
 * signature and the crypto layer caches imports per key array; no property depends on the key's
 * value (the attacker never learns it), only on signatures verifying under it.
 */
export const SIGNING_KEY = { alg: "EdDSA", secretKey: sha256(new TextEncoder().encode("authlab/hw-token-2fa/harness signing key")), kid: "as1" } as const

/**
 * The AuthServer and the ResourceServer as every world builds them, in process or served
 * (properties/hw-token-2fa/serve.ts): the real services over `store`, a mutant's decorators applied.
 */
export const decoratedParts = (policy: Policy, store: AuthStore, flaw: HwToken2faImplFlaw | undefined): Effect.Effect<{ readonly auth: AuthServer; readonly rs: ResourceServer }, never, Crypto | SecureRandom> =>
  Effect.map(makeAuthServer({ policy, signingKey: SIGNING_KEY, ...(flaw?.auth?.({ store }) ?? { store }) }), (auth) => {
    const rs = makeResourceServer({ authKey: auth.verificationKey })
    return { auth, rs: flaw?.rs?.(rs) ?? rs }
  })

/** The crypto service is stateless: built once per process, not once per run. */
let crypto: Context.Context<Crypto> | undefined
const cryptoContext = (): Context.Context<Crypto> => (crypto ??= Effect.runSync(Effect.scoped(Layer.build(CryptoNode))))

export const makeImplWorld = (options: ImplWorldOptions): World<Observation> => {
  const { policy } = options
  const context = Context.merge(cryptoContext(), Effect.runSync(Effect.scoped(Layer.build(SecureRandomSeeded(options.seed)))))
  let tick = 0
  const nowMillis = () => (T0 + tick * TICK_SECONDS) * 1000
  const clock = steppedClock(nowMillis)
  const run = <A, E>(effect: Effect.Effect<A, E, Crypto | SecureRandom>): Either.Either<A, E> =>
    Effect.runSync(Effect.either(Effect.withClock(Effect.provide(effect, context), clock)))
  const ok = <A>(effect: Effect.Effect<A, unknown, Crypto | SecureRandom>): A => Either.getOrThrow(run(effect))
  const random = (n: number) => ok(Effect.flatMap(SecureRandom, (r) => r.bytes(n)))

  // Enrolment (out of band): API keys, token secrets, the AuthServer's signing key.
  const aliceKey = random(32)
  const malloryKey = random(32)
  const aliceSecret = random(20)
  const mallorySecret = random(20)
  const enrolment: Enrolment = {
    seed: servedSeed(options.seed),
    users: [
      { username: "alice", apiKey: hex(aliceKey), keyId: "tA", secret: hex(aliceSecret) },
      { username: "mallory", apiKey: hex(malloryKey), keyId: "tM", secret: hex(mallorySecret) }
    ]
  }
  const { remote } = options
  remote?.reset(new TextEncoder().encode(JSON.stringify(enrolment)))
  const store: AuthStore = ok(makeInMemoryAuthStore(enrolmentState(enrolment)))
  // Concurrency at the store boundary (the race move, properties/harness/race.ts); the harness
  // reads `store` directly, outside the hook.
  const racing = racingStore(store)
  const hooked: AuthStore = racing.store
  /** Answers of a concurrent batch sent to the served AuthServer, taken in order by the next deliveries. */
  const queued: Array<ServedAnswer> = []
  const { auth, rs } = remote === undefined ? ok(decoratedParts(policy, hooked, options.flaw)) : remoteParts(remote, nowMillis, queued)
  const tokenA: HardwareToken = ok(makeHardwareToken("tA", Redacted.make(aliceSecret)))
  const tokenM: HardwareToken = ok(makeHardwareToken("tM", Redacted.make(mallorySecret)))
  const device: UserDevice = ok(makeUserDevice({ apiKey: aliceKey, token: tokenA }))
  const network: Array<WireMessage> = []
  const rtNames = new Map<string, string>()
  let idlePresses = 0

  const phase = () => ok(device.observe).phase

  const send = (from: Actor, to: Actor, bytes: Uint8Array, data?: string): Array<TraceEvent> => {
    const label = labelOf(bytes, to)
    const ref = network.length
    network.push({ from, to, bytes, label, ...(data === undefined ? {} : { data }), delivered: false })
    return [{ _tag: "Send", from, to, ref, label, ...(data === undefined ? {} : { data }) }]
  }

  /** A device-side send: name it and, when it carries an OTP, record the Running fact. */
  const deviceSend = (to: "auth" | "rs", bytes: Uint8Array, otpCounter: number | undefined): Array<TraceEvent> => {
    const label = labelOf(bytes, to)
    let data: string | undefined
    if (label === "LoginRequest") data = `login;otp=tA#${otpCounter}`
    else if (label === "RefreshRequest") {
      const m = decodeAuth(bytes)
      const rt = Either.isRight(m) && m.right._tag === "RefreshRequest" ? rtNames.get(hex(m.right.refreshToken)) : undefined
      data = `refresh;rt=${rt ?? "unknown"};otp=tA#${otpCounter}`
    } else if (label === "AccessRequest") {
      const m = decodeResource(bytes)
      data = `access;at=${Either.isRight(m) ? accessName(m.right.accessToken) : "unknown"}`
    }
    const running: Array<TraceEvent> = label === "LoginRequest" || label === "RefreshRequest" ? [{ _tag: "Running", actor: "device", peer: "auth", data: data! }] : []
    return [...running, ...send("device", to, bytes, data)]
  }

  /** The latest refresh token issued to each user, as the attacker's mix-ups use them. */
  const latestRt = new Map<string, { readonly bytes: Uint8Array; readonly name: string }>()
  /** The latest access token issued to mallory: the attacker presents its own token too. */
  let malloryAt: { readonly token: string; readonly name: string } | undefined

  const grantData = (reply: Uint8Array, family: number, serial: number, username: string): string => {
    const m = decodeDevice(reply)
    const name = `F${family}.${serial}`
    if (Either.isRight(m) && m.right._tag === "TokenGrant") {
      rtNames.set(hex(m.right.refreshToken), name)
      latestRt.set(username, { bytes: m.right.refreshToken, name })
      if (username === "mallory") malloryAt = { token: m.right.accessToken, name: `a${family}.${serial}` }
    }
    return `grant;rt=${name};at=a${family}.${serial}`
  }

  /** The AuthServer's verdict on `m`, as trace facts, judged from what its store holds before and after. */
  const authReceives = (m: WireMessage, replyTo: Actor, baseline?: () => AuthState | undefined): Array<TraceEvent> => {
    const events: Array<TraceEvent> = []
    const before = ok(store.snapshot)
    const result = run(auth.receive(m.bytes))
    const after = ok(store.snapshot)
    const tampered = m.label.startsWith("tampered:")
    if (Either.isRight(result)) {
      const e = result.right.event
      if (e._tag === "issued") {
        const f = fieldsOf(m.data)
        const issued = `F${e.issued.family}.${e.issued.serial}`
        // a tampered message has no run name: a Commit on it matches no Running
        const otp = tampered ? `forged#${m.label}` : (f.otp ?? "?")
        const data =
          e.kind === "login"
            ? `login;user=${e.username};otp=${otp};new=${issued}`
            : `refresh;user=${e.username};rt=${f.rt ?? "?"};otp=${otp};new=${issued}`
        events.push({ _tag: "Commit", actor: "auth", peer: "device", data })
        events.push(...send("auth", replyTo, result.right.reply, grantData(result.right.reply, e.issued.family, e.issued.serial, e.username)))
      } else events.push(...send("auth", replyTo, result.right.reply))
    } else {
      const { reason, reply } = result.left
      const base = baseline?.() ?? before
      if (revokedBetween(base, after)) events.push({ _tag: "Signal", actor: "auth", signal: "family-revoked" })
      events.push({ _tag: "Reject", actor: "auth", reason })
      if (!refusalChangeAllowed(reason, base, after)) events.push({ _tag: "Signal", actor: "auth", signal: "state-changed-on-reject" })
      events.push(...send("auth", replyTo, reply))
    }
    return events
  }

  const deliverTo = (m: WireMessage, ref: number, how: "first" | "replay" | "injected", replyTo: Actor): Array<TraceEvent> => {
    const events: Array<TraceEvent> = [{ _tag: "Deliver", to: m.to, ref, label: m.label, how, ...(m.data === undefined ? {} : { data: m.data }) }]
    if (m.to === "auth") return [...events, ...authReceives(m, replyTo)]
    if (m.to === "rs") {
      const result = run(rs.receive(m.bytes))
      if (Either.isRight(result)) {
        const { claims, subject } = result.right
        const c = claims as { fam?: number; ser?: number; exp?: number }
        const exp = ((c.exp ?? 0) - T0) / TICK_SECONDS
        const at = m.label.startsWith("tampered:") ? `forged#${ref}` : `a${c.fam}.${c.ser}`
        events.push({ _tag: "Commit", actor: "rs", peer: "device", data: `access;at=${at};sub=${subject};exp=${exp};now=${tick}` })
        events.push(...send("rs", replyTo, result.right.reply))
      } else {
        events.push({ _tag: "Reject", actor: "rs", reason: result.left.reason })
        events.push(...send("rs", replyTo, result.left.reply))
      }
      return events
    }
    if (m.to !== "device") return events
    const before = JSON.stringify(ok(device.observe))
    const counter = ok(tokenA.counter)
    const result = run(device.receive(m.bytes, m.from === "rs" ? "rs" : "auth"))
    if (Either.isLeft(result)) {
      events.push({ _tag: "Reject", actor: "device", reason: result.left.reason })
      if (JSON.stringify(ok(device.observe)) !== before) events.push({ _tag: "Signal", actor: "device", signal: "state-changed-on-reject" })
      return events
    }
    if (result.right.event === "stored") {
      const rt = ok(device.observe).refreshToken
      events.push({ _tag: "Accept", actor: "device", data: `tokens;rt=${rt === null ? "?" : rtNames.get(hex(rt)) ?? "?"}` })
    }
    for (const s of result.right.sends) events.push(...deviceSend(s.to, s.bytes, counter))
    return events
  }

  const deliver = (ref: number): Array<TraceEvent> => {
    const m = network[ref]!
    const how = m.delivered ? "replay" : "first"
    const replyTo = m.delivered ? "attacker" : m.from
    m.delivered = true
    return deliverTo(m, ref, how, replyTo)
  }

  const inject = (to: Actor, label: string, bytes: Uint8Array, data?: string): Array<TraceEvent> => {
    const ref = network.length
    const m: WireMessage = { from: "attacker", to, bytes, label, ...(data === undefined ? {} : { data }), delivered: true }
    network.push(m)
    return [{ _tag: "Send", from: "attacker", to, ref, label, ...(data === undefined ? {} : { data }) }, ...deliverTo(m, ref, "injected", "attacker")]
  }

  /**
   * Garbage for `to`. A truncated or extended copy of a real message keeps that message's name
   * (`data`): should a lenient parser accept it, the trace says which OTP and token it carried.
   */
  const malformed = (kind: (typeof MALFORMED_KINDS)[number]): { to: Actor; bytes: Uint8Array; data?: string } => {
    const r = random(2)
    if (kind === "jws-tampered" || kind === "jws-alg-none") {
      const sample = [...network].reverse().find((m) => m.label === "AccessRequest")
      const jws = sample === undefined ? "e30.e30.AAAA" : (Either.getOrThrow(decodeResource(sample.bytes)) as { accessToken: string }).accessToken
      const [h, p, s] = jws.split(".") as [string, string, string]
      const token =
        kind === "jws-tampered"
          ? `${h}.${p}.${s.slice(0, -2)}${s.endsWith("AA") ? "BA" : "AA"}`
          : `${Buffer.from(JSON.stringify({ alg: "none", typ: "at+jwt" })).toString("base64url")}.${p}.`
      return { to: "rs", bytes: AccessRequest.encode(AccessRequest.make({ accessToken: token })) }
    }
    // truncations and extensions go to the AuthServer (whose state they could change), random bytes to either
    const to: Actor = kind !== "random" || r[0]! % 2 === 0 ? "auth" : "device"
    const source = [...network].reverse().find((m) => m.to === to && m.label !== "garbage" && !m.label.startsWith("malformed"))
    const sample = source?.bytes ?? random(40)
    const data = source?.data === undefined ? {} : { data: source.data }
    switch (kind) {
      case "truncated":
        return { to, bytes: sample.subarray(0, Math.max(0, sample.length - 1 - (r[1]! % sample.length))), ...data }
      case "trailing":
        return { to, bytes: Uint8Array.from([...sample, ...random(1 + (r[1]! % 4))]), ...data }
      case "random":
        return { to, bytes: random(1 + (r[1]! % 96)) }
    }
  }

  /**
   * Two deliveries at once to the AuthServer, for every single-use credential (an OTP in a login,
   * a refresh token and OTP in a refresh): message `ref` and a copy of it — or `other`, the
   * previous message of the same type (a retried refresh with the same refresh token, a second
   * login). The second runs to completion at the first's `at`-th store access, or after it if the
   * first never gets that far (an atomic store has one access).
   */
  const raceDeliver = (ref: number, at: number, other?: number): Array<TraceEvent> => {
    const m = network[ref]!
    const o = other === undefined ? undefined : network[other]
    if (remote !== undefined) {
      // From outside, a race is both requests on the wire at once; where the server interleaves them is its business.
      if (at !== RACE_POINTS[0]) return []
      const second = o ?? m
      queued.push(...remote.sendAll([{ participant: "auth", bytes: m.bytes }, { participant: "auth", bytes: second.bytes }], nowMillis()))
      const first = deliver(ref)
      const secondEvents = o === undefined ? deliverTo(m, ref, "replay", "attacker") : deliver(other!)
      return [...first, ...secondEvents]
    }
    const how = m.delivered ? "replay" : "first"
    const replyTo = m.delivered ? "attacker" : m.from
    m.delivered = true
    const deliverEvent = (msg: WireMessage, r: number, h: "first" | "replay"): TraceEvent => ({ _tag: "Deliver", to: msg.to, ref: r, label: msg.label, how: h, ...(msg.data === undefined ? {} : { data: msg.data }) })
    // the second: a copy (a replay, answered to the attacker), or the other message as it stands
    const second = o ?? m
    const secondHow = o === undefined || o.delivered ? "replay" : "first"
    const secondReplyTo = o === undefined || o.delivered ? "attacker" : o.from
    if (o !== undefined) o.delivered = true
    const copy: Array<TraceEvent> = [deliverEvent(second, other ?? ref, secondHow)]
    let afterCopy: AuthState | undefined
    const runCopy = () => {
      copy.push(...authReceives(second, secondReplyTo))
      afterCopy = ok(store.snapshot)
    }
    // the first's refusal is judged against the state the second left, if the second ran inside it
    const { result: first, ranInside } = racing.during(at, () => authReceives(m, replyTo, () => afterCopy), runCopy)
    if (!ranInside) return [deliverEvent(m, ref, how), ...first, ...((runCopy(), copy))]
    // the second finished inside the first delivery: its verdict comes first
    return [...copy, deliverEvent(m, ref, how), ...first]
  }

  /** A LoginRequest with alice's API key (the attacker holds it) and `otp` as raw bytes, whatever the frame allows. */
  const loginWithOtpBytes = (otp: string): Uint8Array => {
    const valid = LoginRequest.encode(LoginRequest.make({ apiKey: aliceKey, otp: new TextEncoder().encode("000000") }))
    const frame = splitAnyFrame(valid)!
    return joinAnyFrame(frame.header, [frame.fields[0]!, new TextEncoder().encode(otp)])
  }

  /** The OTP and its name in alice's latest OTP-carrying message the world has seen. */
  const latestAliceOtp = (): { readonly otp: Uint8Array; readonly name: string } | undefined => {
    for (let ref = network.length - 1; ref >= 0; ref--) {
      const m = network[ref]!
      if (m.from !== "device" || (m.label !== "LoginRequest" && m.label !== "RefreshRequest")) continue
      const d = decodeAuth(m.bytes)
      const name = fieldsOf(m.data).otp
      if (Either.isRight(d) && d.right._tag !== "RefreshBegin" && name !== undefined) return { otp: d.right.otp, name }
    }
    return undefined
  }

  /**
   * Cross-user mix-ups (a refresh carrying another user's OTP or refresh token): alice's latest
   * refresh token with an OTP of the attacker's own token, and the attacker's own refresh token
   * with alice's latest OTP. The attacker reads alice's values off the wire log: stronger than
   * the design's TLS attacker, on purpose — the binding (refresh token → username → linked key
   * id → OTP) is the server's check and must not rest on the transport.
   */
  const mixup = (which: string): Array<TraceEvent> => {
    if (which === "alice-rt") {
      const rt = latestRt.get("alice")
      if (rt === undefined) return []
      const counter = ok(tokenM.counter)
      const otp = new TextEncoder().encode(ok(tokenM.press))
      return inject("auth", "RefreshRequest", RefreshRequest.encode(RefreshRequest.make({ refreshToken: rt.bytes, otp })), `refresh;rt=${rt.name};otp=tM#${counter}`)
    }
    const rt = latestRt.get("mallory")
    const otp = latestAliceOtp()
    if (rt === undefined || otp === undefined) return []
    return inject("auth", "RefreshRequest", RefreshRequest.encode(RefreshRequest.make({ refreshToken: rt.bytes, otp: otp.otp })), `refresh;rt=${rt.name};otp=${otp.name}`)
  }

  const userAction = (actor: Actor, action: string): Array<TraceEvent> => {
    if (actor === "clock") {
      tick++
      return [{ _tag: "Tick", actor: "clock" }]
    }
    if (actor === "token") {
      if (idlePresses >= MAX_IDLE_PRESSES) return []
      ok(tokenA.press)
      idlePresses++
      return []
    }
    if (action === "login") {
      const counter = ok(tokenA.counter)
      const r = run(device.login)
      return Either.isRight(r) ? deviceSend("auth", r.right, counter) : []
    }
    if (action === "access") {
      const r = run(device.access)
      return Either.isRight(r) ? deviceSend("rs", r.right, undefined) : []
    }
    if (action === "refresh") {
      const from = network.length
      const r = run(device.refresh)
      if (Either.isLeft(r)) return []
      const events = deviceSend("auth", r.right, undefined)
      // as in the model: the hand-shake runs until the RefreshRequest is on the wire, undelivered
      for (let ref = from; ref < network.length; ref++) {
        events.push(...deliver(ref))
        if (network[network.length - 1]?.label === "RefreshRequest") break
      }
      return events
    }
    return []
  }

  const exchange = (action: string): Array<TraceEvent> => {
    const from = network.length
    const events = userAction("device", action)
    for (let ref = from; ref < network.length; ref++) {
      const m = network[ref]!
      if (!m.delivered && (m.from === "device" || m.to === "device")) events.push(...deliver(ref))
    }
    return events
  }

  const honest = (action: string): Array<TraceEvent> => {
    const events = exchange(action)
    if (action === "access" || !events.some((e) => e._tag === "Accept" && e.actor === "device")) return events
    return [...events, ...exchange("access")]
  }

  const step = (move: Move): Trace => {
    switch (move._tag) {
      case "User":
        return userAction(move.actor, move.action)
      case "Honest":
        return honest(move.action)
      case "Deliver":
        return deliver(move.ref)
      case "Timeout":
        ok(device.timeout)
        return [{ _tag: "Tick", actor: "device" }]
      case "Inject": {
        if (move.forge === "login-mallory") {
          const counter = ok(tokenM.counter)
          const otp = ok(tokenM.press)
          const bytes = LoginRequest.encode(LoginRequest.make({ apiKey: aliceKey, otp: new TextEncoder().encode(otp) }))
          return inject("auth", "LoginRequest", bytes, `login;otp=tM#${counter}`)
        }
        if (move.forge === "mallory:login") {
          // the attacker's own account: its API key and a code of its own token
          const counter = ok(tokenM.counter)
          const otp = ok(tokenM.press)
          const bytes = LoginRequest.encode(LoginRequest.make({ apiKey: malloryKey, otp: new TextEncoder().encode(otp) }))
          return inject("auth", "LoginRequest", bytes, `login;otp=tM#${counter};key=mallory`)
        }
        const [family, a, b, c] = move.forge.split(":")
        if (family === "race") return raceDeliver(Number(a), Number(b), c === undefined ? undefined : Number(c))
        if (family === "mallory" && a === "mixup") return mixup(b!)
        if (move.forge === "mallory:access" && malloryAt !== undefined)
          // the attacker's own, genuine access token at the ResourceServer: access must be for mallory, not for alice
          return inject("rs", "AccessRequest", AccessRequest.encode(AccessRequest.make({ accessToken: malloryAt.token })), `access;at=${malloryAt.name}`)
        const edit = byteAttack(network, move)
        if (edit !== undefined) return inject(edit.to, edit.label, edit.bytes)
        const kind = move.forge.replace(/^malformed:/, "")
        const badOtp = BAD_OTPS[kind]
        if (badOtp !== undefined) return inject("auth", move.forge, loginWithOtpBytes(badOtp), "login;otp=malformed")
        const { to, bytes, data } = malformed(kind as (typeof MALFORMED_KINDS)[number])
        return inject(to, move.forge, bytes, data)
      }
      case "Crash":
      case "Compromise":
        return []
    }
  }

  /** The moves enabled now, from the device's phase, the token presses so far and the wire log. */
  const moves = (): ReadonlyArray<Move> => {
    const out: Array<Move> = []
    const p = phase()
    if (p === "idle" || p === "loggingIn") out.push({ _tag: "User", actor: "device", action: "login" })
    if (p === "active") out.push({ _tag: "User", actor: "device", action: "refresh" }, { _tag: "Honest", actor: "device", action: "refresh" })
    // alice opens the website with whatever access token she holds, expired or not (the model's device only does so after a new pair)
    if (p === "active") out.push({ _tag: "Honest", actor: "device", action: "access" })
    if (PENDING.has(p)) out.push({ _tag: "Timeout", actor: "device" })
    out.push({ _tag: "User", actor: "clock", action: "tick" })
    if (idlePresses < MAX_IDLE_PRESSES) out.push({ _tag: "User", actor: "token", action: "press" })
    out.push({ _tag: "Inject", to: "auth", forge: "login-mallory" })
    network.forEach((m, ref) => {
      if (deliverable(m)) out.push({ _tag: "Deliver", ref })
    })
    // the implementation attacker's own moves, which the model does not have
    out.push({ _tag: "Inject", to: "auth", forge: "mallory:login" })
    if (latestRt.has("alice")) out.push({ _tag: "Inject", to: "auth", forge: "mallory:mixup:alice-rt" })
    if (latestRt.has("mallory") && latestAliceOtp() !== undefined) out.push({ _tag: "Inject", to: "auth", forge: "mallory:mixup:own-rt" })
    if (malloryAt !== undefined) out.push({ _tag: "Inject", to: "rs", forge: "mallory:access" })
    const previous = new Map<string, number>()
    network.forEach((m, ref) => {
      if (m.to !== "auth" || m.from === "attacker" || (m.label !== "LoginRequest" && m.label !== "RefreshRequest")) return
      const other = previous.get(m.label)
      for (const at of remote === undefined ? RACE_POINTS : RACE_POINTS.slice(0, 1)) {
        out.push({ _tag: "Inject", to: "auth", forge: `race:${ref}:${at}` })
        if (other !== undefined) out.push({ _tag: "Inject", to: "auth", forge: `race:${ref}:${at}:${other}` })
      }
      previous.set(m.label, ref)
    })
    if (!options.malformed) return out
    // byte edits of the signed access token (it is verified on its own, not only protected by TLS); a splice would be another valid token
    out.push(...byteAttackMoves(network, { skip: (m) => m.label !== "AccessRequest" && m.label !== "RefreshBegin" }).filter((m) => m._tag === "Inject" && !m.forge.startsWith("splice:")))
    return [...out, ...[...MALFORMED_KINDS, ...Object.keys(BAD_OTPS)].map((kind) => ({ _tag: "Inject" as const, to: "any", forge: `malformed:${kind}` }))]
  }

  /**
   * What each participant holds, read from the AuthServer's durable store (not its own report):
   * alice's token record (failures count only within the tick they were counted in, SPEC.md §6)
   * and her refresh records.
   */
  const observe = (): Observation => {
    const d = ok(device.observe)
    const state = ok(store.snapshot)
    const t = state.tokens.get("tA")!
    const failures = policy.maxOtpFailures === null || t.failureTick < T0 / TICK_SECONDS + tick ? 0 : t.failures
    return {
      device: { phase: d.phase, refreshToken: d.refreshToken === null ? null : rtNames.get(hex(d.refreshToken)) ?? "?", accessToken: accessName(d.accessToken) },
      tokenCounter: ok(tokenA.counter),
      auth: {
        nextCounter: t.counter,
        failures,
        locked: policy.maxOtpFailures !== null && failures >= policy.maxOtpFailures,
        refresh: [...state.refresh.values()]
          .filter((r) => r.username === "alice")
          .map((r) => [`F${r.family}.${r.serial}`, r.status] as const)
          .sort(([a], [b]) => a.localeCompare(b))
      }
    }
  }

  const continuation = (): Trace => {
    const events: Array<TraceEvent> = [{ _tag: "FaultsEnd" }]
    events.push(...userAction("clock", "tick"))
    if (PENDING.has(phase())) events.push(...step({ _tag: "Timeout", actor: "device" }))
    if (phase() === "active") events.push(...honest("refresh"))
    if (phase() === "idle") events.push(...honest("login"))
    return events
  }

  const initialTrace = honest("login")
  // The enabled moves change only when a move is applied: computed once per step, not once per call.
  let enabled: ReadonlyArray<Move> | undefined
  return {
    initialTrace,
    moves: () => (enabled ??= moves()),
    step: (move) => {
      enabled = undefined
      return step(move)
    },
    observe,
    continuation: () => {
      enabled = undefined
      return continuation()
    }
  }
}
