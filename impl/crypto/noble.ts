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
import { Exit, Layer } from "effect"
import {
  compute,
  computeValue,
  constantTimeEqual,
  invalidPoint,
  isAllZero,
  lowOrderPoint,
  makePublicKeyMemo,
  requireAeadOpen,
  requireAeadSeal,
  requireHkdfLength,
  requireHmacTag,
  requireLength,
  requireP256SecretKey,
  requireSec1Point,
  verificationFailed
} from "./bytes.ts"
import { Crypto, type CryptoInputError, type CryptoShape, type VerificationFailed } from "./services.ts"

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

/**
 * The point checks' verdicts on public keys, by their bytes (see `makePublicKeyMemo`): the
 * checks decode the point (a square root), which the noble call then does again.
 */
const p256Points = makePublicKeyMemo<boolean>()
const ed25519Points = makePublicKeyMemo<"ok" | "invalid-point" | "low-order">()

/** A SEC1 point check; the encoding was already checked, so a throw here means "not on the curve". */
const requireP256Point = (label: string, bytes: Uint8Array) =>
  p256Points("p256", bytes, () => isP256Point(bytes)) ? undefined : Exit.fail(invalidPoint(label))

/** RFC 8032 §5.1.3 decoding (y < p; x = 0 with the sign bit set is refused), then the small-order check. */
const ed25519Point = (publicKey: Uint8Array) =>
  ed25519Points("ed25519", publicKey, () => {
    let point
    try {
      point = ed25519.Point.fromBytes(publicKey, false)
    } catch {
      return "invalid-point"
    }
    // a small-order key lets one signature verify for many messages: refuse it up front
    return point.isSmallOrder() ? "low-order" : "ok"
  })

/**
 * Open with noble. Both ciphers recompute the tag and compare it in constant time before they
 * decrypt (aes.js `gcm`, chacha.js `_poly1305_aead`), so a wrong tag throws with no plaintext
 * made. Lengths were checked before, so the tag is the only reason left to throw.
 */
const open = (primitive: "aes-gcm" | "chacha20-poly1305", decrypt: () => Uint8Array): Exit.Exit<Uint8Array, VerificationFailed> => {
  try {
    return Exit.succeed(decrypt())
  } catch {
    return verificationFailed(primitive)
  }
}

