/**
 * The P5 implementation as a `World`: the real Effect services (impl/rolling-key) over in-memory
 * durable stores, real crypto (node:crypto) and a seeded random source, driven by the attacker's moves.
 *
 * The world is its own attacker. Its enabled moves come from what it has seen on the wire and
 * from its participants' state — never from the model: every move the model has in the same
 * situation (so model paths replay here), plus redirects to any participant, intercepted honest
 * exchanges (the attacker holds back the last message), byte edits of messages in flight
 * (properties/harness/byte-attacks.ts), and — once it holds a key, from a compromise or from the
 * wire — codes and grant proofs it computes itself.
 *
 * The harness is the trusted observer that turns what happens into the trace conventions of
 * spec/rolling-key/properties.ts: it names requests (`req3@k1`), decodes bytes only to label them,
 * derives every key the attacker can compute from what it saw (P5.key-secrecy), checks that a
 * refused input changed only the state the design names for that refusal, and that no challenge
 * is checked twice or kept once checked (P5.single-use-challenge). Participants never see any of this.
 */
import { Context, Effect, Either, Layer, Option, Redacted, Schema } from "effect"
import type { Move } from "../../spec/attacker.ts"
import { AuthGranted, AuthRequest, ToClient, ToServer } from "../../spec/rolling-key/messages.ts"
import type { Policy } from "../../spec/rolling-key/variants.ts"
import { type Actor, sentTo, type Trace, type TraceEvent } from "../../spec/trace.ts"
import { CryptoNode } from "../../impl/crypto/node.ts"
import { SecureRandomSeeded } from "../../impl/crypto/random.ts"
import { Crypto, SecureRandom } from "../../impl/crypto/services.ts"
import { makeClient, type RollingKeyClient } from "../../impl/rolling-key/client.ts"
import { authCode, grantProof, initialKeyFromServerInput, nextKey } from "../../impl/rolling-key/protocol.ts"
import { makeServer, type RollingKeyServer, ServerRejection, type ServerRejectionReason, type ServerOutcome } from "../../impl/rolling-key/server.ts"
import {
  type ClientStore,
  copyClientRecord,
  makeInMemoryClientStore,
  makeInMemoryServerStore,
  type ServerRecordSnapshot,
  type ServerStore,
  snapshotClientStore,
  snapshotServerStore,
  toHex
} from "../../impl/rolling-key/store.ts"
import type { Observation } from "../../model/rolling-key/system.ts"
import { byteAttack, byteAttackMoves } from "../harness/byte-attacks.ts"
import type { World } from "../harness/world.ts"
import type { RemoteParticipants } from "../definition.ts"
import { seedFixture, servedSeed } from "../harness/served.ts"
import type { RollingKeyImplFlaw } from "./mutants/index.ts"

export const USERNAME = "alice"
export const PASSWORD = Redacted.make("correct horse battery staple")
const ACCOUNTS = [{ username: USERNAME, password: PASSWORD }]

/**
 * The server as every world builds it, in process or served (properties/rolling-key/serve.ts):
 * the real service over `store` with the account above, a mutant's server-side decorators applied
 * (its store view, decoder, crypto and service decorator).
 */
export const decoratedServer = (policy: Policy, store: ServerStore, flaw: RollingKeyImplFlaw): Effect.Effect<RollingKeyServer, never, Crypto | SecureRandom> => {
  const view = flaw.serverStore === undefined ? store : flaw.serverStore(store)
  const built = Effect.gen(function* () {
    const inner = yield* makeServer({ policy, store: view, accounts: ACCOUNTS, ...(flaw.decode === undefined ? {} : { decode: flaw.decode }) })
    return flaw.server === undefined ? inner : yield* flaw.server(inner, { store: view })
  })
  return flaw.serverCrypto === undefined ? built : Effect.updateService(built, Crypto, flaw.serverCrypto)
}

/**
 * A served server (`authlab conform`) as the world's participant: its answers over HTTP read back
 * as the service's results. The world reads only the outcome's tag and the reply, so the tag is
 * all the outcome carries here (the epochs stay inside the server).
 */
