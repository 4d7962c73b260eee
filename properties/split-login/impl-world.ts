/**
 * The P2b implementation as a `World`: the real Effect services (impl/split-login) — Server,
 * alice's Device and Machine, the attacker's own device — over an in-memory store, real OPAQUE
 * (`@serenity-kit/opaque`, Argon2id at the light setting), HMAC through the node:crypto layer, a
 * seeded random source (the WASM's draws included) and a stepped clock, driven by the attacker's
 * moves (model/split-login/moves.ts).
 *
 * The world is its own attacker: its moves come from what it has seen and what its participants
 * hold, never from the model — the moves the model has in the same situation, plus garbage
 * (`malformed:*`) to the server and the Machine, and byte edits of the open link's messages
 * (`tamper`, `cut`, `splice`: properties/harness/byte-attacks.ts). TLS records (Device ↔ Server)
 * are neither edited nor replayed: TLS refuses both before the application sees them. A
 * `LoginStart` is not edited either: OPAQUE's first flight is unauthenticated by design, an edited
 * one is just the attacker's own KE1 (which `replay` and the Machine's refusal of the answer cover).
 * Its forgeries are real: it opens sessions on its own connection, polls with the SIDs it saw,
 * rewrites the SID of a captured login, and runs a real dictionary attack — for every guess, the
 * Machine's own derivation checked against the transcript: the claimed hash compared with every
 * captured `Login`, and for OPAQUE a client login for the guess finished against every captured
 * KE2 (which succeeds only if the guess can be tested offline).
 *
 * The harness is the trusted observer: it names SIDs in the order the server opened them (`s1`,
 * …; `?` for one it never opened), reads who holds a session from the tokens received, signals a
 * password-equivalent when a message on the wire carries the password or the stored verifier,
 * and signals a refusal that left the server's store changed.
 *
 * With `remote` the server is someone else's (`authlab conform`): the same moves, but the server's
 * steps are HTTP requests (spec/HTTP-BINDING.md), it is never crashed, and its store is not read —
 * no refusal can be seen to change it (properties/split-login/serve.ts lists what that removes).
 */
import { Context, Effect, Either, Layer, Schema } from "effect"
import type { Move } from "../../spec/attacker.ts"
import { splitAnyFrame } from "../../spec/codec.ts"
import { Login, LoginChallenge, LoginFinish, LoginStart, Opened, Result, ToServer } from "../../spec/split-login/messages.ts"
import { DICTIONARY, PASSWORD, type Policy, TICK_SECONDS, USERNAME } from "../../spec/split-login/variants.ts"
import type { Actor, Trace, TraceEvent } from "../../spec/trace.ts"
import { racingStore } from "../harness/race.ts"
import { steppedClock } from "../../impl/clock.ts"
import { CryptoNode } from "../../impl/crypto/node.ts"
import { SecureRandomSeeded } from "../../impl/crypto/random.ts"
import { Crypto, type CryptoShape, SecureRandom, type SecureRandomShape } from "../../impl/crypto/services.ts"
import { hex, passwordHash } from "../../impl/split-login/credentials.ts"
import { type Device, makeDevice } from "../../impl/split-login/device.ts"
import { type Machine, makeMachine } from "../../impl/split-login/machine.ts"
import { KeyStretching, makeOpaque, Opaque, type OpaqueShape, type ServerSetup } from "../../impl/split-login/opaque.ts"
import { type Account, makeServer, type Server, type ServerOptions, type ServerOutcome, type ServerReason, ServerRejection } from "../../impl/split-login/server.ts"
import { emptyServer, fingerprint, inMemoryStore, type ServerStore } from "../../impl/split-login/store.ts"
import { enabledMoves, MAX_LOGINS, MAX_SCANS, type Observation, TLS_LABELS } from "../../model/split-login/moves.ts"
import type { RemoteParticipants } from "../definition.ts"
import { servedSeed } from "../harness/served.ts"
import { byteAttack, byteAttackMoves, garbage, GARBAGE_KINDS } from "../harness/byte-attacks.ts"
import type { World } from "../harness/world.ts"

export const MALFORMED_KINDS = GARBAGE_KINDS

