/**
 * The OPAQUE service (./opaque.ts) over `@serenity-kit/opaque`. The package ships no test vectors,
 * and it exposes no deterministic entry points (blind, nonces and key shares are drawn inside the
 * WASM), and its key-stretching function is always Argon2id where RFC 9807's ristretto255 vectors
 * (Appendix C) use the identity KSF: so RFC 9807's vectors cannot be reproduced through it. What is
 * checked instead: the flights have RFC 9807 §6.1's sizes for ristretto255 / SHA-512, their group
 * elements decode as canonical ristretto255 points under noble (an independent RFC 9496
 * implementation), round trips agree on the session key, every edit, replay or wrong password is
 * refused, and the seeded randomness makes a run replay byte for byte.
 */
import { ristretto255 } from "@noble/curves/ed25519.js"
import { Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import { KE1_BYTES, KE2_BYTES, KE3_BYTES } from "../../spec/split-login/messages.ts"
import { SecureRandomSeeded, SecureRandomSystem } from "../crypto/random.ts"
import { KeyStretching, makeOpaque, type OpaqueShape } from "./opaque.ts"

const serviceFor = (seed: number): OpaqueShape => Effect.runSync(Effect.provide(makeOpaque(KeyStretching.light), SecureRandomSeeded(seed)))
const run = <A, E>(e: Effect.Effect<A, E>) => Effect.runSync(Effect.either(e))
const flip = (b: Uint8Array, at = b.length - 1) => {
  const c = Uint8Array.from(b)
  c[at]! ^= 1
  return c
}

const login = (o: OpaqueShape, password = "sunshine") => {
  const setup = Effect.runSync(o.createSetup())
  const record = Either.getOrThrow(run(o.register(setup, "alice", "sunshine")))
  const c1 = Effect.runSync(o.clientStart("alice", password))
  const s1 = Either.getOrThrow(run(o.serverStart(setup, "alice", record, c1.ke1)))
  return { setup, record, c1, s1 }
}

describe("OPAQUE service (RFC 9807 via @serenity-kit/opaque)", () => {
  it("flights and record have RFC 9807 §6.1 sizes for ristretto255 / SHA-512", () => {
    const o = serviceFor(1)
    const { record, c1, s1 } = login(o)
    const c2 = Either.getOrThrow(run(o.clientFinish(c1.state, s1.ke2, "sunshine")))
    expect([c1.ke1.length, s1.ke2.length, c2.ke3.length, record.length]).toEqual([KE1_BYTES, KE2_BYTES, KE3_BYTES, 32 + 64 + 96])
  })

  it("KE1's blinded element, KE1's and KE2's key shares, and the record's client key are canonical ristretto255 points (noble)", () => {
    const o = serviceFor(2)
    const { record, c1, s1 } = login(o)
    // KE1 = blinded(32) ‖ client nonce(32) ‖ client key share(32); KE2 = evaluated(32) ‖ masking nonce(32) ‖ masked response(128) ‖ server nonce(32) ‖ server key share(32) ‖ MAC(64)
    for (const element of [c1.ke1.subarray(0, 32), c1.ke1.subarray(64, 96), s1.ke2.subarray(0, 32), s1.ke2.subarray(224, 256), record.subarray(0, 32)]) {
      const p = ristretto255.Point.fromBytes(element)
      expect(Buffer.from(p.toBytes()).equals(Buffer.from(element))).toBe(true)
    }
  })

  it("a login agrees on the session key on both sides", () => {
    const o = serviceFor(3)
    const { c1, s1 } = login(o)
    const c2 = Either.getOrThrow(run(o.clientFinish(c1.state, s1.ke2, "sunshine")))
    const key = Either.getOrThrow(run(o.serverFinish(s1.state, c2.ke3)))
    expect(Buffer.from(key).equals(Buffer.from(c2.sessionKey))).toBe(true)
    expect(key.length).toBe(64)
  })

  it("a wrong password fails at the client (the server's MAC does not verify) and yields nothing", () => {
    const o = serviceFor(4)
    const { c1, s1 } = login(o, "hunter2")
    expect(Either.isLeft(run(o.clientFinish(c1.state, s1.ke2, "hunter2")))).toBe(true)
  })

  it("a KE2 with any one byte flipped is refused by the client", () => {
    const o = serviceFor(5)
    const { c1, s1 } = login(o)
    for (const at of [0, 31, 64, 200, 223, 255, 319]) expect(Either.isLeft(run(o.clientFinish(c1.state, flip(s1.ke2, at), "sunshine"))), `byte ${at}`).toBe(true)
  })

  it("a KE3 flipped, or answered to another login's KE2 (another server nonce), is refused by the server", () => {
    const o = serviceFor(6)
    const { setup, record, c1, s1 } = login(o)
    const c2 = Either.getOrThrow(run(o.clientFinish(c1.state, s1.ke2, "sunshine")))
    expect(Either.isLeft(run(o.serverFinish(s1.state, flip(c2.ke3))))).toBe(true)
    // the same KE1 started again: a fresh server nonce, so the captured KE3 does not verify
    const again = Either.getOrThrow(run(o.serverStart(setup, "alice", record, c1.ke1)))
    expect(Either.isLeft(run(o.serverFinish(again.state, c2.ke3)))).toBe(true)
  })

  it("a record registered for alice does not log in bob (identities are bound)", () => {
    const o = serviceFor(7)
    const { setup, record } = login(o)
    const c1 = Effect.runSync(o.clientStart("bob", "sunshine"))
    const s1 = Either.getOrThrow(run(o.serverStart(setup, "bob", record, c1.ke1)))
    expect(Either.isLeft(run(o.clientFinish(c1.state, s1.ke2, "sunshine")))).toBe(true)
  })

  it("seeded randomness replays a login byte for byte, another seed does not, and crypto.getRandomValues is restored", () => {
    const original = globalThis.crypto.getRandomValues
    const a = login(serviceFor(8))
    const b = login(serviceFor(8))
    const c = login(serviceFor(9))
    expect(Buffer.from(a.s1.ke2).equals(Buffer.from(b.s1.ke2))).toBe(true)
    expect(Buffer.from(a.s1.ke2).equals(Buffer.from(c.s1.ke2))).toBe(false)
    expect(globalThis.crypto.getRandomValues).toBe(original)
  })

  it("with the system CSPRNG (which itself reads crypto.getRandomValues) a login still agrees on the session key", () => {
    const o = Effect.runSync(Effect.provide(makeOpaque(KeyStretching.light), SecureRandomSystem))
    const { c1, s1 } = login(o)
    const c2 = Either.getOrThrow(run(o.clientFinish(c1.state, s1.ke2, "sunshine")))
    expect(Buffer.from(Either.getOrThrow(run(o.serverFinish(s1.state, c2.ke3)))).equals(Buffer.from(c2.sessionKey))).toBe(true)
  })

  it("a KE1 that is not a point is refused by the server as an error, not a crash", () => {
    const o = serviceFor(10)
    const { setup, record } = login(o)
    expect(Either.isLeft(run(o.serverStart(setup, "alice", record, new Uint8Array(KE1_BYTES).fill(0xff))))).toBe(true)
  })
})

