/**
 * The P2a implementation as a `World`: the real Effect services (impl/se-channel) — the browser
 * platform, the SecureElement and the Server — over in-memory stores, P-256 ECDH and ECDSA,
 * HKDF-SHA256, HMAC receipts and AES-256-GCM records through the node:crypto layer (impl/crypto
 * proves it agrees with noble), a seeded random source, driven by the attacker's moves
 * (spec/attacker.ts).
 *
 * The world is its own attacker: its moves come from the bytes it has seen, never from the model —
 * every move the model would enable in the same situation (so model paths replay here), plus
 * garbage (`malformed:*`), ephemerals that are not points (`invalid-point:*`) and byte edits of
 * captured messages (`tamper`, `cut`, `splice`: properties/harness/byte-attacks.ts). Its
 * forgeries are real: it builds SeHellos from the public certificates, draws its own P-256
 * ephemerals, and computes receipts and keys with the private keys it holds (its ephemerals; the
 * bank's static key once it copied the server's key store) — zero bytes in place of an ECDH value
 * it cannot compute, so whatever a key does not depend on, it gets right.
 *
 * The harness is the trusted observer: it names ephemerals by who drew them (`e1` the SE's first,
 * `s1` the server's, `x1` the attacker's, `?` one nobody drew), keys by their bytes (`K1…` in order
 * of first appearance), certificates and identity data by comparing bytes with what the CA issued,
 * turns results into the trace conventions of spec/se-channel/properties.ts, judges what the
 * attacker can compute (a `Reveal` is a key it actually derived), and signals a refusal that left
 * a participant's store changed.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { Context, Effect, Either, Layer, Schema } from "effect"
import type { Move } from "../../spec/attacker.ts"
import { transcript } from "../../spec/codec.ts"
import { Record as RecordMessage, SeFinish, SeHello, SeOpen, ServerHello, ToSe, ToServer } from "../../spec/se-channel/messages.ts"
import { SERVER_KEY_NAME } from "../../spec/se-channel/properties.ts"
import { MAX_RECORDS, MAX_VISITS, type Policy, SE_ID, SERVER } from "../../spec/se-channel/variants.ts"
import type { Actor, Trace, TraceEvent } from "../../spec/trace.ts"
import { CryptoNode } from "../../impl/crypto/node.ts"
import { isP256Point } from "../../impl/crypto/noble.ts"
import { SecureRandomSeeded } from "../../impl/crypto/random.ts"
import { Crypto, SecureRandom } from "../../impl/crypto/services.ts"
import { makeBrowser } from "../../impl/se-channel/browser.ts"
import { type Deployment, makeDeployment } from "../../impl/se-channel/deployment.ts"
import { channelId, checkReceipt, type ChannelKeys, deriveKeys, ephemeralKeyPair, type Handshake, type KeySchedule, keySchedule, receipt } from "../../impl/se-channel/keys.ts"
import { openRecord, recordLayer } from "../../impl/se-channel/records.ts"
import { makeSecureElement, type SeOptions } from "../../impl/se-channel/secure-element.ts"
import { makeServer, type Server, ServerError, type ServerOptions, type ServerOutcome, type ServerReason } from "../../impl/se-channel/server.ts"
import { emptyChannels, fingerprint, hex, inMemoryStore, putSession, type SeSession, type SeState, type ServerSession, type ServerState, type Store } from "../../impl/se-channel/store.ts"
import type { Observation } from "../../model/se-channel/system.ts"
import { FORGES } from "../../model/se-channel/system.ts"
import type { RemoteParticipants } from "../definition.ts"
import { byteAttack, byteAttackMoves, garbage, GARBAGE_KINDS } from "../harness/byte-attacks.ts"
import { seedFixture, servedSeed } from "../harness/served.ts"
import type { World } from "../harness/world.ts"
import type { SeChannelImplFlaw } from "./mutants/index.ts"

export const MALFORMED_KINDS = GARBAGE_KINDS
export const INVALID_POINTS = ["off-curve", "x-too-large", "bad-prefix", "zero"] as const

export interface ImplWorldOptions {
  readonly policy: Policy
  readonly seed: number
  readonly malformed: boolean
  readonly flaw?: SeChannelImplFlaw
  /**
   * The bank's server is served elsewhere (`authlab conform`): provisioned with this run's seed,
   * driven through these proxies, never crashed; its store is out of sight, so the world keeps a
   * view of its channels from its answers (`remoteServer`).
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

let crypto: Context.Context<Crypto> | undefined
const cryptoContext = () => (crypto ??= Effect.runSync(Effect.scoped(Layer.build(CryptoNode))))

/** Enrolment is out of band and the same for every run: made once per process. */
let deployment: Deployment | undefined
const deploymentNow = () => (deployment ??= Effect.runSync(Effect.provide(makeDeployment, cryptoContext())))

