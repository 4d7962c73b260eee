/**
 * `SecureRandom` layers: the seeded ChaCha20 (RFC 8439 §2.4) generator replays exactly from its
 * seed, separates seeds, and reads one stream however it is chunked; the system layer returns the
 * lengths asked for, beyond Web Crypto's 64 KiB per-call quota, and serves small draws from its pool
 * as copies.
 */
import { assert, describe, it } from "@effect/vitest"
import { chacha20 } from "@noble/ciphers/chacha.js"
import { sha256 } from "@noble/hashes/sha2.js"
import { Cause, Effect, Exit, type Layer } from "effect"
import fc from "fast-check"
import { runs } from "../../properties/harness/config.ts"
import { SecureRandomSeeded, SecureRandomSystem } from "./random.ts"
import { SecureRandom } from "./services.ts"
import { toHex } from "./vectors.ts"

const params = { numRuns: runs }
const seed = fc.oneof(fc.integer(), fc.uint8Array({ maxLength: 48 }))
const lengths = fc.array(fc.nat({ max: 200 }), { minLength: 1, maxLength: 6 })

/** Draw `sizes` in order from a fresh build of `layer`, as hex. */
const draw = (layer: Layer.Layer<SecureRandom>, sizes: ReadonlyArray<number>) =>
  Effect.runSync(
    Effect.gen(function*() {
      const random = yield* SecureRandom
      const out: Array<string> = []
      for (const n of sizes) out.push(toHex(yield* random.bytes(n)))
      return out
    }).pipe(Effect.provide(layer))
  )

describe("SecureRandomSeeded", () => {
  it("the same seed gives the same bytes", () => {
    fc.assert(
      fc.property(seed, lengths, (s, sizes) => {
        assert.deepStrictEqual(draw(SecureRandomSeeded(s), sizes), draw(SecureRandomSeeded(s), sizes))
      }),
      params
    )
  })

  it("different seeds give different bytes", () => {
    fc.assert(
      fc.property(seed, seed, (a, b) => {
        fc.pre(typeof a !== typeof b || (typeof a === "number" ? a !== b : toHex(a as Uint8Array) !== toHex(b as Uint8Array)))
        assert.notStrictEqual(draw(SecureRandomSeeded(a), [32])[0], draw(SecureRandomSeeded(b), [32])[0])
      }),
      params
    )
  })

  it("a number seed and the same value as bytes are different seeds", () => {
    assert.notStrictEqual(draw(SecureRandomSeeded(7), [32])[0], draw(SecureRandomSeeded(new Uint8Array([7])), [32])[0])
  })

  it("successive draws read one stream: chunking does not change the bytes", () => {
    fc.assert(
      fc.property(seed, lengths, (s, sizes) => {
        const total = sizes.reduce((a, b) => a + b, 0)
        assert.strictEqual(draw(SecureRandomSeeded(s), sizes).join(""), draw(SecureRandomSeeded(s), [total])[0])
      }),
      params
    )
  })

  it("is the ChaCha20 keystream under SHA-256(domain ‖ 0x01 ‖ seed), from block 0", () => {
    const seedBytes = new Uint8Array([1, 2, 3])
    const key = sha256(new Uint8Array([...new TextEncoder().encode("authlab/SecureRandomSeeded/v1"), 1, ...seedBytes]))
    const stream = chacha20(key, new Uint8Array(12), new Uint8Array(100))
    assert.strictEqual(draw(SecureRandomSeeded(seedBytes), [100])[0], toHex(stream))
  })

  it("refuses a seed that is not a safe integer", () => {
    assert.throws(() => SecureRandomSeeded(0.5), RangeError)
    assert.throws(() => SecureRandomSeeded(2 ** 53), RangeError)
  })
})

describe("SecureRandomSystem", () => {
  it.effect("returns the length asked for, past the 64 KiB getRandomValues quota", () =>
    Effect.gen(function*() {
      const random = yield* SecureRandom
      for (const n of [0, 1, 65536, 65537, 200_000]) assert.strictEqual((yield* random.bytes(n)).length, n)
    }).pipe(Effect.provide(SecureRandomSystem)))

  it.effect("two 32-byte draws differ", () =>
    Effect.gen(function*() {
      const random = yield* SecureRandom
      assert.notStrictEqual(toHex(yield* random.bytes(32)), toHex(yield* random.bytes(32)))
    }).pipe(Effect.provide(SecureRandomSystem)))

  it.effect("pooled draws across several refills: the lengths asked, all different, each its own buffer", () =>
    Effect.gen(function*() {
      const random = yield* SecureRandom
      const seen = new Set<string>()
      // 3 × 4 KiB of 24-byte draws, so draws land on both sides of each refill
      for (let i = 0; i < 512; i++) {
        const out = yield* random.bytes(24)
        assert.strictEqual(out.length, 24)
        // a copy, not a view of the pool: nothing the caller does to it reaches a later draw
        assert.strictEqual(out.buffer.byteLength, 24)
        seen.add(toHex(out))
      }
      assert.strictEqual(seen.size, 512)
    }).pipe(Effect.provide(SecureRandomSystem)))

  it.effect("a negative length is a defect, not a value", () =>
    Effect.gen(function*() {
      const random = yield* SecureRandom
      const exit = yield* Effect.exit(random.bytes(-1))
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
    }).pipe(Effect.provide(SecureRandomSystem)))
})
