/**
 * P5 rolling-key, honest and adversarial flows (design §Registration, §Authentication): both
 * variants register and roll; the hardened one survives a lost grant, refuses a replay, refuses a
 * clone with clone-suspected, never puts a key on the wire, and ignores a forged grant.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import { AuthGranted, AuthRequest } from "../../spec/rolling-key/messages.ts"
import { claimed, hardened, policies, type Policy } from "../../spec/rolling-key/variants.ts"
import { ClientRejection, makeClient } from "./client.ts"
import { ServerRejection } from "./server.ts"
import { makeInMemoryClientStore, snapshotClientStore, snapshotServerStore, toHex } from "./store.ts"
import {
  containsBytes,
  deviceKey,
  login,
  loginUntilGrant,
  makeWorld,
  register,
  TestLayer,
  toClient,
  toServer
} from "./test-support.ts"

const failure = <A, E>(self: Effect.Effect<A, E>) => Effect.flip(self)

describe("rolling-key: honest runs", () => {
  for (const policy of Object.values(policies)) {
    it.effect(`${policy.name}: registration then 3 logins, each under the current key`, () =>
      Effect.gen(function*() {
        const w = yield* makeWorld(policy)
        yield* register(w)
        assert.deepStrictEqual(yield* w.client.observe, { phase: "ready", epoch: 0 })
        for (let epoch = 0; epoch < 3; epoch++) {
          const step = yield* login(w)
          assert.deepStrictEqual(step.event, { _tag: "authenticated", via: "current", epoch, newEpoch: epoch + 1 })
        }
        assert.deepStrictEqual(yield* w.client.observe, { phase: "ready", epoch: 3 })
        const [device] = yield* w.server.observe
        assert.deepInclude(device, {
          currentEpoch: 3,
          previousEpoch: 2,
          retiredEpoch: policy.retired === "none" ? null : 1,
          hasChallenge: false
        })
        // Both sides hold the same key.
        const [record] = yield* snapshotServerStore(w.serverStore)
        assert.strictEqual(record!.current.key, (yield* snapshotClientStore(w.clientStore))!.key)
      }).pipe(Effect.provide(TestLayer(1))))
  }

  it.effect("a client rebuilt over its store (crash-restart) logs in where it left off", () =>
    Effect.gen(function*() {
      const w = yield* makeWorld(hardened)
      yield* register(w)
      yield* login(w)
      const restarted = yield* makeClient({ policy: hardened, store: w.clientStore })
      assert.deepStrictEqual(yield* restarted.observe, { phase: "ready", epoch: 1 })
      const step = yield* login(w, restarted)
      assert.deepInclude(step.event, { via: "current", epoch: 1 })
    }).pipe(Effect.provide(TestLayer(2))))
})

describe("rolling-key: every single-switch mix of hardened still runs honestly", () => {
  // Every policy switch is a real difference between claimed and hardened, so any mix of them is a
  // protocol someone could ship: each must still work when nothing goes wrong.
  const flips: ReadonlyArray<Partial<Policy>> = [
    { retired: "none" },
    { authenticatedGrant: false },
    { initialKey: "sent-back" },
    { input: "client-random" }
  ]
  for (const flip of flips) {
    it.effect(JSON.stringify(flip), () =>
      Effect.gen(function*() {
        const w = yield* makeWorld({ ...hardened, ...flip, name: `hardened+${JSON.stringify(flip)}` })
        yield* register(w)
        for (let epoch = 0; epoch < 3; epoch++) assert.deepInclude((yield* login(w)).event, { via: "current", epoch })
        assert.deepStrictEqual(yield* w.client.observe, { phase: "ready", epoch: 3 })
      }).pipe(Effect.provide(TestLayer(13))))
  }
})

describe("rolling-key: lost grant", () => {
  for (const policy of Object.values(policies)) {
    it.effect(`${policy.name}: the grant is dropped, the retry verifies under previous and both sides resync`, () =>
      Effect.gen(function*() {
        const w = yield* makeWorld(policy)
        yield* register(w)
        yield* login(w)
        const { step: lost } = yield* loginUntilGrant(w) // the server rolled to epoch 2; the grant never arrives
        assert.deepInclude(lost.event, { via: "current", epoch: 1, newEpoch: 2 })
        yield* w.client.timeout
        assert.deepStrictEqual(yield* w.client.observe, { phase: "ready", epoch: 1 })
        const retry = yield* login(w)
        assert.deepStrictEqual(retry.event, { _tag: "authenticated", via: "previous", epoch: 1, newEpoch: 2 })
        assert.deepStrictEqual(yield* w.client.observe, { phase: "ready", epoch: 2 })
        const next = yield* login(w)
        assert.deepInclude(next.event, { via: "current", epoch: 2 })
      }).pipe(Effect.provide(TestLayer(3))))
  }

  it.effect("hardened: a grant arriving after the timeout is ignored (not waiting)", () =>
    Effect.gen(function*() {
      const w = yield* makeWorld(hardened)
      yield* register(w)
      const { step } = yield* loginUntilGrant(w)
      yield* w.client.timeout
      const before = yield* snapshotClientStore(w.clientStore)
      const error = yield* failure(w.client.receive(step.reply!))
      assert.strictEqual(error.reason, "unexpected")
      assert.deepStrictEqual(yield* snapshotClientStore(w.clientStore), before)
    }).pipe(Effect.provide(TestLayer(4))))
})

describe("rolling-key: replay", () => {
  it.effect("hardened: a replayed AuthRequest is refused with stale-challenge and changes nothing", () =>
    Effect.gen(function*() {
      const w = yield* makeWorld(hardened)
      yield* register(w)
      const { request, step } = yield* loginUntilGrant(w)
      yield* toClient(w, step.reply!)
      const before = yield* snapshotServerStore(w.serverStore)
      const error = yield* failure(w.server.receive(request))
      assert.instanceOf(error, ServerRejection)
      assert.strictEqual(error.reason, "stale-challenge")
      assert.isDefined(error.reply) // a coarse AuthRejected for the named device
      assert.deepStrictEqual(yield* snapshotServerStore(w.serverStore), before)
    }).pipe(Effect.provide(TestLayer(5))))

  it.effect("hardened: a replay is refused even while a newer challenge is outstanding", () =>
    Effect.gen(function*() {
      const w = yield* makeWorld(hardened)
      yield* register(w)
      const { request, step } = yield* loginUntilGrant(w)
      yield* toClient(w, step.reply!)
      yield* toServer(w, yield* w.client.beginAuth) // a fresh challenge is now outstanding
      const error = yield* failure(w.server.receive(request))
      assert.strictEqual(error.reason, "stale-challenge")
    }).pipe(Effect.provide(TestLayer(6))))

  it.effect("claimed: a replayed AuthRequest is accepted again under previous (the weakness P5.no-replay reports)", () =>
    Effect.gen(function*() {
      const w = yield* makeWorld(claimed)
      yield* register(w)
      const { request, step } = yield* loginUntilGrant(w)
      yield* toClient(w, step.reply!)
      const replayed = yield* toServer(w, request)
      assert.deepStrictEqual(replayed.event, { _tag: "authenticated", via: "previous", epoch: 0, newEpoch: 1 })
    }).pipe(Effect.provide(TestLayer(7))))
})

describe("rolling-key: clones", () => {
  it.effect("hardened: a clone of the device is refused with clone-suspected once the device has used a later key", () =>
    Effect.gen(function*() {
      const w = yield* makeWorld(hardened)
      yield* register(w)
      yield* login(w) // device now holds k1
      const copied = Option.getOrThrow(yield* w.clientStore.load)
      const clone = yield* makeClient({ policy: hardened, store: makeInMemoryClientStore(copied) })
      yield* login(w) // the device uses k1 (k1 becomes the server's previous) …
      yield* login(w) // … and then k2: k1 is now retired, provably past
      const before = yield* snapshotServerStore(w.serverStore)
      const request = yield* clone.beginAuth
      const challenge = yield* toServer(w, request)
      const answered = yield* toClient(w, challenge.reply!, clone)
      const error = yield* failure(w.server.receive(answered.sends[0]!))
      assert.strictEqual(error.reason, "clone-suspected")
      // Only the documented change: the challenge was consumed; keys and epochs are untouched.
      const after = yield* snapshotServerStore(w.serverStore)
      assert.deepStrictEqual(after, before.map((r) => ({ ...r, challenge: null })))
      // The device itself is unaffected.
      const step = yield* login(w)
      assert.deepInclude(step.event, { via: "current", epoch: 3 })
    }).pipe(Effect.provide(TestLayer(8))))

  it.effect("hardened (known residual): a clone using the key the device just used is taken for a lost grant", () =>
    Effect.gen(function*() {
      const w = yield* makeWorld(hardened)
      yield* register(w)
      const clone = yield* makeClient({
        policy: hardened,
        store: makeInMemoryClientStore(Option.getOrThrow(yield* w.clientStore.load))
      })
      yield* login(w) // device uses k0; k1 (current) has never been used
      const step = yield* login(w, clone)
      assert.deepInclude(step.event, { via: "previous", epoch: 0 })
      // … and the device, holding k1, is now refused with bad-code, not clone-suspected.
      const error = yield* failure(loginUntilGrant(w))
      assert.instanceOf(error, ServerRejection)
      assert.strictEqual(error.reason, "bad-code")
    }).pipe(Effect.provide(TestLayer(9))))
})

describe("rolling-key: key secrecy", () => {
  it.effect("hardened: K0 never appears in a registration message, nor any key in any later message", () =>
    Effect.gen(function*() {
      const w = yield* makeWorld(hardened)
      yield* register(w)
      const k0 = yield* deviceKey(w.clientStore)
      const [record] = yield* snapshotServerStore(w.serverStore)
      assert.strictEqual(record!.current.key, toHex(k0), "both sides derived the same K0")
      assert.strictEqual(w.wire.length, 2)
      for (const message of w.wire) assert.isFalse(containsBytes(message, k0))
      const keys = [k0]
      for (let i = 0; i < 3; i++) {
        yield* login(w)
        keys.push(yield* deviceKey(w.clientStore))
      }
      for (const message of w.wire) for (const key of keys) assert.isFalse(containsBytes(message, key))
    }).pipe(Effect.provide(TestLayer(10))))

  it.effect("claimed: K0 is sent back in RegisterKey (the scan's positive control; P5.key-secrecy fails)", () =>
    Effect.gen(function*() {
      const w = yield* makeWorld(claimed)
      yield* register(w)
      const k0 = yield* deviceKey(w.clientStore)
      assert.isTrue(w.wire.some((m) => containsBytes(m, k0)))
    }).pipe(Effect.provide(TestLayer(11))))
})

describe("rolling-key: grant authentication", () => {
  it.effect("hardened: a forged grant fails bad-proof, the client keeps waiting, then takes the real one", () =>
    Effect.gen(function*() {
      const w = yield* makeWorld(hardened)
      yield* register(w)
      const { request, step } = yield* loginUntilGrant(w)
      const { deviceId } = Schema.decodeSync(AuthRequest.wire)(request)
      const forged = AuthGranted.encode(
        AuthGranted.make({ deviceId, rollingInput: new Uint8Array(32).fill(7), proof: new Uint8Array(32).fill(9) })
      )
      const before = yield* snapshotClientStore(w.clientStore)
      const error = yield* failure(w.client.receive(forged))
      assert.instanceOf(error, ClientRejection)
      assert.strictEqual(error.reason, "bad-proof")
      assert.deepStrictEqual(yield* w.client.observe, { phase: "awaitingGrant", epoch: 0 })
      assert.deepStrictEqual(yield* snapshotClientStore(w.clientStore), before)
      const rolled = yield* w.client.receive(step.reply!)
      assert.strictEqual(rolled.event, "rolled")
      assert.deepStrictEqual(yield* w.client.observe, { phase: "ready", epoch: 1 })
    }).pipe(Effect.provide(TestLayer(12))))
})
