/**
 * `Crypto` on the audited pure-JS noble libraries: HMAC-SHA256 (RFC 2104), HKDF-SHA256
 * (RFC 5869), X25519 (RFC 7748 §5), P-256 ECDH (SEC1 §3.3.1) and ECDSA (FIPS 186-5 §6, RFC 6979
 * nonces), Ed25519 (RFC 8032 §5.1, strict decoding), AES-GCM (NIST SP 800-38D) and
 * ChaCha20-Poly1305 (RFC 8439 §2.8).
 *
 * Inputs are checked by the shared helpers in `bytes.ts` first, so this layer and `node.ts`
 * refuse the same inputs with the same reasons.
 */
import { gcm } from "@noble/ciphers/aes.js"
import { chacha20poly1305 } from "@noble/ciphers/chacha.js"
import { ed25519, x25519 } from "@noble/curves/ed25519.js"
import { p256 } from "@noble/curves/nist.js"
import { hkdf } from "@noble/hashes/hkdf.js"
import { hmac } from "@noble/hashes/hmac.js"
import { sha256 } from "@noble/hashes/sha2.js"
import { Effect, Layer } from "effect"
import {
  constantTimeEqual,
  invalidPoint,
  isAllZero,
  lowOrderPoint,
  requireAeadOpen,
  requireAeadSeal,
  requireHkdfLength,
  requireHmacTag,
  requireLength,
  requireP256SecretKey,
  requireSec1Point
} from "./bytes.ts"
import { Crypto, VerificationFailed } from "./services.ts"

/**
 * Whether `bytes` are a SEC1 encoding of a point of P-256 other than infinity: the edge check for
 * a public key a participant stores to use later (a key off the curve must be refused when it
 * arrives, with nothing changed, not fail later as an untyped error).
 */
export const isP256Point = (bytes: Uint8Array): boolean => {
  try {
    return !p256.Point.fromBytes(bytes).is0()
  } catch {
    return false
  }
}

/** Decode a SEC1 point; the encoding was already checked, so a throw here means "not on the curve". */
const decodeP256 = (label: string, bytes: Uint8Array) =>
  Effect.try({
    try: () => p256.Point.fromBytes(bytes),
    catch: () => invalidPoint(label)
  }).pipe(Effect.filterOrFail((point) => !point.is0(), () => invalidPoint(label)))

/**
 * Open with noble. Both ciphers recompute the tag and compare it in constant time before they
 * decrypt (aes.js `gcm`, chacha.js `_poly1305_aead`), so a wrong tag throws with no plaintext
 * made. Lengths were checked before, so the tag is the only reason left to throw.
 */
const open = (
  primitive: "aes-gcm" | "chacha20-poly1305",
  decrypt: () => Uint8Array
): Effect.Effect<Uint8Array, VerificationFailed> =>
  Effect.try({ try: decrypt, catch: () => new VerificationFailed({ primitive }) })