/** SEC1 encodings that are not P-256 points, each refused by the decoder's length check only if wrong-sized (they are 33 bytes). */
const invalidPoints = (() => {
  let cache: Record<(typeof INVALID_POINTS)[number], Uint8Array> | undefined
  return () => {
    if (cache !== undefined) return cache
    // the smallest x with no y on the curve (x³ − 3x + b a non-residue)
    let offCurve = new Uint8Array(33)
    for (let x = 1; x < 256; x++) {
      const candidate = new Uint8Array(33)
      candidate[0] = 2
      candidate[32] = x
      if (!isP256Point(candidate)) {
        offCurve = candidate
        break
      }
    }
    const valid = deploymentNow().server.key
    return (cache = {
      "off-curve": offCurve,
      "x-too-large": Uint8Array.from([2, ...new Uint8Array(32).fill(0xff)]),
      "bad-prefix": Uint8Array.from([5, ...valid.subarray(1)]),
      zero: new Uint8Array(33)
    })
  }
})()

const decodeSe = Schema.decodeUnknownEither(ToSe)
const decodeServer = Schema.decodeUnknownEither(ToServer)
const text = new TextEncoder()
const untext = new TextDecoder()
const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])

/** The deployment's server as every world builds it, in process or served (properties/se-channel/serve.ts): the real service over `store`, a mutant's decorators applied. */
export const serverOptionsFor = (policy: Policy, store: Store<ServerState>, flaw: SeChannelImplFlaw | undefined): ServerOptions => {
  const d = deploymentNow()
  const base: ServerOptions = { policy, name: d.server.name, staticSecret: d.server.secret, staticKey: d.server.key, caKey: d.caKey, store, schedule: flaw?.schedule ?? keySchedule, ...(flaw?.records === undefined ? {} : { records: flaw.records }) }
  return flaw?.server?.(base) ?? base
}


/** A record opened whatever its sequence number: the observer reads what a record the server accepted says. */
const readingLayer = { ...recordLayer, acceptsSeq: () => true }

/**
 * Keys no participant but the served server can hold: it answered a SeOpen whose ephemeral nobody
 * drew, or (hardened) its receipt did not verify under the keys the protocol derives. A stand-in
 * that names them apart, from public bytes only (no key the attacker or the SE could compute).
 */
const unreadKeys = (hello: ServerHello): ChannelKeys => {
  const part = (i: number) => sha256(transcript("authlab/se-channel/conform/unread-key/v1", [hello.channel, hello.ephemeral, String(i)]))
  return { transcriptHash: part(0), confirmServer: part(1), confirmSe: part(2), seToServer: part(3), serverToSe: part(4) }
}

/** What the world may read of a served server's answer: its request strictly decoded, or nothing (a lenient server took bytes the protocol refuses). */
const strictly = <A>(decode: (b: Uint8Array) => Either.Either<A, unknown>, bytes: Uint8Array | undefined): A | undefined => {
  const d = decode(bytes ?? new Uint8Array(0))
  return Either.isRight(d) ? d.right : undefined
}

/**
 * A served server (`authlab conform`) as the world's participant: its answers over HTTP read back as
 * the service's results, and `view` — the world's copy of the server's channels — kept from them
 * as server.ts keeps its store, so the rest of the world reads the server as it reads its own.
 *
 * The server's keys are not read (they never leave it): a channel's keys are those the protocol
 * derives from the handshake it answered (the SeOpen it took, the ServerHello it sent), computed with
 * the ephemeral secret of whoever drew the SeOpen's ephemeral (`secretOf`: the local SE or the
 * attacker); `hardened` takes them only when the server's receipt verifies under them (the server
 * proved it holds them), `claimed` (no receipt) as the server's unless its records say otherwise.
 * A record the server accepted is read under its channel's keys. A channel the world cannot derive
 * gets `unreadKeys`. The application's sends go to the `application` route (spec/se-channel/SPEC.md
 * §HTTP binding).
 */
