/**
 * P5 rolling-key: the server, design §Registration and §Authentication, one code path for every
 * `Policy` (spec/rolling-key/variants.ts).
 *
 * Every input is handled the same way: decode once at the edge (strict `ToServer` schema unless a
 * test plugs in another decoder), then the checks in the design's fixed order, then ONE
 * `store.put`, then the reply — so a reply is never sent for state that was not stored, and a
 * refused input changes nothing. The single documented exception: an AuthRequest that names the
 * outstanding challenge consumes it even when its code is then refused (bad-code,
 * clone-suspected), so a challenge buys exactly one guess.
 *
 * Refusals fail with `ServerRejection` carrying the precise reason (for the log and the trace);
 * the wire reply, when there is a device id to address it to, is the coarse AuthRejected
 * ("denied" / "malformed") so the network learns nothing it could use as an oracle.
 */
import { Context, Data, Effect, Exit, Layer, Option, type ParseResult, Redacted, Schema } from "effect"
import { transcript } from "../../spec/codec.ts"
import {
  AuthChallenge,
  AuthGranted,
  AuthRejected,
  DEVICE_ID_BYTES,
  KEY_BYTES,
  NONCE_BYTES,
  RegisterResponse,
  ToServer,
  type AuthBegin,
  type AuthRequest,
  type RegisterKey,
  type RegisterRequest
} from "../../spec/rolling-key/messages.ts"
import type { Policy } from "../../spec/rolling-key/variants.ts"
import { constantTimeEqual } from "../crypto/bytes.ts"
import { exclusively } from "../exclusive.ts"
import { Crypto, SecureRandom } from "../crypto/services.ts"
import { erase, formulas } from "./protocol.ts"
import { type ServerDeviceRecord, type ServerStore, ServerStoreService, type StoredKey, toHex } from "./store.ts"

export type ServerRejectionReason =
  | "malformed"
  | "unknown-device"
  | "stale-challenge"
  | "bad-code"
  | "clone-suspected"
  | "bad-credentials"

export class ServerRejection extends Data.TaggedError("ServerRejection")<{
  readonly reason: ServerRejectionReason
  /** AuthRejected bytes, when the refused message names a device to address them to. */
  readonly reply?: Uint8Array
}> {}

export type ServerOutcome =
  | { readonly _tag: "registered"; readonly deviceId: Uint8Array }
  | { readonly _tag: "key-stored" }
  | { readonly _tag: "challenge-issued" }
  | {
      readonly _tag: "authenticated"
      /** Which stored key verified the code. */
      readonly via: "current" | "previous"
      /** Epoch of the verified key. */
      readonly epoch: number
      /** Epoch of the new current key. */
      readonly newEpoch: number
    }

export interface ServerStep {
  readonly reply?: Uint8Array
  readonly event: ServerOutcome
}

export interface DeviceObservation {
  readonly deviceId: string
  readonly currentEpoch: number
  readonly previousEpoch: number | null
  readonly retiredEpoch: number | null
  readonly hasChallenge: boolean
}

/** One entry per stored device, in the store's order. */
export type ServerObservation = ReadonlyArray<DeviceObservation>

export interface RollingKeyServer {
  readonly receive: (bytes: Uint8Array) => Effect.Effect<ServerStep, ServerRejection>
  readonly observe: Effect.Effect<ServerObservation>
}

/** A generic tag so that `RollingKeyServer` names both the tag and the interface `makeServer` returns. */
export const RollingKeyServer = Context.GenericTag<RollingKeyServer>("authlab/rolling-key/RollingKeyServer")

export interface Account {
  readonly username: string
  readonly password: Redacted.Redacted<string>
}

export interface ServerOptions {
  readonly policy: Policy
  readonly store: ServerStore
  readonly accounts: ReadonlyArray<Account>
  /** The edge decoder; default the strict `Schema.decodeUnknown(ToServer)` (a seam, as the store is: the caller owns what surrounds the checks). */
  readonly decode?: (bytes: Uint8Array) => Effect.Effect<ToServer, ParseResult.ParseError>
}

const VERIFIER_LABEL = "authlab/rolling-key/password-verifier/v1"
const SALT_BYTES = 16
const EMPTY = new Uint8Array(0)

const refuse = (reason: ServerRejectionReason, reply?: Uint8Array) => Effect.fail(new ServerRejection({ reason, reply }))