const remoteServer = (remote: RemoteParticipants): RollingKeyServer => ({
  receive: (bytes) =>
    Effect.suspend(() => {
      const answer = remote.send("server", bytes)
      const reply = answer.reply === undefined ? {} : { reply: answer.reply }
      return answer._tag === "Step"
        ? Effect.succeed({ event: { _tag: answer.outcome } as ServerOutcome, ...reply })
        : Effect.fail(new ServerRejection({ reason: answer.reason as ServerRejectionReason, ...reply }))
    }),
  observe: Effect.succeed([])
})


/** Garbage the attacker can throw at a participant; each must be refused without a state change. */
export const MALFORMED_KINDS = ["truncated", "trailing", "random", "unknown-device", "wrong-length"] as const

export interface ImplWorldOptions {
  readonly policy: Policy
  /** Seeds every random byte the participants and the attacker draw. */
  readonly seed: number
  /** Whether the attacker may compromise the device (create a clone). */
  readonly clone: boolean
  /** Whether the attacker throws malformed and tampered bytes (off for conformance: the model has no bytes). */
  readonly malformed: boolean
  /** `registered`: start after an honest registration, so runs reach the authentication phase. */
  readonly start: "fresh" | "registered"
  /** A mutant's decorators of the real services and stores. */
  readonly flaw?: RollingKeyImplFlaw
  /**
   * The server is served elsewhere (`authlab conform`): driven through these proxies, never
   * crashed; its store is out of sight, so an empty local one stands in for every read of it.
   */
  readonly remote?: RemoteParticipants
}

interface WireMessage {
  readonly from: Actor
  readonly to: Actor
  readonly bytes: Uint8Array
  readonly label: string
  readonly data?: string
  readonly tls: boolean
  delivered: boolean
}

interface ClientSlot {
  readonly actor: "client" | "clone"
  readonly store: ClientStore
  instance: RollingKeyClient
  /** Requests this holder has made (harness-side naming; survives crashes like the model's counter). */
  requests: number
  pending: string | undefined
}

/** A key the attacker can compute, and how it came by it. */
interface KnownKey {
  readonly key: Uint8Array
  readonly epoch: number
  readonly via: "wire" | "compromise"
}

const TLS_LABELS = new Set(["RegisterRequest", "RegisterResponse", "RegisterKey"])
const CLIENTS = ["client", "clone"] as const
/** Messages the byte edits leave alone: inside TLS, or unauthenticated by design. */
const UNEDITED = new Set([...TLS_LABELS, "AuthBegin", "AuthChallenge"])

const decodeToServer = Schema.decodeUnknownEither(ToServer)
const decodeToClient = Schema.decodeUnknownEither(ToClient)

const decoded = (bytes: Uint8Array, to: Actor): Option.Option<ToServer | ToClient> => {
  const r: Either.Either<ToServer | ToClient, unknown> = to === "server" ? decodeToServer(bytes) : decodeToClient(bytes)
  return Either.isRight(r) ? Option.some(r.right) : Option.none()
}

/** The message's tag, for the trace (the participants decode for themselves). */
const labelOf = (bytes: Uint8Array, to: Actor): string => Option.match(decoded(bytes, to), { onNone: () => "garbage", onSome: (m) => m._tag })

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

const contains = (haystack: Uint8Array, needle: Uint8Array): boolean => {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer
    return true
  }
  return false
}

/** The refusals whose one designed state change is consuming the checked challenge (SECURITY.md §3). */
const CONSUMING_REFUSALS = new Set(["bad-code", "clone-suspected"])

/** The states a refusal may leave: the one before, and (for a checked code) that one with the named device's challenge consumed. */
const allowedAfterRefusal = (reason: string, before: ReadonlyArray<ServerRecordSnapshot>, deviceId: string | undefined): ReadonlyArray<string> => [
  JSON.stringify(before),
  ...(CONSUMING_REFUSALS.has(reason) ? [JSON.stringify(before.map((r) => (r.deviceId === deviceId ? { ...r, challenge: null } : r)))] : [])
]

