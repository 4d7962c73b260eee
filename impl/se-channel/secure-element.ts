/**
 * P2a SecureElement (SPEC.md §Steps 3–6): checks the application certificate and its link to the
 * identity data, opens a handshake with a fresh ephemeral, derives the channel keys from the
 * server's ephemeral and certified key, and (`hardened`) opens only on the server's valid receipt,
 * answering with its own. Then seals and opens records.
 *
 * Checks in a fixed order, each its own reason. SeHello: malformed, (`hardened`) bad-platform-tag,
 * bad-certificate, link-mismatch. ServerHello: malformed, invalid-point (before any secret touches
 * the point), unknown-channel (no pending handshake with that id), (`hardened`) bad-confirmation.
 * Record: malformed, unknown-channel, bad-sequence, bad-record. A refusal writes nothing.
 */
import { Data, Effect, Either, type ParseResult, Schema } from "effect"
import { transcript } from "../../spec/codec.ts"
import { Labels, SeFinish, SeOpen, ToSe } from "../../spec/se-channel/messages.ts"
import type { Policy } from "../../spec/se-channel/variants.ts"
import { constantTimeEqual } from "../crypto/bytes.ts"
import { isP256Point } from "../crypto/noble.ts"
import { Crypto, SecureRandom } from "../crypto/services.ts"
import { appCertBytes, type IdentityData, identityLink, type SeCert, type VerifySignature, verifySignature } from "./certs.ts"
import { channelId, checkReceipt as defaultCheckReceipt, type CheckReceipt, deriveKeys, type Ecdh, ecdh as defaultEcdh, ephemeralKeyPair, type KeySchedule, keySchedule, receipt } from "./keys.ts"
import { openRecord, type RecordLayer, type RecordReason, recordLayer, sealRecord } from "./records.ts"
import { hex, type SeSession, type SeState, type Store } from "./store.ts"

export type SeReason = "malformed" | "bad-platform-tag" | "bad-certificate" | "link-mismatch" | "invalid-point" | "unknown-channel" | "bad-confirmation" | "no-channel" | RecordReason

export class SeError extends Data.TaggedError("SeError")<{ readonly reason: SeReason }> {}

export type SeOutcome =
  /** A SeHello accepted: the SeOpen to send. */
  | { readonly _tag: "Opening"; readonly channel: Uint8Array; readonly open: Uint8Array }
  /** A ServerHello accepted: the channel is open; `finish` is the SeFinish to send (`hardened`). */
  | { readonly _tag: "Opened"; readonly channel: Uint8Array; readonly finish?: Uint8Array }
  | { readonly _tag: "Received"; readonly channel: Uint8Array; readonly plaintext: Uint8Array }

export interface SeOptions {
  readonly policy: Policy
  readonly seId: string
  readonly staticSecret: Uint8Array
  readonly cert: SeCert
  /** The CA's public key, installed at personalisation. */
  readonly caKey: Uint8Array
  /** `hardened`: the key the SE shares with the user's browser platform (paired once). */
  readonly pairingKey: Uint8Array
  readonly store: Store<SeState>
  readonly decode?: (bytes: Uint8Array) => Effect.Effect<ToSe, ParseResult.ParseError>
  readonly isPoint?: (bytes: Uint8Array) => boolean
  readonly ecdh?: Ecdh
  readonly verifyCa?: VerifySignature
  readonly linkMatches?: (link: Uint8Array, data: IdentityData) => boolean
  /** `hardened`: the check of the platform's tag over the identity data. */
  readonly verifyPlatformTag?: (pairingKey: Uint8Array, data: IdentityData, tag: Uint8Array) => Effect.Effect<void, unknown, Crypto>
  readonly checkReceipt?: CheckReceipt
  readonly schedule?: KeySchedule
  readonly records?: RecordLayer
}

export interface SecureElement {
  readonly receive: (bytes: Uint8Array) => Effect.Effect<SeOutcome, SeError, Crypto | SecureRandom>
  /** Seal `plaintext` on the channel opened last. */
  readonly send: (plaintext: Uint8Array) => Effect.Effect<Uint8Array, SeError, Crypto>
}

const fail = (reason: SeReason) => new SeError({ reason })

/** The platform's MAC over the identity data (the browser computes the same, impl/se-channel/browser.ts). */
export const platformInput = (data: IdentityData): Uint8Array => transcript(Labels.platform, [data.origin, data.tlsHash])

/** The platform tag must be present and verify (constant time) under the pairing key. */
export const verifyTag = (pairingKey: Uint8Array, data: IdentityData, tag: Uint8Array): Effect.Effect<void, unknown, Crypto> =>
  tag.length === 0 ? Effect.fail("no tag") : Effect.flatMap(Crypto, (c) => c.hmacSha256Verify(pairingKey, platformInput(data), tag))

