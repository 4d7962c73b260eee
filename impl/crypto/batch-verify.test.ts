/**
 * Batch verification on worker threads (batch-verify.ts): a batch of good signatures passes, and
 * a batch with bad ones fails naming exactly those positions — a flipped bit in one signature,
 * a wrong message, a truncated key — on both layers, on 1 and 2 threads. The threads
 * run the layers' own checks, so a malformed key is a `CryptoInputError`, as a single check says.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { ed25519 } from "@noble/curves/ed25519.js"
import { p256 } from "@noble/curves/nist.js"
import { Effect, Either, Exit, Scope } from "effect"
import fc from "fast-check"
import { runs } from "../../properties/harness/config.ts"
import { type BatchVerifier, type BatchVerifierOptions, makeBatchVerifier, shares, type SignatureCheck } from "./batch-verify.ts"

const utf8 = (s: string) => new TextEncoder().encode(s)

/** 8 good checks per scheme, made once (noble signing is the slow part of this file). */
const good: ReadonlyArray<SignatureCheck> = Array.from({ length: 8 }, (_, i) => {
  const secret = new Uint8Array(32).fill(i + 1)
  const message = utf8(`batch message ${i}`)
  return [
    { scheme: "ed25519", publicKey: ed25519.getPublicKey(secret), message, signature: ed25519.sign(message, secret) },
    {
      scheme: "ecdsa-p256",
      publicKey: p256.getPublicKey(secret, true),
      message,
      signature: p256.sign(message, secret, { prehash: true, lowS: false, format: "compact" })
    }
  ] as const
}).flat()

type Damage = "signature-bit" | "message" | "key-truncated"
const damage = (c: SignatureCheck, how: Damage, bit: number): SignatureCheck => {
  switch (how) {
    case "signature-bit": {
      const signature = Uint8Array.from(c.signature)
      signature[(bit >> 3) % signature.length]! ^= 1 << (bit & 7)
      return { ...c, signature }
    }
    case "message":
      return { ...c, message: utf8("another message") }
    case "key-truncated":
      // both layers refuse the key itself, before any verification
      return { ...c, publicKey: c.publicKey.subarray(1) }
  }
}
const expectedError = (how: Damage) => (how === "key-truncated" ? "CryptoInputError" : "VerificationFailed")

// Three threads in all: the sharding is the same code on both layers, so one layer runs on two.
const pools: Array<{ readonly name: string; readonly options: BatchVerifierOptions; verifier?: BatchVerifier }> = [
  { name: "node layer, 2 threads", options: { threads: 2, backend: "node" } },
  { name: "noble layer, 1 thread", options: { threads: 1, backend: "noble" } }
]
const scope = Effect.runSync(Scope.make())
beforeAll(async () => {
  for (const pool of pools) pool.verifier = await Effect.runPromise(Scope.extend(makeBatchVerifier(pool.options), scope))
})
afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))

const failuresOf = (verifier: BatchVerifier, checks: ReadonlyArray<SignatureCheck>) =>
  Either.match(Effect.runSync(Effect.either(verifier.verify(checks))), {
    onLeft: (e) => e.failures,
    onRight: () => []
  })

describe.each(pools)("batch verification, $name", (pool) => {
  it("passes a batch of good Ed25519 and ECDSA P-256 signatures, and an empty one", () => {
    assert.deepStrictEqual(failuresOf(pool.verifier!, good), [])
    assert.deepStrictEqual(failuresOf(pool.verifier!, []), [])
  })

  it("names exactly the one bad signature of a batch, whatever its position", () => {
    const batch = fc.array(fc.nat(good.length - 1), { minLength: 1, maxLength: 24 })
    fc.assert(
      fc.property(batch, fc.nat(), fc.constantFrom<Damage>("signature-bit", "message", "key-truncated"), fc.nat(511), (picks, at, how, bit) => {
        const checks = picks.map((p) => good[p]!)
        const bad = at % checks.length
        checks[bad] = damage(checks[bad]!, how, bit)
        assert.deepStrictEqual(failuresOf(pool.verifier!, checks), [{ index: bad, error: expectedError(how) }])
      }),
      { numRuns: Math.min(runs, 30) }
    )
  })

  it("names every bad signature, in input order", () => {
    const checks = good.map((c, i) => (i % 5 === 1 ? damage(c, "signature-bit", i) : c))
    const expected = good.flatMap((_, i) => (i % 5 === 1 ? [{ index: i, error: "VerificationFailed" as const }] : []))
    assert.deepStrictEqual(failuresOf(pool.verifier!, checks), expected)
  })
})

describe("shares", () => {
  it("cuts a batch into contiguous shares whose sizes differ by at most one", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 50 }), fc.integer({ min: 1, max: 8 }), (items, parts) => {
        const cut = shares(items, parts)
        assert.deepStrictEqual(cut.flatMap((s) => s.items), items)
        cut.forEach((s, i) => assert.strictEqual(s.offset, cut.slice(0, i).reduce((n, x) => n + x.items.length, 0)))
        const sizes = cut.map((s) => s.items.length)
        if (sizes.length > 0) assert.isAtMost(Math.max(...sizes) - Math.min(...sizes), 1)
        assert.isAtMost(cut.length, parts)
      }),
      { numRuns: runs }
    )
  })
})
