/**
 * The P5 implementation as a `World`: the real Effect services (impl/rolling-key) over in-memory
 * durable stores, real crypto (noble) and a seeded random source, driven by the attacker's moves.
 *
 * The harness is the trusted observer that turns what happens into the trace conventions of
 * spec/rolling-key/properties.ts: it names requests (`req3@k1`), decodes bytes only to label them,
 * scans every message for key bytes (P5.key-secrecy) and checks that a refused input left the
 * refuser's storage untouched (P5.malformed-input). Participants never see any of this.
 */
import { Effect, Either, Layer, Option, Redacted, Schema } from "effect"
import type { Move } from "../../spec/attacker.ts"
import { AuthGranted, ToClient, ToServer } from "../../spec/rolling-key/messages.ts"
import type { Policy } from "../../spec/rolling-key/variants.ts"
import { type Actor, sentTo, type Trace, type TraceEvent } from "../../spec/trace.ts"
import { CryptoNoble } from "../../impl/crypto/noble.ts"
import { SecureRandomSeeded } from "../../impl/crypto/random.ts"
import { SecureRandom } from "../../impl/crypto/services.ts"
import { makeClient, type RollingKeyClient } from "../../impl/rolling-key/client.ts"
import { makeServer, type RollingKeyServer, type ServerOptions } from "../../impl/rolling-key/server.ts"
import {
  type ClientStore,
  copyClientRecord,
  makeInMemoryClientStore,
  makeInMemoryServerStore,
  type ServerStore,
  snapshotClientStore,
  snapshotServerStore
} from "../../impl/rolling-key/store.ts"
import { enabledMoves, type Observation } from "../../model/rolling-key/system.ts"
import type { World } from "../harness/world.ts"

export const USERNAME = "alice"
export const PASSWORD = Redacted.make("correct horse battery staple")

/** Garbage the attacker can throw at a participant; each must be refused without a state change. */
export const MALFORMED_KINDS = ["truncated", "trailing", "random", "unknown-device", "wrong-length"] as const

export interface ImplWorldOptions {
  readonly policy: Policy
  /** Seeds every random byte the participants and the attacker draw. */
  readonly seed: number
  /** Whether the attacker may compromise the device (create a clone). */
  readonly clone: boolean
  /** Whether the attacker throws malformed bytes (P5.malformed-input). */
  readonly malformed: boolean
  /** `registered`: start after an honest registration, so runs reach the authentication phase. */
  readonly start: "fresh" | "registered"
  /** A lenient decoder, for the mutant that accepts trailing bytes. */
  readonly decode?: ServerOptions["decode"]
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

const TLS_LABELS = new Set(["RegisterRequest", "RegisterResponse", "RegisterKey"])

const decodeToServer = Schema.decodeUnknownEither(ToServer)
const decodeToClient = Schema.decodeUnknownEither(ToClient)

/** The message's tag, for the trace (the participants decode for themselves). */
const labelOf = (bytes: Uint8Array, to: Actor): string => {
  const decoded: Either.Either<{ readonly _tag: string }, unknown> = to === "server" ? decodeToServer(bytes) : decodeToClient(bytes)
  return Either.isRight(decoded) ? decoded.right._tag : "garbage"
}

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

const contains = (haystack: Uint8Array, needle: Uint8Array): boolean => {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer
    return true
  }
  return false
}

