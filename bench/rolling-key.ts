/**
 * P5 rolling-key (NZ624154) on the `hardened` policy: what one login costs, against the raw
 * crypto it needs.
 *
 * A request cannot be made in advance: the code covers the server's fresh challenge and is keyed
 * by the key the previous login rolled to. So the unit of work is a whole login round, run in the
 * loop against a device registered before timing starts:
 *
 *   client.beginAuth → AuthBegin → server → AuthChallenge → client → AuthRequest → server
 *   (verify under current/previous/retired, roll, store) → AuthGranted → client (verify proof,
 *   roll, store)
 *
 * Two figures come out of it: the whole round (client + server), and the server's share alone —
 * the same loop, with only the two `server.receive` calls on the clock (`measureManual`). That
 * second one is "P5 server authentications per second (verify + rotate + store)".
 *
 * The baselines are the same primitive calls made directly on the raw library, in a loop that
 * also rolls its key, on inputs of the same lengths (transcripts built once, outside the loop):
 *
 *   round:  3 × 32 random bytes (client nonce, challenge, rolling input), 6 × HMAC-SHA256
 *           (client code; server tries 3 stored keys; server proof; client checks proof),
 *           2 × HKDF-SHA256 (server and client roll)
 *   server: 2 × 32 random bytes (challenge, rolling input), 4 × HMAC-SHA256, 1 × HKDF-SHA256
 *
 * so each ratio reads "protocol (decode, checks, store, Effect) on top of the crypto it needs".
 */
import { createHmac, hkdfSync, randomBytes as nodeRandomBytes, timingSafeEqual } from "node:crypto"
import { hkdf } from "@noble/hashes/hkdf.js"
import { hmac } from "@noble/hashes/hmac.js"
import { sha256 } from "@noble/hashes/sha2.js"
import { randomBytes as nobleRandomBytes } from "@noble/hashes/utils.js"
import { Effect, Either, Layer, Option, Redacted, Schema } from "effect"
import { splitAnyFrame, transcript } from "../spec/codec.ts"
import { DEVICE_ID_BYTES, KEY_BYTES, Labels, NONCE_BYTES, ToServer } from "../spec/rolling-key/messages.ts"
import { hardened } from "../spec/rolling-key/variants.ts"
import { constantTimeEqual } from "../impl/crypto/bytes.ts"
import { CryptoNoble } from "../impl/crypto/noble.ts"
import { CryptoNode } from "../impl/crypto/node.ts"
import { SecureRandomSystem } from "../impl/crypto/random.ts"
import type { Crypto, SecureRandom } from "../impl/crypto/services.ts"
import { makeClient, type RollingKeyClient } from "../impl/rolling-key/client.ts"
import { makeServer, type RollingKeyServer } from "../impl/rolling-key/server.ts"
import { exclusively } from "../impl/exclusive.ts"
import { makeInMemoryClientStore, makeInMemoryServerStore, type ServerDeviceRecord, toHex } from "../impl/rolling-key/store.ts"
import { type Baselines, type Case, consume } from "./measure.ts"
import type { BenchSuite } from "./run.ts"

export const GROUP = "rolling-key"

export const Op = {
  round: "P5 hardened login round (begin → challenge → request → grant → roll), client + server",
  server: "P5 hardened server authentication (AuthBegin + AuthRequest: verify, rotate, store)",
  // the server's plumbing around its crypto, piece by piece (`serverPartCases`)
  decode: "P5 server part: decode an AuthRequest at the edge (strict ToServer schema)",
  store: "P5 server part: in-memory store get + put of a device record (3 keys, a challenge)",
  permit: "P5 server part: the one-at-a-time permit around a trivial step"
} as const

export const Impl = {
  authlabNoble: "authlab, noble layer",
  authlabNode: "authlab, node layer",
  rawNobleRound: "raw noble: 6 HMAC + 2 HKDF + 96 random bytes",
  rawNodeRound: "raw node: 6 HMAC + 2 HKDF + 96 random bytes",
  rawNobleServer: "raw noble: 4 HMAC + 1 HKDF + 64 random bytes",
  rawNodeServer: "raw node: 4 HMAC + 1 HKDF + 64 random bytes",
  toServer: "Schema.decodeUnknownEither(ToServer)",
  splitFrame: "splitAnyFrame: the frame's fields, unchecked",
  memoryStore: "makeInMemoryServerStore, runSync each",
  bareMap: "runSync of a Map get + set by hex id, no copies",
  exclusively: "runSync(exclusively(permit)(Effect.sync(noop)))",
  runSync: "runSync(Effect.sync(noop))"
} as const

