/**
 * Byte helpers and the input checks both `Crypto` layers share, so the two backends refuse the
 * same bad input with the same `CryptoInputError` reason and message.
 *
 * Lengths and encodings are checked here, before any key material reaches a primitive:
 * SEC1 §2.3.3 point encodings, the P-256 scalar range [1, n-1] (SEC1 §3.2.1), the HKDF output
 * bound L ≤ 255·HashLen (RFC 5869 §2.3), the HMAC truncation floor (RFC 2104 §5) and the AEAD
 * key, nonce and tag sizes (NIST SP 800-38D §5.2.1.1, RFC 8439 §2.8).
 */
import { Exit } from "effect"
import { CryptoInputError, VerificationFailed } from "./services.ts"

// --- running a primitive ----------------------------------------------------------------------
// Both layers compute a primitive when its method is called and return the outcome as an `Exit`:
// an Effect that is already complete, which `yield*` and `Effect.runSync` take without starting a
// fiber or building a generator. That is what lets a method cost what the library call costs
// (bench/: a generator-based `Effect.fnUntraced` plus `runSync` added ~1.5 µs a call, a fifth of
// an HMAC). It is sound because a primitive is a function of its inputs alone: computing it at
// call time gives what computing it at run time would. (The one effect, node's random ECDSA
// nonce, is drawn once per call: re-running the same Effect value yields the same signature.)

/**
 * An input check: `undefined` when the input passes, else the failure, ready to return. Checks
 * chain with `??`: `requireLength(…) ?? requireLength(…) ?? compute(…)`.
 */
export type InputCheck = Exit.Exit<never, CryptoInputError> | undefined

/** Run `f` now; a throw is a defect (`Exit.die`), as it would be inside an Effect. */
export const compute = <A, E = never>(f: () => Exit.Exit<A, E>): Exit.Exit<A, E> => {
  try {
    return f()
  } catch (cause) {
    return Exit.die(cause)
  }
}

const FAILED: { readonly [P in VerificationFailed["primitive"]]: Exit.Exit<never, VerificationFailed> } = {
  "hmac-sha256": Exit.fail(new VerificationFailed({ primitive: "hmac-sha256" })),
  ed25519: Exit.fail(new VerificationFailed({ primitive: "ed25519" })),
  "ecdsa-p256": Exit.fail(new VerificationFailed({ primitive: "ecdsa-p256" })),
  "aes-gcm": Exit.fail(new VerificationFailed({ primitive: "aes-gcm" })),
  "chacha20-poly1305": Exit.fail(new VerificationFailed({ primitive: "chacha20-poly1305" }))
}

/**
 * The failed verification of `primitive`. One value per primitive, made once: the error carries
 * no detail by design (services.ts), so every failure of a primitive is the same value, and a
 * rejection costs no error object and no stack capture (P5 fails two MAC checks per login).
 */
export const verificationFailed = (primitive: VerificationFailed["primitive"]): Exit.Exit<never, VerificationFailed> => FAILED[primitive]

/** Run `f` now for its value; a throw is a defect. */
export const computeValue = <A>(f: () => A): Exit.Exit<A> => {
  try {
    return Exit.succeed(f())
  } catch (cause) {
    return Exit.die(cause)
  }
}

/**
 * Constant-time equality of two byte strings. The running time depends on the lengths only,
 * which are public (a MAC's length is fixed by the protocol), never on where the bytes differ.
 */
export const constantTimeEqual = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

export const isAllZero = (bytes: Uint8Array): boolean => {
  let acc = 0
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i]!
  return acc === 0
}

const fail = (reason: CryptoInputError["reason"], detail: string): Exit.Exit<never, CryptoInputError> =>
  Exit.fail(new CryptoInputError({ reason, detail }))