export const makeSecureElement = (options: SeOptions): SecureElement => {
  const { policy, store } = options
  const decode = options.decode ?? Schema.decodeUnknown(ToSe)
  const isPoint = options.isPoint ?? isP256Point
  const ecdh = options.ecdh ?? defaultEcdh
  const verifyCa = options.verifyCa ?? verifySignature
  const linkMatches = options.linkMatches ?? ((link, data) => constantTimeEqual(link, identityLink(data)))
  const checkReceipt = options.checkReceipt ?? defaultCheckReceipt
  const verifyPlatformTag = options.verifyPlatformTag ?? verifyTag
  const schedule = options.schedule ?? keySchedule
  const records = options.records ?? recordLayer

  const pending = (state: SeState, channel: Uint8Array): SeSession | undefined => {
    const s = state.sessions.get(hex(channel))
    return s?.status === "pending" ? s : undefined
  }

  const hello = Effect.fnUntraced(function*(m: Extract<ToSe, { _tag: "SeHello" }>) {
    const data = { origin: m.origin, tlsHash: m.tlsHash }
    if (policy.identityFrom === "platform") {
      yield* Effect.mapError(verifyPlatformTag(options.pairingKey, data, m.platformTag), () => fail("bad-platform-tag"))
    }
    if (!isPoint(m.serverKey)) return yield* fail("bad-certificate")
    yield* Effect.mapError(verifyCa(options.caKey, appCertBytes(m), m.caSig), () => fail("bad-certificate"))
    if (!linkMatches(m.link, data)) return yield* fail("link-mismatch")
    const random = yield* SecureRandom
    const eph = yield* ephemeralKeyPair(random.bytes)
    const channel = channelId(eph.public)
    const signature =
      policy.seAuth === "signature"
        ? yield* Effect.orDie(Effect.flatMap(Crypto, (c) => c.ecdsaP256Sign(options.staticSecret, transcript(Labels.seOpen, [options.seId, eph.public]))))
        : new Uint8Array(0)
    const session: SeSession = { channel, subject: m.subject, serverKey: m.serverKey, origin: m.origin, ephemeralSecret: eph.secret, ephemeral: eph.public, status: "pending", sent: 0, received: 0 }
    yield* store.transact((s) => [undefined, { ...s, sessions: new Map([...s.sessions, [hex(channel), session]]) }] as const)
    const open = SeOpen.encode(SeOpen.make({ seId: options.seId, seKey: options.cert.seKey, seCaSig: options.cert.seCaSig, ephemeral: eph.public, signature }))
    return { _tag: "Opening" as const, channel, open }
  })

  const serverHello = Effect.fnUntraced(function*(m: Extract<ToSe, { _tag: "ServerHello" }>) {
    // the point is checked before any secret scalar touches it (invalid-curve attack)
    if (!isPoint(m.ephemeral)) return yield* fail("invalid-point")
    const session = pending(yield* store.snapshot, m.channel)
    if (session === undefined) return yield* fail("unknown-channel")
    const z = yield* Effect.mapError(
      Effect.all({ ee: ecdh(session.ephemeralSecret, m.ephemeral), es: ecdh(session.ephemeralSecret, session.serverKey) }),
      () => fail("invalid-point")
    )
    const handshake = { seId: options.seId, subject: session.subject, serverKey: session.serverKey, seEphemeral: session.ephemeral, serverEphemeral: m.ephemeral }
    const keys = yield* Effect.orDie(deriveKeys(policy, schedule, handshake, z))
    let finish: Uint8Array | undefined
    if (policy.confirmation === "both") {
      if (m.confirm.length === 0) return yield* fail("bad-confirmation")
      yield* Effect.mapError(checkReceipt("server", keys, m.confirm), () => fail("bad-confirmation"))
      finish = SeFinish.encode(SeFinish.make({ channel: m.channel, confirm: yield* receipt("se", keys) }))
    }
    const opened = yield* store.transact((s): readonly [boolean, SeState] => {
      if (pending(s, m.channel) === undefined) return [false, s]
      return [true, { sessions: new Map([...s.sessions, [hex(m.channel), { ...session, status: "open", serverEphemeral: m.ephemeral, keys }]]), latest: hex(m.channel) }]
    })
    if (!opened) return yield* fail("unknown-channel")
    return finish === undefined ? { _tag: "Opened" as const, channel: m.channel } : { _tag: "Opened" as const, channel: m.channel, finish }
  })

  const record = Effect.fnUntraced(function*(m: Extract<ToSe, { _tag: "Record" }>) {
    const session = (yield* store.snapshot).sessions.get(hex(m.channel))
    if (session?.status !== "open" || session.keys === undefined) return yield* fail("unknown-channel")
    const plaintext = yield* Effect.mapError(openRecord(records, session.keys, "server>se", session.received, m), (e) => fail(e.reason))
    yield* store.transact((s) => [undefined, { ...s, sessions: new Map([...s.sessions, [hex(m.channel), { ...session, received: session.received + 1 }]]) }] as const)
    return { _tag: "Received" as const, channel: m.channel, plaintext }
  })

  const receive = Effect.fn("SecureElement.receive")(function*(bytes: Uint8Array) {
    const decoded = yield* Effect.either(decode(bytes))
    if (Either.isLeft(decoded)) return yield* fail("malformed")
    const m = decoded.right
    switch (m._tag) {
      case "SeHello":
        return yield* hello(m)
      case "ServerHello":
        return yield* serverHello(m)
      case "Record":
        return yield* record(m)
    }
  })

  const send = Effect.fn("SecureElement.send")(function*(plaintext: Uint8Array) {
    const state = yield* store.snapshot
    const session = state.latest === undefined ? undefined : state.sessions.get(state.latest)
    if (session?.keys === undefined) return yield* fail("no-channel")
    const bytes = yield* sealRecord(records, session.keys, "se>server", session.channel, session.sent, plaintext)
    yield* store.transact((s) => [undefined, { ...s, sessions: new Map([...s.sessions, [hex(session.channel), { ...session, sent: session.sent + 1 }]]) }] as const)
    return bytes
  })

  return { receive, send }
}
