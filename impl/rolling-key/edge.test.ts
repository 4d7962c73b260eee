/**
 * P5 rolling-key, the edge (P5.malformed-input; design §Authentication check order): truncated,
 * trailing-byte, random, wrong-variant and unknown-device inputs are refused with a typed reason
 * and leave the durable state exactly as it was; so are bad credentials, a bad code (apart from
 * the documented challenge consumption), a low-order X25519 key and a bad key confirmation.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Redacted, Schema } from "effect"
import { AuthBegin, AuthRequest, RegisterRequest, RegisterResponse } from "../../spec/rolling-key/messages.ts"
import { claimed, hardened, policies, type Policy } from "../../spec/rolling-key/variants.ts"
import { ClientRejection } from "./client.ts"
import { type RollingKeyServer, ServerRejection } from "./server.ts"
import { snapshotClientStore, snapshotServerStore, type ServerStore } from "./store.ts"
import { loginUntilGrant, makeWorld, register, TestLayer, USERNAME, type World } from "./test-support.ts"

/** Deliver `bytes`, expect a refusal with `reason`, and check the store did not move. */
const refusedWithoutChange = (server: RollingKeyServer, store: ServerStore, bytes: Uint8Array, reason: ServerRejection["reason"]) =>
  Effect.gen(function*() {
    const before = yield* snapshotServerStore(store)
    const error = yield* Effect.flip(server.receive(bytes))
    assert.instanceOf(error, ServerRejection)
    assert.strictEqual(error.reason, reason)
    assert.deepStrictEqual(yield* snapshotServerStore(store), before)
    return error
  })

/** A registered device with a login done and (hardened) a challenge outstanding: state worth protecting. */
const busyWorld = (policy: Policy) =>
  Effect.gen(function*() {
    const w = yield* makeWorld(policy)
    yield* register(w)
    const { request } = yield* loginUntilGrant(w)
    const begin = policy.input === "server-challenge" ? yield* w.client.beginAuth : undefined
    if (begin !== undefined) yield* w.server.receive(begin)
    return { w, request, begin }
  })

const truncate = (bytes: Uint8Array) => bytes.subarray(0, bytes.length - 1)
const withTrailingByte = (bytes: Uint8Array) => Uint8Array.from([...bytes, 0])
const otherDevice = (bytes: Uint8Array) => {
  const out = Uint8Array.from(bytes)
  out[4] = out[4]! ^ 0xff // first byte of the device id (version, code, u16 length precede it)
  return out
}

describe("rolling-key server: malformed input", () => {
  for (const policy of Object.values(policies)) {
    it.effect(`${policy.name}: truncated and trailing-byte messages are malformed and change nothing`, () =>
      Effect.gen(function*() {
        const { w, request, begin } = yield* busyWorld(policy)
        const register = yield* w.client.register(USERNAME, Redacted.make("pw"))
        for (const valid of [request, register, ...(begin ? [begin] : [])]) {
          const truncated = yield* refusedWithoutChange(w.server, w.serverStore, truncate(valid), "malformed")
          assert.isUndefined(truncated.reply, "a parse failure has no device id to address a reply to")
          yield* refusedWithoutChange(w.server, w.serverStore, withTrailingByte(valid), "malformed")
        }
        yield* refusedWithoutChange(w.server, w.serverStore, new Uint8Array(0), "malformed")
      }).pipe(Effect.provide(TestLayer(20))))

    it.effect.prop(
      `${policy.name}: random bytes are refused with a typed reason and change nothing`,
      [
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          // a valid header and a message code we know, so the field parser is exercised too
          fc.tuple(fc.integer({ min: 1, max: 8 }), fc.uint8Array({ maxLength: 200 })).map(([code, rest]) =>
            Uint8Array.from([1, code, ...rest])
          )
        )
      ],
      ([bytes]) =>
        Effect.gen(function*() {
          const { w } = yield* busyWorld(policy)
          const before = yield* snapshotServerStore(w.serverStore)
          const error = yield* Effect.flip(w.server.receive(bytes))
          assert.instanceOf(error, ServerRejection)
          assert.deepStrictEqual(yield* snapshotServerStore(w.serverStore), before)
        }).pipe(Effect.provide(TestLayer(21))),
      { fastCheck: { numRuns: 50 } }
    )

    it.effect(`${policy.name}: a request for an unknown device is refused with unknown-device`, () =>
      Effect.gen(function*() {
        const { w, request, begin } = yield* busyWorld(policy)
        const error = yield* refusedWithoutChange(w.server, w.serverStore, otherDevice(request), "unknown-device")
        assert.isDefined(error.reply)
        if (begin) yield* refusedWithoutChange(w.server, w.serverStore, otherDevice(begin), "unknown-device")
      }).pipe(Effect.provide(TestLayer(22))))

    it.effect(`${policy.name}: wrong credentials are refused with bad-credentials`, () =>
      Effect.gen(function*() {
        const { w } = yield* busyWorld(policy)
        for (const [username, password] of [[USERNAME, "wrong"], ["mallory", "correct horse battery staple"]] as const) {
          const bytes = yield* w.client.register(username, Redacted.make(password))
          yield* refusedWithoutChange(w.server, w.serverStore, bytes, "bad-credentials")
        }
      }).pipe(Effect.provide(TestLayer(23))))
  }

  it.effect("claimed: a hardened-only message (AuthBegin) is malformed, answered with AuthRejected(malformed)", () =>
    Effect.gen(function*() {
      const { w, request } = yield* busyWorld(claimed)
      const { deviceId } = Schema.decodeSync(AuthRequest.wire)(request)
      const error = yield* refusedWithoutChange(w.server, w.serverStore, AuthBegin.encode(AuthBegin.make({ deviceId, clientNonce: new Uint8Array(32) })), "malformed")
      assert.isDefined(error.reply)
    }).pipe(Effect.provide(TestLayer(24))))

  it.effect("hardened: RegisterRequest without a public key, or with a low-order one, is malformed", () =>
    Effect.gen(function*() {
      const w = yield* makeWorld(hardened)
      for (const clientPublicKey of [new Uint8Array(0), new Uint8Array(32)]) {
        const bytes = RegisterRequest.encode(
          RegisterRequest.make({ username: USERNAME, password: "correct horse battery staple", clientPublicKey })
        )
        yield* refusedWithoutChange(w.server, w.serverStore, bytes, "malformed")
      }
    }).pipe(Effect.provide(TestLayer(25))))
})

