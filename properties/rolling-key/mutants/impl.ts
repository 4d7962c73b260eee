/**
 * The implementation side of the P5 mutants: decorators of the real services and stores
 * (impl/rolling-key), each adding one realistic coding mistake from outside the shipped code.
 * The implementation exposes only honest seams for them: the stores it is given, the services it
 * returns, the crypto and decoder it is built with.
 */
import { Effect, Exit, Option, Redacted, Schema } from "effect"
import { AuthGranted, ToClient, ToServer } from "../../../spec/rolling-key/messages.ts"
import { Crypto, type CryptoShape, SecureRandom, VerificationFailed } from "../../../impl/crypto/services.ts"
import { constantTimeEqual } from "../../../impl/crypto/bytes.ts"
import type { RollingKeyClient } from "../../../impl/rolling-key/client.ts"
import { grantProof, nextKey } from "../../../impl/rolling-key/protocol.ts"
import type { RollingKeyServer } from "../../../impl/rolling-key/server.ts"
import type { ClientRecord, ClientStore, ServerStore } from "../../../impl/rolling-key/store.ts"

/** What a decorator of a participant may reach: its durable store. */
export interface ServerParts {
  readonly store: ServerStore
}
export interface ClientParts {
  readonly store: ClientStore
}

export type ServerDecorator = (inner: RollingKeyServer, parts: ServerParts) => Effect.Effect<RollingKeyServer, never, Crypto | SecureRandom>
export type ClientDecorator = (inner: RollingKeyClient, parts: ClientParts) => Effect.Effect<RollingKeyClient, never, Crypto | SecureRandom>

const decodeToServer = Schema.decodeUnknownOption(ToServer)
const decodeToClient = Schema.decodeUnknownOption(ToClient)

/** challenge-not-consumed: a write that would clear the outstanding challenge keeps it. */
export const challengeNotConsumed = (store: ServerStore): ServerStore => ({
  ...store,
  put: (r) =>
    Effect.flatMap(store.get(r.deviceId), (stored) =>
      store.put(Option.isNone(r.challenge) && Option.isSome(stored) ? { ...r, challenge: stored.value.challenge } : r)
    )
})

/** previous-not-kept: the store has no column for the previous key. */
export const previousNotKept = (store: ServerStore): ServerStore => ({ ...store, put: (r) => store.put({ ...r, previous: Option.none() }) })

/**
 * challenge-kept-on-refusal (impl only): a refusal's write — the one that only clears the checked
 * challenge — is skipped, so a refused code leaves its challenge open for another guess. The
 * grant path (which also rolls the keys) still consumes it.
 */
export const challengeKeptOnRefusal = (store: ServerStore): ServerStore => ({
  ...store,
  put: (r) =>
    Effect.flatMap(store.get(r.deviceId), (stored) => {
      const onlyClearsChallenge =
        Option.isSome(stored) && Option.isNone(r.challenge) && Option.isSome(stored.value.challenge) && stored.value.current.epoch === r.current.epoch &&
        constantTimeEqual(Redacted.value(stored.value.current.key), Redacted.value(r.current.key))
      return onlyClearsChallenge ? Effect.void : store.put(r)
    })
})

/**
 * retired-accepted: where the real server refuses a code under the retired key as a clone's, the
 * decorated one accepts it — rolls `current` from the retired key and grants — as if it were a
 * previous key.
 */
export const retiredAccepted: ServerDecorator = (inner, { store }) =>
  Effect.gen(function*() {
    const context = yield* Effect.context<Crypto | SecureRandom>()
    const receive = (bytes: Uint8Array) =>
      Effect.gen(function*() {
        const m = decodeToServer(bytes)
        const before = Option.isSome(m) && m.value._tag === "AuthRequest" ? yield* store.get(m.value.deviceId) : Option.none()
        const result = yield* Effect.either(inner.receive(bytes))
        if (result._tag === "Right") return result.right
        if (result.left.reason !== "clone-suspected" || Option.isNone(before) || Option.isNone(m) || m.value._tag !== "AuthRequest") return yield* Effect.fail(result.left)
        const request = m.value
        const record = before.value
        const retired = Option.getOrThrow(record.retired)
        const after = Option.getOrThrow(yield* store.get(request.deviceId))
        const rollingInput = yield* Effect.flatMap(SecureRandom, (r) => r.bytes(32))
        const key = Redacted.value(retired.key)
        const current = { key: Redacted.make(yield* nextKey(key, request.deviceId, rollingInput)), epoch: retired.epoch + 1 }
        const clientNonce = Option.match(record.challenge, { onNone: () => new Uint8Array(0), onSome: (c) => c.clientNonce })
        const proof = yield* grantProof(key, { deviceId: request.deviceId, clientNonce, input: request.input }, rollingInput)
        yield* store.put({ ...after, current })
        const reply = AuthGranted.encode(AuthGranted.make({ deviceId: request.deviceId, rollingInput, proof }))
        return { reply, event: { _tag: "authenticated" as const, via: "previous" as const, epoch: retired.epoch, newEpoch: current.epoch } }
      }).pipe(Effect.provide(context))
    return { ...inner, receive }
  })