// Primitives are plain functions that compute when called and return an `Exit` (see `compute` in
// bytes.ts): no span, no generator, no fiber. A traced `Effect.fn` captured a stack trace on
// every call (~25 µs under tsx), a generator-based `Effect.fnUntraced` still cost a fifth of an
// HMAC; the protocol services above them stay traced, so traces still name every operation.
export const nobleCrypto: CryptoShape = {
  backend: "noble",

  hmacSha256: (key, message) => computeValue(() => hmac(sha256, key, message)),

  hmacSha256Verify: (key, message, tag) =>
    requireHmacTag(tag) ??
      compute(() => {
        const expected = hmac(sha256, key, message).subarray(0, tag.length)
        // compare in constant time: the expected tag is secret-derived
        return constantTimeEqual(expected, tag) ? Exit.void : verificationFailed("hmac-sha256")
      }),

  hkdfSha256: (ikm, salt, info, length) => requireHkdfLength(length) ?? computeValue(() => hkdf(sha256, ikm, salt, info, length)),

  x25519PublicKey: (secretKey) =>
    requireLength("X25519 secret key", secretKey, 32) ?? computeValue(() => x25519.getPublicKey(secretKey)),

  x25519SharedSecret: (secretKey, publicKey) =>
    requireLength("X25519 secret key", secretKey, 32) ??
      requireLength("X25519 public key", publicKey, 32) ??
      compute((): Exit.Exit<Uint8Array, CryptoInputError> => {
        // noble refuses the five low-order u-coordinates (mod p) before the ladder; for clamped
        // scalars that is exactly the set whose shared secret is all zero (RFC 7748 §6.1).
        let shared: Uint8Array
        try {
          shared = x25519.getSharedSecret(secretKey, publicKey)
        } catch {
          return Exit.fail(lowOrderPoint("X25519 public key"))
        }
        return isAllZero(shared) ? Exit.fail(lowOrderPoint("X25519 public key")) : Exit.succeed(shared)
      }),

  p256PublicKey: (secretKey) => requireP256SecretKey(secretKey) ?? computeValue(() => p256.getPublicKey(secretKey, true)),

  p256SharedSecret: (secretKey, publicKey) =>
    requireP256SecretKey(secretKey) ??
      requireSec1Point("P-256 public key", publicKey) ??
      // on-curve check before the secret scalar touches the point (invalid-curve attack)
      requireP256Point("P-256 public key", publicKey) ??
      // SEC1 §3.3.1: the shared secret is the x-coordinate of d·Q (drop the 02/03 prefix)
      computeValue(() => p256.getSharedSecret(secretKey, publicKey, true).subarray(1)),

  ed25519PublicKey: (secretKey) =>
    requireLength("Ed25519 secret key", secretKey, 32) ?? computeValue(() => ed25519.getPublicKey(secretKey)),

  ed25519Sign: (secretKey, message) =>
    requireLength("Ed25519 secret key", secretKey, 32) ?? computeValue(() => ed25519.sign(message, secretKey)),

  ed25519Verify: (publicKey, message, signature) =>
    requireLength("Ed25519 public key", publicKey, 32) ??
      requireLength("Ed25519 signature", signature, 64) ??
      compute((): Exit.Exit<void, VerificationFailed | CryptoInputError> => {
        const point = ed25519Point(publicKey)
        if (point === "invalid-point") return Exit.fail(invalidPoint("Ed25519 public key"))
        if (point === "low-order") return Exit.fail(lowOrderPoint("Ed25519 public key"))
        // zip215: false is strict RFC 8032: canonical R and A, and S < L (§5.1.7 step 1)
        return ed25519.verify(signature, message, publicKey, { zip215: false }) ? Exit.void : verificationFailed("ed25519")
      }),

  ecdsaP256Sign: (secretKey, message) =>
    requireP256SecretKey(secretKey) ??
      // prehash: SHA-256 of the message; lowS: false keeps s as computed, like OpenSSL
      computeValue(() => p256.sign(message, secretKey, { prehash: true, lowS: false, format: "compact" })),

  ecdsaP256Verify: (publicKey, message, signature) =>
    requireSec1Point("P-256 public key", publicKey) ??
      requireLength("ECDSA P-256 signature", signature, 64) ??
      requireP256Point("P-256 public key", publicKey) ??
      compute(() => {
        // r or s outside [1, n-1] makes noble throw rather than return false: both are a bad signature
        let ok = false
        try {
          ok = p256.verify(signature, message, publicKey, { prehash: true, lowS: false, format: "compact" })
        } catch {
          ok = false
        }
        return ok ? Exit.void : verificationFailed("ecdsa-p256")
      }),

  // a fresh cipher per call: noble refuses a second encrypt() on one key + nonce instance
  aesGcmSeal: (key, nonce, plaintext, aad) =>
    requireAeadSeal("aes-gcm", key, nonce) ?? computeValue(() => gcm(key, nonce, aad).encrypt(plaintext)),

  aesGcmOpen: (key, nonce, sealed, aad) =>
    requireAeadOpen("aes-gcm", key, nonce, sealed) ?? compute(() => open("aes-gcm", () => gcm(key, nonce, aad).decrypt(sealed))),

  chacha20Poly1305Seal: (key, nonce, plaintext, aad) =>
    requireAeadSeal("chacha20-poly1305", key, nonce) ?? computeValue(() => chacha20poly1305(key, nonce, aad).encrypt(plaintext)),

  chacha20Poly1305Open: (key, nonce, sealed, aad) =>
    requireAeadOpen("chacha20-poly1305", key, nonce, sealed) ??
      compute(() => open("chacha20-poly1305", () => chacha20poly1305(key, nonce, aad).decrypt(sealed)))
}

export const CryptoNoble: Layer.Layer<Crypto> = Layer.succeed(Crypto, Crypto.of(nobleCrypto))