/** `expected 32-byte X25519 public key, got 31`. */
export const requireLength = (
  label: string,
  bytes: Uint8Array,
  expected: number
): InputCheck =>
  bytes.length === expected ? undefined : fail("InvalidLength", `expected ${expected}-byte ${label}, got ${bytes.length}`)

/** Shortest HMAC tag `hmacSha256Verify` accepts: 128 bits, half the output (RFC 2104 §5). */
export const HMAC_MIN_TAG = 16
export const HMAC_SHA256_LENGTH = 32

export const requireHmacTag = (tag: Uint8Array): InputCheck =>
  tag.length >= HMAC_MIN_TAG && tag.length <= HMAC_SHA256_LENGTH
    ? undefined
    : fail("InvalidLength", `expected ${HMAC_MIN_TAG}- to ${HMAC_SHA256_LENGTH}-byte HMAC-SHA256 tag, got ${tag.length}`)

/** RFC 5869 §2.3: L ≤ 255·HashLen. */
export const HKDF_SHA256_MAX = 255 * 32

export const requireHkdfLength = (length: number): InputCheck => {
  if (!Number.isSafeInteger(length) || length < 0) {
    return fail("InvalidLength", `expected a non-negative integer HKDF-SHA256 length, got ${length}`)
  }
  return length <= HKDF_SHA256_MAX
    ? undefined
    : fail("OutputTooLong", `expected HKDF-SHA256 length ≤ ${HKDF_SHA256_MAX}, got ${length}`)
}

// --- AEAD (AES-GCM, ChaCha20-Poly1305) --------------------------------------------------------

export type Aead = "aes-gcm" | "chacha20-poly1305"

const AEAD_NAME: Readonly<Record<Aead, string>> = { "aes-gcm": "AES-GCM", "chacha20-poly1305": "ChaCha20-Poly1305" }
/** The nonce's label in an error, made once (not on every seal: the checks run on every call). */
const AEAD_NONCE_LABEL: Readonly<Record<Aead, string>> = { "aes-gcm": "AES-GCM nonce", "chacha20-poly1305": "ChaCha20-Poly1305 nonce" }

/**
 * 96-bit nonces only. SP 800-38D §5.2.1.1 lets GCM take other IV lengths, but those are hashed
 * into the counter block by GHASH, which makes random-nonce collision bounds worse and is where
 * implementations disagree (OpenSSL takes 1-byte IVs, noble refuses below 8); RFC 8439 §2.8
 * fixes ChaCha20-Poly1305's at 96 bits. One length for both keeps the contract small.
 */
export const AEAD_NONCE_LENGTH = 12
/** Full 128-bit tags only: SP 800-38D Appendix C shows how truncated GCM tags weaken forgery bounds. */
export const AEAD_TAG_LENGTH = 16

/**
 * AES-128 or AES-256 (16 or 32 bytes); AES-192 is refused, so the contract names only the sizes
 * the protocols use. ChaCha20 keys are 32 bytes (RFC 8439 §2.3).
 */
const requireAeadKey = (aead: Aead, key: Uint8Array): InputCheck =>
  aead === "chacha20-poly1305"
    ? requireLength("ChaCha20-Poly1305 key", key, 32)
    : key.length === 16 || key.length === 32
      ? undefined
      : fail("InvalidLength", `expected 16- or 32-byte AES-GCM key, got ${key.length}`)

/** The checks before sealing: key, then nonce. */
export const requireAeadSeal = (aead: Aead, key: Uint8Array, nonce: Uint8Array): InputCheck =>
  requireAeadKey(aead, key) ?? requireLength(AEAD_NONCE_LABEL[aead], nonce, AEAD_NONCE_LENGTH)

/** The checks before opening: key, nonce, then a sealed input long enough to hold the tag. */
export const requireAeadOpen = (
  aead: Aead,
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array
): InputCheck =>
  requireAeadSeal(aead, key, nonce) ??
    (sealed.length >= AEAD_TAG_LENGTH
      ? undefined
      : fail("InvalidLength", `expected ${AEAD_NAME[aead]} ciphertext of at least ${AEAD_TAG_LENGTH} bytes (the tag), got ${sealed.length}`))