/** A mutant's implementation side: decorators of the real services, their store, their crypto and their decoder. */
export interface SplitLoginImplFlaw {
  readonly store?: (store: ServerStore) => ServerStore
  /** The server's edge decoder, given the store it serves (a decoder that reads or writes state is the flaw). */
  readonly decode?: (store: ServerStore) => NonNullable<ServerOptions["decode"]>
  /** The OPAQUE service the server runs. */
  readonly serverOpaque?: (opaque: OpaqueShape) => OpaqueShape
  /** The crypto the server verifies with. */
  readonly serverCrypto?: (crypto: CryptoShape) => CryptoShape
  /** alice's Machine. */
  readonly machine?: (machine: Machine) => Machine
  /** The randomness alice's Machine's OPAQUE draws its blinds, nonces and key shares from. */
  readonly machineRandomness?: SecureRandomShape
}

export interface ImplWorldOptions {
  readonly policy: Policy
  readonly seed: number
  readonly malformed: boolean
  readonly flaw?: SplitLoginImplFlaw
  /**
   * The server is served elsewhere (`authlab conform`): provisioned with this run's `Enrolment`,
   * driven through these proxies at the world's time, never crashed; its store is out of sight
   * (the local one stays empty).
   */
  readonly remote?: RemoteParticipants
}

interface WireMessage {
  readonly from: Actor
  readonly to: Actor
  readonly bytes: Uint8Array
  readonly label: string
  delivered: boolean
}

const T0 = Date.UTC(2026, 0, 1)

let cryptoContext: Context.Context<Crypto> | undefined
const cryptoOnce = () => (cryptoContext ??= Effect.runSync(Effect.scoped(Layer.build(CryptoNode))))

const decodeServer = Schema.decodeUnknownEither(ToServer)

/** What the server is provisioned with out of band: the OPAQUE setup, and the accounts it knows. */
export interface ServerEnrolment {
  readonly setup: ServerSetup
  readonly accounts: ReadonlyMap<string, Account>
}

/**
 * Registration happens out of band, before any run (SECURITY.md §Registration): the server's OPAQUE
 * setup and alice's record (or, claimed, her password hash), from a seeded stream of their own,
 * made once per policy and process — the same bytes in every process, so a served server is
 * provisioned with what the world expects (`Enrolment`).
 */
const enrolments = new Map<string, { readonly setup: ServerSetup; readonly account: Account }>()
const enrolmentOf = (policy: Policy) => {
  let e = enrolments.get(policy.name)
  if (e === undefined) {
    const context = Context.merge(cryptoOnce(), Effect.runSync(Effect.scoped(Layer.build(SecureRandomSeeded(0x2b0)))))
    e = Effect.runSync(
      Effect.provide(
        Effect.gen(function*() {
          const opaque = yield* makeOpaque(KeyStretching.light)
          const setup = yield* opaque.createSetup()
          const account: Account = policy.auth === "hash" ? { verifier: passwordHash(USERNAME, PASSWORD) } : { record: yield* Effect.orDie(opaque.register(setup, USERNAME, PASSWORD)) }
          return { setup, account }
        }),
        context
      )
    )
    enrolments.set(policy.name, e)
  }
  return e
}

/** The standing enrolment of `policy`: what a served server starts with when no fixture provisions it. */
export const standingEnrolment = (policy: Policy): ServerEnrolment => {
  const { setup, account } = enrolmentOf(policy)
  return { setup, accounts: new Map([[USERNAME, account]]) }
}

/**
 * The fixture a served server is reset with (`remote.reset`, spec/split-login/SPEC.md §HTTP
 * binding), as JSON: the seed of its randomness, its OPAQUE setup (the library's serialisation),
 * and each user's registration — the OPAQUE record (base64url, `hardened`) or the password hash
 * (hex, `claimed`), made with the worlds' light Argon2id.
 */
export interface Enrolment {
  readonly seed: number
  readonly setup: string
  readonly users: ReadonlyArray<{ readonly username: string; readonly record?: string; readonly verifier?: string }>
}

export const enrolmentFixture = (policy: Policy, seed: number): Uint8Array => {
  const { setup, account } = enrolmentOf(policy)
  const user = { username: USERNAME, ...(account.record === undefined ? {} : { record: Buffer.from(account.record).toString("base64url") }), ...(account.verifier === undefined ? {} : { verifier: hex(account.verifier) }) }
  return new TextEncoder().encode(JSON.stringify({ seed, setup: setup.encoded, users: [user] } satisfies Enrolment))
}

/**
 * The server as every world builds it, in process or served (properties/split-login/serve.ts): the
 * real service over `store`, a mutant's decorators of the store and the decoder applied; its steps
 * run in `serverContextOf` (the mutant's crypto and OPAQUE).
 */
