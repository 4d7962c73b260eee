/**
 * `Crypto` on `node:crypto` (OpenSSL): HMAC-SHA256 (RFC 2104), HKDF-SHA256 (RFC 5869), X25519
 * (RFC 7748 §5), P-256 ECDH (SEC1 §3.3.1) and ECDSA (FIPS 186-5 §6, IEEE P1363 encoding),
 * Ed25519 (RFC 8032 §5.1), AES-GCM (NIST SP 800-38D) and ChaCha20-Poly1305 (RFC 8439 §2.8).
 *
 * Raw keys enter OpenSSL through fixed DER prefixes (PKCS#8 for secrets, SPKI for public keys,
 * RFC 8410 for the 25519 curves, RFC 5480 for P-256). Where OpenSSL is laxer than the contract in
 * `services.ts` — hybrid SEC1 points, undecodable or small-order Ed25519 keys — a pre-check here
 * refuses the input exactly as `noble.ts` does, so the two layers give the same verdicts.
 */
import {
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  type KeyObject,
  sign,
  timingSafeEqual,
  verify
} from "node:crypto"
import { Exit, Layer } from "effect"
import {
  AEAD_TAG_LENGTH,
  type Aead,
  compute,
  computeValue,
  constantTimeEqual,
  makePublicKeyMemo,
  invalidPoint,
  isAllZero,
  lowOrderPoint,
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

const der = (hex: string) => Buffer.from(hex, "hex")
const ED25519_PKCS8 = der("302e020100300506032b657004220420")
const ED25519_SPKI = der("302a300506032b6570032100")
const X25519_PKCS8 = der("302e020100300506032b656e04220420")
const X25519_SPKI = der("302a300506032b656e032100")
/**
 * P-256 secrets go in as a SEC1 ECPrivateKey (RFC 5915: version 1, the scalar, the curve named,
 * no public key; OpenSSL derives it), not wrapped in PKCS#8: OpenSSL 3's SEC1 decoder takes a
 * third of the time its PKCS#8 one does (130 vs 390 µs on Node 20, where a signature is 28 µs),
 * and a participant that signs with a key it just made or read pays it once per key.
 */
const P256_SEC1_PREFIX = der("30310201010420")
const P256_SEC1_CURVE = der("a00a06082a8648ce3d030107")
const P256_SPKI_UNCOMPRESSED = der("3059301306072a8648ce3d020106082a8648ce3d030107034200")
const P256_SPKI_COMPRESSED = der("3039301306072a8648ce3d020106082a8648ce3d030107032200")

type SecretKind = "ed25519" | "x25519" | "p256"

/** Import a raw secret; the DER copy of it is zeroed once OpenSSL has parsed it. */
const importSecret = (kind: SecretKind, secret: Uint8Array): KeyObject => {
  const encoded =
    kind === "p256" ? Buffer.concat([P256_SEC1_PREFIX, secret, P256_SEC1_CURVE]) : Buffer.concat([kind === "ed25519" ? ED25519_PKCS8 : X25519_PKCS8, secret])
  try {
    return createPrivateKey({ key: encoded, format: "der", type: kind === "p256" ? "sec1" : "pkcs8" })
  } finally {
    encoded.fill(0)
  }
}
const publicKey = (prefix: Buffer, key: Uint8Array) =>
  createPublicKey({ key: Buffer.concat([prefix, key]), format: "der", type: "spki" })

/**
 * Secret keys imported by one service instance, per key array: a service that signs with one key
 * imports it once, not on every call (the import cost 10–20× the signature). Keyed by the array
 * object itself (a WeakMap: the KeyObject goes when the array or the service goes, never later)
 * and checked against a copy of the bytes on every use, in constant time, so an array that was
 * erased or rewritten misses the cache, and its old KeyObject and copy are dropped at once.
 * Nothing is found by value: a secret is never looked up by its bytes. The copy adds no exposure
 * the KeyObject does not already have (it lives exactly as long), and replaces a SHA-256
 * fingerprint that cost ~2 µs a call.
 */
const makeSecretKeys = () => {
  const imported: Readonly<Record<SecretKind, WeakMap<Uint8Array, { readonly bytes: Uint8Array; readonly key: KeyObject }>>> = {
    ed25519: new WeakMap(),
    x25519: new WeakMap(),
    p256: new WeakMap()
  }
  return (kind: SecretKind, secret: Uint8Array): KeyObject => {
    const hit = imported[kind].get(secret)
    if (hit !== undefined) {
      if (constantTimeEqual(hit.bytes, secret)) return hit.key
      hit.bytes.fill(0)
    }
    const key = importSecret(kind, secret)
    imported[kind].set(secret, { bytes: Uint8Array.from(secret), key })
    return key
  }
}

type ImportedPublic = KeyObject | "invalid-point" | "low-order"

/** The raw key is the tail of the SPKI encoding (the BIT STRING contents). */
const rawPublicKey = (key: KeyObject, length: number) =>
  new Uint8Array(key.export({ format: "der", type: "spki" }).subarray(-length))
/** Return plain `Uint8Array`s, as noble does, never `Buffer`s. */
const plain = (bytes: Uint8Array | ArrayBuffer) => new Uint8Array(bytes)

/** Run `f` now; an OpenSSL error with one of `codes` becomes `error`, anything else is a defect. */
const attempt = <A>(f: () => A, codes: ReadonlyArray<string>, error: () => CryptoInputError): Exit.Exit<A, CryptoInputError> => {
  try {
    return Exit.succeed(f())
  } catch (cause) {
    const code = (cause as { code?: unknown }).code
    return typeof code === "string" && codes.includes(code) ? Exit.fail(error()) : Exit.die(cause)
  }
}

// --- Ed25519 public-key decoding (RFC 8032 §5.1.3) ------------------------------------------
// OpenSSL imports any 32 bytes as an Ed25519 key and only fails later, inside verify, so it
// cannot tell a bad key from a bad signature. These few lines decode the (public) key the way
// noble does, so both layers answer InvalidPoint / LowOrderPoint for the same keys. Variable
// time is fine: the input is public.
const P = 2n ** 255n - 19n
const D = 37095705934669439343138083508754565189542113879843219016388785533085940283555n
const SQRT_M1 = 19681161376707505956807079304988542015446066515923890162744021073123829784752n
const mod = (a: bigint) => ((a % P) + P) % P
const pow = (base: bigint, exp: bigint) => {
  let result = 1n
  let b = mod(base)
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P
    b = (b * b) % P
  }
  return result
}