/** Our stack over the raw crypto it needs, per backend and operation; raw noble over raw node for context. */
export const rollingKeyBaselines: Baselines = (f) => {
  const round = f.operation === Op.round
  switch (f.implementation) {
    case Impl.authlabNoble:
      return round ? Impl.rawNobleRound : Impl.rawNobleServer
    case Impl.authlabNode:
      return round ? Impl.rawNodeRound : Impl.rawNodeServer
    case Impl.rawNobleRound:
      return Impl.rawNodeRound
    case Impl.rawNobleServer:
      return Impl.rawNodeServer
    case Impl.toServer:
      return Impl.splitFrame
    case Impl.memoryStore:
      return Impl.bareMap
    case Impl.exclusively:
      return Impl.runSync
    default:
      return undefined
  }
}

const USERNAME = "bench"
const PASSWORD = Redacted.make("bench password, not a secret")

/** Warm rounds before timing, so the server holds current, previous and retired keys (the steady state). */
const STEADY_STATE_ROUNDS = 3

interface Participants {
  readonly client: RollingKeyClient
  readonly server: RollingKeyServer
}

/** A registered device and its server over fresh in-memory stores, on the given crypto backend. */
const setUp = (crypto: Layer.Layer<Crypto>): Participants => {
  const layer: Layer.Layer<Crypto | SecureRandom> = Layer.merge(crypto, SecureRandomSystem)
  return Effect.runSync(
    Effect.gen(function*() {
      const server = yield* makeServer({
        policy: hardened,
        store: makeInMemoryServerStore(),
        accounts: [{ username: USERNAME, password: PASSWORD }]
      })
      const client = yield* makeClient({ policy: hardened, store: makeInMemoryClientStore() })
      const request = yield* client.register(USERNAME, PASSWORD)
      const response = yield* server.receive(request)
      if (response.reply === undefined) return yield* Effect.dieMessage("registration: no RegisterResponse")
      const done = yield* client.receive(response.reply)
      if (done.event !== "registered" || done.sends.length !== 0) return yield* Effect.dieMessage("registration did not complete")
      return { client, server }
    }).pipe(Effect.provide(layer))
  )
}

/**
 * One login round, every step run with `Effect.runSync` (the participants are synchronous), with
 * the server's two steps timed: returns the server's nanoseconds. Any refusal throws, so a round
 * that failed can never be counted as a fast one.
 */
const loginRound = ({ client, server }: Participants): number => {
  const begin = Effect.runSync(client.beginAuth)
  const t0 = process.hrtime.bigint()
  const challenge = Effect.runSync(server.receive(begin))
  const t1 = process.hrtime.bigint()
  const answered = Effect.runSync(client.receive(challenge.reply!))
  const t2 = process.hrtime.bigint()
  const granted = Effect.runSync(server.receive(answered.sends[0]!))
  const t3 = process.hrtime.bigint()
  const rolled = Effect.runSync(client.receive(granted.reply!))
  if (rolled.event !== "rolled") throw new Error(`login round ended with ${rolled.event}`)
  consume(rolled)
  return Number(t1 - t0 + (t3 - t2))
}

/** Check `setUp` gave a device that logs in, and reach the steady state; returns the participants. */
const ready = (crypto: Layer.Layer<Crypto>): Participants => {
  const p = setUp(crypto)
  for (let i = 0; i < STEADY_STATE_ROUNDS; i++) loginRound(p)
  const [device] = Effect.runSync(p.server.observe)
  if (device === undefined || device.currentEpoch !== STEADY_STATE_ROUNDS || device.retiredEpoch === null) {
    throw new Error(`P5 bench set-up: expected a device at epoch ${STEADY_STATE_ROUNDS} with a retired key, got ${JSON.stringify(device)}`)
  }
  return p
}

// --- raw baselines --------------------------------------------------------------------------

interface RawCrypto {
  readonly mac: (key: Uint8Array, message: Uint8Array) => Uint8Array
  readonly kdf: (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array) => Uint8Array
  readonly random: (n: number) => Uint8Array
  readonly equal: (a: Uint8Array, b: Uint8Array) => boolean
}

