/**
 * The cryptographic primitives authlab's protocols rest on, as Effect services.
 *
 * `Crypto` is implemented twice (see `noble.ts` and `node.ts`); the tests prove both layers give
 * the same outputs and the same verdicts on the Wycheproof vectors. `SecureRandom` is separate so
 * a property run can swap in a seeded generator and be replayed exactly.
 *
 * Conventions: every verification *fails* with `VerificationFailed` rather than returning a
 * boolean; malformed inputs (wrong lengths, points not on the curve, low-order points) fail with
 * `CryptoInputError` before any secret is touched. MAC comparison is constant-time.
 */
import { Context, Data, type Effect } from "effect"

export class CryptoInputError extends Data.TaggedError("CryptoInputError")<{
  readonly reason: "InvalidLength" | "InvalidPoint" | "LowOrderPoint" | "InvalidScalar" | "OutputTooLong"
  readonly detail: string
}> {}

/** A signature or MAC did not verify. Deliberately carries no detail: it would be an oracle. */
export class VerificationFailed extends Data.TaggedError("VerificationFailed")<{
  readonly primitive: "hmac-sha256" | "ed25519" | "ecdsa-p256"
}> {}

export interface CryptoShape {
  /** Which backend this is, for reports and benchmarks. */
  readonly backend: "noble" | "node"
  /** HMAC-SHA256 (RFC 2104). Any key length. */
  readonly hmacSha256: (key: Uint8Array, message: Uint8Array) => Effect.Effect<Uint8Array>
  /** Recompute and compare in constant time; tags shorter than 16 bytes are refused as input errors. */
  readonly hmacSha256Verify: (
    key: Uint8Array,
    message: Uint8Array,
    tag: Uint8Array
  ) => Effect.Effect<void, VerificationFailed | CryptoInputError>
  /** HKDF-SHA256 extract-and-expand (RFC 5869); `length` ≤ 255·32. */
  readonly hkdfSha256: (
    ikm: Uint8Array,
    salt: Uint8Array,
    info: Uint8Array,
    length: number
  ) => Effect.Effect<Uint8Array, CryptoInputError>
  /** X25519 public key of a 32-byte secret (RFC 7748 §5). */
  readonly x25519PublicKey: (secretKey: Uint8Array) => Effect.Effect<Uint8Array, CryptoInputError>
  /** X25519 shared secret; fails on a non-32-byte input or an all-zero result (low-order point, RFC 7748 §6.1). */
  readonly x25519SharedSecret: (secretKey: Uint8Array, publicKey: Uint8Array) => Effect.Effect<Uint8Array, CryptoInputError>
  /** P-256 public key of a 32-byte secret, SEC1 compressed (33 bytes). */
  readonly p256PublicKey: (secretKey: Uint8Array) => Effect.Effect<Uint8Array, CryptoInputError>
  /** P-256 ECDH: x-coordinate of sk·P (32 bytes); refuses points not on the curve (invalid-curve attack). */
  readonly p256SharedSecret: (secretKey: Uint8Array, publicKey: Uint8Array) => Effect.Effect<Uint8Array, CryptoInputError>
  /** Ed25519 public key of a 32-byte seed (RFC 8032 §5.1.5). */
  readonly ed25519PublicKey: (secretKey: Uint8Array) => Effect.Effect<Uint8Array, CryptoInputError>
  readonly ed25519Sign: (secretKey: Uint8Array, message: Uint8Array) => Effect.Effect<Uint8Array, CryptoInputError>
  /** Strict RFC 8032 verification: non-canonical S and small-order keys are refused. */
  readonly ed25519Verify: (
    publicKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array
  ) => Effect.Effect<void, VerificationFailed | CryptoInputError>
  /** ECDSA P-256 / SHA-256, IEEE P1363 (r‖s, 64 bytes), low-S not required (Wycheproof accepts high S). */
  readonly ecdsaP256Sign: (secretKey: Uint8Array, message: Uint8Array) => Effect.Effect<Uint8Array, CryptoInputError>
  readonly ecdsaP256Verify: (
    publicKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array
  ) => Effect.Effect<void, VerificationFailed | CryptoInputError>
}

export class Crypto extends Context.Tag("authlab/Crypto")<Crypto, CryptoShape>() {}

export interface SecureRandomShape {
  readonly bytes: (length: number) => Effect.Effect<Uint8Array>
}

export class SecureRandom extends Context.Tag("authlab/SecureRandom")<SecureRandom, SecureRandomShape>() {}
