/**
 * P5 rolling-key: the client (the app on the device), design §Registration and §Authentication,
 * one code path for every `Policy` (spec/rolling-key/variants.ts).
 *
 * Durable state is the `ClientRecord` in the `ClientStore`, read once at construction and written
 * through on every change, a new key before it is ever used. Volatile state — where the client is
 * in the protocol, the pending registration's ephemeral secret, the pending attempt's nonce and
 * input — lives in this instance and is lost on a crash, which the harness models by building a
 * new client over the same store.
 *
 * Untrusted bytes are decoded once, at the edge (`Schema.decodeUnknown(ToClient)`). Every refused
 * input fails with a `ClientRejection` and leaves the durable record untouched.
 */
import { Context, Data, Effect, Layer, Option, Redacted, Ref, Schema } from "effect"
import {
  AuthBegin,
  AuthRequest,
  NONCE_BYTES,
  RegisterKey,
  RegisterRequest,
  type AuthChallenge,
  type AuthGranted,
  type AuthRejected,
  type RegisterResponse,
  ToClient
} from "../../spec/rolling-key/messages.ts"
import type { Policy } from "../../spec/rolling-key/variants.ts"
import { constantTimeEqual } from "../crypto/bytes.ts"
import { exclusively } from "../exclusive.ts"
import { Crypto, SecureRandom } from "../crypto/services.ts"
import { erase, formulas } from "./protocol.ts"
import { type ClientRecord, type ClientStore, ClientStoreService } from "./store.ts"

export class ClientRejection extends Data.TaggedError("ClientRejection")<{
  readonly reason:
    | "malformed" // the bytes did not decode as a message to the client
    | "unexpected" // a well-formed message the client is not waiting for (or for another device)
    | "bad-proof" // hardened grant whose proof does not verify: ignored, the client keeps waiting
    | "bad-confirm" // hardened registration response whose key confirmation fails: ignored, the client keeps waiting
    | "rejected-by-server" // AuthRejected: a hint only (unauthenticated); the client goes back to ready
    | "not-registered" // beginAuth with no key
}> {}

export type ClientPhase = "unregistered" | "registering" | "ready" | "awaitingChallenge" | "awaitingGrant"

export interface ClientStep {
  readonly sends: ReadonlyArray<Uint8Array>
  readonly event: "registered" | "answered-challenge" | "rolled"
}

export interface ClientObservation {
  readonly phase: ClientPhase
  /** Epoch of the key the client would use now (`null` with no key). */
  readonly epoch: number | null
}

export interface RollingKeyClient {
  readonly register: (username: string, password: Redacted.Redacted<string>) => Effect.Effect<Uint8Array>
  readonly beginAuth: Effect.Effect<Uint8Array, ClientRejection>
  readonly receive: (bytes: Uint8Array) => Effect.Effect<ClientStep, ClientRejection>
  readonly timeout: Effect.Effect<void>
  readonly observe: Effect.Effect<ClientObservation>
}

/**
 * The single-client service. A generic tag rather than a `Context.Tag` class so that
 * `RollingKeyClient` names both the tag and the interface `makeClient` returns.
 */
export const RollingKeyClient = Context.GenericTag<RollingKeyClient>("authlab/rolling-key/RollingKeyClient")

/** Volatile protocol state. Secrets here never reach the store until they are confirmed. */
type Pending =
  | { readonly _tag: "idle" }
  | {
      readonly _tag: "registering"
      readonly username: string
      /** `ecdh` only: the ephemeral key pair, erased as soon as the registration ends either way. */
      readonly ephemeral: Option.Option<{ readonly secret: Uint8Array; readonly publicKey: Uint8Array }>
    }
  /** `hardened`: the attempt's client nonce, which the challenge must echo. */
  | { readonly _tag: "awaitingChallenge"; readonly clientNonce: Uint8Array }
  | { readonly _tag: "awaitingGrant"; readonly clientNonce: Uint8Array; readonly input: Uint8Array }

const reject = (reason: ClientRejection["reason"]) => Effect.fail(new ClientRejection({ reason }))

// The synchronous decoder: an `Either` is an Effect, and parsing needs no fiber of its own.
const decode = Schema.decodeUnknownEither(ToClient)

const utf8Length = (s: string) => new TextEncoder().encode(s).length