export const decoratedServer = (policy: Policy, enrolment: ServerEnrolment, realStore: ServerStore, flaw: SplitLoginImplFlaw | undefined): Server => {
  const store = flaw?.store?.(realStore) ?? realStore
  return makeServer({ policy, accounts: enrolment.accounts, setup: enrolment.setup, store, ...(flaw?.decode === undefined ? {} : { decode: flaw.decode(store) }) })
}

export const serverContextOf = <R>(context: Context.Context<R | Crypto | Opaque>, flaw: SplitLoginImplFlaw | undefined): Context.Context<R | Crypto | Opaque> =>
  Context.add(Context.add(context, Crypto, flaw?.serverCrypto?.(Context.get(context, Crypto)) ?? Context.get(context, Crypto)), Opaque, flaw?.serverOpaque?.(Context.get(context, Opaque)) ?? Context.get(context, Opaque))

/** A message the served server replied with, decoded strictly (a reply that does not decode is the target failing the binding). */
const replied = <A>(decode: (bytes: Uint8Array) => Either.Either<A, unknown>, bytes: Uint8Array | undefined, outcome: string): A => {
  const d = decode(bytes ?? new Uint8Array(0))
  if (Either.isLeft(d)) throw new Error(`the served server's ${outcome} answer carries no decodable reply`)
  return d.right
}


/**
 * The SID a login names: strictly decoded, else the first field of its frame (a lenient server may
 * have taken bytes the strict decoder refuses), else none (named `?`).
 */
const requestSid = (bytes: Uint8Array): Uint8Array => {
  const m = decodeServer(bytes)
  if (Either.isRight(m) && "sid" in m.right) return m.right.sid
  return splitAnyFrame(bytes)?.fields[0] ?? new Uint8Array(0)
}

/**
 * A served server (`authlab conform`) as the world's participant: its answers over HTTP read back as
 * the service's results, the SID from the reply (or, for a login, which has none, from the request).
 * Each request names its connection (`device`, `machine`, `evil`, `attacker`), as TLS would; the
 * opener of a session is the connection the world saw receive its `Opened` (no answer names it).
 */
const remoteServer = (remote: RemoteParticipants, nowMillis: () => number): Server => {
  const openers = new Map<string, string>()
  return {
    receive: (conn, bytes) =>
      Effect.suspend((): Effect.Effect<ServerOutcome, ServerRejection> => {
        const a = remote.send("server", bytes, nowMillis(), conn)
        if (a._tag === "Refusal") return Effect.fail(new ServerRejection({ reason: a.reason as ServerReason }))
        const reply = a.reply ?? new Uint8Array(0)
        switch (a.outcome) {
          case "opened": {
            const { sid } = replied(Schema.decodeUnknownEither(Opened.wire), a.reply, a.outcome)
            openers.set(hex(sid), conn)
            return Effect.succeed({ _tag: "opened", sid, reply })
          }
          case "challenged":
            return Effect.succeed({ _tag: "challenged", sid: replied(Schema.decodeUnknownEither(LoginChallenge.wire), a.reply, a.outcome).sid, reply })
          case "released":
            return Effect.succeed({ _tag: "released", sid: replied(Schema.decodeUnknownEither(Result.wire), a.reply, a.outcome).sid, reply })
          case "logged-in": {
            const sid = requestSid(bytes)
            return Effect.succeed({ _tag: "logged-in", sid, opener: openers.get(hex(sid)) ?? "?" })
          }
          default:
            throw new Error(`the served server answered with outcome ${JSON.stringify(a.outcome)}, which P2b has not`)
        }
      })
  }
}

/** Constant "randomness" (every byte 0x2a; all zeros would make the WASM's rejection sampling of a non-zero scalar loop forever): what the dictionary attacker assumes of a Machine whose RNG is broken. */
export const constantRandomness: SecureRandomShape = { bytes: (n) => Effect.succeed(new Uint8Array(n).fill(0x2a)) }
const predictable = Effect.runSync(Effect.provide(makeOpaque(KeyStretching.light), Layer.succeed(SecureRandom, constantRandomness)))
const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])

/**
 * A LoginChallenge whose fingerprint (its third field) was edited: the one edit the Machine cannot
 * judge — alice compares the fingerprint with her Device's, the server's approval check binds it
 * (P2b.tampered-input judges it by the server's verdict on the Machine's answer).
 */
const FINGERPRINT_FIELD = 2
const FINGERPRINT_EDIT = "tampered:LoginChallenge.fingerprint"

