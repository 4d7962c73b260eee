/**
 * Input checks at the `Crypto` edge (services.ts conventions): both layers refuse the same
 * malformed input with the same `CryptoInputError` reason and labelled message — wrong lengths,
 * the RFC 5869 §2.3 output bound, P-256 scalars outside [1, n-1] (SEC1 §3.2.1), points off the
 * curve and hybrid encodings (SEC1 §2.3.4), low-order X25519 (RFC 7748 §6.1) and Ed25519 keys,
 * and non-canonical Ed25519 keys (RFC 8032 §5.1.3), AEAD keys, nonces and sealed inputs too short
 * for a tag (SP 800-38D, RFC 8439 §2.8).
 */
import { assert, describe, it } from "@effect/vitest"
import { ED25519_TORSION_SUBGROUP, ed25519 } from "@noble/curves/ed25519.js"
import { p256 } from "@noble/curves/nist.js"
import { Effect } from "effect"
import { P256_ORDER } from "./bytes.ts"
import { ed25519SmallOrderEncodings } from "./node.ts"
import { Crypto, type CryptoInputError, type CryptoShape, type VerificationFailed } from "./services.ts"
import { layers } from "./testing.ts"
import { hex } from "./vectors.ts"

const bytes = (length: number, fill = 1) => new Uint8Array(length).fill(fill)
const be32 = (n: bigint) => hex(n.toString(16).padStart(64, "0"))

const ED_P = 2n ** 255n - 19n
const le32 = (n: bigint) => hex(n.toString(16).padStart(64, "0")).reverse()

/** The first y (from 2 up) whose encoding is not an Ed25519 point: x² has no square root. */
const ed25519OffCurve = (() => {
  for (let y = 2n; ; y++) {
    try {
      ed25519.Point.fromBytes(le32(y), false)
    } catch {
      return le32(y)
    }
  }
})()

/** A compressed P-256 encoding 02 ‖ x with no point above x. */
const p256OffCurveCompressed = (() => {
  for (let x = 1n; ; x++) {
    const encoded = new Uint8Array([2, ...be32(x)])
    try {
      p256.Point.fromBytes(encoded)
    } catch {
      return encoded
    }
  }
})()

const p256Secret = be32(7n)
const p256Point = p256.getPublicKey(p256Secret, false)
/** OpenSSL's "hybrid" encoding: 06/07 ‖ x ‖ y, with the prefix carrying y's parity. */
const p256Hybrid = Uint8Array.from([6 + (p256Point[64]! & 1), ...p256Point.subarray(1)])

interface Case {
  readonly name: string
  readonly run: (crypto: CryptoShape) => Effect.Effect<unknown, VerificationFailed | CryptoInputError>
  readonly reason: CryptoInputError["reason"]
  readonly detail: string
}

