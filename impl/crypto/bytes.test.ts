/**
 * The shared byte helpers: constant-time equality agrees with plain equality, and the P-256
 * scalar check (SEC1 §3.2.1) accepts exactly [1, n-1].
 */
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { runs } from "../../properties/harness/config.ts"
import { bytesToBigIntBE, constantTimeEqual, isAllZero, P256_ORDER, requireP256SecretKey } from "./bytes.ts"
import { hex, toHex } from "./vectors.ts"

describe("constantTimeEqual", () => {
  it("agrees with byte-wise equality", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (a, b) => {
        assert.strictEqual(constantTimeEqual(a, b), toHex(a) === toHex(b))
      }),
      { numRuns: runs }
    )
  })

  it("finds a single differing bit anywhere", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.nat(), (a, bit) => {
        const b = Uint8Array.from(a)
        const at = bit % (a.length * 8)
        b[at >> 3]! ^= 1 << (at & 7)
        assert.isFalse(constantTimeEqual(a, b))
        assert.isTrue(constantTimeEqual(a, Uint8Array.from(a)))
      }),
      { numRuns: runs }
    )
  })

  it("is false for a prefix", () => {
    assert.isFalse(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2])))
  })
})

describe("isAllZero", () => {
  it("is true only for zero bytes", () => {
    assert.isTrue(isAllZero(new Uint8Array(32)))
    assert.isTrue(isAllZero(new Uint8Array(0)))
    assert.isFalse(isAllZero(hex("0000000000000080")))
  })
})

describe("requireP256SecretKey", () => {
  // the check returns undefined for a key it accepts, else the failure
  const check = (d: bigint) => requireP256SecretKey(hex(d.toString(16).padStart(64, "0"))) === undefined
  it("accepts 1 and n − 1, refuses 0, n and n + 1", () => {
    assert.deepStrictEqual(
      [check(1n), check(P256_ORDER - 1n), check(0n), check(P256_ORDER), check(P256_ORDER + 1n)],
      [true, true, false, false, false]
    )
  })

  it("agrees with the integer comparison 1 ≤ d < n (byte-wise scan)", () => {
    // keys near n share its leading bytes, where a byte-wise comparison can go wrong
    const nearOrder = fc.bigInt({ min: P256_ORDER - 2n ** 64n, max: P256_ORDER + 2n ** 64n })
    const any = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytesToBigIntBE)
    fc.assert(
      fc.property(fc.oneof(nearOrder, any), (d) => {
        assert.strictEqual(check(d), d >= 1n && d < P256_ORDER)
      }),
      { numRuns: runs }
    )
  })
})
