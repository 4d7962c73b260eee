/**
 * The P3 implementation as a `World`: the real Effect services (impl/hw-token-2fa) over an
 * in-memory store, real crypto (the node:crypto layer: every access token is signed and verified
 * with Ed25519, ~20× faster there than in pure JS; impl/crypto proves the layers agree), a
 * seeded random source and an injected clock, driven by
 * the attacker's moves (model/hw-token-2fa/system.ts `enabledMoves`, the same vocabulary).
 *
 * The harness is the trusted observer that turns what happens into the trace conventions of
 * spec/hw-token-2fa/properties.ts: it names OTPs by the token counter it saw pressed
 * (`tA#3`), refresh tokens by the family and serial the server reported when it issued their
 * bytes (`F1.2`), access tokens by their `fam`/`ser` claims, and checks that a refused input left
 * the refuser's state untouched (P3.malformed-input). Participants never see any of this.
 */
import { Clock, Context, Effect, Either, Layer, Redacted, Schema } from "effect"
import type { Move } from "../../spec/attacker.ts"
import { AccessRequest, LoginRequest, ToAuth, ToDevice, ToResource } from "../../spec/hw-token-2fa/messages.ts"
import { fieldsOf } from "../../spec/hw-token-2fa/properties.ts"
import { type Policy, TICK_SECONDS } from "../../spec/hw-token-2fa/variants.ts"
import type { Actor, Trace, TraceEvent } from "../../spec/trace.ts"
import { CryptoNode } from "../../impl/crypto/node.ts"
import { SecureRandomSeeded } from "../../impl/crypto/random.ts"
import { type Crypto, SecureRandom } from "../../impl/crypto/services.ts"
import { base64urlDecode } from "../../impl/jws/jws.ts"
import { type AuthServer, type AuthServerOptions, enrol, makeAuthServer } from "../../impl/hw-token-2fa/auth-server.ts"
import { makeUserDevice, type UserDevice } from "../../impl/hw-token-2fa/device.ts"
import { makeResourceServer, type ResourceServer } from "../../impl/hw-token-2fa/resource-server.ts"
import { type AuthStore, emptyAuthState, fingerprint, makeInMemoryAuthStore } from "../../impl/hw-token-2fa/store.ts"
import { type HardwareToken, makeHardwareToken } from "../../impl/hw-token-2fa/token.ts"
import { enabledMoves, MAX_IDLE_PRESSES, type Observation, PENDING } from "../../model/hw-token-2fa/system.ts"
import type { World } from "../harness/world.ts"

/** Garbage the attacker throws; each must be refused without a state change. */
export const MALFORMED_KINDS = ["truncated", "trailing", "random", "jws-tampered", "jws-alg-none"] as const

/** The clock starts at a multiple of the tick, so "one tick later" is exactly one step of time. */
export const T0 = TICK_SECONDS * 5_666_667

export interface ImplWorldOptions {
  readonly policy: Policy
  readonly seed: number
  /** Whether the attacker throws malformed bytes (P3.malformed-input). */
  readonly malformed: boolean
  /** A lenient AuthServer decoder, for the mutant that accepts trailing bytes. */
  readonly decode?: AuthServerOptions["decode"]
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

/** The crypto service is stateless: built once per process, not once per run. */
let crypto: Context.Context<Crypto> | undefined
const cryptoContext = (): Context.Context<Crypto> => (crypto ??= Effect.runSync(Effect.scoped(Layer.build(CryptoNode))))

export const makeImplWorld = (options: ImplWorldOptions): World<Observation> => {
  const { policy } = options
  const context = Context.merge(cryptoContext(), Effect.runSync(Effect.scoped(Layer.build(SecureRandomSeeded(options.seed)))))
  let tick = 0
  const nowMillis = () => (T0 + tick * TICK_SECONDS) * 1000
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: nowMillis,
    unsafeCurrentTimeNanos: () => BigInt(nowMillis()) * 1_000_000n,
    currentTimeMillis: Effect.sync(nowMillis),
    currentTimeNanos: Effect.sync(() => BigInt(nowMillis()) * 1_000_000n),
    sleep: () => Effect.void
  }
  const run = <A, E>(effect: Effect.Effect<A, E, Crypto | SecureRandom>): Either.Either<A, E> =>
    Effect.runSync(Effect.either(Effect.withClock(Effect.provide(effect, context), clock)))
  const ok = <A>(effect: Effect.Effect<A, unknown, Crypto | SecureRandom>): A => Either.getOrThrow(run(effect))
  const random = (n: number) => ok(Effect.flatMap(SecureRandom, (r) => r.bytes(n)))