const isEd25519Point = (bytes: Uint8Array): boolean => {
  const sign = bytes[31]! >> 7
  let y = 0n
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? bytes[i]! & 0x7f : bytes[i]!)
  if (y >= P) return false // step 1: non-canonical y
  // step 2: x² = (y² − 1) / (d·y² + 1), candidate x = u·v³·(u·v⁷)^((p−5)/8)
  const u = mod(y * y - 1n)
  const v = mod(D * y * y + 1n)
  let x = mod(u * pow(v, 3n) * pow(u * pow(v, 7n), (P - 5n) / 8n))
  const vxx = mod(v * x * x)
  if (vxx === mod(-u)) x = mod(x * SQRT_M1)
  else if (vxx !== u) return false // step 3: no square root, not on the curve
  return !(x === 0n && sign === 1) // step 4
}

/** The eight points of order dividing 8, in their only canonical encodings. */
const ED25519_SMALL_ORDER = new Set([
  "0100000000000000000000000000000000000000000000000000000000000000",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "0000000000000000000000000000000000000000000000000000000000000080",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
  "0000000000000000000000000000000000000000000000000000000000000000",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"
])
/** Exported for the test that checks this list against noble's `ED25519_TORSION_SUBGROUP`. */
export const ed25519SmallOrderEncodings: ReadonlySet<string> = ED25519_SMALL_ORDER

// --- AEAD ----------------------------------------------------------------------------------
// The key was checked to be 16 or 32 bytes (AES) or 32 (ChaCha20), so its length picks the
// OpenSSL cipher; authTagLength pins the tag at 16 bytes on both sides.
type AeadCipher = "aes-128-gcm" | "aes-256-gcm" | "chacha20-poly1305"
const AEAD_OPTIONS = { authTagLength: AEAD_TAG_LENGTH }
const cipherName = (aead: Aead, key: Uint8Array): AeadCipher =>
  aead === "chacha20-poly1305" ? aead : key.length === 16 ? "aes-128-gcm" : "aes-256-gcm"
const encryptor = (name: AeadCipher, key: Uint8Array, nonce: Uint8Array) =>
  name === "chacha20-poly1305"
    ? createCipheriv(name, key, nonce, AEAD_OPTIONS)
    : createCipheriv(name, key, nonce, AEAD_OPTIONS)
const decryptor = (name: AeadCipher, key: Uint8Array, nonce: Uint8Array) =>
  name === "chacha20-poly1305"
    ? createDecipheriv(name, key, nonce, AEAD_OPTIONS)
    : createDecipheriv(name, key, nonce, AEAD_OPTIONS)

