/**
 * The P1 implementation as a `World`: the real Effect services (impl/soft-token) with real crypto
 * (noble), a seeded random source and a manual clock, driven by the attacker's moves — the same
 * moves as the model (model/soft-token/system.ts `enabledMoves`), over the same view.
 *
 * The harness is the trusted observer that turns what happens into the trace conventions of
 * spec/soft-token/properties.ts: it names connections (`s<n>`, `t<n>`, `r<n>`) with the model's
 * counter, maps keys to `dev` / `evil` and ID tokens to `alice` / `mallory`, knows which C1 each
 * OTP was issued on, and checks that a refused input left the refuser's state untouched.
 * Participants never see any of this. Interleavings of concurrent sessions are attacker moves
 * (the services are synchronous), not fc.scheduler races: see SECURITY.md §Model.
 */
import { Clock, Effect, Either, Layer, type ParseResult, Redacted } from "effect"
import type { Move } from "../../spec/attacker.ts"
import { OtpSubmit, Present, PossessionProof, type ToService } from "../../spec/soft-token/messages.ts"
import { GUESS_BURST } from "../../spec/soft-token/properties.ts"
import { type Policy, TICK_SECONDS } from "../../spec/soft-token/variants.ts"
import type { Actor, Trace, TraceEvent } from "../../spec/trace.ts"
import { constantTimeEqual } from "../../impl/crypto/bytes.ts"
import { CryptoNoble } from "../../impl/crypto/noble.ts"
import { SecureRandomSeeded } from "../../impl/crypto/random.ts"
import { Crypto, SecureRandom } from "../../impl/crypto/services.ts"
import { type SigningKey, signJwt, verificationKeyOf } from "../../impl/jws/jws.ts"
import { type Device, makeDevice } from "../../impl/soft-token/device.ts"
import { makeIdToken } from "../../impl/soft-token/id-token.ts"
import { makeRelyingParty } from "../../impl/soft-token/relying-party.ts"
import { makeSecureElement, type SecureElement } from "../../impl/soft-token/secure-element.ts"
import { makeService } from "../../impl/soft-token/service.ts"
import { ISSUER, jwkOf, possessionInput, publicKeyOfJwk, tokenBytes, unverifiedClaims } from "../../impl/soft-token/token.ts"
import { makeUserComputer, type UserComputer } from "../../impl/soft-token/user-computer.ts"
import { DEVICE_NAMES, enabledMoves, type MoveView, type Observation, PINS } from "../../model/soft-token/system.ts"
import type { World } from "../harness/world.ts"

export const MALFORMED_KINDS = ["truncated", "trailing", "random"] as const

export interface ImplWorldOptions {
  readonly policy: Policy
  readonly seed: number
  /** Whether the attacker throws malformed bytes (P1.malformed-input). */
  readonly malformed: boolean
  /** An implementation-only flaw: the service's edge decoder. */
  readonly decode?: (bytes: Uint8Array) => Effect.Effect<ToService, ParseResult.ParseError>
}

/** A clock the harness moves by hand (the participants read it through the Effect `Clock`). */
export const manualClock = (startMillis: number) => {
  let now = startMillis
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => now,
    currentTimeMillis: Effect.sync(() => now),
    unsafeCurrentTimeNanos: () => BigInt(now) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(now) * 1_000_000n),
    sleep: () => Effect.void
  }
  return { clock, advance: (ms: number) => void (now += ms) }
}

const START_MILLIS = 1_700_000_000_000
const LABELS: Readonly<Record<number, string>> = {
  1: "IssueBegin", 2: "IssueNonce", 3: "IssueRequest", 4: "OtpIssued", 5: "TokenIssued", 6: "Refused",
  7: "OtpSubmit", 8: "AttributeRequest", 9: "AttributeResponse", 10: "Present", 11: "RpChallenge", 12: "PossessionProof"
}
const labelOf = (bytes: Uint8Array) => (bytes[0] === 1 ? LABELS[bytes[1] ?? 0] : undefined) ?? "garbage"
const NEEDS_FRESH = new Set(["IssueBegin", "IssueRequest", "OtpSubmit", "Present"])

type Ctx = Crypto | SecureRandom

interface Queued {
  readonly from: Actor
  readonly conn: string
  readonly bytes: Uint8Array
}