/**
 * What a layer learned about a public key (its import, or the verdict of its point checks),
 * remembered by the key's bytes: decoding a point (a square root) or importing it into OpenSSL
 * cost as much as a verification, and a protocol verifies against the same few stored keys
 * again and again. Public keys are public, so remembering them by value leaks nothing. Secret
 * keys never go here. Bounded: cleared when full.
 */
export const makePublicKeyMemo = <V>(capacity = 4096) => {
  const memo = new Map<string, V>()
  return (kind: string, key: Uint8Array, learn: () => V): V => {
    const id = `${kind}:${Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("hex")}`
    let found = memo.get(id)
    if (found === undefined) {
      if (memo.size >= capacity) memo.clear()
      found = learn()
      memo.set(id, found)
    }
    return found
  }
}

/** Order n of the P-256 base point (SEC2 §2.4.2). */
export const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n

export const bytesToBigIntBE = (bytes: Uint8Array): bigint => {
  let n = 0n
  for (const b of bytes) n = (n << 8n) | BigInt(b)
  return n
}

const P256_ORDER_BYTES = Uint8Array.from(Buffer.from(P256_ORDER.toString(16).padStart(64, "0"), "hex"))

/**
 * 1 ≤ d < n for a 32-byte big-endian d, compared byte-wise without BigInts (this runs on every
 * P-256 secret-key call). Constant time: the scan does not stop at the first differing byte.
 */
const isP256Scalar = (d: Uint8Array): boolean => {
  let nonZero = 0
  // lt/decided: whether d < n, fixed at the most significant byte where they differ
  let lt = 0
  let decided = 0
  for (let i = 0; i < 32; i++) {
    const a = d[i]!
    const b = P256_ORDER_BYTES[i]!
    nonZero |= a
    const differs = a === b ? 0 : 1
    lt |= ~decided & differs & (a < b ? 1 : 0)
    decided |= differs
  }
  return nonZero !== 0 && lt === 1
}

/**
 * A P-256 secret key is a 32-byte big-endian integer in [1, n-1] (SEC1 §3.2.1). Reduction mod n
 * would silently accept 0 and n, so out-of-range values are refused instead.
 */
export const requireP256SecretKey = (secretKey: Uint8Array): InputCheck =>
  requireLength("P-256 secret key", secretKey, 32) ??
    (isP256Scalar(secretKey) ? undefined : fail("InvalidScalar", "expected P-256 secret key in [1, n-1]"))

/**
 * SEC1 §2.3.3 point encodings we accept: compressed (02/03 ‖ x, 33 bytes) or uncompressed
 * (04 ‖ x ‖ y, 65 bytes). The identity (00) and OpenSSL's "hybrid" form (06/07) are refused here,
 * so both backends see the same set of encodings; whether the point is on the curve is the
 * backend's check.
 */
export const requireSec1Point = (label: string, point: Uint8Array): InputCheck => {
  if (point.length !== 33 && point.length !== 65) {
    return fail("InvalidLength", `expected 33- or 65-byte SEC1 ${label}, got ${point.length}`)
  }
  const prefix = point[0]!
  const ok = point.length === 33 ? prefix === 0x02 || prefix === 0x03 : prefix === 0x04
  return ok
    ? undefined
    : fail("InvalidPoint", `expected SEC1 ${label} prefix ${point.length === 33 ? "02 or 03" : "04"}, got ${prefix.toString(16).padStart(2, "0")}`)
}

export const invalidPoint = (label: string) =>
  new CryptoInputError({ reason: "InvalidPoint", detail: `${label} is not a point on the curve` })

export const lowOrderPoint = (label: string) =>
  new CryptoInputError({ reason: "LowOrderPoint", detail: `${label} is a point of small order` })