const aeadSeal = (aead: Aead, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array) => {
  const cipher = encryptor(cipherName(aead, key), key, nonce)
  cipher.setAAD(aad, { plaintextLength: plaintext.length })
  const out = new Uint8Array(plaintext.length + AEAD_TAG_LENGTH)
  const body = cipher.update(plaintext)
  out.set(body)
  // final() outputs nothing for these stream modes, but the tag exists only after it
  out.set(cipher.final(), body.length)
  out.set(cipher.getAuthTag(), plaintext.length)
  return out
}

/**
 * OpenSSL's `update` hands out plaintext *before* `final` has checked the tag. It stays in this
 * function: on a bad tag it is zeroed and only the failure leaves, so no caller ever sees
 * unauthenticated bytes.
 */
const aeadOpen = (aead: Aead, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array) =>
  compute((): Exit.Exit<Uint8Array, VerificationFailed> => {
    const split = sealed.length - AEAD_TAG_LENGTH
    const decipher = decryptor(cipherName(aead, key), key, nonce)
    decipher.setAAD(aad, { plaintextLength: split })
    decipher.setAuthTag(sealed.subarray(split))
    const body = decipher.update(sealed.subarray(0, split))
    try {
      decipher.final()
    } catch {
      // lengths were checked before: a throwing final() is the tag check failing
      body.fill(0)
      return verificationFailed(aead)
    }
    return Exit.succeed(plain(body))
  })

/** SPKI decoding checks the point is on the curve; both SEC1 forms were checked before. */
const importP256Public = (key: Uint8Array): ImportedPublic => {
  try {
    return publicKey(key.length === 33 ? P256_SPKI_COMPRESSED : P256_SPKI_UNCOMPRESSED, key)
  } catch (cause) {
    if ((cause as { code?: unknown }).code === "ERR_OSSL_EVP_DECODE_ERROR") return "invalid-point"
    throw cause
  }
}

/**
 * One service instance: its own imported keys (see `makeSecretKeys`, `makePublicKeyMemo`), which go
 * with it. Methods are plain functions that compute when called and return an `Exit` (see
 * `compute` in bytes.ts): no span, no generator, no fiber.
 */