const remoteServer = (
  remote: RemoteParticipants,
  view: Store<ServerState>,
  keysOf: (open: SeOpen, hello: ServerHello) => ChannelKeys,
  run: <A, E>(effect: Effect.Effect<A, E, Crypto | SecureRandom>) => Either.Either<A, E>
): Server => {
  const ok = <A>(effect: Effect.Effect<A, never, Crypto | SecureRandom>): A => Either.getOrThrow(run(effect))
  const sessionOf = (channel: Uint8Array) => ok(view.snapshot).sessions.get(hex(channel))
  const store = (session: ServerSession, latest: boolean) => ok(view.transact((s) => [undefined, putSession(s, session, latest)] as const))
  const refused = (reason: string) => Effect.fail(new ServerError({ reason: reason as ServerReason }))
  /** A step the world cannot read (no strict decoding of what the server took): its channel names no session of the view. */
  const unread = (): ServerOutcome => ({ _tag: "Opened", channel: new Uint8Array(0) })
  return {
    receive: (bytes) =>
      Effect.suspend((): Effect.Effect<ServerOutcome, ServerError> => {
        const a = remote.send("server", bytes)
        if (a._tag === "Refusal") return refused(a.reason)
        const m = strictly(decodeServer, bytes)
        if (a.outcome === "answered" || a.outcome === "answered-opened") {
          const hello = strictly(Schema.decodeUnknownEither(ServerHello.wire), a.reply)
          if (hello === undefined) throw new Error(`the served server's ${a.outcome} answer carries no ServerHello`)
          if (m?._tag !== "SeOpen") return Effect.succeed(unread())
          const opened = a.outcome === "answered-opened"
          store({ channel: hello.channel, seId: m.seId, seEphemeral: m.ephemeral, ephemeral: hello.ephemeral, keys: keysOf(m, hello), status: opened ? "open" : "pending", sent: 0, received: 0 }, opened)
          return Effect.succeed({ _tag: "Answered", channel: hello.channel, hello: a.reply!, opened })
        }
        if (a.outcome === "opened") {
          const session = m?._tag === "SeFinish" ? sessionOf(m.channel) : undefined
          if (session === undefined) return Effect.succeed(unread())
          store({ ...session, status: "open" }, true)
          return Effect.succeed({ _tag: "Opened", channel: session.channel })
        }
        if (a.outcome === "received") {
          const session = m?._tag === "Record" ? sessionOf(m.channel) : undefined
          if (session === undefined || m?._tag !== "Record") return Effect.succeed(unread())
          store({ ...session, received: session.received + 1 }, false)
          const read = run(openRecord(readingLayer, session.keys, "se>server", 0, m))
          return Effect.succeed({ _tag: "Received", channel: session.channel, plaintext: Either.getOrElse(read, () => text.encode("?")) })
        }
        throw new Error(`the served server answered with outcome ${JSON.stringify(a.outcome)}, which P2a has not`)
      }),
    send: (plaintext) =>
      Effect.suspend((): Effect.Effect<Uint8Array, ServerError> => {
        const a = remote.send("application", plaintext)
        if (a._tag === "Refusal") return refused(a.reason)
        const record = strictly(Schema.decodeUnknownEither(RecordMessage.wire), a.reply)
        if (record === undefined) throw new Error("the served server's application answer carries no Record")
        const session = sessionOf(record.channel)
        if (session !== undefined) store({ ...session, sent: session.sent + 1 }, false)
        return Effect.succeed(a.reply!)
      })
  }
}

