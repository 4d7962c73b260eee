/**
 * P2a Server (SPEC.md §Steps 1, 5–6): holds the static key its application certificate names;
 * answers a SeOpen with a fresh ephemeral, derives the channel keys and (`hardened`) a receipt;
 * opens the channel on the SeOpen (`claimed`) or on the SE's valid receipt (`hardened`). Then
 * seals and opens records.
 *
 * Checks in a fixed order, each its own reason. SeOpen: malformed, invalid-point (the ephemeral,
 * before any secret touches it), bad-certificate (the SE's), (`hardened`) bad-signature,
 * duplicate-channel. SeFinish: malformed, unknown-channel, bad-confirmation. Record: malformed,
 * unknown-channel, bad-sequence, bad-record. A refusal writes nothing.
 */
import { Data, Effect, Either, type ParseResult, Schema } from "effect"
import { transcript } from "../../spec/codec.ts"
import { Labels, type SeOpen, ServerHello, ToServer } from "../../spec/se-channel/messages.ts"
import type { Policy } from "../../spec/se-channel/variants.ts"
import { isP256Point } from "../crypto/noble.ts"
import { Crypto, SecureRandom } from "../crypto/services.ts"
import { seCertBytes, type VerifySignature, verifySignature } from "./certs.ts"
import { channelId, checkReceipt as defaultCheckReceipt, type CheckReceipt, deriveKeys, type Ecdh, ecdh as defaultEcdh, ephemeralKeyPair, type KeySchedule, keySchedule, receipt } from "./keys.ts"
import { openRecord, type RecordLayer, type RecordReason, recordLayer, sealRecord } from "./records.ts"
import { hex, putSession, type ServerSession, type ServerState, type Store } from "./store.ts"

export type ServerReason = "malformed" | "invalid-point" | "bad-certificate" | "bad-signature" | "duplicate-channel" | "unknown-channel" | "bad-confirmation" | "no-channel" | RecordReason

export class ServerError extends Data.TaggedError("ServerError")<{ readonly reason: ServerReason }> {}

export type ServerOutcome =
  /** A SeOpen accepted: the ServerHello to send; `opened` in `claimed` (no receipt awaited). */
  | { readonly _tag: "Answered"; readonly channel: Uint8Array; readonly hello: Uint8Array; readonly opened: boolean }
  /** A valid SeFinish: the channel is open. */
  | { readonly _tag: "Opened"; readonly channel: Uint8Array }
  | { readonly _tag: "Received"; readonly channel: Uint8Array; readonly plaintext: Uint8Array }

export type KeyPair = { readonly secret: Uint8Array; readonly public: Uint8Array }

export interface ServerOptions {
  readonly policy: Policy
  /** The subject of the server's application certificate (what it puts in the transcript). */
  readonly name: string
  readonly staticSecret: Uint8Array
  readonly staticKey: Uint8Array
  readonly caKey: Uint8Array
  readonly store: Store<ServerState>
  readonly decode?: (bytes: Uint8Array) => Effect.Effect<ToServer, ParseResult.ParseError>
  readonly isPoint?: (bytes: Uint8Array) => boolean
  /** Where each handshake's ephemeral comes from (a fresh key pair by default). */
  readonly ephemeral?: Effect.Effect<KeyPair, never, Crypto | SecureRandom>
  readonly ecdh?: Ecdh
  readonly verifySe?: VerifySignature
  /** `hardened`: the check of the SE's signature over (id, ephemeral) in a SeOpen. */
  readonly verifySeOpen?: (m: SeOpen, verify: VerifySignature) => Effect.Effect<void, unknown, Crypto>
  readonly checkReceipt?: CheckReceipt
  readonly schedule?: KeySchedule
  readonly records?: RecordLayer
}

export interface Server {
  readonly receive: (bytes: Uint8Array) => Effect.Effect<ServerOutcome, ServerError, Crypto | SecureRandom>
  readonly send: (plaintext: Uint8Array) => Effect.Effect<Uint8Array, ServerError, Crypto>
}

const fail = (reason: ServerReason) => new ServerError({ reason })

export const freshEphemeral: Effect.Effect<KeyPair, never, Crypto | SecureRandom> = Effect.flatMap(SecureRandom, (r) => ephemeralKeyPair(r.bytes))

/** The SE's signature must be present and verify under the key of the SE certificate it came with. */
export const verifyOpenSignature = (m: SeOpen, verify: VerifySignature): Effect.Effect<void, unknown, Crypto> =>
  m.signature.length === 0 ? Effect.fail("no signature") : verify(m.seKey, transcript(Labels.seOpen, [m.seId, m.ephemeral]), m.signature)