export const makeNodeCrypto = (): CryptoShape => {
  const secret = makeSecretKeys()
  // public keys imported by this instance, by their bytes (see `makePublicKeyMemo`)
  const remembered = makePublicKeyMemo<ImportedPublic>()
  const p256Public = (key: Uint8Array) => remembered("p256", key, () => importP256Public(key))

  return {
    backend: "node",

    hmacSha256: (key, message) => computeValue(() => plain(createHmac("sha256", key).update(message).digest())),

    hmacSha256Verify: (key, message, tag) =>
      requireHmacTag(tag) ??
        compute(() => {
          const expected = createHmac("sha256", key).update(message).digest().subarray(0, tag.length)
          // compare in constant time: the expected tag is secret-derived
          return timingSafeEqual(expected, tag) ? Exit.void : verificationFailed("hmac-sha256")
        }),

    hkdfSha256: (ikm, salt, info, length) =>
      requireHkdfLength(length) ?? computeValue(() => plain(hkdfSync("sha256", ikm, salt, info, length))),

    x25519PublicKey: (secretKey) =>
      requireLength("X25519 secret key", secretKey, 32) ??
        computeValue(() => rawPublicKey(createPublicKey(secret("x25519", secretKey)), 32)),

    x25519SharedSecret: (secretKey, peer) =>
      requireLength("X25519 secret key", secretKey, 32) ??
        requireLength("X25519 public key", peer, 32) ??
        compute(() => {
          // any 32 bytes are an X25519 public key (RFC 7748 §5): the import cannot refuse one
          const peerKey = remembered("x25519", peer, () => publicKey(X25519_SPKI, peer)) as KeyObject
          // OpenSSL fails the derivation when the result is all zero (RFC 7748 §6.1)
          const shared = attempt(
            () => plain(diffieHellman({ privateKey: secret("x25519", secretKey), publicKey: peerKey })),
            ["ERR_OSSL_FAILED_DURING_DERIVATION"],
            () => lowOrderPoint("X25519 public key")
          )
          return Exit.isSuccess(shared) && isAllZero(shared.value) ? Exit.fail(lowOrderPoint("X25519 public key")) : shared
        }),

    p256PublicKey: (secretKey) =>
      requireP256SecretKey(secretKey) ??
        computeValue(() => {
          const ecdh = createECDH("prime256v1")
          ecdh.setPrivateKey(secretKey)
          return plain(ecdh.getPublicKey(null, "compressed"))
        }),

    p256SharedSecret: (secretKey, peer) =>
      requireP256SecretKey(secretKey) ??
        // refuses the hybrid 06/07 encodings OpenSSL would otherwise accept
        requireSec1Point("P-256 public key", peer) ??
        compute(() => {
          // on-curve check (at import) before the secret scalar touches the point (invalid-curve attack)
          const peerKey = p256Public(peer)
          if (peerKey === "invalid-point" || peerKey === "low-order") return Exit.fail(invalidPoint("P-256 public key"))
          // SEC1 §3.3.1: the x-coordinate of d·Q
          return Exit.succeed(plain(diffieHellman({ privateKey: secret("p256", secretKey), publicKey: peerKey })))
        }),

    ed25519PublicKey: (secretKey) =>
      requireLength("Ed25519 secret key", secretKey, 32) ??
        computeValue(() => rawPublicKey(createPublicKey(secret("ed25519", secretKey)), 32)),

    ed25519Sign: (secretKey, message) =>
      requireLength("Ed25519 secret key", secretKey, 32) ?? computeValue(() => plain(sign(null, message, secret("ed25519", secretKey)))),

    ed25519Verify: (key, message, signature) =>
      requireLength("Ed25519 public key", key, 32) ??
        requireLength("Ed25519 signature", signature, 64) ??
        compute((): Exit.Exit<void, VerificationFailed | CryptoInputError> => {
          const keyObject = remembered("ed25519", key, () =>
            !isEd25519Point(key)
              ? "invalid-point"
              : // a small-order key lets one signature verify for many messages: refuse it up front
                ED25519_SMALL_ORDER.has(Buffer.from(key).toString("hex"))
                ? "low-order"
                : publicKey(ED25519_SPKI, key)
          )
          if (keyObject === "invalid-point") return Exit.fail(invalidPoint("Ed25519 public key"))
          if (keyObject === "low-order") return Exit.fail(lowOrderPoint("Ed25519 public key"))
          // OpenSSL checks S < L and compares the recomputed R byte for byte (RFC 8032 §5.1.7)
          return verify(null, message, keyObject, signature) ? Exit.void : verificationFailed("ed25519")
        }),

    ecdsaP256Sign: (secretKey, message) =>
      requireP256SecretKey(secretKey) ??
        computeValue(() => plain(sign("sha256", message, { key: secret("p256", secretKey), dsaEncoding: "ieee-p1363" }))),

    ecdsaP256Verify: (key, message, signature) =>
      requireSec1Point("P-256 public key", key) ??
        requireLength("ECDSA P-256 signature", signature, 64) ??
        compute((): Exit.Exit<void, VerificationFailed | CryptoInputError> => {
          const keyObject = p256Public(key)
          if (keyObject === "invalid-point" || keyObject === "low-order") return Exit.fail(invalidPoint("P-256 public key"))
          return verify("sha256", message, { key: keyObject, dsaEncoding: "ieee-p1363" }, signature) ? Exit.void : verificationFailed("ecdsa-p256")
        }),

    aesGcmSeal: (key, nonce, plaintext, aad) =>
      requireAeadSeal("aes-gcm", key, nonce) ?? computeValue(() => aeadSeal("aes-gcm", key, nonce, plaintext, aad)),

    aesGcmOpen: (key, nonce, sealed, aad) =>
      requireAeadOpen("aes-gcm", key, nonce, sealed) ?? aeadOpen("aes-gcm", key, nonce, sealed, aad),

    chacha20Poly1305Seal: (key, nonce, plaintext, aad) =>
      requireAeadSeal("chacha20-poly1305", key, nonce) ?? computeValue(() => aeadSeal("chacha20-poly1305", key, nonce, plaintext, aad)),

    chacha20Poly1305Open: (key, nonce, sealed, aad) =>
      requireAeadOpen("chacha20-poly1305", key, nonce, sealed) ?? aeadOpen("chacha20-poly1305", key, nonce, sealed, aad)
  }
}

/**
 * `Crypto` on node:crypto. Each build of the layer is a new service instance with its own imported
 * keys: nothing outside the instance refers to them, so they go when the service goes.
 */
export const CryptoNode: Layer.Layer<Crypto> = Layer.sync(Crypto, () => Crypto.of(makeNodeCrypto()))