export const makeImplWorld = (options: ImplWorldOptions): World<Observation> => {
  const { policy, flaw } = options
  const d = deploymentNow()
  const context = Context.merge(cryptoContext(), Effect.runSync(Effect.scoped(Layer.build(SecureRandomSeeded(options.seed)))))
  const run = <A, E>(effect: Effect.Effect<A, E, Crypto | SecureRandom>): Either.Either<A, E> => Effect.runSync(Effect.either(Effect.provide(effect, context)))
  const ok = <A>(effect: Effect.Effect<A, unknown, Crypto | SecureRandom>): A => Either.getOrThrow(run(effect))

  const { remote } = options
  const schedule: KeySchedule = flaw?.schedule ?? keySchedule
  const seStore: Store<SeState> = ok(inMemoryStore(emptyChannels<SeSession>()))
  // With a served server, what the world knows of its channels (its answers), never its store.
  const serverStore: Store<ServerState> = ok(inMemoryStore(emptyChannels<ServerSession>()))
  const seBase: SeOptions = { policy, seId: d.se.id, staticSecret: d.se.secret, cert: d.se.cert, caKey: d.caKey, pairingKey: d.pairingKey, store: seStore, schedule, ...(flaw?.records === undefined ? {} : { records: flaw.records }) }
  const se = makeSecureElement(flaw?.se?.(seBase) ?? seBase)
  remote?.reset(seedFixture(servedSeed(options.seed)))
  const server: Server = remote === undefined ? makeServer(serverOptionsFor(policy, serverStore, flaw)) : remoteServer(remote, serverStore, (open, hello) => servedKeys(open, hello), run)
  const browser = makeBrowser({ policy, pairingKey: d.pairingKey })

  const network: Array<WireMessage> = []
  /** Ephemeral public keys (hex) → names; channel ids (hex) → the name of the SE-side ephemeral. */
  const ephNames = new Map<string, string>()
  const chanNames = new Map<string, string>()
  const counters = { e: 0, s: 0, x: 0, K: 0, seRecords: 0, serverRecords: 0, visits: 0 }
  const keyNames = new Map<string, string>()
  /** The attacker's private keys, by public key (hex). */
  const attackerKeys = new Map<string, Uint8Array>()
  /** The SE's ephemeral secrets, by public key (hex): the observer's copy, kept across the SE's crashes. */
  const seSecrets = new Map<string, Uint8Array>()

  /** The keys a served server holds for the handshake it answered, as far as the world can tell (see `remoteServer`). */
  const servedKeys = (open: SeOpen, hello: ServerHello): ChannelKeys => {
    const secret = seSecrets.get(hex(open.ephemeral)) ?? attackerKeys.get(hex(open.ephemeral))
    if (secret === undefined) return unreadKeys(hello)
    const z = run(Effect.flatMap(Crypto, (c) => Effect.all({ ee: c.p256SharedSecret(secret, hello.ephemeral), es: c.p256SharedSecret(secret, d.server.key) })))
    if (Either.isLeft(z)) return unreadKeys(hello)
    const keys = ok(Effect.orDie(deriveKeys(policy, schedule, { seId: open.seId, subject: SERVER, serverKey: d.server.key, seEphemeral: open.ephemeral, serverEphemeral: hello.ephemeral }, z.right)))
    if (policy.confirmation === "both" && Either.isLeft(run(checkReceipt("server", keys, hello.confirm)))) return unreadKeys(hello)
    return keys
  }
  let compromised = false
  /** Every key a participant held, with the public values it came from, for the attacker to try. */
  const held: Array<{ readonly name: string; readonly handshake: Handshake; readonly keys: ChannelKeys }> = []
  const revealed = new Set<string>()
  /** What the SE was shown for each channel it opened a handshake on (from the hello bytes). */
  const helloOf = new Map<string, { readonly subject: string }>()

  const nameEph = (pub: Uint8Array, prefix: "e" | "s" | "x") => {
    const k = hex(pub)
    if (!ephNames.has(k)) ephNames.set(k, `${prefix}${++counters[prefix]}`)
    return ephNames.get(k)!
  }
  const ephName = (pub: Uint8Array) => ephNames.get(hex(pub)) ?? "?"
  const chanName = (channel: Uint8Array) => chanNames.get(hex(channel)) ?? "?"
  const keyName = (keys: ChannelKeys) => {
    const k = hex(Uint8Array.from([...keys.confirmServer, ...keys.confirmSe, ...keys.seToServer, ...keys.serverToSe]))
    if (!keyNames.has(k)) keyNames.set(k, `K${++counters.K}`)
    return keyNames.get(k)!
  }
  const remember = (name: string, handshake: Handshake, keys: ChannelKeys) => {
    if (!held.some((h) => h.name === name)) held.push({ name, handshake, keys })
  }

  const certName = (m: SeHello) => {
    for (const [name, c] of Object.entries(d.certs)) if (c.subject === m.subject && equal(c.link, m.link) && equal(c.serverKey, m.serverKey) && equal(c.caSig, m.caSig)) return name
    return "forged"
  }
  const originName = (origin: string, tlsHash?: Uint8Array) => {
    for (const [name, id] of Object.entries(d.identities)) if (id.origin === origin && (tlsHash === undefined || equal(id.tlsHash, tlsHash))) return name
    return "?"
  }

  const dataOf = (to: Actor, bytes: Uint8Array): string | undefined => {
    const m = to === "se" ? decodedOnce(bytes, asToSe) : to === "server" ? decodedOnce(bytes, asToServer) : undefined
    if (m === undefined) return undefined
    if (m._tag === "SeOpen") return `open;se=${m.seId};e=${ephName(m.ephemeral)}`
    if (m._tag === "SeHello") return undefined
    return `chan;e=${chanName(m.channel)}`
  }

  const send = (from: Actor, to: Actor, bytes: Uint8Array, label: string, delivered = false): Array<TraceEvent> => {
    const ref = network.length
    network.push({ from, to, bytes, label, delivered })
    const data = dataOf(to, bytes)
    return [{ _tag: "Send", from, to, ref, label, ...(data === undefined ? {} : { data }) }]
  }

  const seSessionOf = (channel: Uint8Array) => ok(seStore.snapshot).sessions.get(hex(channel))
  const serverSessionOf = (channel: Uint8Array) => ok(serverStore.snapshot).sessions.get(hex(channel))

  const toSe = (bytes: Uint8Array): Array<TraceEvent> => {
    const before = fingerprint(ok(seStore.snapshot))
    const r = run(se.receive(bytes))
    if (Either.isLeft(r)) {
      const events: Array<TraceEvent> = [{ _tag: "Reject", actor: "se", reason: r.left.reason }]
      if (fingerprint(ok(seStore.snapshot)) !== before) events.push({ _tag: "Signal", actor: "se", signal: "state-changed-on-reject" })
      return events
    }
    const out = r.right
    if (out._tag === "Opening") {
      const hello = decodedOnce(bytes, asHello)!
      const open = decodedOnce(out.open, asOpen)!
      const pending = seSessionOf(out.channel)
      if (pending !== undefined) seSecrets.set(hex(pending.ephemeral), pending.ephemeralSecret)
      const e = nameEph(open.ephemeral, "e")
      chanNames.set(hex(out.channel), e)
      helloOf.set(hex(out.channel), { subject: hello.subject })
      return [
        { _tag: "Accept", actor: "se", data: `hello;cert=${certName(hello)};origin=${originName(hello.origin, hello.tlsHash)}` },
        { _tag: "Running", actor: "se", peer: "server", data: `open;se=${SE_ID};e=${e}` },
        ...send("se", "server", out.open, "SeOpen")
      ]
    }
    const session = seSessionOf(out.channel)!
    const keys = session.keys!
    const K = keyName(keys)
    if (out._tag === "Opened") {
      remember(K, { seId: SE_ID, subject: session.subject, serverKey: session.serverKey, seEphemeral: session.ephemeral, serverEphemeral: session.serverEphemeral! }, keys)
      const subject = helloOf.get(hex(out.channel))?.subject ?? "?"
      return [
        { _tag: "Commit", actor: "se", peer: "server", data: `chan;se=${SE_ID};srv=${subject};e=${chanName(out.channel)};s=${ephName(session.serverEphemeral!)};k=${K}` },
        { _tag: "Secret", actor: "se", name: K },
        ...(out.finish === undefined ? [] : send("se", "server", out.finish, "SeFinish"))
      ]
    }
    return [{ _tag: "Accept", actor: "se", data: `rec;p=${untext.decode(out.plaintext)};k=${K}` }]
  }

  const toServer = (bytes: Uint8Array): Array<TraceEvent> => {
    const before = fingerprint(ok(serverStore.snapshot))
    const r = run(server.receive(bytes))
    if (Either.isLeft(r)) {
      const events: Array<TraceEvent> = [{ _tag: "Reject", actor: "server", reason: r.left.reason }]
      if (fingerprint(ok(serverStore.snapshot)) !== before) events.push({ _tag: "Signal", actor: "server", signal: "state-changed-on-reject" })
      return events
    }
    const out = r.right
    const session = serverSessionOf(out.channel)
    // only a served server takes a step on bytes the world cannot read (a lenient one, on a malformed message)
    if (session === undefined) return [{ _tag: "Accept", actor: "server", data: `unread;${out._tag}` }]
    const K = keyName(session.keys)
    const e = ephName(session.seEphemeral)
    if (!chanNames.has(hex(out.channel))) chanNames.set(hex(out.channel), e)
    const open = `open;se=${session.seId};e=${e}`
    if (out._tag === "Answered") {
      const s = nameEph(session.ephemeral, "s")
      remember(K, { seId: session.seId, subject: SERVER, serverKey: d.server.key, seEphemeral: session.seEphemeral, serverEphemeral: session.ephemeral }, session.keys)
      return [
        { _tag: "Running", actor: "server", peer: "se", data: `chan;se=${session.seId};srv=${SERVER};e=${e};s=${s};k=${K}` },
        { _tag: "Secret", actor: "server", name: K },
        ...(out.opened ? [{ _tag: "Commit", actor: "server", peer: "se", data: open } as const, { _tag: "Secret", actor: "server", name: K } as const] : [{ _tag: "Accept", actor: "server", data: open } as const]),
        ...send("server", "se", out.hello, "ServerHello")
      ]
    }
    if (out._tag === "Opened") return [{ _tag: "Commit", actor: "server", peer: "se", data: open }, { _tag: "Secret", actor: "server", name: K }]
    return [{ _tag: "Accept", actor: "server", data: `rec;p=${untext.decode(out.plaintext)};k=${K}` }]
  }

  /** The keys the attacker computes for `h`: each ECDH value it can make, zeros for the others. */
  const attackerKeysFor = (h: Handshake): ChannelKeys => {
    const zero = new Uint8Array(32)
    const privOf = (pub: Uint8Array) => attackerKeys.get(hex(pub)) ?? (compromised && equal(pub, d.server.key) ? d.server.secret : undefined)
    const dhWith = (a: Uint8Array, b: Uint8Array) => {
      const pa = privOf(a)
      if (pa !== undefined) return ok(Effect.flatMap(Crypto, (c) => Effect.orDie(c.p256SharedSecret(pa, b))))
      const pb = privOf(b)
      return pb === undefined ? zero : ok(Effect.flatMap(Crypto, (c) => Effect.orDie(c.p256SharedSecret(pb, a))))
    }
    return ok(Effect.orDie(deriveKeys(policy, schedule, h, { ee: dhWith(h.seEphemeral, h.serverEphemeral), es: dhWith(h.seEphemeral, h.serverKey) })))
  }

  /**
   * Reveal every held key the attacker now computes (once each). A key is tried again only when the
   * attacker's knowledge grew (a new ephemeral of its own, the server's key), and only when it holds
   * the private key of one of the handshake's points: every schedule rests on some ECDH value, and
   * without one the attacker has nothing but zeros.
   */
  const triedAt = new Map<string, number>()
  const knowledge = () => attackerKeys.size + (compromised ? 1 : 0)
  const reveals = (): Array<TraceEvent> =>
    held.flatMap((k) => {
      if (revealed.has(k.name) || triedAt.get(k.name) === knowledge()) return []
      triedAt.set(k.name, knowledge())
      const h = k.handshake
      const holds = (pub: Uint8Array) => attackerKeys.has(hex(pub)) || (compromised && equal(pub, d.server.key))
      if (!holds(h.seEphemeral) && !holds(h.serverEphemeral) && !holds(h.serverKey)) return []
      if (!equal(attackerKeysFor(h).seToServer, k.keys.seToServer)) return []
      revealed.add(k.name)
      return [{ _tag: "Reveal", name: k.name, via: "wire" } as const]
    })

  const deliverTo = (m: WireMessage, ref: number, how: "first" | "replay" | "injected", to: Actor = m.to): Array<TraceEvent> => {
    const data = dataOf(to, m.bytes)
    const events: Array<TraceEvent> = [{ _tag: "Deliver", to, ref, label: m.label, how, ...(data === undefined ? {} : { data }) }]
    if (to === "se") events.push(...toSe(m.bytes))
    else if (to === "server") events.push(...toServer(m.bytes))
    return [...events, ...reveals()]
  }

  const deliver = (ref: number, to?: Actor): Array<TraceEvent> => {
    const m = network[ref]!
    const how = m.delivered || to !== undefined ? "replay" : "first"
    m.delivered = true
    return deliverTo(m, ref, how, to)
  }

  const inject = (to: Actor, bytes: Uint8Array, label: string): Array<TraceEvent> => {
    const ref = network.length
    const events = send("attacker", to, bytes, label, true)
    return [...events, ...deliverTo(network[ref]!, ref, "injected")]
  }

  const hasOpen = (store: Store<SeState> | Store<ServerState>) => ok(store.snapshot as Effect.Effect<SeState | ServerState>).latest !== undefined

  const userAction = (actor: Actor, action: string, bounded = true): Array<TraceEvent> | undefined => {
    if (actor === "browser" && (action === "visit-bank" || action === "visit-evil")) {
      if (bounded && counters.visits >= MAX_VISITS) return undefined
      counters.visits++
      const origin = action === "visit-bank" ? "bank" : "evil"
      const hello = ok(browser.visit(d.identities[origin]!, d.certs[origin]!))
      return [{ _tag: "Running", actor: "browser", peer: "se", data: `visit;origin=${origin}` }, ...send("browser", "se", hello, "SeHello")]
    }
    if (actor === "se" && action === "send") {
      if ((bounded && counters.seRecords >= MAX_RECORDS) || !hasOpen(seStore)) return undefined
      const payload = `se-${++counters.seRecords}`
      const state = ok(seStore.snapshot)
      const K = keyName(state.sessions.get(state.latest!)!.keys!)
      const bytes = ok(se.send(text.encode(payload)))
      return [{ _tag: "Running", actor: "se", peer: "server", data: `rec;p=${payload};k=${K}` }, ...send("se", "server", bytes, "Record")]
    }
    if (actor === "server" && action === "send") {
      if ((bounded && counters.serverRecords >= MAX_RECORDS) || !hasOpen(serverStore)) return undefined
      const payload = `srv-${++counters.serverRecords}`
      const state = ok(serverStore.snapshot)
      const K = keyName(state.sessions.get(state.latest!)!.keys)
      const sent = run(server.send(text.encode(payload)))
      // a served server may refuse (its channels are its own); ours never does here
      if (Either.isLeft(sent)) return [{ _tag: "Reject", actor: "server", reason: sent.left.reason }]
      return [{ _tag: "Running", actor: "server", peer: "se", data: `rec;p=${payload};k=${K}` }, ...send("server", "se", sent.right, "Record")]
    }
    return undefined
  }

  const honest = (actor: Actor, action: string, bounded = true): Array<TraceEvent> => {
    const from = network.length
    const events = userAction(actor, action, bounded)
    if (events === undefined) return []
    for (let ref = from; ref < network.length; ref++) if (!network[ref]!.delivered) events.push(...deliver(ref))
    return events
  }

  /** Each captured message decoded once (the log only grows, its bytes never change). */
  const decodedCache = new Map<(b: Uint8Array) => unknown, Map<Uint8Array, unknown>>()
  const decodedOnce = <A>(bytes: Uint8Array, decode: (b: Uint8Array) => A | undefined): A | undefined => {
    let cache = decodedCache.get(decode)
    if (cache === undefined) decodedCache.set(decode, (cache = new Map()))
    if (!cache.has(bytes)) cache.set(bytes, decode(bytes))
    return cache.get(bytes) as A | undefined
  }
  const latestFrom = <A>(label: string, decode: (b: Uint8Array) => A | undefined, from?: Actor): { m: WireMessage; decoded: A } | undefined => {
    for (let i = network.length - 1; i >= 0; i--) {
      const m = network[i]!
      if (m.label !== label || (from === undefined ? m.from === "attacker" : m.from !== from)) continue
      const decoded = decodedOnce(m.bytes, decode)
      if (decoded !== undefined) return { m, decoded }
    }
    return undefined
  }
  const orUndefined = <A>(e: Either.Either<A, unknown>): A | undefined => (Either.isRight(e) ? e.right : undefined)
  const asToSe = (b: Uint8Array): ToSe | undefined => orUndefined(decodeSe(b))
  const asToServer = (b: Uint8Array): ToServer | undefined => orUndefined(decodeServer(b))
  const asHello = (b: Uint8Array) => orUndefined(Schema.decodeUnknownEither(SeHello.wire)(b))
  const asOpen = (b: Uint8Array) => orUndefined(Schema.decodeUnknownEither(SeOpen.wire)(b))
  const asServerHello = (b: Uint8Array) => orUndefined(Schema.decodeUnknownEither(ServerHello.wire)(b))
  /** The channel ids of the attacker's own ephemerals. */
  const attackerChannels = new Set<string>()

  /** A fresh attacker key pair, remembered and named. */
  const attackerEphemeral = () => {
    const pair = ok(Effect.flatMap(SecureRandom, (r) => ephemeralKeyPair(r.bytes)))
    attackerKeys.set(hex(pair.public), pair.secret)
    attackerChannels.add(hex(channelId(pair.public)))
    nameEph(pair.public, "x")
    return pair
  }

  /** The server's latest answer to a SeOpen carrying one of the attacker's ephemerals. */
  const answerToAttacker = () =>
    latestFrom("ServerHello", (b) => {
      const h = asServerHello(b)
      return h !== undefined && attackerChannels.has(hex(h.channel)) ? h : undefined
    }, "server")

  const forgeable = (to: Actor, recipe: string): boolean => {
    if (to === "se" && recipe === "se:relay-bank") return true
    if (to === "se" && recipe === "se:swap-cert") return latestFrom("SeHello", asHello) !== undefined
    if (to === "se" && recipe === "se:server-hello") return latestFrom("SeOpen", asOpen, "se") !== undefined
    if (to === "server" && recipe === "server:open") return true
    if (to === "server" && recipe === "server:finish") return answerToAttacker() !== undefined
    return false
  }

  const forge = (to: Actor, recipe: string): Array<TraceEvent> => {
    if (!forgeable(to, recipe)) return []
    const bank = d.certs.bank!
    if (recipe === "se:relay-bank") return inject("se", SeHello.encode(SeHello.make({ ...bank, ...d.identities.bank!, platformTag: new Uint8Array(0) })), "SeHello")
    if (recipe === "se:swap-cert") {
      const { decoded } = latestFrom("SeHello", asHello)!
      return inject("se", SeHello.encode({ ...decoded, subject: bank.subject, link: bank.link, serverKey: bank.serverKey, caSig: bank.caSig }), "SeHello")
    }
    if (recipe === "se:server-hello") {
      const { decoded: open } = latestFrom("SeOpen", asOpen, "se")!
      const x = attackerEphemeral()
      const subject = helloOf.get(hex(channelId(open.ephemeral)))?.subject ?? SERVER
      const keys = attackerKeysFor({ seId: open.seId, subject, serverKey: d.server.key, seEphemeral: open.ephemeral, serverEphemeral: x.public })
      const confirm = policy.confirmation === "both" ? ok(receipt("server", keys)) : new Uint8Array(0)
      return inject("se", ServerHello.encode(ServerHello.make({ channel: channelId(open.ephemeral), ephemeral: x.public, confirm })), "ServerHello")
    }
    if (recipe === "server:open") {
      const x = attackerEphemeral()
      chanNames.set(hex(channelId(x.public)), ephName(x.public))
      return inject("server", SeOpen.encode(SeOpen.make({ seId: SE_ID, seKey: d.se.cert.seKey, seCaSig: d.se.cert.seCaSig, ephemeral: x.public, signature: new Uint8Array(0) })), "SeOpen")
    }
    if (recipe === "server:finish") {
      const { decoded: answer } = answerToAttacker()!
      const x = [...attackerKeys.keys()].map((pub) => Buffer.from(pub, "hex")).find((pub) => equal(channelId(pub), answer.channel))!
      const keys = attackerKeysFor({ seId: SE_ID, subject: SERVER, serverKey: d.server.key, seEphemeral: x, serverEphemeral: answer.ephemeral })
      return inject("server", SeFinish.encode(SeFinish.make({ channel: answer.channel, confirm: ok(receipt("se", keys)) })), "SeFinish")
    }
    return []
  }

  /** An ephemeral that is not a point: in a ServerHello for the SE's latest handshake, or in a SeOpen as se1. */
  const invalidPoint = (to: Actor, kind: (typeof INVALID_POINTS)[number]): Array<TraceEvent> => {
    const point = invalidPoints()[kind]
    const label = `invalid-point:${kind}`
    if (to === "se") {
      const open = latestFrom("SeOpen", asOpen, "se")
      const channel = open === undefined ? new Uint8Array(8) : channelId(open.decoded.ephemeral)
      return inject("se", ServerHello.encode(ServerHello.make({ channel, ephemeral: point, confirm: policy.confirmation === "both" ? new Uint8Array(32) : new Uint8Array(0) })), label)
    }
    return inject("server", SeOpen.encode(SeOpen.make({ seId: SE_ID, seKey: d.se.cert.seKey, seCaSig: d.se.cert.seCaSig, ephemeral: point, signature: new Uint8Array(0) })), label)
  }

  // the byte attacks depend only on the messages seen, and the log only grows: recompute them when it does
  let seenCache: { length: number; seen: Array<{ from: Actor; to: Actor; bytes: Uint8Array; label: string }>; moves: Array<Move> } | undefined
  const seenNow = () => {
    if (seenCache === undefined || seenCache.length !== network.length) {
      const seen = network.map((m) => ({ from: m.from, to: m.to, bytes: m.bytes, label: m.label }))
      seenCache = { length: network.length, seen, moves: options.malformed ? byteAttackMoves(seen) : [] }
    }
    return seenCache
  }

  /** Garbage: a captured message cut short or extended, or random bytes, to the SE or the server in turn. */
  const malformed = (kind: (typeof MALFORMED_KINDS)[number]): Array<TraceEvent> => {
    const r = ok(Effect.flatMap(SecureRandom, (x) => x.bytes(2)))
    const to: Actor = r[0]! % 2 === 0 ? "se" : "server"
    const source = [...network].reverse().find((m) => m.to === to && m.from !== "attacker")
    const bytes = garbage(kind, r[1]!, source?.bytes, (n) => ok(Effect.flatMap(SecureRandom, (x) => x.bytes(n))))
    return inject(to, bytes, `malformed:${kind}`)
  }

  const crash = (actor: Actor): Array<TraceEvent> => {
    const store = actor === "se" ? seStore : serverStore
    // sessions are volatile: the restarted participant has none
    ok((store as Store<SeState>).transact(() => [undefined, emptyChannels<SeSession>()] as const))
    return [{ _tag: "Crash", actor }]
  }

  const step = (move: Move): Trace => {
    switch (move._tag) {
      case "User":
        return userAction(move.actor, move.action) ?? []
      case "Honest":
        return honest(move.actor, move.action)
      case "Deliver":
        return network[move.ref] === undefined ? [] : deliver(move.ref, move.to)
      case "Crash":
        // a served server is never crashed (the world cannot restart a remote process)
        return move.actor === "se" || (move.actor === "server" && remote === undefined) ? crash(move.actor) : []
      case "Compromise":
        if (move.actor !== "server" || compromised) return []
        compromised = true
        return [{ _tag: "Reveal", name: SERVER_KEY_NAME, via: "compromise" }, ...reveals()]
      case "Inject": {
        if (move.forge.startsWith("malformed:")) return malformed(move.forge.slice("malformed:".length) as (typeof MALFORMED_KINDS)[number])
        if (move.forge.startsWith("invalid-point:")) return invalidPoint(move.to, move.forge.slice("invalid-point:".length) as (typeof INVALID_POINTS)[number])
        const edit = byteAttack(seenNow().seen, move)
        if (edit !== undefined) return inject(edit.to, edit.bytes, edit.label)
        return forge(move.to, move.forge)
      }
      default:
        return []
    }
  }

  const moves = (): ReadonlyArray<Move> => {
    const out: Array<Move> = []
    if (counters.visits < MAX_VISITS) for (const action of ["visit-bank", "visit-evil"]) out.push({ _tag: "User", actor: "browser", action }, { _tag: "Honest", actor: "browser", action })
    // beyond the model's moves: a record sent and delivered at once (a model path never needs it; random runs reach replays sooner)
    if (hasOpen(seStore) && counters.seRecords < MAX_RECORDS) out.push({ _tag: "User", actor: "se", action: "send" }, { _tag: "Honest", actor: "se", action: "send" })
    if (hasOpen(serverStore) && counters.serverRecords < MAX_RECORDS) out.push({ _tag: "User", actor: "server", action: "send" }, { _tag: "Honest", actor: "server", action: "send" })
    out.push({ _tag: "Crash", actor: "se" }, ...(remote === undefined ? [{ _tag: "Crash", actor: "server" } as const] : []))
    if (!compromised) out.push({ _tag: "Compromise", actor: "server", into: "attacker" })
    for (const [to, forge] of FORGES) if (forgeable(to, forge)) out.push({ _tag: "Inject", to, forge })
    network.forEach((m, ref) => {
      if (m.from === "attacker") return
      out.push({ _tag: "Deliver", ref })
      if (m.label === "Record") out.push({ _tag: "Deliver", ref, to: m.from })
    })
    if (!options.malformed) return out
    return [
      ...out,
      ...MALFORMED_KINDS.map((kind) => ({ _tag: "Inject" as const, to: "any", forge: `malformed:${kind}` })),
      ...(["se", "server"] as const).flatMap((to) => INVALID_POINTS.map((kind) => ({ _tag: "Inject" as const, to, forge: `invalid-point:${kind}` }))),
      ...seenNow().moves
    ]
  }

  const observe = (): Observation => {
    const s = ok(seStore.snapshot)
    const v = ok(serverStore.snapshot)
    const latest = (l: string | undefined) => (l === undefined ? null : chanNames.get(l) ?? "?")
    return {
      se: {
        sessions: [...s.sessions.values()].map((x) => `${chanName(x.channel)}:${x.status}:${x.subject}:${originName(x.origin)}:${x.serverEphemeral === undefined ? "-" : ephName(x.serverEphemeral)}:${x.sent}:${x.received}`).sort(),
        latest: latest(s.latest)
      },
      server: {
        sessions: [...v.sessions.values()].map((x) => `${chanName(x.channel)}:${x.status}:${x.seId}:${ephName(x.ephemeral)}:${x.sent}:${x.received}`).sort(),
        latest: latest(v.latest)
      },
      visits: counters.visits
    }
  }

  const continuation = (): Trace => [{ _tag: "FaultsEnd" }, ...honest("browser", "visit-bank", false), ...honest("se", "send", false), ...honest("server", "send", false)]

  return { initialTrace: [], moves, step, observe, continuation }
}