export const makeImplWorld = (options: ImplWorldOptions): World<Observation> => {
  const { policy } = options
  // Build the services once: the seeded random source is a stream, and every draw must advance it.
  const context = Effect.runSync(Effect.scoped(Layer.build(Layer.merge(CryptoNoble, SecureRandomSeeded(options.seed)))))
  const run = <A, E>(effect: Effect.Effect<A, E, Layer.Layer.Success<typeof CryptoNoble> | SecureRandom>): Either.Either<A, E> =>
    Effect.runSync(Effect.either(Effect.provide(effect, context)))
  const ok = <A>(effect: Effect.Effect<A, never, Layer.Layer.Success<typeof CryptoNoble> | SecureRandom>): A =>
    Either.getOrThrow(run(effect))

  const serverStore: ServerStore = makeInMemoryServerStore()
  const accounts = [{ username: USERNAME, password: PASSWORD }]
  const buildServer = (): RollingKeyServer =>
    ok(makeServer({ policy, store: serverStore, accounts, ...(options.decode === undefined ? {} : { decode: options.decode }) }))
  let server = buildServer()
  const device: ClientSlot = { actor: "client", store: makeInMemoryClientStore(), instance: undefined as never, requests: 0, pending: undefined }
  device.instance = ok(makeClient({ policy, store: device.store }))
  let clone: ClientSlot | undefined
  const network: Array<WireMessage> = []

  const slotOf = (actor: Actor): ClientSlot | undefined => (actor === "client" ? device : actor === "clone" ? clone : undefined)

  /** Every key any participant holds now, by epoch name (for the wire scan). */
  const heldKeys = (): Array<{ name: string; key: Uint8Array }> => {
    const keys: Array<{ name: string; key: Uint8Array }> = []
    for (const slot of [device, clone]) {
      const r = slot === undefined ? Option.none() : ok(slot.store.load)
      if (Option.isSome(r)) keys.push({ name: `k${r.value.epoch}`, key: Redacted.value(r.value.key) })
    }
    for (const d of ok(serverStore.all))
      for (const k of [Option.some(d.current), d.previous, d.retired])
        if (Option.isSome(k)) keys.push({ name: `k${k.value.epoch}`, key: Redacted.value(k.value.key) })
    return keys
  }

  const send = (from: Actor, to: Actor, bytes: Uint8Array, data?: string): Array<TraceEvent> => {
    const label = labelOf(bytes, to)
    const tls = TLS_LABELS.has(label)
    // One copy of identical messages outside TLS, as in the model (model/rolling-key/system.ts).
    const same = tls ? -1 : network.findIndex((m) => !m.tls && m.from === from && m.to === to && m.data === data && equalBytes(m.bytes, bytes))
    const ref = same < 0 ? network.length : same
    if (same < 0) network.push({ from, to, bytes, label, ...(data === undefined ? {} : { data }), tls, delivered: false })
    const events: Array<TraceEvent> = [{ _tag: "Send", from, to, ref, label, ...(data === undefined ? {} : { data }) }]
    const leaked = new Set(heldKeys().filter((k) => contains(bytes, k.key)).map((k) => k.name))
    for (const name of leaked) events.push({ _tag: "Reveal", name, via: "wire" })
    return events
  }

  /** A client-side send: name it if it is an authentication request. */
  const clientSend = (slot: ClientSlot, bytes: Uint8Array): Array<TraceEvent> => {
    if (labelOf(bytes, "server") !== "AuthRequest") return send(slot.actor, "server", bytes)
    const epoch = ok(slot.instance.observe).epoch
    const data = `${slot.actor === "client" ? "req" : "clone"}${slot.requests++}@k${epoch}`
    slot.pending = data
    return [{ _tag: "Running", actor: slot.actor, peer: "server", data }, ...send(slot.actor, "server", bytes, data)]
  }

  const deliverTo = (m: WireMessage, ref: number, target: Actor, how: "first" | "replay" | "injected"): Array<TraceEvent> => {
    const events: Array<TraceEvent> = [{ _tag: "Deliver", to: target, ref, label: m.label, how, ...(m.data === undefined ? {} : { data: m.data }) }]
    if (target === "server") {
      const before = ok(snapshotServerStore(serverStore))
      const result = run(server.receive(m.bytes))
      if (Either.isRight(result)) {
        if (result.right.event._tag === "authenticated")
          events.push({ _tag: "Commit", actor: "server", peer: "client", data: m.data ?? `forged#${ref}` })
        if (result.right.reply !== undefined) events.push(...send("server", m.from, result.right.reply))
      } else {
        const { reason, reply } = result.left
        if (reason === "clone-suspected") events.push({ _tag: "Signal", actor: "server", signal: "clone-suspected" })
        events.push({ _tag: "Reject", actor: "server", reason })
        if (!changesStateByDesign(reason) && JSON.stringify(ok(snapshotServerStore(serverStore))) !== JSON.stringify(before))
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

  const inject = (to: Actor, label: string, bytes: Uint8Array): Array<TraceEvent> => {
    const ref = network.length
    const m: WireMessage = { from: "attacker", to, bytes, label, tls: false, delivered: true }
    network.push(m)
    return [{ _tag: "Send", from: "attacker", to, ref, label }, ...deliverTo(m, ref, to, "injected")]
  }

  const malformed = (to: Actor, kind: (typeof MALFORMED_KINDS)[number]): Uint8Array => {
    const random = (n: number) => ok(Effect.flatMap(SecureRandom, (r) => r.bytes(n)))
    const sample = [...network].reverse().find((m) => m.to === to && m.label !== "garbage")?.bytes
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

  const user = (actor: Actor, action: string): Array<TraceEvent> => {
    const slot = slotOf(actor)
    if (slot === undefined) return []
    if (action === "register") return send(actor, "server", ok(slot.instance.register(USERNAME, PASSWORD)))
    const begun = run(slot.instance.beginAuth)
    return Either.isRight(begun) ? clientSend(slot, begun.right) : [{ _tag: "Reject", actor, reason: begun.left.reason }]
  }

  const honest = (actor: Actor, action: string): Array<TraceEvent> => {
    const events = user(actor, action)
    const queue = sentTo(events, actor)
    while (queue.length > 0) {
      const delivered = deliver(queue.shift()!, undefined)
      events.push(...delivered)
      queue.push(...sentTo(delivered, actor))
    }
    return events
  }

  const view = () => ({
    clients: [device, ...(clone === undefined ? [] : [clone])].map((s) => ({ actor: s.actor, phase: ok(s.instance.observe).phase as string })),
    deviceHasKey: Option.isSome(ok(device.store.load)),
    network
  })

  const step = (move: Move): Trace => {
    switch (move._tag) {
      case "User":
        return user(move.actor, move.action)
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
            slot.instance = ok(makeClient({ policy, store: slot.store }))
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
        clone = { actor: "clone", store, instance: ok(makeClient({ policy, store })), requests: device.requests, pending: undefined }
        return [{ _tag: "Reveal", name: `k${record.value.epoch}`, via: "compromise" }]
      }
      case "Inject": {
        if (move.forge === "grant") {
          const record = ok((slotOf(move.to) ?? device).store.load)
          const deviceId = Option.isSome(record) ? record.value.deviceId : new Uint8Array(16)
          const rollingInput = ok(Effect.flatMap(SecureRandom, (r) => r.bytes(32)))
          return inject(move.to, "AuthGranted", AuthGranted.encode(AuthGranted.make({ deviceId, rollingInput, proof: new Uint8Array(0) })))
        }
        const kind = move.forge.replace(/^malformed:/, "") as (typeof MALFORMED_KINDS)[number]
        return inject(move.to, move.forge, malformed(move.to, kind))
      }
    }
  }

  const moves = (): ReadonlyArray<Move> => {
    const base = enabledMoves(view(), { clone: options.clone })
    if (!options.malformed) return base
    const garbage: Array<Move> = MALFORMED_KINDS.flatMap((kind) =>
      (["server", "client"] as const).map((to) => ({ _tag: "Inject" as const, to, forge: `malformed:${kind}` }))
    )
    return [...base, ...garbage]
  }

  const observe = (): Observation => {
    const c = ok(device.instance.observe)
    return {
      client: { phase: c.phase, epoch: c.epoch },
      server: ok(server.observe).map((d) => ({
        currentEpoch: d.currentEpoch,
        previousEpoch: d.previousEpoch,
        retiredEpoch: d.retiredEpoch,
        hasChallenge: d.hasChallenge
      }))
    }
  }

  const continuation = (): Trace => {
    const events: Array<TraceEvent> = [{ _tag: "FaultsEnd" }]
    const phase = () => ok(device.instance.observe).phase
    if (phase().startsWith("awaiting") || phase() === "registering") events.push(...step({ _tag: "Timeout", actor: "client" }))
    if (phase() === "unregistered") events.push(...honest("client", "register"))
    events.push(...honest("client", "login"))
    return events
  }

  const initialTrace = options.start === "registered" ? honest("client", "register") : []
  return { initialTrace, moves, step, observe, continuation }
}

/** A bad code or a clone consumes the checked challenge: the one state change a refusal makes by design. */
const changesStateByDesign = (reason: string): boolean => reason === "bad-code" || reason === "clone-suspected"