const rawNoble: RawCrypto = {
  mac: (key, message) => hmac(sha256, key, message),
  kdf: (ikm, salt, info) => hkdf(sha256, ikm, salt, info, KEY_BYTES),
  random: (n) => nobleRandomBytes(n),
  equal: constantTimeEqual
}

const rawNode: RawCrypto = {
  mac: (key, message) => createHmac("sha256", key).update(message).digest(),
  kdf: (ikm, salt, info) => new Uint8Array(hkdfSync("sha256", ikm, salt, info, KEY_BYTES)),
  random: (n) => nodeRandomBytes(n),
  equal: (a, b) => a.length === b.length && timingSafeEqual(a, b)
}

/** Transcripts of the lengths the protocol MACs, built once: their encoding is protocol work, not crypto. */
const rawFixtures = () => {
  const deviceId = new Uint8Array(DEVICE_ID_BYTES).fill(1)
  const nonce = new Uint8Array(NONCE_BYTES).fill(2)
  return {
    // [deviceId, client nonce, challenge] and [deviceId, client nonce, challenge, rolling input]
    codeMessage: transcript(Labels.authCode, [deviceId, nonce, nonce]),
    grantMessage: transcript(Labels.grant, [deviceId, nonce, nonce, nonce]),
    nextKeyInfo: transcript(Labels.nextKey, [deviceId])
  }
}

/**
 * The crypto of one round (`server: false`) or of the server's share (`server: true`), with the
 * keys rolling as the protocol rolls them: `keys` is [current, previous, retired].
 */
const rawLoop = (raw: RawCrypto, serverOnly: boolean) => {
  const f = rawFixtures()
  let keys: [Uint8Array, Uint8Array, Uint8Array] = [new Uint8Array(32).fill(3), new Uint8Array(32).fill(4), new Uint8Array(32).fill(5)]
  const fixedCode = raw.mac(keys[0], f.codeMessage)
  return () => {
    const [current, previous, retired] = keys
    if (!serverOnly) raw.random(NONCE_BYTES) // the client nonce (the client's draw, not the server's)
    raw.random(NONCE_BYTES) // the challenge
    // client: the code (server-only: a code made outside the count, like the client's)
    const code = serverOnly ? fixedCode : raw.mac(current, f.codeMessage)
    // server: all three stored keys are tried every time
    const ok = raw.equal(raw.mac(current, f.codeMessage), code)
    raw.equal(raw.mac(previous, f.codeMessage), code)
    raw.equal(raw.mac(retired, f.codeMessage), code)
    const rollingInput = raw.random(NONCE_BYTES)
    const next = raw.kdf(current, rollingInput, f.nextKeyInfo)
    const proof = raw.mac(current, f.grantMessage)
    if (!serverOnly) {
      // client: check the proof, roll its own copy
      raw.equal(raw.mac(current, f.grantMessage), proof)
      consume(raw.kdf(current, rollingInput, f.nextKeyInfo))
    }
    keys = [next, current, previous]
    consume(ok)
    return proof
  }
}

/**
 * Warm-up for the protocol figures. Measured here: from a cold start a round runs at a third of
 * its speed for the first few hundred calls and settles after ~1 s (~1000 rounds), as V8
 * optimises the Effect runtime, the Schema decoders and the participants.
 */
const PROTOCOL_WARMUP_MS = 1000

/**
 * What a server authentication spends around its crypto, piece by piece, on the inputs a login
 * round really carries: the edge's decoding of an AuthRequest (a real one, taken from a round of
 * registered participants), a store read and write of a steady-state device record (current,
 * previous and retired keys, an outstanding challenge), and the one-at-a-time permit around a
 * trivial step. Each against its bare minimum in the same run: the frame split into its fields
 * with no checks (`splitAnyFrame`, the attacker's codec), a Map read and write with nothing
 * copied or wrapped, the same step without the permit. A server authentication does each of these
 * twice (AuthBegin, AuthRequest); the figures are what bench/README.md's account of the
 * `Op.server` gap rests on.
 */