export const makeServer = (options: ServerOptions): Server => {
  const { policy, store } = options
  const decode = options.decode ?? Schema.decodeUnknown(ToServer)
  const ecdh = options.ecdh ?? defaultEcdh
  const verifySe = options.verifySe ?? verifySignature
  const checkReceipt = options.checkReceipt ?? defaultCheckReceipt
  const schedule = options.schedule ?? keySchedule
  const records = options.records ?? recordLayer
  const ephemeral = options.ephemeral ?? freshEphemeral
  const isPoint = options.isPoint ?? isP256Point
  const verifySeOpen = options.verifySeOpen ?? verifyOpenSignature

  const seOpen = Effect.fnUntraced(function*(m: Extract<ToServer, { _tag: "SeOpen" }>) {
    // the point is checked before any secret scalar touches it (invalid-curve attack)
    if (!isPoint(m.ephemeral)) return yield* fail("invalid-point")
    if (!isPoint(m.seKey)) return yield* fail("bad-certificate")
    yield* Effect.mapError(verifySe(options.caKey, seCertBytes(m), m.seCaSig), () => fail("bad-certificate"))
    if (policy.seAuth === "signature") yield* Effect.mapError(verifySeOpen(m, verifySe), () => fail("bad-signature"))
    const channel = channelId(m.ephemeral)
    if ((yield* store.snapshot).sessions.has(hex(channel))) return yield* fail("duplicate-channel")
    const eph = yield* ephemeral
    const z = yield* Effect.mapError(Effect.all({ ee: ecdh(eph.secret, m.ephemeral), es: ecdh(options.staticSecret, m.ephemeral) }), () => fail("invalid-point"))
    const handshake = { seId: m.seId, subject: options.name, serverKey: options.staticKey, seEphemeral: m.ephemeral, serverEphemeral: eph.public }
    const keys = yield* Effect.orDie(deriveKeys(policy, schedule, handshake, z))
    const confirm = policy.confirmation === "both" ? yield* receipt("server", keys) : new Uint8Array(0)
    const opened = policy.confirmation === "none"
    const session: ServerSession = { channel, seId: m.seId, seEphemeral: m.ephemeral, ephemeral: eph.public, keys, status: opened ? "open" : "pending", sent: 0, received: 0 }
    const stored = yield* store.transact((s): readonly [boolean, ServerState] => (s.sessions.has(hex(channel)) ? [false, s] : [true, putSession(s, session, opened)]))
    if (!stored) return yield* fail("duplicate-channel")
    return { _tag: "Answered" as const, channel, hello: ServerHello.encode(ServerHello.make({ channel, ephemeral: eph.public, confirm })), opened }
  })

  const seFinish = Effect.fnUntraced(function*(m: Extract<ToServer, { _tag: "SeFinish" }>) {
    const session = (yield* store.snapshot).sessions.get(hex(m.channel))
    if (session?.status !== "pending") return yield* fail("unknown-channel")
    yield* Effect.mapError(checkReceipt("se", session.keys, m.confirm), () => fail("bad-confirmation"))
    yield* store.transact((s) => [undefined, putSession(s, { ...session, status: "open" }, true)] as const)
    return { _tag: "Opened" as const, channel: m.channel }
  })

  const record = Effect.fnUntraced(function*(m: Extract<ToServer, { _tag: "Record" }>) {
    const session = (yield* store.snapshot).sessions.get(hex(m.channel))
    if (session?.status !== "open") return yield* fail("unknown-channel")
    const plaintext = yield* Effect.mapError(openRecord(records, session.keys, "se>server", session.received, m), (e) => fail(e.reason))
    yield* store.transact((s) => [undefined, putSession(s, { ...session, received: session.received + 1 }, false)] as const)
    return { _tag: "Received" as const, channel: m.channel, plaintext }
  })

  const receive = Effect.fn("Server.receive")(function*(bytes: Uint8Array) {
    const decoded = yield* Effect.either(decode(bytes))
    if (Either.isLeft(decoded)) return yield* fail("malformed")
    const m = decoded.right
    switch (m._tag) {
      case "SeOpen":
        return yield* seOpen(m)
      case "SeFinish":
        return yield* seFinish(m)
      case "Record":
        return yield* record(m)
    }
  })

  const send = Effect.fn("Server.send")(function*(plaintext: Uint8Array) {
    const state = yield* store.snapshot
    const session = state.latest === undefined ? undefined : state.sessions.get(state.latest)
    if (session === undefined) return yield* fail("no-channel")
    const bytes = yield* sealRecord(records, session.keys, "server>se", session.channel, session.sent, plaintext)
    yield* store.transact((s) => [undefined, putSession(s, { ...session, sent: session.sent + 1 }, false)] as const)
    return bytes
  })

  return { receive, send }
}
