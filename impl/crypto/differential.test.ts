/**
 * Differential properties: on random keys and messages `CryptoNoble` and `CryptoNode` give the
 * same bytes for every deterministic primitive (HMAC RFC 2104, HKDF RFC 5869, X25519 RFC 7748,
 * P-256 ECDH SEC1 §3.3.1, Ed25519 RFC 8032, AES-GCM SP 800-38D, ChaCha20-Poly1305 RFC 8439) and
 * the same verdict on arbitrary public inputs; ECDSA (random nonces in OpenSSL, RFC 6979 in noble)
 * is checked by cross-verification. A flipped bit in a MAC, signature or message — or, for the
 * AEADs, in the ciphertext, tag, nonce or AAD — is rejected by both.
 *
 * Runs per property: `AUTHLAB_RUNS` (properties/harness/config.ts). A failure prints its seed;
 * pass it back with `fc.assert(…, { seed, path })` to replay.
 */
import { assert, describe, it } from "@effect/vitest"
import { ED25519_TORSION_SUBGROUP } from "@noble/curves/ed25519.js"
import { p256 } from "@noble/curves/nist.js"
import { Effect } from "effect"
import fc from "fast-check"
import { runs } from "../../properties/harness/config.ts"
import { P256_ORDER } from "./bytes.ts"
import type { CryptoShape } from "./services.ts"
import { flipBit, node, noble, outcome } from "./testing.ts"
import { hex, toHex } from "./vectors.ts"

const params = { numRuns: runs }
const run = <A>(effect: Effect.Effect<A, unknown>) => Effect.runSync(effect)

const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
const message = fc.uint8Array({ maxLength: 256 })
const bit = fc.nat({ max: 1 << 16 })
const p256Secret = fc
  .bigInt({ min: 1n, max: P256_ORDER - 1n })
  .map((d) => hex(d.toString(16).padStart(64, "0")))

describe("HMAC-SHA256", () => {
  it("both layers compute the same tag, and each verifies the other's", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), message, (key, msg) => {
        const tag = run(noble.hmacSha256(key, msg))
        assert.strictEqual(toHex(run(node.hmacSha256(key, msg))), toHex(tag))
        assert.strictEqual(outcome(node.hmacSha256Verify(key, msg, tag)), "ok")
        assert.strictEqual(outcome(noble.hmacSha256Verify(key, msg, tag)), "ok")
      }),
      params
    )
  })

  it("a tag truncated to 16..32 bytes verifies in both", () => {
    fc.assert(
      fc.property(key32, message, fc.integer({ min: 16, max: 32 }), (key, msg, length) => {
        const tag = run(noble.hmacSha256(key, msg)).subarray(0, length)
        assert.deepStrictEqual([outcome(noble.hmacSha256Verify(key, msg, tag)), outcome(node.hmacSha256Verify(key, msg, tag))], ["ok", "ok"])
      }),
      params
    )
  })

  it("a flipped bit in the tag or the message is rejected by both", () => {
    fc.assert(
      fc.property(key32, message, bit, fc.boolean(), (key, msg, b, inTag) => {
        const tag = run(noble.hmacSha256(key, msg))
        const [m, t] = inTag || msg.length === 0 ? [msg, flipBit(tag, b)] : [flipBit(msg, b), tag]
        const verdicts = [outcome(noble.hmacSha256Verify(key, m, t)), outcome(node.hmacSha256Verify(key, m, t))]
        assert.deepStrictEqual(verdicts, ["VerificationFailed", "VerificationFailed"])
      }),
      params
    )
  })
})

describe("HKDF-SHA256", () => {
  it("both layers derive the same output", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 80 }),
        fc.uint8Array({ maxLength: 80 }),
        fc.uint8Array({ maxLength: 80 }),
        fc.integer({ min: 0, max: 600 }),
        (ikm, salt, info, length) => {
          const a = outcome(noble.hkdfSha256(ikm, salt, info, length))
          assert.strictEqual(outcome(node.hkdfSha256(ikm, salt, info, length)), a)
          assert.strictEqual(a.length, 2 * length)
        }
      ),
      params
    )
  })
})