const serverPartCases = (): Array<Case> => {
  const { client, server } = ready(CryptoNode)
  const challenge = Effect.runSync(server.receive(Effect.runSync(client.beginAuth)))
  const request = Effect.runSync(client.receive(challenge.reply!)).sends[0]!
  const decode = Schema.decodeUnknownEither(ToServer)
  const decoded = decode(request)
  if (Either.isLeft(decoded) || decoded.right._tag !== "AuthRequest") throw new Error("P5 bench set-up: the round's request does not decode as an AuthRequest")

  const store = makeInMemoryServerStore()
  const key = (fill: number, epoch: number) => ({ key: Redacted.make(new Uint8Array(KEY_BYTES).fill(fill)), epoch })
  const record: ServerDeviceRecord = {
    deviceId: decoded.right.deviceId,
    username: USERNAME,
    current: key(3, 5),
    previous: Option.some(key(4, 4)),
    retired: Option.some(key(5, 3)),
    challenge: Option.some({ challenge: new Uint8Array(NONCE_BYTES).fill(6), clientNonce: new Uint8Array(NONCE_BYTES).fill(7) })
  }
  Effect.runSync(store.put(record))
  const getAndPut = Effect.flatMap(store.get(record.deviceId), (found) =>
    Option.isSome(found) ? store.put(found.value) : Effect.dieMessage("P5 bench: the stored record is gone"))
  // the same read and write with nothing copied or wrapped: what the store's defensive copies and
  // `Redacted` wrappers cost is the difference
  const bare = new Map([[toHex(record.deviceId), record]])
  const bareGetAndPut = Effect.sync(() => {
    const id = toHex(record.deviceId)
    bare.set(id, bare.get(id)!)
  })

  // a step that needs the runtime (`Effect.void` is a completed Exit: `runSync` returns it at once)
  const step = Effect.sync(() => undefined)
  const permitted = exclusively(Effect.runSync(Effect.makeSemaphore(1)))(step)
  return [
    { group: GROUP, operation: Op.decode, implementation: Impl.toServer, fn: () => decode(request) },
    { group: GROUP, operation: Op.decode, implementation: Impl.splitFrame, fn: () => splitAnyFrame(request) },
    { group: GROUP, operation: Op.store, implementation: Impl.memoryStore, fn: () => Effect.runSync(getAndPut) },
    { group: GROUP, operation: Op.store, implementation: Impl.bareMap, fn: () => Effect.runSync(bareGetAndPut) },
    { group: GROUP, operation: Op.permit, implementation: Impl.exclusively, fn: () => Effect.runSync(permitted) },
    { group: GROUP, operation: Op.permit, implementation: Impl.runSync, fn: () => Effect.runSync(step) }
  ]
}

/** The rolling-key cases, participants registered and brought to the steady state. */
export const rollingKeyCases = (): Array<Case> => {
  const noble = ready(CryptoNoble)
  const node = ready(CryptoNode)
  // separate participants for the server-only figures, so each figure starts from the same state
  const nobleForServer = ready(CryptoNoble)
  const nodeForServer = ready(CryptoNode)
  const w = PROTOCOL_WARMUP_MS
  // each layer with its raw library, in rounds of their own (`family`, measure.ts)
  return [
    { group: GROUP, operation: Op.round, implementation: Impl.authlabNoble, family: "noble", warmupMs: w, fn: () => loginRound(noble) },
    { group: GROUP, operation: Op.round, implementation: Impl.rawNobleRound, family: "noble", fn: rawLoop(rawNoble, false) },
    { group: GROUP, operation: Op.round, implementation: Impl.authlabNode, family: "node", warmupMs: w, fn: () => loginRound(node) },
    { group: GROUP, operation: Op.round, implementation: Impl.rawNodeRound, family: "node", fn: rawLoop(rawNode, false) },
    { group: GROUP, operation: Op.server, implementation: Impl.authlabNoble, family: "noble", warmupMs: w, manual: true, fn: () => loginRound(nobleForServer) },
    { group: GROUP, operation: Op.server, implementation: Impl.rawNobleServer, family: "noble", fn: rawLoop(rawNoble, true) },
    { group: GROUP, operation: Op.server, implementation: Impl.authlabNode, family: "node", warmupMs: w, manual: true, fn: () => loginRound(nodeForServer) },
    { group: GROUP, operation: Op.server, implementation: Impl.rawNodeServer, family: "node", fn: rawLoop(rawNode, true) },
    ...serverPartCases()
  ]
}

/** This protocol's benchmarks, as its definition lists them (properties/rolling-key/definition.ts). */
export const bench: BenchSuite = { group: GROUP, cases: rollingKeyCases, baselines: rollingKeyBaselines }