describe("rolling-key server: bad codes", () => {
  const flipLastBit = (bytes: Uint8Array) => {
    const out = Uint8Array.from(bytes)
    out[out.length - 1] = out[out.length - 1]! ^ 1 // inside the code, the last field
    return out
  }

  it.effect("hardened: a flipped code bit is bad-code; only the challenge is consumed", () =>
    Effect.gen(function*() {
      const w: World = yield* makeWorld(hardened)
      yield* register(w)
      const challenge = yield* w.server.receive(yield* w.client.beginAuth)
      const answered = yield* w.client.receive(challenge.reply!)
      const before = yield* snapshotServerStore(w.serverStore)
      const error = yield* Effect.flip(w.server.receive(flipLastBit(answered.sends[0]!)))
      assert.strictEqual(error.reason, "bad-code")
      assert.deepStrictEqual(yield* snapshotServerStore(w.serverStore), before.map((r) => ({ ...r, challenge: null })))
      // the genuine request now finds its challenge gone: one challenge, one guess
      const stale = yield* Effect.flip(w.server.receive(answered.sends[0]!))
      assert.strictEqual(stale.reason, "stale-challenge")
    }).pipe(Effect.provide(TestLayer(26))))

  it.effect("claimed: a flipped code bit is bad-code and changes nothing", () =>
    Effect.gen(function*() {
      const w = yield* makeWorld(claimed)
      yield* register(w)
      yield* refusedWithoutChange(w.server, w.serverStore, flipLastBit(yield* w.client.beginAuth), "bad-code")
    }).pipe(Effect.provide(TestLayer(27))))
})

describe("rolling-key client: refused input", () => {
  for (const policy of Object.values(policies)) {
    it.effect(`${policy.name}: malformed and unexpected input is refused and leaves the store as it was`, () =>
      Effect.gen(function*() {
        const { w, request } = yield* busyWorld(policy)
        const before = yield* snapshotClientStore(w.clientStore)
        const observed = yield* w.client.observe
        const challengeLike = Uint8Array.from(request) // an AuthRequest is not a message to the client
        for (const [bytes, reason] of [
          [new Uint8Array(0), "malformed"],
          [challengeLike, "malformed"],
          [new Uint8Array([1, 2, 0, 1]), "malformed"]
        ] as const) {
          const error = yield* Effect.flip(w.client.receive(bytes))
          assert.instanceOf(error, ClientRejection)
          assert.strictEqual(error.reason, reason)
        }
        assert.deepStrictEqual(yield* snapshotClientStore(w.clientStore), before)
        assert.deepStrictEqual(yield* w.client.observe, observed)
      }).pipe(Effect.provide(TestLayer(28))))
  }

  it.effect("hardened: a RegisterResponse whose key confirmation fails is ignored (bad-confirm); the genuine one still completes", () =>
    Effect.gen(function*() {
      const w = yield* makeWorld(hardened)
      const response = yield* w.server.receive(yield* w.client.register(USERNAME, Redacted.make("correct horse battery staple")))
      const decoded = Schema.decodeSync(RegisterResponse.wire)(response.reply!)
      const tampered = RegisterResponse.encode({ ...decoded, confirm: decoded.confirm.map((b) => b ^ 1) })
      const error = yield* Effect.flip(w.client.receive(tampered))
      assert.strictEqual(error.reason, "bad-confirm")
      assert.isNull(yield* snapshotClientStore(w.clientStore))
      assert.deepStrictEqual(yield* w.client.observe, { phase: "registering", epoch: null })
      // an unauthenticated message cannot cancel the registration: the genuine response completes it
      assert.strictEqual((yield* w.client.receive(response.reply!)).event, "registered")
    }).pipe(Effect.provide(TestLayer(29))))

  it.effect("beginAuth before registration fails not-registered", () =>
    Effect.gen(function*() {
      const w = yield* makeWorld(hardened)
      assert.strictEqual((yield* Effect.flip(w.client.beginAuth)).reason, "not-registered")
    }).pipe(Effect.provide(TestLayer(30))))
})