  // Enrolment (out of band): API keys, token secrets, the AuthServer's signing key.
  const aliceKey = random(32)
  const malloryKey = random(32)
  const aliceSecret = random(20)
  const mallorySecret = random(20)
  const signingSeed = random(32)
  const initial = enrol(
    enrol(emptyAuthState, { username: "alice", apiKey: aliceKey, keyId: "tA", secret: aliceSecret }),
    { username: "mallory", apiKey: malloryKey, keyId: "tM", secret: mallorySecret }
  )
  const store: AuthStore = ok(makeInMemoryAuthStore(initial))
  const auth: AuthServer = ok(
    makeAuthServer({ policy, store, signingKey: { alg: "EdDSA", secretKey: signingSeed, kid: "as1" }, ...(options.decode === undefined ? {} : { decode: options.decode }) })
  )
  const rs: ResourceServer = makeResourceServer({ policy, authKey: auth.verificationKey })
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

  const grantData = (reply: Uint8Array, family: number, serial: number): string => {
    const m = decodeDevice(reply)
    if (Either.isRight(m) && m.right._tag === "TokenGrant") rtNames.set(hex(m.right.refreshToken), `F${family}.${serial}`)
    return `grant;rt=F${family}.${serial};at=a${family}.${serial}`
  }

  const deliverTo = (m: WireMessage, ref: number, how: "first" | "replay" | "injected", replyTo: Actor): Array<TraceEvent> => {
    const events: Array<TraceEvent> = [{ _tag: "Deliver", to: m.to, ref, label: m.label, how, ...(m.data === undefined ? {} : { data: m.data }) }]
    if (m.to === "auth") {
      const before = fingerprint(ok(store.snapshot))
      const result = run(auth.receive(m.bytes))
      if (Either.isRight(result)) {
        const e = result.right.event
        if (e._tag === "issued") {
          const f = fieldsOf(m.data)
          const issued = `F${e.issued.family}.${e.issued.serial}`
          const data =
            e.kind === "login"
              ? `login;user=${e.username};otp=${f.otp ?? "?"};new=${issued}`
              : `refresh;user=${e.username};rt=${f.rt ?? "?"};otp=${f.otp ?? "?"};new=${issued}`
          events.push({ _tag: "Commit", actor: "auth", peer: "device", data })
          events.push(...send("auth", replyTo, result.right.reply, grantData(result.right.reply, e.issued.family, e.issued.serial)))
        } else events.push(...send("auth", replyTo, result.right.reply))
      } else {
        const { reason, revoked, reply } = result.left
        if (revoked === true) events.push({ _tag: "Signal", actor: "auth", signal: "family-revoked" })
        events.push({ _tag: "Reject", actor: "auth", reason })
        if (reason !== "bad-otp" && reason !== "reused" && fingerprint(ok(store.snapshot)) !== before)
          events.push({ _tag: "Signal", actor: "auth", signal: "state-changed-on-reject" })
        events.push(...send("auth", replyTo, reply))
      }
      return events
    }
    if (m.to === "rs") {
      const result = run(rs.receive(m.bytes))
      if (Either.isRight(result)) {
        const { claims, subject } = result.right
        const c = claims as { fam?: number; ser?: number; exp?: number }
        const exp = ((c.exp ?? 0) - T0) / TICK_SECONDS
        events.push({ _tag: "Commit", actor: "rs", peer: "device", data: `access;at=a${c.fam}.${c.ser};sub=${subject};exp=${exp};now=${tick}` })
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
    const to: Actor = r[0]! % 2 === 0 ? "auth" : "device"
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
        const kind = move.forge.replace(/^malformed:/, "") as (typeof MALFORMED_KINDS)[number]
        const { to, bytes, data } = malformed(kind)
        return inject(to, move.forge, bytes, data)
      }
      case "Crash":
      case "Compromise":
        return []
    }
  }

  const moves = (): ReadonlyArray<Move> => {
    const base = enabledMoves({ phase: phase(), idlePresses, network })
    if (!options.malformed) return base
    return [...base, ...MALFORMED_KINDS.map((kind) => ({ _tag: "Inject" as const, to: "any", forge: `malformed:${kind}` }))]
  }

  const observe = (): Observation => {
    const d = ok(device.observe)
    const a = ok(auth.observe("alice"))
    return {
      device: { phase: d.phase, refreshToken: d.refreshToken === null ? null : rtNames.get(hex(d.refreshToken)) ?? "?", accessToken: accessName(d.accessToken) },
      tokenCounter: ok(tokenA.counter),
      auth: { nextCounter: a.nextCounter, failures: a.failures, locked: a.locked, refresh: a.refresh }
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
  return { initialTrace, moves, step, observe, continuation }
}