describe("X25519", () => {
  it("both layers agree on public keys and shared secrets, and the exchange commutes", () => {
    fc.assert(
      fc.property(key32, key32, (a, b) => {
        const pa = run(noble.x25519PublicKey(a))
        const pb = run(noble.x25519PublicKey(b))
        assert.strictEqual(toHex(run(node.x25519PublicKey(a))), toHex(pa))
        const ab = outcome(noble.x25519SharedSecret(a, pb))
        assert.strictEqual(outcome(node.x25519SharedSecret(a, pb)), ab)
        assert.strictEqual(outcome(node.x25519SharedSecret(b, pa)), ab)
      }),
      params
    )
  })

  it("both layers give the same outcome for any 32-byte public key, low-order ones included", () => {
    const lowOrder = fc.constantFrom(
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"
    ).map(hex)
    fc.assert(
      fc.property(key32, fc.oneof(key32, lowOrder), (sk, pk) => {
        assert.strictEqual(outcome(node.x25519SharedSecret(sk, pk)), outcome(noble.x25519SharedSecret(sk, pk)))
      }),
      params
    )
  })
})

describe("P-256 ECDH", () => {
  it("both layers agree on public keys and shared secrets, and the exchange commutes", () => {
    fc.assert(
      fc.property(p256Secret, p256Secret, (a, b) => {
        const pa = run(noble.p256PublicKey(a))
        const pb = run(noble.p256PublicKey(b))
        assert.strictEqual(toHex(run(node.p256PublicKey(a))), toHex(pa))
        const ab = outcome(noble.p256SharedSecret(a, pb))
        assert.strictEqual(outcome(node.p256SharedSecret(a, pb)), ab)
        assert.strictEqual(outcome(node.p256SharedSecret(b, pa)), ab)
      }),
      params
    )
  })

  it("both layers give the same outcome for a corrupted public key (compressed or not)", () => {
    fc.assert(
      fc.property(p256Secret, p256Secret, fc.boolean(), bit, (a, b, compressed, flip) => {
        const pb = flipBit(p256.getPublicKey(b, compressed), flip)
        assert.strictEqual(outcome(node.p256SharedSecret(a, pb)), outcome(noble.p256SharedSecret(a, pb)))
      }),
      params
    )
  })
})

describe("Ed25519", () => {
  it("both layers give the same public key and signature, and both verify it", () => {
    fc.assert(
      fc.property(key32, message, (sk, msg) => {
        const pk = run(noble.ed25519PublicKey(sk))
        const sig = run(noble.ed25519Sign(sk, msg))
        assert.strictEqual(toHex(run(node.ed25519PublicKey(sk))), toHex(pk))
        assert.strictEqual(toHex(run(node.ed25519Sign(sk, msg))), toHex(sig))
        assert.deepStrictEqual([outcome(noble.ed25519Verify(pk, msg, sig)), outcome(node.ed25519Verify(pk, msg, sig))], ["ok", "ok"])
      }),
      params
    )
  })

  it("a flipped bit in the signature or the message is rejected by both", () => {
    fc.assert(
      fc.property(key32, message, bit, fc.boolean(), (sk, msg, b, inSig) => {
        const pk = run(noble.ed25519PublicKey(sk))
        const sig = run(noble.ed25519Sign(sk, msg))
        const [m, s] = inSig || msg.length === 0 ? [msg, flipBit(sig, b)] : [flipBit(msg, b), sig]
        assert.deepStrictEqual([outcome(noble.ed25519Verify(pk, m, s)), outcome(node.ed25519Verify(pk, m, s))], [
          "VerificationFailed",
          "VerificationFailed"
        ])
      }),
      params
    )
  })

  it("both layers decode any 32-byte public key the same way (on curve, small order, or neither)", () => {
    // about half of all y have a point; the torsion points and y ≥ p are the edge cases
    const edge = fc.oneof(
      fc.constantFrom(...ED25519_TORSION_SUBGROUP).map(hex),
      fc.integer({ min: -20, max: 20 }).map((k) => {
        const y = 2n ** 255n - 19n + BigInt(k)
        return hex(((y & ((1n << 255n) - 1n)) | (k % 2 === 0 ? 0n : 1n << 255n)).toString(16).padStart(64, "0")).reverse()
      })
    )
    fc.assert(
      fc.property(fc.oneof(key32, edge), key32, message, (pk, sk, msg) => {
        const sig = run(noble.ed25519Sign(sk, msg))
        assert.strictEqual(outcome(node.ed25519Verify(pk, msg, sig)), outcome(noble.ed25519Verify(pk, msg, sig)))
      }),
      params
    )
  })
})