export const makeImplWorld = (options: ImplWorldOptions): World<Observation> => {
  const { policy } = options
  const context = Effect.runSync(Effect.scoped(Layer.build(Layer.merge(CryptoNoble, SecureRandomSeeded(options.seed)))))
  const time = manualClock(START_MILLIS)
  const run = <A, E>(effect: Effect.Effect<A, E, Ctx>): Either.Either<A, E> =>
    Effect.runSync(Effect.either(Effect.provide(effect, context).pipe(Effect.withClock(time.clock))))
  const ok = <A, E>(effect: Effect.Effect<A, E, Ctx>): A => Either.getOrThrowWith(run(effect), (e) => new Error(`harness: ${String(e)}`))
  const random = (n: number) => ok(Effect.flatMap(SecureRandom, (r) => r.bytes(n)))
  const signingKey = (kid: string): SigningKey => {
    for (;;) {
      const secretKey = random(32)
      if (Either.isRight(run(Effect.flatMap(Crypto, (c) => c.p256PublicKey(secretKey))))) return { alg: "ES256", secretKey, kid }
    }
  }

  const seDev: SecureElement = ok(makeSecureElement)
  const seEvil: SecureElement = ok(makeSecureElement)
  const issuerKey = signingKey("issuer")
  const attackerKey = signingKey("issuer")
  const idAlice = ok(makeIdToken({ attributes: { name: "alice" }, pin: Redacted.make(PINS.pc), chipKey: Redacted.make(random(32)) }))
  const idMallory = ok(makeIdToken({ attributes: { name: "mallory" }, pin: Redacted.make(PINS.evilpc), chipKey: Redacted.make(random(32)) }))
  const service = ok(makeService({ policy, issuerKey, trustedCards: [idAlice.cardKey, idMallory.cardKey], ...(options.decode === undefined ? {} : { decode: options.decode }) }))
  const rp = ok(Effect.flatMap(verificationKeyOf(issuerKey), (k) => makeRelyingParty({ policy, issuerKeys: [k] })))
  const devices: Record<"device" | "evil", Device> = {
    device: makeDevice({ policy, se: seDev, name: DEVICE_NAMES.device }),
    evil: makeDevice({ policy, se: seEvil, name: DEVICE_NAMES.evil })
  }
  const computers: Record<"pc" | "evilpc", UserComputer> = {
    pc: makeUserComputer({ idToken: idAlice, pin: Redacted.make(PINS.pc) }),
    evilpc: makeUserComputer({ idToken: idMallory, pin: Redacted.make(PINS.evilpc) })
  }

  const keyName = (pk: Uint8Array | null | undefined): string =>
    pk == null ? "none" : constantTimeEqual(pk, seDev.publicKey) ? "dev" : constantTimeEqual(pk, seEvil.publicKey) ? "evil" : "unknown"
  const tokenName = (token: string | null): string | null => {
    if (token === null) return null
    const claims = unverifiedClaims(token)
    const attrs = (claims?.["attrs"] as Record<string, string> | undefined)?.["name"] ?? "?"
    const cnf = claims?.["cnf"] as { jwk?: unknown } | undefined
    return `${attrs}|${keyName(cnf === undefined ? null : publicKeyOfJwk(cnf.jwk))}`
  }

  const conns = new Map<string, Actor>()
  const otps = new Map<string, string>()
  const forging = new Map<string, Uint8Array>()
  const presented: Array<string> = []
  let phished: string | null = null
  let attackerOtp: string | null = null
  let attackerTyped = 0
  let ticks = 0
  let fresh = 0
  let sent = 0

  const serviceState = () => JSON.stringify(ok(service.observe), (_, v) => (v instanceof Uint8Array ? Array.from(v) : v))

  const toServer = (events: Array<TraceEvent>, queue: Array<Queued>, m: Queued, to: "service" | "rp") => {
    if (to === "service") {
      const before = serviceState()
      const r = run(service.receive(m.conn, m.bytes))
      if (Either.isRight(r)) {
        const e = r.right.event
        if (e._tag === "otp-issued") {
          events.push({ _tag: "Secret", actor: "service", name: `otp:${e.session}:${e.bits.toFixed(2)}` })
        } else if (e._tag === "otp-accepted") events.push({ _tag: "Accept", actor: "service", data: `otp:${e.session}@${m.conn}` })
        for (const s of r.right.closed) events.push({ _tag: "Signal", actor: "service", signal: `otp-closed:${s}` })
        if (e._tag === "token-issued")
          events.push({ _tag: "Commit", actor: "service", peer: conns.get(e.session) ?? "unknown", data: `token|${m.conn}|attrs=${e.attributes["name"] ?? "?"}|pk=${keyName(e.publicKey)}` })
        for (const reply of r.right.replies) queue.push({ from: "service", conn: reply.conn, bytes: reply.bytes })
      } else {
        const { reason, closed, replies } = r.left
        if (reason === "expired") for (const s of closed) events.push({ _tag: "Signal", actor: "service", signal: `otp-closed:${s}` })
        events.push({ _tag: "Reject", actor: "service", reason })
        if (reason === "bad-otp") for (const s of closed) events.push({ _tag: "Signal", actor: "service", signal: `otp-closed:${s}` })
        // bad-otp and expired change state by design; bad-pop consumes the nonce (not observed); the rest must not.
        if (reason !== "bad-otp" && reason !== "expired" && serviceState() !== before)
          events.push({ _tag: "Signal", actor: "service", signal: "state-changed-on-reject" })
        for (const reply of replies) queue.push({ from: "service", conn: reply.conn, bytes: reply.bytes })
      }
      return
    }
    const r = run(rp.receive(m.conn, m.bytes))
    if (Either.isRight(r)) {
      if (r.right._tag === "challenged") queue.push({ from: "rp", conn: m.conn, bytes: r.right.reply })
      else events.push({ _tag: "Commit", actor: "rp", peer: conns.get(m.conn) ?? "unknown", data: `use|attrs=${r.right.attributes["name"] ?? "?"}|pk=${keyName(r.right.publicKey)}` })
    } else {
      events.push({ _tag: "Reject", actor: "rp", reason: r.left.reason })
      if (r.left.reply !== undefined) queue.push({ from: "rp", conn: m.conn, bytes: r.left.reply })
    }
  }

  const deviceSends = (events: Array<TraceEvent>, queue: Array<Queued>, actor: "device" | "evil", conn: string, sends: ReadonlyArray<Uint8Array>, claimKey: Uint8Array) => {
    for (const bytes of sends) {
      if (labelOf(bytes) === "IssueRequest")
        events.push({ _tag: "Running", actor, peer: "service", data: `${conn}|pk=${keyName(claimKey)}|own=${keyName(devices[actor].publicKey)}` })
      queue.push({ from: actor, conn, bytes })
    }
  }
  const claimKeys: Record<"device" | "evil", Uint8Array> = { device: seDev.publicKey, evil: seEvil.publicKey }

  const decide = (events: Array<TraceEvent>, queue: Array<Queued>, computer: "pc" | "evilpc", conn: string) => {
    const c = computers[computer]
    let confirm = computer === "evilpc"
    if (!confirm) {
      const shown = ok(c.observe).shown?.fingerprint
      const onPhone = ok(devices.device.observe).display?.fingerprint ?? undefined
      confirm = shown !== undefined && shown === onPhone
      if (!confirm) events.push({ _tag: "Reject", actor: "user", reason: "fingerprint-mismatch" })
    }
    if (!confirm) return void ok(c.cancel)
    const r = run(c.confirm)
    if (Either.isRight(r)) for (const bytes of r.right) queue.push({ from: computer, conn, bytes })
  }

  const deliverOne = (events: Array<TraceEvent>, queue: Array<Queued>, m: Queued) => {
    const serverSide = m.from === "service" || m.from === "rp"
    const to: Actor = serverSide ? (conns.get(m.conn) ?? "unknown") : m.conn.startsWith("r") ? "rp" : "service"
    const label = labelOf(m.bytes)
    const ref = sent++
    events.push({ _tag: "Send", from: m.from, to, ref, label }, { _tag: "Deliver", to, ref, label, how: "first" })
    if (!serverSide && NEEDS_FRESH.has(label)) fresh++
    if (to === "service" || to === "rp") return toServer(events, queue, m, to)
    if (to === "evil" && forging.has(m.conn)) {
      if (label === "RpChallenge") {
        const nonce = m.bytes.subarray(4)
        const signature = ok(seEvil.sign(possessionInput(nonce, forging.get(m.conn)!)))
        queue.push({ from: "evil", conn: m.conn, bytes: PossessionProof.encode(PossessionProof.make({ signature })) })
      }
      return
    }
    if (to === "device" || to === "evil") {
      const r = run(devices[to].receive(m.bytes))
      if (Either.isLeft(r)) return void events.push({ _tag: "Reject", actor: to, reason: r.left._tag === "DeviceRejection" ? r.left.reason : "malformed" })
      if (r.right.event === "token-stored") events.push({ _tag: "Accept", actor: to, data: `token:${tokenName(ok(devices[to].observe).token)}` })
      if (r.right.event === "otp-shown") {
        const otp = ok(devices[to].observe).display!.otp
        otps.set(otp, m.conn)
      }
      return deviceSends(events, queue, to, m.conn, r.right.sends, claimKeys[to])
    }
    if (to === "pc" || to === "evilpc") {
      const r = run(computers[to].receive(m.bytes))
      if (Either.isLeft(r)) return void events.push({ _tag: "Reject", actor: to, reason: r.left._tag })
      for (const bytes of r.right.sends) queue.push({ from: to, conn: m.conn, bytes })
      if (ok(computers[to].observe).phase === "confirming") decide(events, queue, to, m.conn)
    }
  }

  const exchange = (first: (events: Array<TraceEvent>, queue: Array<Queued>) => void): Trace => {
    const events: Array<TraceEvent> = []
    const queue: Array<Queued> = []
    first(events, queue)
    for (let m = queue.shift(); m !== undefined; m = queue.shift()) deliverOne(events, queue, m)
    const shown = ok(devices.evil.observe).display?.otp
    if (shown !== undefined) attackerOtp = shown
    return events
  }

  const request = (actor: "device" | "evil", claimKey?: Uint8Array): Trace =>
    exchange((events, queue) => {
      const conn = `s${fresh++}`
      conns.set(conn, actor)
      claimKeys[actor] = claimKey ?? devices[actor].publicKey
      const bytes = ok(devices[actor].request(conn, claimKey))
      deviceSends(events, queue, actor, conn, [bytes], claimKeys[actor])
    })

  const typeOtp = (computer: "pc" | "evilpc", otp: string): Trace =>
    exchange((events, queue) => {
      const conn = `t${fresh++}`
      conns.set(conn, computer)
      events.push({ _tag: "Running", actor: computer, peer: "service", data: `${conn}|otp-of=${otps.get(otp) ?? "none"}|attrs=${computer === "pc" ? "alice" : "mallory"}` })
      queue.push({ from: computer, conn, bytes: ok(computers[computer].type(otp)) })
    })

  /** A burst of wrong guesses (the harness skips a draw that would hit: P1.otp-guessing judges the odds). */
  const guesses = (): Trace => {
    const events: Array<TraceEvent> = []
    const ref = sent++
    events.push({ _tag: "Send", from: "evilpc", to: "service", ref, label: `OtpSubmit×${GUESS_BURST}` }, { _tag: "Deliver", to: "service", ref, label: `OtpSubmit×${GUESS_BURST}`, how: "first" })
    const valid = new Set(ok(service.observe).flatMap((r) => (r.otp === null ? [] : [r.otp])))
    const burst: Array<TraceEvent> = []
    for (let i = 0; i < GUESS_BURST; i++) {
      const conn = `t${fresh++}`
      let guess: string
      do {
        const b = random(4)
        guess = String((((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!) % 10 ** policy.otpDigits).padStart(policy.otpDigits, "0")
      } while (valid.has(guess))
      toServer(burst, [], { from: "evilpc", conn, bytes: OtpSubmit.encode(OtpSubmit.make({ otp: guess })) }, "service")
    }
    // Write runs of single refusals as `bad-otp×N`, as the model does (the property counts N).
    for (const e of burst) {
      const last = events.at(-1)
      if (e._tag === "Reject" && e.reason === "bad-otp" && last?._tag === "Reject" && last.reason.startsWith("bad-otp")) {
        const n = last.reason === "bad-otp" ? 1 : Number(last.reason.slice("bad-otp×".length))
        events[events.length - 1] = { ...last, reason: `bad-otp×${n + 1}` }
      } else events.push(e)
    }
    return events
  }

  const present = (kind: string, token: Uint8Array | null): Trace =>
    exchange((_events, queue) => {
      presented.push(kind)
      const conn = `r${fresh++}`
      if (token === null) {
        conns.set(conn, "device")
        queue.push({ from: "device", conn, bytes: ok(devices.device.use(conn)) })
      } else {
        conns.set(conn, "evil")
        forging.set(conn, token)
        queue.push({ from: "evil", conn, bytes: Present.encode(Present.make({ token })) })
      }
    })

  const forgedToken = (): Uint8Array => {
    const now = Math.floor(START_MILLIS / 1000)
    const jwt = ok(signJwt(attackerKey, { iss: ISSUER, iat: now, exp: now + policy.tokenLifetimeSeconds, jti: "forged", attrs: { name: "alice" }, cnf: { jwk: jwkOf(seEvil.publicKey) } }))
    return tokenBytes(jwt)
  }

  const malformed = (to: "service" | "rp", kind: (typeof MALFORMED_KINDS)[number]): Trace => {
    const sample = to === "service" ? OtpSubmit.encode(OtpSubmit.make({ otp: "12345678" })) : PossessionProof.encode(PossessionProof.make({ signature: random(64) }))
    const bytes =
      kind === "truncated" ? sample.subarray(0, Math.max(0, sample.length - 1 - (random(1)[0]! % sample.length)))
      : kind === "trailing" ? Uint8Array.from([...sample, ...random(1 + (random(1)[0]! % 4))])
      : random(1 + (random(1)[0]! % 96))
    const ref = sent++
    const events: Array<TraceEvent> = [{ _tag: "Send", from: "attacker", to, ref, label: `malformed:${kind}` }, { _tag: "Deliver", to, ref, label: `malformed:${kind}`, how: "injected" }]
    toServer(events, [], { from: "attacker", conn: "junk", bytes }, to)
    return events
  }

  const view = (): MoveView => {
    const device = ok(devices.device.observe)
    const sessions = ok(service.observe)
    return {
      device: { phase: device.phase, hasToken: device.token !== null, showsOtp: device.display !== null },
      evil: { phase: ok(devices.evil.observe).phase },
      pcIdle: ok(computers.pc.observe).phase === "idle",
      evilpcIdle: ok(computers.evilpc.observe).phase === "idle",
      attackerMayType: attackerTyped < 2,
      attackerKnowsOtp: attackerOtp !== null,
      phished: phished !== null,
      otpOutstanding: sessions.some((r) => r.otp !== null),
      guessable: sessions.some((r) => r.otp !== null && r.wrong < GUESS_BURST),
      presented,
      ticks
    }
  }

  const step = (move: Move): Trace => {
    switch (move._tag) {
      case "Honest":
        if ((move.actor === "device" || move.actor === "evil") && move.action === "request") return request(move.actor)
        if (move.actor === "device" && move.action === "use") return present("use", null)
        if (move.actor === "user") {
          const otp = phished ?? ok(devices.device.observe).display!.otp
          phished = null
          return typeOtp("pc", otp)
        }
        if (move.actor === "evilpc") {
          attackerTyped++
          return typeOtp("evilpc", attackerOtp!)
        }
        return []
      case "Inject":
        if (move.forge === "foreign-key") return request("evil", seDev.publicKey)
        if (move.forge === "guesses") return guesses()
        if (move.forge === "phish") {
          phished = attackerOtp
          const ref = sent++
          return [{ _tag: "Send", from: "attacker", to: "user", ref, label: "PhishedOtp" }, { _tag: "Deliver", to: "user", ref, label: "PhishedOtp", how: "injected" }]
        }
        if (move.forge === "stolen-token") return present("stolen", tokenBytes(ok(devices.device.observe).token!))
        if (move.forge === "forged-token") return present("forged", forgedToken())
        if (move.forge.startsWith("malformed:")) return malformed(move.to as "service" | "rp", move.forge.slice("malformed:".length) as (typeof MALFORMED_KINDS)[number])
        return []
      case "Timeout":
        time.advance(TICK_SECONDS * 1000)
        ticks++
        return [{ _tag: "Tick", actor: "clock" }]
      default:
        return []
    }
  }

  const moves = (): ReadonlyArray<Move> => {
    const base = enabledMoves(view())
    if (!options.malformed) return base
    return [...base, ...MALFORMED_KINDS.flatMap((kind) => (["service", "rp"] as const).map((to) => ({ _tag: "Inject" as const, to, forge: `malformed:${kind}` })))]
  }

  const observe = (): Observation => {
    const d = ok(devices.device.observe)
    const e = ok(devices.evil.observe)
    return {
      device: { phase: d.phase, token: tokenName(d.token), showsOtp: d.display !== null },
      evil: { phase: e.phase, token: tokenName(e.token) },
      pc: ok(computers.pc.observe).phase,
      evilpc: ok(computers.evilpc.observe).phase,
      service: ok(service.observe).map((r) => ({ pk: keyName(r.publicKey), valid: r.otp !== null, wrong: r.wrong }))
    }
  }

  return { initialTrace: [], moves, step, observe, continuation: () => [{ _tag: "FaultsEnd" }] }
}