export const makeImplWorld = (options: ImplWorldOptions): World<Observation> => {
  const { policy } = options
  const flaw = options.flaw ?? {}
  // Build the services once: the seeded random source is a stream, and every draw must advance it.
  // node:crypto, as every protocol's implementation world: its HMAC is 2.6× noble's and X25519
  // 30×, and the differential and Wycheproof tests hold the two layers to the same outputs and
  // refusals (P5's primitives are deterministic, so a replay gives the same bytes).
  const context = Effect.runSync(Effect.scoped(Layer.build(Layer.merge(CryptoNode, SecureRandomSeeded(options.seed)))))
  type Needs = Crypto | SecureRandom
  const run = <A, E>(effect: Effect.Effect<A, E, Needs>, ctx: Context.Context<Needs> = context): Either.Either<A, E> =>
    Effect.runSync(Effect.either(Effect.provide(effect, ctx)))
  const ok = <A>(effect: Effect.Effect<A, never, Needs>, ctx?: Context.Context<Needs>): A => Either.getOrThrow(run(effect, ctx))

  // The durable stores the harness reads; a mutant's decorator sits between them and the participant.
  const serverStore: ServerStore = makeInMemoryServerStore()
  const { remote } = options
  // What `remote.reset` provisions: the served server's random seed; the account is standing.
  remote?.reset(seedFixture(servedSeed(options.seed)))
  const buildServer = (): RollingKeyServer => (remote === undefined ? ok(decoratedServer(policy, serverStore, flaw)) : remoteServer(remote))
  const clientContext = flaw.clientCrypto === undefined ? context : Context.add(context, Crypto, flaw.clientCrypto(Context.get(context, Crypto)))
  const buildClient = (store: ClientStore): RollingKeyClient => {
    // A decorated view of storage is per running instance: whatever it holds back is lost on a crash.
    const view = flaw.clientStore === undefined ? store : flaw.clientStore(store)
    const inner = ok(makeClient({ policy, store: view }), clientContext)
    return flaw.client === undefined ? inner : ok(flaw.client(inner, { store: view }), clientContext)
  }
  let server = buildServer()
  const deviceStore = makeInMemoryClientStore()
  const device: ClientSlot = { actor: "client", store: deviceStore, instance: buildClient(deviceStore), requests: 0, pending: undefined }
  let clone: ClientSlot | undefined
  const network: Array<WireMessage> = []
  /** The attacker's own requests (`attacker<N>@k<E>`). */
  let attackerRequests = 0

  const slotOf = (actor: Actor): ClientSlot | undefined => (actor === "client" ? device : actor === "clone" ? clone : undefined)
  const slots = (): Array<ClientSlot> => [device, ...(clone === undefined ? [] : [clone])]

  /** Every key any participant holds now, by epoch name. */
  const heldKeys = (): Array<{ name: string; key: Uint8Array }> => {
    const keys: Array<{ name: string; key: Uint8Array }> = []
    for (const slot of slots()) {
      const r = ok(slot.store.load)
      if (Option.isSome(r)) keys.push({ name: `k${r.value.epoch}`, key: Redacted.value(r.value.key) })
    }
    for (const d of ok(serverStore.all))
      for (const k of [Option.some(d.current), d.previous, d.retired])
        if (Option.isSome(k)) keys.push({ name: `k${k.value.epoch}`, key: Redacted.value(k.value.key) })
    return keys
  }

  // ---- what the attacker knows -------------------------------------------------------------
  // Keys it can compute: copied in a compromise, read in a message body (TLS bodies count: proxies
  // and logs see them, SECURITY.md §1), computed from a registration body with the public K0
  // formula, and every successor of a known key under a rolling input it saw in a grant.
  const known: Array<KnownKey> = []
  const revealed = new Set<string>()
  const rollingInputs: Array<{ deviceId: Uint8Array; rollingInput: Uint8Array }> = []

  /** Keys computed from the wire that nobody holds (yet): K0 from a registration body before the client derives it. */
  const candidates: Array<KnownKey> = []
  const learn = (candidate: KnownKey, keep = false): boolean => {
    if (known.some((k) => equalBytes(k.key, candidate.key))) return false
    // Only keys some participant really holds matter (a formula applied to the wrong input gives noise).
    const held = heldKeys().find((h) => equalBytes(h.key, candidate.key))
    if (held === undefined) {
      if (keep && !candidates.some((c) => equalBytes(c.key, candidate.key))) candidates.push(candidate)
      return false
    }
    known.push({ ...candidate, epoch: Number(held.name.slice(1)) })
    return true
  }

  /** Close the attacker's keys under `next` with the rolling inputs it saw; Reveal each newly computable held key. */
  const tried = new Set<string>()
  const deduce = (): Array<TraceEvent> => {
    for (const c of candidates) learn(c)
    let grew = true
    while (grew) {
      grew = false
      known.forEach((k, i) =>
        rollingInputs.forEach((g, j) => {
          if (tried.has(`${i}:${j}`)) return
          tried.add(`${i}:${j}`)
          if (learn({ key: ok(nextKey(k.key, g.deviceId, g.rollingInput)), epoch: k.epoch + 1, via: k.via })) grew = true
        })
      )
    }
    const events: Array<TraceEvent> = []
    for (const k of known) {
      const name = `k${k.epoch}`
      const id = `${k.via}:${toHex(k.key)}`
      if (revealed.has(id)) continue
      revealed.add(id)
      events.push({ _tag: "Reveal", name, via: k.via })
    }
    return events
  }

  /** What a message body teaches the attacker (called for every message put on the wire). */
  const observeWire = (bytes: Uint8Array, to: Actor): void => {
    const m = decoded(bytes, to)
    if (Option.isNone(m)) return
    const msg = m.value
    if (msg._tag === "AuthGranted") rollingInputs.push({ deviceId: msg.deviceId, rollingInput: msg.rollingInput })
    if (msg._tag === "RegisterKey") learn({ key: msg.rollingKey, epoch: 0, via: "wire" }, true)
    if (msg._tag === "RegisterResponse") learn({ key: ok(initialKeyFromServerInput(msg.serverInput, msg.deviceId)), epoch: 0, via: "wire" }, true)
    // Any other 32-byte field that happens to be a held key (a key put on the wire by mistake).
    for (const h of heldKeys()) if (contains(bytes, h.key)) learn({ key: h.key, epoch: 0, via: "wire" })
  }

  const send = (from: Actor, to: Actor, bytes: Uint8Array, data?: string): Array<TraceEvent> => {
    const label = labelOf(bytes, to)
    const tls = TLS_LABELS.has(label)
    // One copy of identical messages outside TLS, as in the model (model/rolling-key/system.ts).
    const same = tls ? -1 : network.findIndex((m) => !m.tls && m.from === from && m.to === to && m.data === data && equalBytes(m.bytes, bytes))
    const ref = same < 0 ? network.length : same
    if (same < 0) network.push({ from, to, bytes, label, ...(data === undefined ? {} : { data }), tls, delivered: false })
    observeWire(bytes, to)
    return [{ _tag: "Send", from, to, ref, label, ...(data === undefined ? {} : { data }) }, ...deduce()]
  }

  /** A client-side send: name it if it is an authentication request. */
  const clientSend = (slot: ClientSlot, bytes: Uint8Array): Array<TraceEvent> => {
    if (labelOf(bytes, "server") !== "AuthRequest") return send(slot.actor, "server", bytes)
    const epoch = ok(slot.instance.observe).epoch
    const data = `${slot.actor === "client" ? "req" : "clone"}${slot.requests++}@k${epoch}`
    slot.pending = data
    return [{ _tag: "Running", actor: slot.actor, peer: "server", data }, ...send(slot.actor, "server", bytes, data)]
  }

  // ---- single use of challenges (observed, not reported by the server) ------------------------
  /** Inputs of requests the server has checked a code against (any verdict but stale / unknown / malformed). */
  const checkedInputs = new Set<string>()
  const UNCHECKED = new Set(["stale-challenge", "unknown-device", "malformed"])

  const deliverTo = (m: WireMessage, ref: number, target: Actor, how: "first" | "replay" | "injected"): Array<TraceEvent> => {
    const events: Array<TraceEvent> = [{ _tag: "Deliver", to: target, ref, label: m.label, how, ...(m.data === undefined ? {} : { data: m.data }) }]
    if (target === "server") {
      const request = Option.filter(decoded(m.bytes, "server"), (x) => x._tag === "AuthRequest") as Option.Option<AuthRequest>
      const input = Option.map(request, (r) => `${toHex(r.deviceId)}:${toHex(r.input)}`)
      const before = ok(snapshotServerStore(serverStore))
      const result = run(server.receive(m.bytes))
      const verdictChecked = Either.isRight(result) ? result.right.event._tag === "authenticated" : !UNCHECKED.has(result.left.reason)
      if (Option.isSome(input) && verdictChecked) {
        if (checkedInputs.has(input.value)) events.push({ _tag: "Signal", actor: "server", signal: "challenge-checked-twice" })
        checkedInputs.add(input.value)
        // Read from the store, not from the server's word: the checked challenge must be gone.
        const r = Option.getOrThrow(request)
        const stored = ok(serverStore.get(r.deviceId))
        if (Option.isSome(stored) && Option.isSome(stored.value.challenge) && equalBytes(stored.value.challenge.value.challenge, r.input))
          events.push({ _tag: "Signal", actor: "server", signal: "checked-challenge-kept" })
      }
      if (Either.isRight(result)) {
        if (result.right.event._tag === "authenticated")
          events.push({ _tag: "Commit", actor: "server", peer: "client", data: m.data ?? `forged#${ref}` })
        if (result.right.reply !== undefined) events.push(...send("server", m.from, result.right.reply))
      } else {
        const { reason, reply } = result.left
        if (reason === "clone-suspected") events.push({ _tag: "Signal", actor: "server", signal: "clone-suspected" })
        events.push({ _tag: "Reject", actor: "server", reason })
        const deviceId = Option.getOrUndefined(Option.map(request, (r) => toHex(r.deviceId)))
        if (!allowedAfterRefusal(reason, before, deviceId).includes(JSON.stringify(ok(snapshotServerStore(serverStore)))))
          events.push({ _tag: "Signal", actor: "server", signal: "state-changed-on-reject" })
        if (reply !== undefined) events.push(...send("server", m.from, reply))
      }
      return events
    }
    const slot = slotOf(target)
    if (slot === undefined) return events
    const before = ok(snapshotClientStore(slot.store))
    const result = run(slot.instance.receive(m.bytes))
    if (Either.isRight(result)) {
      if (result.right.event === "rolled" && slot.pending !== undefined) {
        events.push({ _tag: "Accept", actor: slot.actor, data: slot.pending.split("@")[0]! })
        events.push({ _tag: "Secret", actor: slot.actor, name: `k${ok(slot.instance.observe).epoch}` })
        slot.pending = undefined
      }
      if (result.right.event === "registered") events.push({ _tag: "Secret", actor: slot.actor, name: "k0" })
      for (const bytes of result.right.sends) events.push(...clientSend(slot, bytes))
      events.push(...deduce())
    } else {
      events.push({ _tag: "Reject", actor: slot.actor, reason: result.left.reason })
      if (JSON.stringify(ok(snapshotClientStore(slot.store))) !== JSON.stringify(before))
        events.push({ _tag: "Signal", actor: slot.actor, signal: "state-changed-on-reject" })
    }
    return events
  }

  const deliver = (ref: number, to: Actor | undefined): Array<TraceEvent> => {
    const m = network[ref]!
    const how = m.delivered ? "replay" : "first"
    m.delivered = true
    return deliverTo(m, ref, to ?? m.to, how)
  }

  const inject = (to: Actor, label: string, bytes: Uint8Array, data?: string): Array<TraceEvent> => {
    const ref = network.length
    const m: WireMessage = { from: "attacker", to, bytes, label, tls: false, delivered: true, ...(data === undefined ? {} : { data }) }
    network.push(m)
    observeWire(bytes, to)
    return [{ _tag: "Send", from: "attacker", to, ref, label, ...(data === undefined ? {} : { data }) }, ...deliverTo(m, ref, to, "injected")]
  }

  const random = (n: number) => ok(Effect.flatMap(SecureRandom, (r) => r.bytes(n)))

  const malformed = (to: Actor, kind: (typeof MALFORMED_KINDS)[number]): Uint8Array => {
    // Edit a message of the open network: registration messages travel inside TLS, where the
    // attacker cannot inject well-formed bodies.
    const sample = [...network].reverse().find((m) => m.to === to && m.label !== "garbage" && !m.tls && m.from !== "attacker")?.bytes
    const base = sample ?? new Uint8Array([1, 4, 0, 16, ...random(16)])
    switch (kind) {
      case "truncated":
        return base.subarray(0, Math.max(0, base.length - 1 - (random(1)[0]! % base.length)))
      case "trailing":
        return Uint8Array.from([...base, ...random(1 + (random(1)[0]! % 4))])
      case "random":
        return random(1 + (random(1)[0]! % 96))
      case "unknown-device": {
        // The device id is the first field of every device-addressed message: replace it.
        if (base.length < 20 || base[2] !== 0 || base[3] !== 16) return random(40)
        const out = Uint8Array.from(base)
        out.set(random(16), 4)
        return out
      }
      case "wrong-length": {
        // Declare the first field one byte longer than it is: a length that lies.
        const out = Uint8Array.from(base)
        if (out.length > 3) out[3] = (out[3]! + 1) & 0xff
        return out
      }
    }
  }

  // ---- the attacker's own computations with a key it holds ------------------------------------
  /** The keys the attacker uses itself, as in the model: those from a compromise (copied, or computed from a copied one). */
  const usable = (): Array<KnownKey> => known.filter((k) => k.via === "compromise")
  const newestKey = (): KnownKey | undefined => usable().reduce<KnownKey | undefined>((best, k) => (best === undefined || k.epoch > best.epoch ? k : best), undefined)

  /** The latest attempt the network shows for the device: its challenge (with the nonce echoed) or, in claimed, none. */
  const latestChallenge = (): { deviceId: Uint8Array; clientNonce: Uint8Array; challenge: Uint8Array } | undefined => {
    for (let i = network.length - 1; i >= 0; i--) {
      const m = decoded(network[i]!.bytes, network[i]!.to)
      if (Option.isSome(m) && m.value._tag === "AuthChallenge") return m.value
    }
    return undefined
  }

  /**
   * An AuthRequest the attacker makes over the latest challenge seen (or, claimed, an input of its
   * own): with its newest key, a valid code named `attacker<N>@k<E>`; with none, a guess.
   */
  const forgedRequest = (): Trace => {
    const key = newestKey()
    const record = ok(device.store.load)
    const c = latestChallenge()
    const attempt = c !== undefined
      ? { deviceId: c.deviceId, clientNonce: c.clientNonce, input: c.challenge }
      : Option.isSome(record) ? { deviceId: record.value.deviceId, clientNonce: new Uint8Array(0), input: random(32) } : undefined
    if (attempt === undefined) return []
    const keyed = key !== undefined && attackerRequests < usable().length
    const code = keyed ? ok(authCode(key.key, attempt)) : random(32)
    const data = keyed ? `attacker${attackerRequests++}@k${key.epoch}` : undefined
    return inject("server", "AuthRequest", AuthRequest.encode(AuthRequest.make({ deviceId: attempt.deviceId, input: attempt.input, code })), data)
  }

  /** A grant with a valid proof under the attacker's newest key, for `to`'s latest request on the wire. */
  const keyedGrant = (to: Actor): Trace => {
    const key = newestKey()
    if (key === undefined) return []
    for (let i = network.length - 1; i >= 0; i--) {
      const w = network[i]!
      if (w.from !== to || w.label !== "AuthRequest") continue
      const r = Option.getOrThrow(decoded(w.bytes, "server")) as AuthRequest
      const challenge = policy.input === "server-challenge" ? (() => {
        for (let j = i; j >= 0; j--) {
          const m = decoded(network[j]!.bytes, network[j]!.to)
          if (Option.isSome(m) && m.value._tag === "AuthChallenge" && equalBytes(m.value.challenge, r.input)) return m.value.clientNonce
        }
        return undefined
      })() : new Uint8Array(0)
      if (challenge === undefined) return []
      const rollingInput = random(32)
      const proof = ok(grantProof(key.key, { deviceId: r.deviceId, clientNonce: challenge, input: r.input }, rollingInput))
      return inject(to, "AuthGranted", AuthGranted.encode(AuthGranted.make({ deviceId: r.deviceId, rollingInput, proof })), `attacker-grant@k${key.epoch}`)
    }
    return []
  }

  // ---- user actions, honest and intercepted exchanges ----------------------------------------
  const user = (actor: Actor, action: string): Array<TraceEvent> => {
    const slot = slotOf(actor)
    if (slot === undefined) return []
    if (action === "register") return send(actor, "server", ok(slot.instance.register(USERNAME, PASSWORD)))
    const begun = run(slot.instance.beginAuth)
    return Either.isRight(begun) ? clientSend(slot, begun.right) : [{ _tag: "Reject", actor, reason: begun.left.reason }]
  }

  /**
   * A user action run with every message it causes delivered once, in order; `until` holds back
   * the first message with that label (the attacker intercepts it: a request not yet seen by the
   * server, or a grant the device never gets).
   */
  const honest = (actor: Actor, action: string, until?: string): Array<TraceEvent> => {
    const events = user(actor, action)
    const queue = sentTo(events, actor)
    while (queue.length > 0) {
      const ref = queue.shift()!
      if (until !== undefined && network[ref]!.label === until) break
      const delivered = deliver(ref, undefined)
      events.push(...delivered)
      queue.push(...sentTo(delivered, actor))
    }
    return events
  }

  const INTERCEPTED: Readonly<Record<string, string>> = { "login-until-request": "AuthRequest", "login-until-grant": "AuthGranted" }

  const step = (move: Move): Trace => {
    switch (move._tag) {
      case "User":
        // `login-until-<message>`: the user logs in and the attacker holds back that message.
        return INTERCEPTED[move.action] === undefined ? user(move.actor, move.action) : honest(move.actor, "login", INTERCEPTED[move.action])
      case "Honest":
        return honest(move.actor, move.action)
      case "Deliver":
        return deliver(move.ref, move.to)
      case "Crash": {
        // A crash loses the volatile state: rebuild the participant from its durable store.
        if (move.actor === "server") server = buildServer()
        else {
          const slot = slotOf(move.actor)
          if (slot !== undefined) {
            slot.instance = buildClient(slot.store)
            slot.pending = undefined
          }
        }
        return [{ _tag: "Crash", actor: move.actor }]
      }
      case "Timeout": {
        const slot = slotOf(move.actor)
        if (slot !== undefined) {
          ok(slot.instance.timeout)
          slot.pending = undefined
        }
        return [{ _tag: "Tick", actor: move.actor }]
      }
      case "Compromise": {
        const record = ok(device.store.load)
        if (Option.isNone(record)) return []
        const store = makeInMemoryClientStore(copyClientRecord(record.value))
        clone = { actor: "clone", store, instance: buildClient(store), requests: device.requests, pending: undefined }
        const events: Array<TraceEvent> = [{ _tag: "Reveal", name: `k${record.value.epoch}`, via: "compromise" }]
        const key = Redacted.value(record.value.key)
        const id = `compromise:${toHex(key)}`
        if (!known.some((k) => equalBytes(k.key, key))) known.push({ key, epoch: record.value.epoch, via: "compromise" })
        revealed.add(id)
        return [...events, ...deduce()]
      }
      case "Inject": {
        if (move.forge === "grant") {
          const record = ok((slotOf(move.to) ?? device).store.load)
          const deviceId = Option.isSome(record) ? record.value.deviceId : new Uint8Array(16)
          return inject(move.to, "AuthGranted", AuthGranted.encode(AuthGranted.make({ deviceId, rollingInput: random(32), proof: new Uint8Array(0) })))
        }
        if (move.forge === "code") return forgedRequest()
        if (move.forge === "grant:keyed") return keyedGrant(move.to)
        const edited = byteAttack(network, move)
        if (edited !== undefined) return inject(edited.to, edited.label, edited.bytes)
        const kind = move.forge.replace(/^malformed:/, "") as (typeof MALFORMED_KINDS)[number]
        return inject(move.to, move.forge, malformed(move.to, kind))
      }
    }
  }

  const phaseOf = (slot: ClientSlot): string => ok(slot.instance.observe).phase

  const moves = (): ReadonlyArray<Move> => {
    const out: Array<Move> = []
    const hasClone = clone !== undefined
    const hasKey = usable().length > 0
    // User actions and timeouts per client, as the model has them; intercepted exchanges; forged grants.
    for (const slot of slots()) {
      const actor = slot.actor
      const phase = phaseOf(slot)
      if (phase === "unregistered" && actor === "client") out.push({ _tag: "User", actor, action: "register" }, { _tag: "Honest", actor, action: "register" })
      if (phase === "ready") {
        out.push({ _tag: "User", actor, action: "login" }, { _tag: "Honest", actor, action: "login" })
        // Intercepted logins are user actions too: the user starts a login, the network holds back
        // one message (so they do not dilute the whole honest exchanges the model also has).
        if (policy.input === "server-challenge") out.push({ _tag: "User", actor, action: "login-until-request" })
        out.push({ _tag: "User", actor, action: "login-until-grant" })
      }
      if (phase === "awaitingGrant") {
        out.push({ _tag: "Inject", to: actor, forge: "grant" })
        if (hasKey) out.push({ _tag: "Inject", to: actor, forge: "grant:keyed" })
      }
      if (phase.startsWith("awaiting") || phase === "registering") out.push({ _tag: "Timeout", actor })
    }
    // Delivery of every message seen: first, replay, and redirects to every other participant
    // (TLS messages only once, to their addressee).
    network.forEach((m, ref) => {
      // The server's replies to the attacker's own messages are the attacker's to read, not to deliver.
      if (m.to === "attacker") return
      if (m.tls) {
        if (!m.delivered) out.push({ _tag: "Deliver", ref })
        return
      }
      out.push({ _tag: "Deliver", ref })
      for (const other of [...CLIENTS.filter((c) => c === "client" || hasClone), "server"] as const)
        if (other !== m.to && !(m.to === "server" && other === "clone") && !(m.to === "server" && other === "client" && m.from !== "client") ) out.push({ _tag: "Deliver", ref, to: other })
    })
    out.push({ _tag: "Crash", actor: "client" }, ...(options.remote === undefined ? [{ _tag: "Crash", actor: "server" } as const] : []))
    if (options.clone && !hasClone && Option.isSome(ok(device.store.load))) out.push({ _tag: "Compromise", actor: "client", into: "clone" })
    // A code over the latest challenge seen: computed with the attacker's newest key (one per key
    // it learned, as in the model), or guessed.
    if (attackerRequests < usable().length || (options.malformed && latestChallenge() !== undefined)) out.push({ _tag: "Inject", to: "server", forge: "code" })
    if (!options.malformed) return out
    for (const kind of MALFORMED_KINDS) for (const to of ["server", "client"] as const) out.push({ _tag: "Inject", to, forge: `malformed:${kind}` })
    // Byte edits of messages in flight, outside TLS. An edit of a message already delivered meets
    // a consumed challenge or a client no longer waiting, which replays already cover. AuthBegin
    // and AuthChallenge are unauthenticated by design (SECURITY.md §6): an edited one is simply
    // another request for a challenge, or another challenge, which the code then fails to cover.
    // Every P5 field has a fixed length (or none), so a cut field dies in the decoder, which the
    // malformed injections already exercise: only flips and splices reach the participants' checks.
    out.push(...byteAttackMoves(network, { skip: (m) => UNEDITED.has(m.label) || m.to === "attacker" || (m as WireMessage).delivered }).filter((m) => m._tag !== "Inject" || !m.forge.startsWith("cut:")))
    return out
  }

  const observe = (): Observation => {
    const c = ok(device.instance.observe)
    return {
      client: { phase: c.phase, epoch: c.epoch },
      // Read from the durable store (what the code did), in the order devices were stored.
      server: ok(serverStore.all).map((d) => ({
        currentEpoch: d.current.epoch,
        previousEpoch: Option.getOrNull(Option.map(d.previous, (k) => k.epoch)),
        retiredEpoch: Option.getOrNull(Option.map(d.retired, (k) => k.epoch)),
        hasChallenge: Option.isSome(d.challenge)
      }))
    }
  }

  const continuation = (): Trace => {
    // As in the model: the device restarts from its durable storage, registers if it must, logs in.
    const events: Array<TraceEvent> = [{ _tag: "FaultsEnd" }, ...step({ _tag: "Crash", actor: "client" })]
    const phase = () => ok(device.instance.observe).phase
    if (phase() === "unregistered") events.push(...honest("client", "register"))
    events.push(...honest("client", "login"))
    return events
  }

  const initialTrace = options.start === "registered" ? honest("client", "register") : []
  return { initialTrace, moves, step, observe, continuation }
}