describe("ECDSA P-256 / SHA-256", () => {
  it("a signature from either layer verifies in both", () => {
    fc.assert(
      fc.property(p256Secret, message, (sk, msg) => {
        const pk = run(noble.p256PublicKey(sk))
        for (const signer of [noble, node]) {
          const sig = run(signer.ecdsaP256Sign(sk, msg))
          assert.strictEqual(sig.length, 64)
          const verdicts = [outcome(noble.ecdsaP256Verify(pk, msg, sig)), outcome(node.ecdsaP256Verify(pk, msg, sig))]
          assert.deepStrictEqual(verdicts, ["ok", "ok"], `signed by ${signer.backend}`)
        }
      }),
      params
    )
  })

  it("a flipped bit in the signature or the message is rejected by both", () => {
    fc.assert(
      fc.property(p256Secret, message, bit, fc.boolean(), fc.constantFrom(noble, node), (sk, msg, b, inSig, signer) => {
        const pk = run(noble.p256PublicKey(sk))
        const sig = run(signer.ecdsaP256Sign(sk, msg))
        const [m, s] = inSig || msg.length === 0 ? [msg, flipBit(sig, b)] : [flipBit(msg, b), sig]
        const verdicts = [outcome(noble.ecdsaP256Verify(pk, m, s)), outcome(node.ecdsaP256Verify(pk, m, s))]
        assert.deepStrictEqual(verdicts, ["VerificationFailed", "VerificationFailed"])
      }),
      params
    )
  })
})

interface AeadUnderTest {
  readonly name: string
  readonly key: fc.Arbitrary<Uint8Array>
  readonly seal: (c: CryptoShape) => CryptoShape["aesGcmSeal"]
  readonly open: (c: CryptoShape) => CryptoShape["aesGcmOpen"]
}
const aeads: ReadonlyArray<AeadUnderTest> = [
  {
    name: "AES-GCM",
    key: fc.oneof(fc.uint8Array({ minLength: 16, maxLength: 16 }), key32),
    seal: (c) => c.aesGcmSeal,
    open: (c) => c.aesGcmOpen
  },
  { name: "ChaCha20-Poly1305", key: key32, seal: (c) => c.chacha20Poly1305Seal, open: (c) => c.chacha20Poly1305Open }
]
const nonce12 = fc.uint8Array({ minLength: 12, maxLength: 12 })
const aad = fc.uint8Array({ maxLength: 64 })

for (const aead of aeads) {
  describe(aead.name, () => {
    it("both layers seal to the same bytes, and each opens the other's", () => {
      fc.assert(
        fc.property(aead.key, nonce12, message, aad, (key, nonce, msg, ad) => {
          const sealed = run(aead.seal(noble)(key, nonce, msg, ad))
          assert.strictEqual(sealed.length, msg.length + 16)
          assert.strictEqual(toHex(run(aead.seal(node)(key, nonce, msg, ad))), toHex(sealed))
          const opened = [outcome(aead.open(noble)(key, nonce, sealed, ad)), outcome(aead.open(node)(key, nonce, sealed, ad))]
          assert.deepStrictEqual(opened, [toHex(msg), toHex(msg)])
        }),
        params
      )
    })

    it("a flipped bit in the ciphertext, tag, nonce or AAD is rejected by both, with no plaintext", () => {
      const target = fc.constantFrom("ciphertext", "tag", "nonce", "aad")
      fc.assert(
        fc.property(aead.key, nonce12, message, aad, target, bit, (key, nonce, msg, ad, where, b) => {
          const sealed = run(aead.seal(noble)(key, nonce, msg, ad))
          const ctBits = msg.length * 8
          // an empty ciphertext or AAD has no bit to flip: flip one of the tag's instead
          const part = (where === "ciphertext" && ctBits === 0) || (where === "aad" && ad.length === 0) ? "tag" : where
          const s = part === "ciphertext" ? flipBit(sealed, b % ctBits) : part === "tag" ? flipBit(sealed, ctBits + (b % 128)) : sealed
          const n = part === "nonce" ? flipBit(nonce, b) : nonce
          const a = part === "aad" ? flipBit(ad, b) : ad
          const verdicts = [outcome(aead.open(noble)(key, n, s, a)), outcome(aead.open(node)(key, n, s, a))]
          assert.deepStrictEqual(verdicts, ["VerificationFailed", "VerificationFailed"], `flipped in the ${part}`)
        }),
        params
      )
    })

    it("both layers refuse the same key, nonce and sealed lengths with the same reason", () => {
      const length = (max: number) => fc.nat({ max }).map((n) => new Uint8Array(n).fill(7))
      fc.assert(
        fc.property(fc.oneof(aead.key, length(40)), fc.oneof(nonce12, length(20)), length(40), aad, (key, nonce, sealed, ad) => {
          assert.strictEqual(outcome(aead.open(node)(key, nonce, sealed, ad)), outcome(aead.open(noble)(key, nonce, sealed, ad)))
          assert.strictEqual(outcome(aead.seal(node)(key, nonce, sealed, ad)), outcome(aead.seal(noble)(key, nonce, sealed, ad)))
        }),
        params
      )
    })
  })
}
