/**
 * P2a se-channel benchmarks, each figure a ratio to a baseline measured in the same run:
 * - channel setup, hardened (the browser's tagged SeHello, the SE's checks and signed SeOpen, the
 *   server's answer and receipt, the SE's receipt check and SeFinish, the server's check): the real
 *   services on the noble layer and on the node layer, against raw noble running the same
 *   primitives in the same number (2 key pairs, 4 ECDH, 1 ECDSA signature and 3 verifications,
 *   2 HKDF, 5 HMAC) with no protocol around them;
 * - one record sealed and opened (1 KiB, AES-256-GCM, associated data, sequence check) through the
 *   record layer, against raw noble `gcm` and raw `node:crypto` on the same key, nonce and data.
 */
import { createCipheriv, createDecipheriv, createSecretKey } from "node:crypto"
import { gcm } from "@noble/ciphers/aes.js"
import { p256 } from "@noble/curves/nist.js"
import { hkdf } from "@noble/hashes/hkdf.js"
import { hmac } from "@noble/hashes/hmac.js"
import { sha256 } from "@noble/hashes/sha2.js"
import { Context, Effect, Either, Layer, Schema } from "effect"
import { Record } from "../spec/se-channel/messages.ts"
import { hardened } from "../spec/se-channel/variants.ts"
import { CryptoNoble } from "../impl/crypto/noble.ts"
import { CryptoNode } from "../impl/crypto/node.ts"
import { SecureRandomSystem } from "../impl/crypto/random.ts"
import type { Crypto, SecureRandom } from "../impl/crypto/services.ts"
import { makeBrowser } from "../impl/se-channel/browser.ts"
import { type Deployment, makeDeployment } from "../impl/se-channel/deployment.ts"
import type { ChannelKeys } from "../impl/se-channel/keys.ts"
import { openRecord, recordLayer, sealRecord } from "../impl/se-channel/records.ts"
import { makeSecureElement } from "../impl/se-channel/secure-element.ts"
import { makeServer } from "../impl/se-channel/server.ts"
import { emptyChannels, inMemoryStore, type SeSession, type ServerSession } from "../impl/se-channel/store.ts"
import { type Baselines, type Case, consume } from "./measure.ts"
import type { BenchSuite } from "./run.ts"

export const GROUP = "se-channel"

export const Op = {
  setup: "P2a channel setup, hardened (SeHello → SeOpen → ServerHello → SeFinish, both sides)",
  record: "P2a record seal + open (1 KiB, AES-256-GCM, sequence check)"
} as const

export const Impl = {
  noble: "authlab, noble layer",
  node: "authlab, node layer",
  rawNoble: "raw noble, same primitives",
  rawNode: "raw node:crypto"
} as const

export const seChannelBaselines: Baselines = (f) => {
  if (f.implementation === Impl.noble) return Impl.rawNoble
  if (f.implementation === Impl.node) return f.operation === Op.setup ? Impl.rawNoble : Impl.rawNode
  return undefined
}

type Ctx = Context.Context<Crypto | SecureRandom>
const contextOf = (crypto: Layer.Layer<Crypto>): Ctx => Effect.runSync(Effect.scoped(Layer.build(Layer.merge(crypto, SecureRandomSystem))))
const runIn = <A>(ctx: Ctx, effect: Effect.Effect<A, unknown, Crypto | SecureRandom>): A => Either.getOrThrow(Effect.runSync(Effect.either(Effect.provide(effect, ctx))))

/** One whole hardened handshake on fresh stores; fails loudly if any step does not open. */
const handshake = (d: Deployment) =>
  Effect.gen(function*() {
    const se = makeSecureElement({ policy: hardened, seId: d.se.id, staticSecret: d.se.secret, cert: d.se.cert, caKey: d.caKey, pairingKey: d.pairingKey, store: yield* inMemoryStore(emptyChannels<SeSession>()) })
    const server = makeServer({ policy: hardened, name: d.server.name, staticSecret: d.server.secret, staticKey: d.server.key, caKey: d.caKey, store: yield* inMemoryStore(emptyChannels<ServerSession>()) })
    const opening = yield* se.receive(yield* makeBrowser({ policy: hardened, pairingKey: d.pairingKey }).visit(d.identities.bank!, d.certs.bank!))
    if (opening._tag !== "Opening") return yield* Effect.dieMessage("bench: the SE did not answer the hello")
    const answered = yield* server.receive(opening.open)
    if (answered._tag !== "Answered") return yield* Effect.dieMessage("bench: the server did not answer")
    const opened = yield* se.receive(answered.hello)
    if (opened._tag !== "Opened" || opened.finish === undefined) return yield* Effect.dieMessage("bench: the SE did not open")
    const done = yield* server.receive(opened.finish)
    if (done._tag !== "Opened") return yield* Effect.dieMessage("bench: the server did not open")
    return done.channel
  })