const rejected = (deviceId: Uint8Array, reason: "denied" | "malformed") =>
  AuthRejected.encode(AuthRejected.make({ deviceId, reason }))

const epochOf = (k: Option.Option<StoredKey>) => Option.getOrNull(Option.map(k, (x) => x.epoch))

export const makeServer = (options: ServerOptions): Effect.Effect<RollingKeyServer, never, Crypto | SecureRandom> =>
  Effect.gen(function*() {
    const { policy, store } = options
    // The synchronous decoder: an `Either` is an Effect, and parsing needs no fiber of its own.
    const decode = options.decode ?? Schema.decodeUnknownEither(ToServer)
    const crypto = yield* Crypto
    const random = yield* SecureRandom
    const f = formulas(crypto)

    // Credentials. A salted HMAC-SHA256 verifier keeps plain passwords out of memory after
    // construction and is compared in constant time. Production wants a memory-hard hash
    // (Argon2id, scrypt) so a stolen verifier table is slow to attack; P5 leaves password storage
    // out of scope (SECURITY.md), and this is only the credential check the claim needs.
    const verifierInput = (username: string, password: string) => transcript(VERIFIER_LABEL, [username, password])
    const verifiers = new Map<string, { readonly salt: Uint8Array; readonly verifier: Uint8Array }>()
    for (const account of options.accounts) {
      if (verifiers.has(account.username)) return yield* Effect.dieMessage(`duplicate account ${JSON.stringify(account.username)}`)
      const salt = yield* random.bytes(SALT_BYTES)
      const verifier = yield* crypto.hmacSha256(salt, verifierInput(account.username, Redacted.value(account.password)))
      verifiers.set(account.username, { salt, verifier })
    }
    // Checked for an unknown username too, so the time taken does not say which usernames exist.
    const dummy = { salt: yield* random.bytes(SALT_BYTES), verifier: yield* random.bytes(32) }

    /**
     * `claimed` / `sent-back` registrations between RegisterResponse and RegisterKey: device id →
     * username. Volatile on purpose: the record type needs a key, and the claim gives the server
     * none until RegisterKey. A server crash in between loses it (RegisterKey → unknown-device).
     */
    const pendingRegistrations = new Map<string, string>()

    const oneAtATime = exclusively(yield* Effect.makeSemaphore(1))

    const checkCredentials = Effect.fn("RollingKeyServer.checkCredentials")(function*(username: string, password: string) {
      const known = verifiers.get(username)
      const entry = known ?? dummy
      const result = yield* Effect.either(crypto.hmacSha256Verify(entry.salt, verifierInput(username, password), entry.verifier))
      if (known === undefined || result._tag === "Left") return yield* refuse("bad-credentials")
    })

    const onRegisterRequest = Effect.fn("RollingKeyServer.onRegisterRequest")(function*(m: RegisterRequest) {
      // The public-key field must match the variant: present exactly when K0 comes from ECDH.
      const wantKey = policy.initialKey === "ecdh"
      if (m.clientPublicKey.length !== (wantKey ? KEY_BYTES : 0)) return yield* refuse("malformed")
      yield* checkCredentials(m.username, m.password)
      const deviceId = yield* random.bytes(DEVICE_ID_BYTES)

      if (policy.initialKey === "sent-back") {
        // The claim: a random server input; the client derives K0 from it and sends K0 back.
        const serverInput = yield* random.bytes(KEY_BYTES)
        pendingRegistrations.set(toHex(deviceId), m.username)
        const reply = RegisterResponse.encode(RegisterResponse.make({ deviceId, serverInput, confirm: EMPTY }))
        return { reply, event: { _tag: "registered", deviceId } } satisfies ServerStep
      }

      // Hardened: ephemeral X25519 on both sides; K0 never crosses the network.
      const ephemeral = yield* f.ephemeralKeyPair(random)
      const parts = { deviceId, clientPublicKey: m.clientPublicKey, serverPublicKey: ephemeral.publicKey }
      const k0 = yield* Effect.either(f.initialKeyFromEcdh(ephemeral.secret, m.clientPublicKey, parts))
      // skS has done its job; erasing it now means a later compromise cannot recompute K0.
      erase(ephemeral.secret)
      // A low-order client key would give an all-zero secret everyone knows: refuse it.
      if (k0._tag === "Left") return yield* refuse("malformed")
      const confirm = yield* f.registerConfirm(k0.right, deviceId, m.clientPublicKey, ephemeral.publicKey)
      yield* store.put({
        deviceId,
        username: m.username,
        current: { key: Redacted.make(k0.right), epoch: 0 },
        previous: Option.none(),
        retired: Option.none(),
        challenge: Option.none()
      })
      const reply = RegisterResponse.encode(RegisterResponse.make({ deviceId, serverInput: ephemeral.publicKey, confirm }))
      return { reply, event: { _tag: "registered", deviceId } } satisfies ServerStep
    })

    const onRegisterKey = Effect.fn("RollingKeyServer.onRegisterKey")(function*(m: RegisterKey) {
      if (policy.initialKey !== "sent-back") return yield* refuse("malformed", rejected(m.deviceId, "malformed"))
      // Only for a registration this server started and has not finished: a RegisterKey for an
      // existing device would otherwise let anyone overwrite its key.
      const username = pendingRegistrations.get(toHex(m.deviceId))
      // Refused without a reply, as the model's server does (model/rolling-key/server.machine.ts,
      // `refuse`): the claim has no answer to a RegisterKey, so there is nothing to answer it with.
      // (Found by step-wise conformance: a server crash between RegisterResponse and RegisterKey,
      // after which the implementation sent an AuthRejected the model does not.)
      if (username === undefined) return yield* refuse("unknown-device")
      yield* store.put({
        deviceId: m.deviceId,
        username,
        current: { key: Redacted.make(m.rollingKey), epoch: 0 },
        previous: Option.none(),
        retired: Option.none(),
        challenge: Option.none()
      })
      pendingRegistrations.delete(toHex(m.deviceId))
      // No reply: the claim has no acknowledgement of the sent-back key.
      return { event: { _tag: "key-stored" } } satisfies ServerStep
    })

    // The authentication path (AuthBegin, AuthRequest, and `receive` around them) is plain code
    // between the store's Effects: the crypto returns its `Exit` at once (services.ts), so each
    // step is a handful of Effect operations, not one per check. Written with `Effect.gen`, the
    // runtime's steps cost more than the HMACs they sequenced (bench/rolling-key.ts). Registration,
    // once per device, keeps its generator and spans.
    const onAuthBegin = (m: AuthBegin): Effect.Effect<ServerStep, ServerRejection> => {
      if (policy.input !== "server-challenge") return refuse("malformed", rejected(m.deviceId, "malformed"))
      return Effect.flatMap(store.get(m.deviceId), (record) => {
        if (Option.isNone(record)) return refuse("unknown-device", rejected(m.deviceId, "denied"))
        return Effect.flatMap(random.bytes(NONCE_BYTES), (challenge) => {
          // One outstanding challenge per device: a new one replaces (and so invalidates) the last.
          // It is bound to the attempt's client nonce, which the code and the grant proof cover.
          const reply = AuthChallenge.encode(AuthChallenge.make({ deviceId: m.deviceId, clientNonce: m.clientNonce, challenge }))
          return Effect.as(store.put({ ...record.value, challenge: Option.some({ challenge, clientNonce: m.clientNonce }) }), {
            reply,
            event: { _tag: "challenge-issued" }
          } satisfies ServerStep)
        })
      })
    }

    const onAuthRequest = (m: AuthRequest): Effect.Effect<ServerStep, ServerRejection> =>
      Effect.flatMap(store.get(m.deviceId), (found) => {
        const denied = rejected(m.deviceId, "denied")
        // (2) device lookup
        if (Option.isNone(found)) return refuse("unknown-device", denied)
        const record = found.value

        // (3) freshness: the input must be the outstanding challenge. Checked before any MAC, so a
        // replayed request costs the server nothing and changes nothing. The checked challenge is
        // consumed whatever the verdict below: one challenge, one guess.
        let clientNonce: Uint8Array = EMPTY
        if (policy.input === "server-challenge") {
          const outstanding = record.challenge
          const fresh = Option.isSome(outstanding) && constantTimeEqual(outstanding.value.challenge, m.input)
          if (!fresh) return refuse("stale-challenge", denied)
          clientNonce = outstanding.value.clientNonce
        }
        const checked: ServerDeviceRecord = { ...record, challenge: Option.none() }
        const attempt = { deviceId: m.deviceId, clientNonce, input: m.input }
        const consumeAndRefuse = (reason: ServerRejectionReason) =>
          Effect.zipRight(Option.isNone(record.challenge) ? Effect.void : store.put(checked), refuse(reason, denied))

        // (4) the code, under each key the server holds. All are tried every time, so the time
        // taken does not tell the network which key (if any) matched.
        const check = f.authCodeChecker(attempt, m.code)
        const matches = (k: Option.Option<StoredKey>) => Option.isSome(k) && Exit.isSuccess(check(Redacted.value(k.value.key)))
        const underCurrent = matches(Option.some(record.current))
        const underPrevious = matches(record.previous)
        const underRetired = matches(record.retired)

        let verified: StoredKey
        let via: "current" | "previous"
        if (underCurrent) {
          verified = record.current
          via = "current"
        } else if (underPrevious && Option.isSome(record.previous)) {
          // The device's last grant was lost: it still holds the key before current. Allowed
          // because current has never been used (using it would have rotated it into previous).
          verified = record.previous.value
          via = "previous"
        } else if (underRetired && Option.isSome(record.retired)) {
          // The device has provably moved past this key (it logged in with its successor), so
          // whoever holds it now is a copy. (Only `detect` ever stores a retired key.)
          return consumeAndRefuse("clone-suspected")
        } else {
          return consumeAndRefuse("bad-code")
        }

        // (5) roll, store, then reply.
        return Effect.flatMap(random.bytes(NONCE_BYTES), (rollingInput) => {
          const verifiedKey = Redacted.value(verified.key)
          const nextKey = f.nextKey(verifiedKey, m.deviceId, rollingInput)
          const proof = policy.authenticatedGrant ? f.grantProof(verifiedKey, attempt, rollingInput) : Exit.succeed(EMPTY)
          // (our own inputs: a failure here is a defect, carried as it is)
          if (Exit.isFailure(nextKey)) return Exit.failCause(nextKey.cause)
          if (Exit.isFailure(proof)) return Exit.failCause(proof.cause)
          const next: StoredKey = { key: Redacted.make(nextKey.value), epoch: verified.epoch + 1 }
          const updated: ServerDeviceRecord =
            via === "current"
              ? {
                  ...checked,
                  current: next,
                  // Rotate: current → previous → retired; anything older is dropped (forward secrecy).
                  previous: Option.some(record.current),
                  retired: policy.retired === "detect" ? record.previous : Option.none()
                }
              : // A retry from an older key re-derives current from it; previous and retired stay, so
                // the key that was skipped is simply forgotten.
                { ...checked, current: next }
          const reply = AuthGranted.encode(AuthGranted.make({ deviceId: m.deviceId, rollingInput, proof: proof.value }))
          return Effect.as(store.put(updated), {
            reply,
            event: { _tag: "authenticated", via, epoch: verified.epoch, newEpoch: next.epoch }
          } satisfies ServerStep)
        })
      })

    const receive = (bytes: Uint8Array): Effect.Effect<ServerStep, ServerRejection> =>
      // (1) decode: every parse failure collapses into one reason, with no reply (no device id to trust).
      Effect.flatMap(Effect.mapError(decode(bytes), () => new ServerRejection({ reason: "malformed" })), (m) => {
        switch (m._tag) {
          case "RegisterRequest":
            return onRegisterRequest(m)
          case "RegisterKey":
            return onRegisterKey(m)
          case "AuthBegin":
            return onAuthBegin(m)
          case "AuthRequest":
            return onAuthRequest(m)
        }
      })

    const observe = Effect.map(store.all, (records) =>
      records.map((r): DeviceObservation => ({
        deviceId: toHex(r.deviceId),
        currentEpoch: r.current.epoch,
        previousEpoch: epochOf(r.previous),
        retiredEpoch: epochOf(r.retired),
        hasChallenge: Option.isSome(r.challenge)
      }))
    ).pipe(Effect.withSpan("RollingKeyServer.observe"))

    return {
      // One input at a time: check-then-store must not interleave with another input's.
      receive: (bytes) => oneAtATime(receive(bytes)),
      observe: oneAtATime(observe)
    } satisfies RollingKeyServer
  })

/** The single-server case: a server over the `ServerStoreService` in context. */
export const layerServer = (
  options: Omit<ServerOptions, "store">
): Layer.Layer<RollingKeyServer, never, Crypto | SecureRandom | ServerStoreService> =>
  Layer.effect(RollingKeyServer, Effect.flatMap(ServerStoreService, (store) => makeServer({ ...options, store })))