/** The requests a race move sends twice at once: each reads a session and then writes it. */
const RACED_LABELS: ReadonlySet<string> = new Set(["Poll", "Login", "LoginFinish", "LoginStart"])
/** Where the racing copy lands: at the server's second store access (after `live` read the session, before the write). */
const RACE_AT = 2

export const makeImplWorld = (options: ImplWorldOptions): World<Observation> => {
  const { policy, flaw, remote } = options
  const { account } = enrolmentOf(policy)
  let now = T0
  const clock = steppedClock(() => now)
  const random = Effect.runSync(Effect.scoped(Layer.build(SecureRandomSeeded(options.seed))))
  const base = Context.merge(cryptoOnce(), random)
  const opaque = Effect.runSync(Effect.provide(makeOpaque(KeyStretching.light), base))
  const context = Context.add(base, Opaque, opaque)
  const serverContext = serverContextOf(context, flaw)
  const runIn =
    <R>(ctx: Context.Context<R>) =>
    <A, E>(effect: Effect.Effect<A, E, R>): Either.Either<A, E> =>
      Effect.runSync(Effect.either(Effect.withClock(Effect.provide(effect, ctx), clock)))
  const run = runIn(context)
  const machineOpaque = flaw?.machineRandomness === undefined ? opaque : Effect.runSync(Effect.provide(makeOpaque(KeyStretching.light), Context.add(base, SecureRandom, flaw.machineRandomness)))
  const runMachine = runIn(Context.add(context, Opaque, machineOpaque))
  const ok = <A>(effect: Effect.Effect<A, unknown, Crypto | SecureRandom | Opaque>): A => Either.getOrThrow(run(effect))

  const realStore: ServerStore = ok(inMemoryStore(emptyServer))
  // the race move's hook on the server's store (properties/harness/race.ts); the harness reads `realStore` directly
  const racing = racingStore(realStore)
  remote?.reset(enrolmentFixture(policy, servedSeed(options.seed)))
  const server: Server = remote === undefined ? decoratedServer(policy, standingEnrolment(policy), racing.store, flaw) : remoteServer(remote, () => now)
  const device: Device = ok(makeDevice(policy))
  const evil: Device = ok(makeDevice(policy))
  const realMachine = ok(makeMachine(policy, USERNAME))
  const machine: Machine = flaw?.machine?.(realMachine) ?? realMachine

  const network: Array<WireMessage> = []
  const sidNames = new Map<string, string>()
  const counts = { logins: 0, scans: 0, evilOpens: 0, ticks: 0 }
  let evilSids: Array<Uint8Array> = []
  let seenSid: Uint8Array | undefined
  let guessed = false
  let passwordEquivalentSeen = false

  const sidName = (sid: unknown) => (sid instanceof Uint8Array ? sidNames.get(hex(sid)) ?? "?" : "?")
  /** The secrets whose bytes on the wire make a password-equivalent: the password and the stored verifier. */
  const secrets = [new TextEncoder().encode(PASSWORD), ...(account.verifier === undefined ? [] : [account.verifier]), ...(account.record === undefined ? [] : [account.record])]
  const carriesSecret = (bytes: Uint8Array) => (splitAnyFrame(bytes)?.fields ?? []).some((f) => secrets.some((s) => equal(f, s)))

  const send = (from: Actor, to: Actor, bytes: Uint8Array, label: string, delivered = false): Array<TraceEvent> => {
    const ref = network.length
    network.push({ from, to, bytes, label, delivered })
    const sid = label === "Open" ? undefined : sidName(splitAnyFrame(bytes)?.fields[0])
    const events: Array<TraceEvent> = [{ _tag: "Send", from, to, ref, label, ...(sid === undefined ? {} : { data: `sid=${sid}` }) }]
    // the observer: a message that carries the password or the stored verifier is a password-equivalent on the wire
    if (!passwordEquivalentSeen && from !== "attacker" && carriesSecret(bytes)) {
      passwordEquivalentSeen = true
      events.push({ _tag: "Reveal", name: "password-equivalent", via: "wire" })
    }
    return events
  }

  /** The store as a race's second delivery left it, while the first is still being judged. */
  let afterRacingCopy: string | undefined

  /** The server's handling of `bytes` from connection `conn`, with its replies put on the wire (or handed to the attacker). */
  const toServer = (conn: Actor, bytes: Uint8Array): Array<TraceEvent> => {
    const before = fingerprint(ok(realStore.snapshot))
    const r = runIn(serverContext)(server.receive(conn, bytes))
    if (Either.isLeft(r)) {
      const events: Array<TraceEvent> = [{ _tag: "Reject", actor: "server", reason: r.left.reason }]
      // a refusal changes nothing — judged against what a concurrent delivery inside it left
      if (fingerprint(ok(realStore.snapshot)) !== (afterRacingCopy ?? before)) events.push({ _tag: "Signal", actor: "server", signal: "state-changed-on-reject" })
      return events
    }
    const o = r.right
    switch (o._tag) {
      case "opened": {
        sidNames.set(hex(o.sid), `s${sidNames.size + 1}`)
        const events: Array<TraceEvent> = [{ _tag: "Accept", actor: "server", data: `open;sid=${sidName(o.sid)};opener=${conn}` }]
        if (conn === "evil") {
          ok(evil.receive(o.reply))
          evilSids = [...evilSids, o.sid]
          return events
        }
        return [...events, ...send("server", conn, o.reply, "Opened")]
      }
      case "challenged":
        return [{ _tag: "Accept", actor: "server", data: `challenge;sid=${sidName(o.sid)}` }, ...send("server", conn === "machine" ? "machine" : "attacker", o.reply, "LoginChallenge", conn !== "machine")]
      case "logged-in":
        return [{ _tag: "Commit", actor: "server", peer: "machine", data: `login;sid=${sidName(o.sid)};opener=${o.opener}` }]
      case "released": {
        const events: Array<TraceEvent> = [{ _tag: "Accept", actor: "server", data: `release;sid=${sidName(o.sid)};to=${conn}` }]
        if (conn === "device") return [...events, ...send("server", "device", o.reply, "Result")]
        return [...events, { _tag: "Commit", actor: conn, peer: "server", data: `session;sid=${sidName(o.sid)}` }]
      }
    }
  }

  /** What alice decides at the Machine's consent screen: she approves only her own Device's fingerprint. */
  const alice = {
    password: PASSWORD,
    approves: (shown: Uint8Array) => {
      const screen = ok(device.screen)
      return screen !== undefined && equal(screen.fingerprint, shown)
    }
  }

  const toMachine = (bytes: Uint8Array): Array<TraceEvent> => {
    const r = runMachine(machine.receive(bytes, alice))
    if (Either.isLeft(r)) return [{ _tag: "Reject", actor: "machine", reason: r.left.reason }]
    return [{ _tag: "Running", actor: "machine", peer: "server", data: `login;sid=${sidName(r.right.sid)}` }, ...send("machine", "server", r.right.reply, "LoginFinish")]
  }

  const toDevice = (bytes: Uint8Array): Array<TraceEvent> => {
    const r = run(device.receive(bytes))
    if (Either.isLeft(r)) return [{ _tag: "Reject", actor: "device", reason: r.left.reason }]
    if (r.right._tag === "showing") {
      seenSid = r.right.screen.sid
      return [{ _tag: "Accept", actor: "device", data: `showing;sid=${sidName(r.right.screen.sid)}` }]
    }
    return [{ _tag: "Commit", actor: "device", peer: "server", data: `session;sid=${sidName(r.right.sid)}` }]
  }

  const deliverTo = (m: WireMessage, ref: number, how: "first" | "replay" | "injected"): Array<TraceEvent> => {
    const sid = m.label === "Open" || m.label.startsWith("malformed") ? undefined : sidName(splitAnyFrame(m.bytes)?.fields[0])
    const events: Array<TraceEvent> = [{ _tag: "Deliver", to: m.to, ref, label: m.label, how, ...(sid === undefined ? {} : { data: `sid=${sid}` }) }]
    const conn = m.from === "attacker" ? "attacker" : m.from
    if (m.to === "server") return [...events, ...toServer(conn, m.bytes)]
    if (m.to === "machine") return [...events, ...toMachine(m.bytes)]
    if (m.to === "device") return [...events, ...toDevice(m.bytes)]
    return events
  }

  const deliver = (ref: number): Array<TraceEvent> => {
    const m = network[ref]!
    const how = m.delivered ? "replay" : "first"
    m.delivered = true
    return deliverTo(m, ref, how)
  }

  /**
   * The race move: message `ref` to the server and a copy of it at once, the copy landing between
   * the first's read of the session and its write (the server's second store access): two polls
   * that could both release, two LoginFinish that could both log in. The copy is a replay from
   * the same connection.
   */
  const raceDeliver = (ref: number): Array<TraceEvent> => {
    const m = network[ref]!
    const how = m.delivered ? "replay" : "first"
    m.delivered = true
    let copy: Array<TraceEvent> = []
    const runCopy = () => {
      copy = deliverTo(m, ref, "replay")
      afterRacingCopy = fingerprint(ok(realStore.snapshot))
    }
    try {
      const { result: first, ranInside } = racing.during(RACE_AT, () => deliverTo(m, ref, how), runCopy)
      return ranInside ? [...copy, ...first] : [...first, ...deliverTo(m, ref, "replay")]
    } finally {
      afterRacingCopy = undefined
    }
  }

  const inject = (to: Actor, bytes: Uint8Array, label: string): Array<TraceEvent> => {
    const ref = network.length
    return [...send("attacker", to, bytes, label, true), ...deliverTo(network[ref]!, ref, "injected")]
  }

  /** The Machine sends its authenticating data for `sid` (claimed: Running at once; hardened: after the challenge). */
  const scan = (sid: Uint8Array): Array<TraceEvent> => {
    counts.scans++
    const bytes = Either.getOrThrow(runMachine(machine.scan(sid, PASSWORD)))
    const claimedLogin = policy.auth === "hash"
    return [...(claimedLogin ? [{ _tag: "Running", actor: "machine", peer: "server", data: `login;sid=${sidName(sid)}` } as const] : []), ...send("machine", "server", bytes, claimedLogin ? "Login" : "LoginStart")]
  }

  const deviceShows = () => {
    const s = ok(device.state)
    return s.sid !== undefined && s.token === undefined
  }

  const userAction = (actor: Actor, action: string, bounded = true): Array<TraceEvent> | undefined => {
    if (actor === "device" && action === "login") {
      if (bounded && counts.logins >= MAX_LOGINS) return undefined
      counts.logins++
      return send("device", "server", ok(device.open(USERNAME)), "Open")
    }
    if (actor === "user" && action === "scan") {
      if (!deviceShows() || (bounded && counts.scans >= MAX_SCANS)) return undefined
      return scan(ok(device.screen)!.sid)
    }
    if (actor === "device" && action === "poll") {
      if (ok(device.state).sid === undefined) return undefined
      return send("device", "server", ok(device.poll), "Poll")
    }
    return undefined
  }

  /** Every message sent from `from` on delivered once, in order (the Machine's last flight too, unless `holdLast`). */
  const deliverNew = (from: number, events: Array<TraceEvent>, holdLast = false) => {
    for (let ref = from; ref < network.length; ref++) {
      const m = network[ref]!
      if (!m.delivered && m.to !== "attacker" && !(holdLast && (m.label === "Login" || m.label === "LoginFinish"))) events.push(...deliver(ref))
    }
    return events
  }

  /** An honest exchange: `actions` in turn, every message delivered once, in order. */
  const honest = (actions: ReadonlyArray<readonly [Actor, string]>, options: { readonly bounded: boolean; readonly holdLast?: boolean }): Array<TraceEvent> => {
    const events: Array<TraceEvent> = []
    for (const [actor, action] of actions) {
      const from = network.length
      const r = userAction(actor, action, options.bounded)
      if (r === undefined) break
      events.push(...r)
      deliverNew(from, events, options.holdLast)
    }
    return events
  }
  const LOGIN: ReadonlyArray<readonly [Actor, string]> = [["device", "login"], ["user", "scan"], ["device", "poll"]]

  const latestAuth = () => [...network].reverse().find((m) => m.from === "machine" && (m.label === "Login" || m.label === "LoginFinish"))

  /** For every guess, the Machine's own derivation checked against what was captured on the open link. */
  const dictionary = (): Array<TraceEvent> => {
    guessed = true
    const captured = network.filter((m) => m.from !== "attacker" && !TLS_LABELS.has(m.label))
    const logins = captured.flatMap((m) => (m.label === "Login" ? [Either.getOrThrow(Schema.decodeUnknownEither(Login.wire)(m.bytes)).authData] : []))
    // every KE2 is the same kind of evidence (a blinded evaluation under fresh nonces): the latest stands for all
    const challenges = captured.flatMap((m) => (m.label === "LoginChallenge" ? [Either.getOrThrow(Schema.decodeUnknownEither(LoginChallenge.wire)(m.bytes)).ke2] : [])).slice(-1)
    const starts = captured.flatMap((m) => (m.label === "LoginStart" ? [Either.getOrThrow(Schema.decodeUnknownEither(LoginStart.wire)(m.bytes)).ke1] : []))
    // Three tests per guess: the claimed hash against every captured Login; a KE1 recomputed for the
    // guess with predictable randomness (a constant stream: a Machine whose blind is not random sends a
    // deterministic function of the password) against every captured KE1; and a client login for
    // the guess finished against the latest KE2 (one client state per guess: KE1 blinds the hash of
    // the password it starts with).
    const found = DICTIONARY.find(
      (guess) =>
        logins.some((authData) => equal(passwordHash(USERNAME, guess), authData)) ||
        (starts.length > 0 && starts.some((ke1) => equal(ke1, ok(predictable.clientStart(USERNAME, guess)).ke1))) ||
        challenges.some((ke2) => Either.isRight(run(Effect.flatMap(opaque.clientStart(USERNAME, guess), (s) => opaque.clientFinish(s.state, ke2, guess)))))
    )
    return found === undefined ? [] : [{ _tag: "Reveal", name: "password", via: "wire" }]
  }

  const forge = (recipe: string): Array<TraceEvent> => {
    if (recipe === "open") {
      counts.evilOpens++
      return evilRequest(ok(evil.open(USERNAME)), "Open")
    }
    if (recipe === "phish") {
      if (evilSids.length === 0) return []
      const from = network.length
      return deliverNew(from, scan(evilSids[evilSids.length - 1]!))
    }
    if (recipe === "phish:held") {
      // alice scans the attacker's QR code, and the attacker holds what follows: the Machine's
      // LoginStart and the server's LoginChallenge wait on the open link for the attacker's next
      // moves (deliver, edit, splice) instead of reaching alice's screen at once
      if (evilSids.length === 0) return []
      return scan(evilSids[evilSids.length - 1]!)
    }
    if (recipe === "poll-seen") {
      if (seenSid === undefined) return []
      const evilKey = ok(evil.state).deviceKey
      const bytes = Schema.encodeSync(ToServer)({ _tag: "Poll", sid: seenSid, deviceKey: evilKey })
      return evilRequest(bytes, "Poll")
    }
    if (recipe === "replay") {
      const m = latestAuth()
      const target = evilSids[evilSids.length - 1]
      if (m === undefined || target === undefined) return []
      const d = decodeServer(m.bytes)
      if (Either.isLeft(d) || (d.right._tag !== "Login" && d.right._tag !== "LoginFinish")) return []
      const bytes = d.right._tag === "Login" ? Login.encode({ ...d.right, sid: target }) : LoginFinish.encode({ ...d.right, sid: target })
      return inject("server", bytes, m.label)
    }
    if (recipe === "dictionary") return dictionary()
    return []
  }

  /** A request from the attacker's own device on its own TLS connection, answered there. */
  const evilRequest = (bytes: Uint8Array, label: "Open" | "Poll"): Array<TraceEvent> => {
    const ref = network.length
    network.push({ from: "attacker", to: "server", bytes, label, delivered: true })
    const data = label === "Poll" ? { data: `sid=${sidName(splitAnyFrame(bytes)?.fields[0])}` } : {}
    return [{ _tag: "Send", from: "evil", to: "server", ref, label, ...data }, { _tag: "Deliver", to: "server", ref, label, how: "injected", ...data }, ...toServer("evil", bytes)]
  }

  // the byte attacks depend only on the messages seen, and the log only grows: recompute them when it does
  let seenCache: { length: number; seen: Array<{ from: Actor; to: Actor; bytes: Uint8Array; label: string }>; moves: Array<Move> } | undefined
  const seenNow = () => {
    if (seenCache === undefined || seenCache.length !== network.length) {
      const seen = network.map((m) => ({ from: m.from, to: m.to, bytes: m.bytes, label: m.label }))
      seenCache = { length: network.length, seen, moves: options.malformed ? byteAttackMoves(seen, { skip: (m) => TLS_LABELS.has(m.label) || m.label === "LoginStart" || m.to === "attacker" }) : [] }
    }
    return seenCache
  }

  /** Garbage: a captured open-link message cut short or extended, or random bytes, to the server or the Machine in turn. */
  const malformed = (kind: (typeof MALFORMED_KINDS)[number]): Array<TraceEvent> => {
    const r = ok(Effect.flatMap(SecureRandom, (x) => x.bytes(2)))
    const to: Actor = r[0]! % 2 === 0 ? "server" : "machine"
    // from what the attacker can read: the open link, not a TLS record (which it cannot even cut or extend)
    const source = [...network].reverse().find((m) => m.to === to && m.from !== "attacker" && !TLS_LABELS.has(m.label))
    const bytes = garbage(kind, r[1]!, source?.bytes, (n) => ok(Effect.flatMap(SecureRandom, (x) => x.bytes(n))))
    return inject(to, bytes, `malformed:${kind}`)
  }

  const step = (move: Move): Trace => {
    switch (move._tag) {
      case "User":
        return userAction(move.actor, move.action) ?? []
      case "Honest":
        if (move.actor === "device" && move.action === "login") return honest(LOGIN.slice(0, 2), { bounded: true })
        if (move.actor === "device" && move.action === "open") return honest([["device", "login"]], { bounded: true })
        if (move.actor === "user" && move.action === "scan") return honest([["user", "scan"]], { bounded: true, holdLast: true })
        return []
      case "Deliver":
        return network[move.ref] === undefined ? [] : deliver(move.ref)
      case "Timeout":
        counts.ticks++
        now += TICK_SECONDS * 1000
        return [{ _tag: "Tick", actor: "server" }]
      case "Crash":
        // a served server is never crashed (the world cannot restart a remote process)
        if (move.actor === "server" && remote !== undefined) return []
        if (move.actor === "machine") ok(machine.restart)
        return [{ _tag: "Crash", actor: move.actor }]
      case "Inject": {
        if (move.forge.startsWith("malformed:")) return malformed(move.forge.slice("malformed:".length) as (typeof MALFORMED_KINDS)[number])
        if (move.forge.startsWith("race:")) return raceDeliver(Number(move.forge.slice("race:".length)))
        const edit = byteAttack(seenNow().seen, move)
        if (edit !== undefined) return inject(edit.to, edit.bytes, edit.label === "tampered:LoginChallenge" && edit.field === FINGERPRINT_FIELD ? FINGERPRINT_EDIT : edit.label)
        return forge(move.forge)
      }
      default:
        return []
    }
  }

  const moves = (): ReadonlyArray<Move> => {
    const out = enabledMoves({
      ...counts,
      deviceShows: deviceShows(),
      deviceHasSid: ok(device.state).sid !== undefined,
      sidSeen: seenSid !== undefined,
      evilHasSid: evilSids.length > 0,
      authSeen: latestAuth() !== undefined,
      openLinkSeen: network.some((m) => m.from !== "attacker" && !TLS_LABELS.has(m.label)),
      guessed,
      network
    }).filter((m) => remote === undefined || !(m._tag === "Crash" && m.actor === "server"))
    if (out.some((m) => m._tag === "Inject" && m.forge === "phish")) out.push({ _tag: "Inject", to: "machine", forge: "phish:held" })
    // races need the server's store in this process: not against a served one
    if (remote === undefined)
      network.forEach((m, ref) => {
        if (m.to === "server" && m.from !== "attacker" && RACED_LABELS.has(m.label)) out.push({ _tag: "Inject", to: "server", forge: `race:${ref}` })
      })
    if (!options.malformed) return out
    return [...out, ...MALFORMED_KINDS.map((kind) => ({ _tag: "Inject" as const, to: "any", forge: `malformed:${kind}` })), ...seenNow().moves]
  }

  const observe = (): Observation => {
    const s = ok(realStore.snapshot)
    const d = ok(device.state)
    const pending = ok(realMachine.pending)
    return {
      server: [...s.sessions.entries()].map(([k, r]) => [sidNames.get(k) ?? "?", r.opener, r.logins, r.releases, r.challenge !== undefined] as const).sort((a, b) => a[0].localeCompare(b[0], "en", { numeric: true })),
      device: { sid: d.sid === undefined ? null : sidName(d.sid), session: d.token !== undefined },
      machine: { pending: pending === undefined ? null : sidName(pending) },
      attacker: { password: guessed && dictionaryWon }
    }
  }
  let dictionaryWon = false
  const stepObserved = (move: Move): Trace => {
    const events = step(move)
    if (events.some((e) => e._tag === "Reveal" && e.name === "password")) dictionaryWon = true
    return events
  }

  // A whole login, then a retried poll, as the model's continuation (model/split-login/system.ts).
  const continuation = (): Trace => [{ _tag: "FaultsEnd" }, ...honest([...LOGIN, ["device", "poll"]], { bounded: false })]

  return { initialTrace: [], moves, step: stepObserved, observe, continuation }
}