/** The handshake's primitives, raw noble, in the same number. */
const rawHandshake = (d: Deployment, message: Uint8Array) => {
  const eSe = p256.utils.randomSecretKey()
  const eS = p256.utils.randomSecretKey()
  const ePubSe = p256.getPublicKey(eSe, true)
  const ePubS = p256.getPublicKey(eS, true)
  const z = [p256.getSharedSecret(eSe, ePubS), p256.getSharedSecret(eSe, d.server.key), p256.getSharedSecret(eS, ePubSe), p256.getSharedSecret(d.server.secret, ePubSe)]
  const sig = p256.sign(message, d.se.secret, { prehash: true, lowS: false, format: "compact" })
  const ok = [p256.verify(d.certs.bank!.caSig, message, d.caKey, { prehash: true, lowS: false, format: "compact" }), p256.verify(d.se.cert.seCaSig, message, d.caKey, { prehash: true, lowS: false, format: "compact" }), p256.verify(sig, message, d.se.cert.seKey, { prehash: true, lowS: false, format: "compact" })]
  const okm = [hkdf(sha256, z[0]!, message, message, 128), hkdf(sha256, z[2]!, message, message, 128)]
  const macs = [0, 1, 2, 3, 4].map((i) => hmac(sha256, okm[i % 2]!.subarray(0, 32), message))
  return [ok, macs]
}

export const seChannelCases = (): Array<Case> => {
  const noble = contextOf(CryptoNoble)
  const node = contextOf(CryptoNode)
  const d = runIn(noble, makeDeployment)
  // both layers open a channel (checked once, outside the timing)
  runIn(noble, handshake(d))
  runIn(node, handshake(d))
  const message = new TextEncoder().encode("authlab/se-channel bench transcript of a typical length for the handshake")

  const key = sha256(new TextEncoder().encode("bench record key"))
  const keys: ChannelKeys = { transcriptHash: key, confirmServer: key, confirmSe: key, seToServer: key, serverToSe: key }
  const channel = new Uint8Array(8).fill(7)
  const payload = new Uint8Array(1024).fill(0x61)
  const sealedOnce = Either.getOrThrow(Schema.decodeUnknownEither(Record.wire)(runIn(noble, sealRecord(recordLayer, keys, "se>server", channel, 0, payload))))
  const record = (ctx: Ctx) => () => {
    const bytes = runIn(ctx, sealRecord(recordLayer, keys, "se>server", channel, 0, payload))
    const m = Either.getOrThrow(Schema.decodeUnknownEither(Record.wire)(bytes))
    return runIn(ctx, openRecord(recordLayer, keys, "se>server", 0, m))
  }
  const nonce = new Uint8Array(12)
  const aad = new Uint8Array(60).fill(1)
  const nodeKey = createSecretKey(key)
  if (sealedOnce.sealed.length !== payload.length + 16) throw new Error("se-channel bench: unexpected record size")

  return [
    { group: GROUP, operation: Op.setup, implementation: Impl.noble, fn: () => consume(runIn(noble, handshake(d))) },
    { group: GROUP, operation: Op.setup, implementation: Impl.node, fn: () => consume(runIn(node, handshake(d))) },
    { group: GROUP, operation: Op.setup, implementation: Impl.rawNoble, fn: () => consume(rawHandshake(d, message)) },
    { group: GROUP, operation: Op.record, implementation: Impl.noble, fn: () => consume(record(noble)()) },
    { group: GROUP, operation: Op.record, implementation: Impl.node, fn: () => consume(record(node)()) },
    { group: GROUP, operation: Op.record, implementation: Impl.rawNoble, fn: () => consume(gcm(key, nonce, aad).decrypt(gcm(key, nonce, aad).encrypt(payload))) },
    {
      group: GROUP,
      operation: Op.record,
      implementation: Impl.rawNode,
      fn: () => {
        const c = createCipheriv("aes-256-gcm", nodeKey, nonce, { authTagLength: 16 }).setAAD(aad)
        const ct = Buffer.concat([c.update(payload), c.final()])
        const tag = c.getAuthTag()
        const dc = createDecipheriv("aes-256-gcm", nodeKey, nonce, { authTagLength: 16 }).setAAD(aad)
        dc.setAuthTag(tag)
        return consume(Buffer.concat([dc.update(ct), dc.final()]))
      }
    }
  ]
}

/** This protocol's benchmarks, as its definition lists them (properties/se-channel/definition.ts). */
export const bench: BenchSuite = { group: GROUP, cases: seChannelCases, baselines: seChannelBaselines }
