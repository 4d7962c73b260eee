/**
 * The cryptographic primitives authlab's protocols rest on, as Effect services.
 *
 * `Crypto` is implemented twice (see `noble.ts` and `node.ts`); the tests prove both layers give
 * the same outputs and the same verdicts on the Wycheproof vectors. `SecureRandom` is separate so
 * a property run can swap in a seeded generator and be replayed exactly.
 *
 * Conventions: every verification *fails* with `VerificationFailed` rather than returning a
 * boolean; malformed inputs (wrong lengths, points not on the curve, low-order points) fail with
 * `CryptoInputError` before any secret is touched. MAC comparison is constant-time. An AEAD open
 * checks the tag before it releases any plaintext: a failed open returns nothing, not a prefix.
 *
 * A primitive is computed when its method is called and returns its `Exit` (see `compute` in
 * bytes.ts), so a call costs what the library call costs and a caller may read the result at
 * once, without a fiber (the protocols' hot paths do). A primitive depends on its inputs alone, so
 * that is the result running it later would give; a decorator of a layer must compute
 * its result the same way (`Exit.flatMap`, `Exit.void`).
 */
import { Context, Data, type Effect, type Exit } from "effect"

export class CryptoInputError extends Data.TaggedError("CryptoInputError")<{
  readonly reason: "InvalidLength" | "InvalidPoint" | "LowOrderPoint" | "InvalidScalar" | "OutputTooLong"
  readonly detail: string
}> {}

/**
 * A signature, MAC or AEAD tag did not verify. Deliberately carries no detail: it would be an
 * oracle.
 */
export class VerificationFailed extends Data.TaggedError("VerificationFailed")<{
  readonly primitive: "hmac-sha256" | "ed25519" | "ecdsa-p256" | "aes-gcm" | "chacha20-poly1305"
}> {}

export interface CryptoShape {
  /** Which backend this is, for reports and benchmarks. */
  readonly backend: "noble" | "node"
  /** HMAC-SHA256 (RFC 2104). Any key length. */
  readonly hmacSha256: (key: Uint8Array, message: Uint8Array) => Exit.Exit<Uint8Array>
  /** Recompute and compare in constant time; tags shorter than 16 bytes are refused as input errors. */
  readonly hmacSha256Verify: (
    key: Uint8Array,
    message: Uint8Array,
    tag: Uint8Array
  ) => Exit.Exit<void, VerificationFailed | CryptoInputError>
  /** HKDF-SHA256 extract-and-expand (RFC 5869); `length` ≤ 255·32. */
  readonly hkdfSha256: (
    ikm: Uint8Array,
    salt: Uint8Array,
    info: Uint8Array,
    length: number
  ) => Exit.Exit<Uint8Array, CryptoInputError>
  /** X25519 public key of a 32-byte secret (RFC 7748 §5). */
  readonly x25519PublicKey: (secretKey: Uint8Array) => Exit.Exit<Uint8Array, CryptoInputError>
  /** X25519 shared secret; fails on a non-32-byte input or an all-zero result (low-order point, RFC 7748 §6.1). */
  readonly x25519SharedSecret: (secretKey: Uint8Array, publicKey: Uint8Array) => Exit.Exit<Uint8Array, CryptoInputError>
  /** P-256 public key of a 32-byte secret, SEC1 compressed (33 bytes). */
  readonly p256PublicKey: (secretKey: Uint8Array) => Exit.Exit<Uint8Array, CryptoInputError>
  /** P-256 ECDH: x-coordinate of sk·P (32 bytes); refuses points not on the curve (invalid-curve attack). */
  readonly p256SharedSecret: (secretKey: Uint8Array, publicKey: Uint8Array) => Exit.Exit<Uint8Array, CryptoInputError>
  /** Ed25519 public key of a 32-byte seed (RFC 8032 §5.1.5). */
  readonly ed25519PublicKey: (secretKey: Uint8Array) => Exit.Exit<Uint8Array, CryptoInputError>
  readonly ed25519Sign: (secretKey: Uint8Array, message: Uint8Array) => Exit.Exit<Uint8Array, CryptoInputError>
  /** Strict RFC 8032 verification: non-canonical S and small-order keys are refused. */
  readonly ed25519Verify: (
    publicKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array
  ) => Exit.Exit<void, VerificationFailed | CryptoInputError>
  /** ECDSA P-256 / SHA-256, IEEE P1363 (r‖s, 64 bytes), low-S not required (Wycheproof accepts high S). */
  readonly ecdsaP256Sign: (secretKey: Uint8Array, message: Uint8Array) => Exit.Exit<Uint8Array, CryptoInputError>
  readonly ecdsaP256Verify: (
    publicKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array
  ) => Exit.Exit<void, VerificationFailed | CryptoInputError>
  /**
   * AES-GCM (NIST SP 800-38D), 16- or 32-byte key (AES-128/256; AES-192 is refused), 12-byte
   * nonce, 16-byte tag: returns ciphertext ‖ tag. The caller must never reuse a nonce under a key.
   */
  readonly aesGcmSeal: (
    key: Uint8Array,
    nonce: Uint8Array,
    plaintext: Uint8Array,
    aad: Uint8Array
  ) => Exit.Exit<Uint8Array, CryptoInputError>
  /** Open ciphertext ‖ tag; a wrong tag, key, nonce or AAD fails with `VerificationFailed`. */
  readonly aesGcmOpen: (
    key: Uint8Array,
    nonce: Uint8Array,
    sealed: Uint8Array,
    aad: Uint8Array
  ) => Exit.Exit<Uint8Array, VerificationFailed | CryptoInputError>
  /** ChaCha20-Poly1305 (RFC 8439 §2.8), 32-byte key, 12-byte nonce: returns ciphertext ‖ 16-byte tag. */
  readonly chacha20Poly1305Seal: (
    key: Uint8Array,
    nonce: Uint8Array,
    plaintext: Uint8Array,
    aad: Uint8Array
  ) => Exit.Exit<Uint8Array, CryptoInputError>
  readonly chacha20Poly1305Open: (
    key: Uint8Array,
    nonce: Uint8Array,
    sealed: Uint8Array,
    aad: Uint8Array
  ) => Exit.Exit<Uint8Array, VerificationFailed | CryptoInputError>
}

export class Crypto extends Context.Tag("authlab/Crypto")<Crypto, CryptoShape>() {}

export interface SecureRandomShape {
  readonly bytes: (length: number) => Effect.Effect<Uint8Array>
}

export class SecureRandom extends Context.Tag("authlab/SecureRandom")<SecureRandom, SecureRandomShape>() {}