/**
 * key-used-before-stored: a write-behind view of the device's storage, one per running client
 * (lost on a crash): a rolled key is held back until the next roll proves it, so storage lags one
 * key behind the key in use.
 */
export const keyUsedBeforeStored = (durable: ClientStore): ClientStore => {
  let held: Option.Option<ClientRecord> = Option.none()
  return {
    load: Effect.map(durable.load, (r) => (Option.isSome(held) ? held : r)),
    save: (r) =>
      Effect.gen(function*() {
        const stored = yield* durable.load
        const roll = Option.isSome(stored) && constantTimeEqual(stored.value.deviceId, r.deviceId) && r.epoch > 0
        if (!roll) {
          held = Option.none()
          return yield* durable.save(r)
        }
        if (Option.isSome(held)) yield* durable.save(held.value)
        held = Option.some(r)
      }),
    clear: Effect.zipRight(Effect.sync(() => void (held = Option.none())), durable.clear)
  }
}

/** roll-not-persisted (impl only): the write of a rolled key is built but never run. */
export const rollNotPersisted = (durable: ClientStore): ClientStore => ({
  ...durable,
  save: (r) =>
    Effect.flatMap(durable.load, (stored) => {
      const roll = Option.isSome(stored) && constantTimeEqual(stored.value.deviceId, r.deviceId) && r.epoch > 0
      const write = durable.save(r)
      return roll ? Effect.void : write // `write` built, not yielded
    })
})

/**
 * key-written-before-proof-check (impl only): on a grant the client derives and stores the next
 * key first, then checks the grant's proof — and a failing check leaves the new key stored.
 */
export const keyWrittenBeforeProofCheck: ClientDecorator = (inner, { store }) =>
  Effect.gen(function*() {
    const context = yield* Effect.context<Crypto | SecureRandom>()
    const receive = (bytes: Uint8Array) =>
      Effect.gen(function*() {
        const m = decodeToClient(bytes)
        const record = yield* store.load
        const phase = (yield* inner.observe).phase
        if (Option.isSome(m) && m.value._tag === "AuthGranted" && phase === "awaitingGrant" && Option.isSome(record) && constantTimeEqual(record.value.deviceId, m.value.deviceId)) {
          const next = yield* nextKey(Redacted.value(record.value.key), record.value.deviceId, m.value.rollingInput)
          yield* store.save({ ...record.value, key: Redacted.make(next), epoch: record.value.epoch + 1 })
        }
        return yield* inner.receive(bytes)
      }).pipe(Effect.provide(context))
    return { ...inner, receive }
  })

/** mac-prefix (impl only): the server compares a code on its first 16 bytes. */
export const macPrefix = (crypto: CryptoShape): CryptoShape => ({
  ...crypto,
  hmacSha256Verify: (key, message, tag) =>
    Exit.flatMap(crypto.hmacSha256(key, message), (expected) =>
      constantTimeEqual(expected.subarray(0, 16), tag.subarray(0, 16)) ? Exit.void : Exit.fail(new VerificationFailed({ primitive: "hmac-sha256" }))
    )
})

/** code-check-truthy (impl only): the verdict of a MAC check is an Either tested for truthiness, so every tag passes. */
export const codeCheckTruthy = (crypto: CryptoShape): CryptoShape => ({
  ...crypto,
  hmacSha256Verify: (key, message, tag) => {
    const verdict = Effect.runSync(Effect.either(crypto.hmacSha256Verify(key, message, tag)))
    return verdict ? Exit.void : Exit.fail(new VerificationFailed({ primitive: "hmac-sha256" }))
  }
})

export { Crypto }