// Primitives are `Effect.fnUntraced`, not `Effect.fn("Crypto.…")`: a traced function captures a
// stack trace on every call (~25 µs here, measured in bench/), which cost HMAC 5× its raw
// speed. The protocol services above them stay traced, so traces still name every operation.
export const CryptoNoble: Layer.Layer<Crypto> = Layer.succeed(
  Crypto,
  Crypto.of({
    backend: "noble",

    hmacSha256: Effect.fnUntraced(function*(key: Uint8Array, message: Uint8Array) {
      return hmac(sha256, key, message)
    }),

    hmacSha256Verify: Effect.fnUntraced(
      function*(key: Uint8Array, message: Uint8Array, tag: Uint8Array) {
        yield* requireHmacTag(tag)
        const expected = hmac(sha256, key, message).subarray(0, tag.length)
        // compare in constant time: the expected tag is secret-derived
        if (!constantTimeEqual(expected, tag)) return yield* new VerificationFailed({ primitive: "hmac-sha256" })
      }
    ),

    hkdfSha256: Effect.fnUntraced(
      function*(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number) {
        yield* requireHkdfLength(length)
        return hkdf(sha256, ikm, salt, info, length)
      }
    ),

    x25519PublicKey: Effect.fnUntraced(function*(secretKey: Uint8Array) {
      yield* requireLength("X25519 secret key", secretKey, 32)
      return x25519.getPublicKey(secretKey)
    }),

    x25519SharedSecret: Effect.fnUntraced(
      function*(secretKey: Uint8Array, publicKey: Uint8Array) {
        yield* requireLength("X25519 secret key", secretKey, 32)
        yield* requireLength("X25519 public key", publicKey, 32)
        // noble refuses the five low-order u-coordinates (mod p) before the ladder; for clamped
        // scalars that is exactly the set whose shared secret is all zero (RFC 7748 §6.1).
        const shared = yield* Effect.try({
          try: () => x25519.getSharedSecret(secretKey, publicKey),
          catch: () => lowOrderPoint("X25519 public key")
        })
        if (isAllZero(shared)) return yield* lowOrderPoint("X25519 public key")
        return shared
      }
    ),

    p256PublicKey: Effect.fnUntraced(function*(secretKey: Uint8Array) {
      yield* requireP256SecretKey(secretKey)
      return p256.getPublicKey(secretKey, true)
    }),

    p256SharedSecret: Effect.fnUntraced(
      function*(secretKey: Uint8Array, publicKey: Uint8Array) {
        yield* requireP256SecretKey(secretKey)
        yield* requireSec1Point("P-256 public key", publicKey)
        // on-curve check before the secret scalar touches the point (invalid-curve attack)
        yield* decodeP256("P-256 public key", publicKey)
        // SEC1 §3.3.1: the shared secret is the x-coordinate of d·Q (drop the 02/03 prefix)
        return p256.getSharedSecret(secretKey, publicKey, true).subarray(1)
      }
    ),

    ed25519PublicKey: Effect.fnUntraced(function*(secretKey: Uint8Array) {
      yield* requireLength("Ed25519 secret key", secretKey, 32)
      return ed25519.getPublicKey(secretKey)
    }),

    ed25519Sign: Effect.fnUntraced(function*(secretKey: Uint8Array, message: Uint8Array) {
      yield* requireLength("Ed25519 secret key", secretKey, 32)
      return ed25519.sign(message, secretKey)
    }),

    ed25519Verify: Effect.fnUntraced(
      function*(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) {
        yield* requireLength("Ed25519 public key", publicKey, 32)
        yield* requireLength("Ed25519 signature", signature, 64)
        // RFC 8032 §5.1.3 decoding: y < p, and x = 0 with the sign bit set is refused
        const point = yield* Effect.try({
          try: () => ed25519.Point.fromBytes(publicKey, false),
          catch: () => invalidPoint("Ed25519 public key")
        })
        // a small-order key lets one signature verify for many messages: refuse it up front
        if (point.isSmallOrder()) return yield* lowOrderPoint("Ed25519 public key")
        // zip215: false is strict RFC 8032: canonical R and A, and S < L (§5.1.7 step 1)
        if (!ed25519.verify(signature, message, publicKey, { zip215: false })) {
          return yield* new VerificationFailed({ primitive: "ed25519" })
        }
      }
    ),

    ecdsaP256Sign: Effect.fnUntraced(function*(secretKey: Uint8Array, message: Uint8Array) {
      yield* requireP256SecretKey(secretKey)
      // prehash: SHA-256 of the message; lowS: false keeps s as computed, like OpenSSL
      return p256.sign(message, secretKey, { prehash: true, lowS: false, format: "compact" })
    }),

    ecdsaP256Verify: Effect.fnUntraced(
      function*(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) {
        yield* requireSec1Point("P-256 public key", publicKey)
        yield* requireLength("ECDSA P-256 signature", signature, 64)
        yield* decodeP256("P-256 public key", publicKey)
        // r or s outside [1, n-1] makes noble throw rather than return false: both are a bad signature
        let ok = false
        try {
          ok = p256.verify(signature, message, publicKey, { prehash: true, lowS: false, format: "compact" })
        } catch {
          ok = false
        }
        if (!ok) return yield* new VerificationFailed({ primitive: "ecdsa-p256" })
      }
    ),

    // a fresh cipher per call: noble refuses a second encrypt() on one key + nonce instance
    aesGcmSeal: Effect.fnUntraced(
      function*(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array) {
        yield* requireAeadSeal("aes-gcm", key, nonce)
        return gcm(key, nonce, aad).encrypt(plaintext)
      }
    ),

    aesGcmOpen: Effect.fnUntraced(
      function*(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array) {
        yield* requireAeadOpen("aes-gcm", key, nonce, sealed)
        return yield* open("aes-gcm", () => gcm(key, nonce, aad).decrypt(sealed))
      }
    ),

    chacha20Poly1305Seal: Effect.fnUntraced(
      function*(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array) {
        yield* requireAeadSeal("chacha20-poly1305", key, nonce)
        return chacha20poly1305(key, nonce, aad).encrypt(plaintext)
      }
    ),

    chacha20Poly1305Open: Effect.fnUntraced(
      function*(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array) {
        yield* requireAeadOpen("chacha20-poly1305", key, nonce, sealed)
        return yield* open("chacha20-poly1305", () => chacha20poly1305(key, nonce, aad).decrypt(sealed))
      }
    )
  })
)