const cases: ReadonlyArray<Case> = [
  {
    name: "HMAC tag shorter than 128 bits",
    run: (c) => c.hmacSha256Verify(bytes(32), bytes(3), bytes(15)),
    reason: "InvalidLength",
    detail: "expected 16- to 32-byte HMAC-SHA256 tag, got 15"
  },
  {
    name: "HMAC tag longer than the output",
    run: (c) => c.hmacSha256Verify(bytes(32), bytes(3), bytes(33)),
    reason: "InvalidLength",
    detail: "expected 16- to 32-byte HMAC-SHA256 tag, got 33"
  },
  {
    name: "HKDF length above 255·32",
    run: (c) => c.hkdfSha256(bytes(32), bytes(0), bytes(0), 8161),
    reason: "OutputTooLong",
    detail: "expected HKDF-SHA256 length ≤ 8160, got 8161"
  },
  {
    name: "HKDF negative length",
    run: (c) => c.hkdfSha256(bytes(32), bytes(0), bytes(0), -1),
    reason: "InvalidLength",
    detail: "expected a non-negative integer HKDF-SHA256 length, got -1"
  },
  {
    name: "HKDF fractional length",
    run: (c) => c.hkdfSha256(bytes(32), bytes(0), bytes(0), 1.5),
    reason: "InvalidLength",
    detail: "expected a non-negative integer HKDF-SHA256 length, got 1.5"
  },
  {
    name: "X25519 31-byte secret key",
    run: (c) => c.x25519PublicKey(bytes(31)),
    reason: "InvalidLength",
    detail: "expected 32-byte X25519 secret key, got 31"
  },
  {
    name: "X25519 33-byte public key",
    run: (c) => c.x25519SharedSecret(bytes(32), bytes(33)),
    reason: "InvalidLength",
    detail: "expected 32-byte X25519 public key, got 33"
  },
  ...[
    ["u = 0", 0n],
    ["u = 1", 1n],
    ["u = p − 1 (order 2 on the twist)", ED_P - 1n],
    ["u = p (non-canonical 0)", ED_P],
    ["u = p + 1 (non-canonical 1)", ED_P + 1n],
    ["u of order 8", 325606250916557431795983626356110631294008115727848805560023387167927233504n]
  ].map(([label, u]): Case => ({
    name: `X25519 low-order public key, ${label}: all-zero shared secret`,
    run: (c) => c.x25519SharedSecret(bytes(32, 9), le32(u as bigint)),
    reason: "LowOrderPoint",
    detail: "X25519 public key is a point of small order"
  })),
  {
    name: "P-256 secret key 0",
    run: (c) => c.p256PublicKey(be32(0n)),
    reason: "InvalidScalar",
    detail: "expected P-256 secret key in [1, n-1]"
  },
  {
    name: "P-256 secret key n",
    run: (c) => c.p256PublicKey(be32(P256_ORDER)),
    reason: "InvalidScalar",
    detail: "expected P-256 secret key in [1, n-1]"
  },
  {
    name: "P-256 secret key 2²⁵⁶ − 1 (ECDSA)",
    run: (c) => c.ecdsaP256Sign(bytes(32, 0xff), bytes(3)),
    reason: "InvalidScalar",
    detail: "expected P-256 secret key in [1, n-1]"
  },
  {
    name: "P-256 31-byte secret key",
    run: (c) => c.p256SharedSecret(bytes(31), p256Point),
    reason: "InvalidLength",
    detail: "expected 32-byte P-256 secret key, got 31"
  },
  {
    name: "P-256 64-byte raw point (no SEC1 prefix)",
    run: (c) => c.p256SharedSecret(p256Secret, p256Point.subarray(1)),
    reason: "InvalidLength",
    detail: "expected 33- or 65-byte SEC1 P-256 public key, got 64"
  },
  {
    name: "P-256 hybrid point encoding (OpenSSL accepts it, SEC1 §2.3.4 does not)",
    run: (c) => c.p256SharedSecret(p256Secret, p256Hybrid),
    reason: "InvalidPoint",
    detail: `expected SEC1 P-256 public key prefix 04, got 0${p256Hybrid[0]}`
  },
  {
    name: "P-256 uncompressed point off the curve (invalid-curve attack)",
    run: (c) => c.p256SharedSecret(p256Secret, Uint8Array.from([4, ...bytes(64, 1)])),
    reason: "InvalidPoint",
    detail: "P-256 public key is not a point on the curve"
  },
  {
    name: "P-256 compressed x with no point",
    run: (c) => c.p256SharedSecret(p256Secret, p256OffCurveCompressed),
    reason: "InvalidPoint",
    detail: "P-256 public key is not a point on the curve"
  },
  {
    name: "ECDSA public key off the curve",
    run: (c) => c.ecdsaP256Verify(Uint8Array.from([4, ...bytes(64, 1)]), bytes(3), bytes(64)),
    reason: "InvalidPoint",
    detail: "P-256 public key is not a point on the curve"
  },
  {
    name: "ECDSA 63-byte signature",
    run: (c) => c.ecdsaP256Verify(p256Point, bytes(3), bytes(63)),
    reason: "InvalidLength",
    detail: "expected 64-byte ECDSA P-256 signature, got 63"
  },
  {
    name: "Ed25519 31-byte seed",
    run: (c) => c.ed25519Sign(bytes(31), bytes(3)),
    reason: "InvalidLength",
    detail: "expected 32-byte Ed25519 secret key, got 31"
  },
  {
    name: "Ed25519 65-byte signature",
    run: (c) => c.ed25519Verify(ed25519.getPublicKey(bytes(32)), bytes(3), bytes(65)),
    reason: "InvalidLength",
    detail: "expected 64-byte Ed25519 signature, got 65"
  },
  {
    name: "Ed25519 public key off the curve",
    run: (c) => c.ed25519Verify(ed25519OffCurve, bytes(3), bytes(64)),
    reason: "InvalidPoint",
    detail: "Ed25519 public key is not a point on the curve"
  },
  {
    name: "Ed25519 public key with y = p + 1 (non-canonical y)",
    run: (c) => c.ed25519Verify(le32(ED_P + 1n), bytes(3), bytes(64)),
    reason: "InvalidPoint",
    detail: "Ed25519 public key is not a point on the curve"
  },
  {
    name: "Ed25519 public key y = 1 with the sign bit set (x = 0 has no negative)",
    run: (c) => c.ed25519Verify(le32(1n | (1n << 255n)), bytes(3), bytes(64)),
    reason: "InvalidPoint",
    detail: "Ed25519 public key is not a point on the curve"
  },
  ...ED25519_TORSION_SUBGROUP.map((encoding, i): Case => ({
    name: `Ed25519 small-order public key #${i}`,
    run: (c) => c.ed25519Verify(hex(encoding), bytes(3), bytes(64)),
    reason: "LowOrderPoint",
    detail: "Ed25519 public key is a point of small order"
  })),
  {
    name: "AES-GCM 24-byte key (AES-192 is outside the contract)",
    run: (c) => c.aesGcmSeal(bytes(24), bytes(12), bytes(3), bytes(0)),
    reason: "InvalidLength",
    detail: "expected 16- or 32-byte AES-GCM key, got 24"
  },
  {
    name: "AES-GCM 8-byte nonce (GCM allows it, the contract does not)",
    run: (c) => c.aesGcmOpen(bytes(16), bytes(8), bytes(32), bytes(0)),
    reason: "InvalidLength",
    detail: "expected 12-byte AES-GCM nonce, got 8"
  },
  {
    name: "AES-GCM sealed input shorter than the tag",
    run: (c) => c.aesGcmOpen(bytes(32), bytes(12), bytes(15), bytes(0)),
    reason: "InvalidLength",
    detail: "expected AES-GCM ciphertext of at least 16 bytes (the tag), got 15"
  },
  {
    name: "ChaCha20-Poly1305 16-byte key",
    run: (c) => c.chacha20Poly1305Seal(bytes(16), bytes(12), bytes(3), bytes(0)),
    reason: "InvalidLength",
    detail: "expected 32-byte ChaCha20-Poly1305 key, got 16"
  },
  {
    name: "ChaCha20-Poly1305 24-byte nonce (XChaCha20's, not RFC 8439's)",
    run: (c) => c.chacha20Poly1305Open(bytes(32), bytes(24), bytes(32), bytes(0)),
    reason: "InvalidLength",
    detail: "expected 12-byte ChaCha20-Poly1305 nonce, got 24"
  },
  {
    name: "ChaCha20-Poly1305 empty sealed input",
    run: (c) => c.chacha20Poly1305Open(bytes(32), bytes(12), bytes(0), bytes(0)),
    reason: "InvalidLength",
    detail: "expected ChaCha20-Poly1305 ciphertext of at least 16 bytes (the tag), got 0"
  }
]

for (const [name, layer] of layers) {
  describe(`${name}: malformed input is refused at the edge`, () => {
    for (const c of cases) {
      it.effect(c.name, () =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(c.run(yield* Crypto))
          assert.strictEqual(error._tag, "CryptoInputError")
          if (error._tag !== "CryptoInputError") return
          assert.strictEqual(error.reason, c.reason)
          assert.strictEqual(error.detail, c.detail)
        }).pipe(Effect.provide(layer)))
    }
  })
}

describe("node layer's Ed25519 small-order list", () => {
  it("is noble's torsion subgroup, one canonical encoding per point", () => {
    assert.deepStrictEqual([...ed25519SmallOrderEncodings].sort(), [...ED25519_TORSION_SUBGROUP].sort())
  })
})