export const makeClient = (options: {
  readonly policy: Policy
  readonly store: ClientStore
}): Effect.Effect<RollingKeyClient, never, Crypto | SecureRandom> =>
  Effect.gen(function*() {
    const { policy, store } = options
    const random = yield* SecureRandom
    const f = formulas(yield* Crypto)
    const record = yield* Ref.make<Option.Option<ClientRecord>>(yield* store.load)
    const pending = yield* Ref.make<Pending>({ _tag: "idle" })
    // One input at a time: each call reads and writes state as a unit.
    const locked = exclusively(yield* Effect.makeSemaphore(1))

    const save = (r: ClientRecord) => Effect.zipRight(store.save(r), Ref.set(record, Option.some(r)))


    /** Drop any pending attempt or registration, erasing an ephemeral secret. */
    const dropPending = Effect.gen(function*() {
      const p = yield* Ref.getAndSet(pending, { _tag: "idle" })
      if (p._tag === "registering" && Option.isSome(p.ephemeral)) erase(p.ephemeral.value.secret)
    })

    const register = Effect.fn("RollingKeyClient.register")(function*(username: string, password: Redacted.Redacted<string>) {
      // Labelled checks at the API edge: a request the server could only refuse as malformed is a caller bug.
      const u = utf8Length(username)
      if (u < 1 || u > 64) return yield* Effect.dieMessage(`expected a 1..64-byte username, got ${u}`)
      const p = utf8Length(Redacted.value(password))
      if (p < 1 || p > 128) return yield* Effect.dieMessage(`expected a 1..128-byte password, got ${p}`)
      yield* dropPending
      const ephemeral = policy.initialKey === "ecdh" ? Option.some(yield* f.ephemeralKeyPair(random)) : Option.none()
      yield* Ref.set(pending, { _tag: "registering", username, ephemeral })
      return RegisterRequest.encode(
        RegisterRequest.make({
          username,
          password: Redacted.value(password),
          clientPublicKey: Option.match(ephemeral, { onNone: () => new Uint8Array(0), onSome: (e) => e.publicKey })
        })
      )
    })

    const beginAuth = Effect.gen(function*() {
      const r = yield* Ref.get(record)
      if (Option.isNone(r)) return yield* reject("not-registered")
      // A new attempt supersedes whatever was pending (an abandoned attempt or registration).
      yield* dropPending
      const deviceId = r.value.deviceId
      const fresh = yield* random.bytes(NONCE_BYTES)
      if (policy.input === "server-challenge") {
        // A fresh nonce names this attempt: a challenge issued for an earlier one is refused.
        yield* Ref.set(pending, { _tag: "awaitingChallenge", clientNonce: fresh })
        return AuthBegin.encode(AuthBegin.make({ deviceId, clientNonce: fresh }))
      }
      // `client-random`: the claim's wording; the input is fresh only in the client's own opinion.
      const attempt = { deviceId, clientNonce: new Uint8Array(0), input: fresh }
      const code = yield* f.authCode(Redacted.value(r.value.key), attempt)
      yield* Ref.set(pending, { _tag: "awaitingGrant", clientNonce: attempt.clientNonce, input: fresh })
      return AuthRequest.encode(AuthRequest.make({ deviceId, input: fresh, code }))
    })

    const onRegisterResponse = Effect.fn("RollingKeyClient.onRegisterResponse")(function*(m: RegisterResponse) {
      const p = yield* Ref.get(pending)
      if (p._tag !== "registering") return yield* reject("unexpected")
      if (policy.initialKey === "sent-back") {
        // The claim: derive K0 from the server's input, store it, and send it back. The confirm
        // field is not part of this variant and is ignored.
        const k0 = yield* f.initialKeyFromServerInput(m.serverInput, m.deviceId)
        yield* save({ deviceId: m.deviceId, key: Redacted.make(k0), epoch: 0, username: p.username })
        yield* Ref.set(pending, { _tag: "idle" })
        // Registered once RegisterKey is sent: the claim has no acknowledgement.
        const sends = [RegisterKey.encode(RegisterKey.make({ deviceId: m.deviceId, rollingKey: k0 }))]
        return { sends, event: "registered" } satisfies ClientStep
      }
      if (Option.isNone(p.ephemeral)) return yield* Effect.dieMessage("ecdh registration without an ephemeral key")
      const ephemeral = p.ephemeral.value
      const parts = { deviceId: m.deviceId, clientPublicKey: ephemeral.publicKey, serverPublicKey: m.serverInput }
      const verified = yield* f.initialKeyFromEcdh(ephemeral.secret, m.serverInput, parts).pipe(
        Effect.tap((k0) => f.verifyRegisterConfirm(k0, m.deviceId, ephemeral.publicKey, m.serverInput, m.confirm)),
        Effect.either
      )
      // A key we cannot confirm may be shared with someone else (a man in the middle, a stale
      // response to an earlier attempt, a low-order server key): never store it. The pending
      // registration stays, since an unauthenticated message must not be able to cancel it
      // (a rejected input changes no state; the model agrees — conformance checks it).
      if (verified._tag === "Left") return yield* reject("bad-confirm")
      // The registration ends here: the ephemeral secret is erased and never reused.
      yield* dropPending
      yield* save({ deviceId: m.deviceId, key: Redacted.make(verified.right), epoch: 0, username: p.username })
      return { sends: [], event: "registered" } satisfies ClientStep
    })

    // The authentication path (beginAuth, the replies to it, and `receive` around them) is
    // untraced: a traced `Effect.fn` captures a stack trace per call, which cost more than the
    // crypto (bench/rolling-key.ts). Registration, once per device, keeps its spans.
    const sameDevice = Effect.fnUntraced(function*(deviceId: Uint8Array) {
      const r = yield* Ref.get(record)
      if (Option.isNone(r) || !constantTimeEqual(r.value.deviceId, deviceId)) return yield* reject("unexpected")
      return r.value
    })

    const onAuthChallenge = Effect.fnUntraced(function*(m: AuthChallenge) {
      const p = yield* Ref.get(pending)
      // Answer a challenge only while waiting for one: otherwise the client would MAC any input
      // the network chooses, a signing oracle for codes.
      if (p._tag !== "awaitingChallenge" || policy.input !== "server-challenge") return yield* reject("unexpected")
      const r = yield* sameDevice(m.deviceId)
      // Only a challenge for THIS attempt: one replayed from an earlier, abandoned attempt would
      // let that attempt's grant complete this one.
      if (!constantTimeEqual(m.clientNonce, p.clientNonce)) return yield* reject("unexpected")
      const attempt = { deviceId: r.deviceId, clientNonce: p.clientNonce, input: m.challenge }
      const code = yield* f.authCode(Redacted.value(r.key), attempt)
      yield* Ref.set(pending, { _tag: "awaitingGrant", clientNonce: p.clientNonce, input: m.challenge })
      const sends = [AuthRequest.encode(AuthRequest.make({ deviceId: r.deviceId, input: m.challenge, code }))]
      return { sends, event: "answered-challenge" } satisfies ClientStep
    })

    const onAuthGranted = Effect.fnUntraced(function*(m: AuthGranted) {
      const p = yield* Ref.get(pending)
      // A grant counts only for the request we are waiting on; a late or replayed one is ignored.
      if (p._tag !== "awaitingGrant") return yield* reject("unexpected")
      const r = yield* sameDevice(m.deviceId)
      const key = Redacted.value(r.key)
      if (policy.authenticatedGrant) {
        // Roll only on a grant the server made for THIS request under the key we used; a forged or
        // replayed grant would otherwise move us to a key the server does not have (desync).
        // On failure the message is ignored and we keep waiting for the real one.
        yield* Effect.mapError(
          f.verifyGrantProof(key, { deviceId: r.deviceId, clientNonce: p.clientNonce, input: p.input }, m.rollingInput, m.proof),
          () => new ClientRejection({ reason: "bad-proof" })
        )
      }
      const next = yield* f.nextKey(key, r.deviceId, m.rollingInput)
      // Store before any use: a crash from here on restarts with the key the server now expects.
      yield* save({ ...r, key: Redacted.make(next), epoch: r.epoch + 1 })
      yield* Ref.set(pending, { _tag: "idle" })
      return { sends: [], event: "rolled" } satisfies ClientStep
    })

    const onAuthRejected = Effect.fnUntraced(function*(m: AuthRejected) {
      const p = yield* Ref.get(pending)
      if (p._tag !== "awaitingChallenge" && p._tag !== "awaitingGrant") return yield* reject("unexpected")
      yield* sameDevice(m.deviceId)
      // Unauthenticated, so only a hint: abandon the attempt (which dropping a message could
      // achieve anyway) and change nothing durable.
      yield* Ref.set(pending, { _tag: "idle" })
      return yield* reject("rejected-by-server")
    })

    const receive = Effect.fnUntraced(function*(bytes: Uint8Array) {
      const m = yield* Effect.mapError(decode(bytes), () => new ClientRejection({ reason: "malformed" }))
      switch (m._tag) {
        case "RegisterResponse":
          return yield* onRegisterResponse(m)
        case "AuthChallenge":
          return yield* onAuthChallenge(m)
        case "AuthGranted":
          return yield* onAuthGranted(m)
        case "AuthRejected":
          return yield* onAuthRejected(m)
      }
    })

    const timeout = dropPending.pipe(Effect.withSpan("RollingKeyClient.timeout"))

    const observe = Effect.gen(function*() {
      const p = yield* Ref.get(pending)
      const held = yield* Ref.get(record)
      const phase: ClientPhase =
        p._tag === "registering"
          ? "registering"
          : p._tag === "awaitingChallenge"
          ? "awaitingChallenge"
          : p._tag === "awaitingGrant"
          ? "awaitingGrant"
          : Option.isSome(held)
          ? "ready"
          : "unregistered"
      return { phase, epoch: Option.getOrNull(Option.map(held, (h) => h.epoch)) } satisfies ClientObservation
    }).pipe(Effect.withSpan("RollingKeyClient.observe"))

    return {
      register: (username, password) => locked(register(username, password)),
      beginAuth: locked(beginAuth),
      receive: (bytes) => locked(receive(bytes)),
      timeout: locked(timeout),
      observe: locked(observe)
    } satisfies RollingKeyClient
  })

/** The single-client case: a client over the `ClientStoreService` in context. */
export const layerClient = (policy: Policy): Layer.Layer<RollingKeyClient, never, Crypto | SecureRandom | ClientStoreService> =>
  Layer.effect(RollingKeyClient, Effect.flatMap(ClientStoreService, (store) => makeClient({ policy, store })))
