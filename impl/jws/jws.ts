/**
 * JWS compact serialization (RFC 7515 §3.1, §7.1) over the `Crypto` service, for JWTs
 * (RFC 7519) signed with EdDSA / Ed25519 (RFC 8037 §3.1) or ES256 / ECDSA P-256 with SHA-256
 * (RFC 7518 §3.4: the signature is the IEEE P1363 concatenation r ‖ s, 64 bytes).
 *
 * The verifier is strict and its checks run in a fixed order, each with its own reason:
 *   1. `Malformed`            — not exactly three segments, over `MAX_TOKEN_LENGTH`, a segment
 *                               that is not canonical unpadded base64url (RFC 7515 §2), a header
 *                               that is not a UTF-8 JSON object with a string `alg`, or a `crit`
 *                               header (we understand no extensions: RFC 7515 §4.1.11).
 *                               All parse failures collapse into this one reason.
 *   2. `UnknownKey`           — the header names a `kid` no verification key has.
 *   3. `AlgorithmNotAllowed`  — no candidate key's fixed algorithm is the header's `alg`. Each key
 *                               carries exactly one algorithm, so `none`, HS256-with-a-public-key
 *                               and EdDSA↔ES256 confusion are all refused here, before any crypto.
 *   4. `BadSignature`         — the signature does not verify under any candidate key.
 *   5. `Malformed`            — (JWT only) the payload is not a UTF-8 JSON object, or `exp` /
 *                               `nbf` / `iat` is not a number.
 *   6. `MissingClaim`, `Expired`, `NotYetValid` — (JWT only) claim checks against the Effect
 *                               `Clock`, so tests drive time with `TestClock` or an injected clock.
 *
 * The payload is only parsed after the signature verified (step 4 before 5): unauthenticated
 * bytes never reach `JSON.parse` beyond the header.
 */
import { p256 } from "@noble/curves/nist.js"
import { Clock, Data, Effect } from "effect"
import { Crypto, type CryptoInputError } from "../crypto/services.ts"

// --- errors ----------------------------------------------------------------------------------

export class JwsError extends Data.TaggedError("JwsError")<{
  readonly reason:
    | "Malformed"
    | "UnknownKey"
    | "AlgorithmNotAllowed"
    | "BadSignature"
    | "MissingClaim"
    | "Expired"
    | "NotYetValid"
}> {}

// --- keys ------------------------------------------------------------------------------------

/** The algorithms we sign and verify. `Ed25519` is RFC 9864's fully-specified name for EdDSA over Ed25519. */
export type JwsAlgorithm = "EdDSA" | "Ed25519" | "ES256"

/** A private key, bound to one algorithm. Ed25519: 32-byte seed; ES256: 32-byte scalar. */
export interface SigningKey {
  readonly alg: JwsAlgorithm
  readonly secretKey: Uint8Array
  readonly kid?: string
}

/**
 * A public key with its one allowed algorithm — the per-key allow-list that defeats algorithm
 * confusion (RFC 8725 §3.1). Ed25519: 32 bytes; ES256: SEC1 point (33 or 65 bytes).
 */
export interface VerificationKey {
  readonly alg: JwsAlgorithm
  readonly publicKey: Uint8Array
  readonly kid?: string
}

const isEd25519 = (alg: JwsAlgorithm) => alg === "EdDSA" || alg === "Ed25519"

/** The public half of a signing key, with the same `alg` and `kid`. */
export const verificationKeyOf = Effect.fn("Jws.verificationKeyOf")(function*(key: SigningKey) {
  const crypto = yield* Crypto
  const publicKey = isEd25519(key.alg)
    ? yield* crypto.ed25519PublicKey(key.secretKey)
    : yield* crypto.p256PublicKey(key.secretKey)
  const out: VerificationKey = key.kid === undefined ? { alg: key.alg, publicKey } : { alg: key.alg, publicKey, kid: key.kid }
  return out
})

// --- base64url (RFC 7515 §2, RFC 4648 §5 without padding) --------------------------------------

const B64URL = /^[A-Za-z0-9_-]*$/

export const base64urlEncode = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64url")

/**
 * Strict decode: alphabet only, no padding, and canonical — the unused low bits of the last
 * character must be zero (re-encoding must give back the input), so one token has one spelling.
 */
export const base64urlDecode = (s: string): Uint8Array | undefined => {
  if (!B64URL.test(s) || s.length % 4 === 1) return undefined
  const bytes = Buffer.from(s, "base64url")
  if (bytes.toString("base64url") !== s) return undefined
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length)
}

const utf8 = new TextEncoder()
// ignoreBOM: a leading BOM stays in the text, so JSON.parse refuses it instead of it vanishing.
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

const parseJsonObject = (bytes: Uint8Array): Record<string, unknown> | undefined => {
  try {
    const value: unknown = JSON.parse(utf8Strict.decode(bytes))
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

// --- sign --------------------------------------------------------------------------------------

export interface JwsHeader {
  readonly alg: JwsAlgorithm
  readonly typ?: string
  readonly kid?: string
}

/** Tokens longer than this are refused before any decoding (a verifier is a DoS surface). */
export const MAX_TOKEN_LENGTH = 16 * 1024

const signingInput = (header: string, payload: string) => utf8.encode(`${header}.${payload}`)

const signRaw = (alg: JwsAlgorithm, secretKey: Uint8Array, input: Uint8Array) =>
  Effect.flatMap(Crypto, (crypto) =>
    isEd25519(alg) ? crypto.ed25519Sign(secretKey, input) : crypto.ecdsaP256Sign(secretKey, input))

/** Sign `payload` bytes as a JWS compact string; the header is `{alg, typ?, kid?}` in that order. */
export const signCompact = Effect.fn("Jws.signCompact")(function*(
  key: SigningKey,
  payload: Uint8Array,
  options: { readonly typ?: string } = {}
) {
  const header: JwsHeader = {
    alg: key.alg,
    ...(options.typ === undefined ? {} : { typ: options.typ }),
    ...(key.kid === undefined ? {} : { kid: key.kid })
  }
  const h = base64urlEncode(utf8.encode(JSON.stringify(header)))
  const p = base64urlEncode(payload)
  const signature = yield* signRaw(key.alg, key.secretKey, signingInput(h, p))
  return `${h}.${p}.${base64urlEncode(signature)}`
})

/** RFC 7519 registered claims we check, plus any others. NumericDates are seconds since the epoch. */
export interface JwtClaims {
  readonly sub?: string
  readonly iss?: string
  readonly aud?: string
  readonly exp?: number
  readonly nbf?: number
  readonly iat?: number
  readonly jti?: string
  readonly [claim: string]: unknown
}

/** Sign a JWT: the claims as compact JSON, `typ: "JWT"` unless told otherwise (e.g. `at+jwt`, RFC 9068 §2.1). */
export const signJwt = (key: SigningKey, claims: JwtClaims, options: { readonly typ?: string } = {}): Effect.Effect<string, CryptoInputError, Crypto> =>
  signCompact(key, utf8.encode(JSON.stringify(claims)), { typ: options.typ ?? "JWT" })

// --- verify ------------------------------------------------------------------------------------

export interface VerifiedJws {
  readonly header: Readonly<Record<string, unknown>> & { readonly alg: JwsAlgorithm }
  readonly payload: Uint8Array
  /** The key that verified the signature. */
  readonly key: VerificationKey
}

const malformed = () => new JwsError({ reason: "Malformed" })

/** Steps 1–4 of the module doc: structure, header, key and algorithm selection, signature. */
export const verifyCompact = Effect.fn("Jws.verifyCompact")(function*(
  token: string,
  keys: ReadonlyArray<VerificationKey>
) {
  // 1. structure and header
  if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH) return yield* malformed()
  const parts = token.split(".")
  if (parts.length !== 3) return yield* malformed()
  const [h, p, s] = parts as [string, string, string]
  const headerBytes = base64urlDecode(h)
  const payload = base64urlDecode(p)
  const signature = base64urlDecode(s)
  if (headerBytes === undefined || payload === undefined || signature === undefined || h.length === 0) {
    return yield* malformed()
  }
  const header = parseJsonObject(headerBytes)
  if (header === undefined || typeof header.alg !== "string") return yield* malformed()
  if ("crit" in header) return yield* malformed()
  if ("kid" in header && typeof header.kid !== "string") return yield* malformed()
  const alg = header.alg

  // 2. key selection by kid (a kid we do not know is not "try every key")
  const byKid = typeof header.kid === "string" ? keys.filter((k) => k.kid === header.kid) : keys
  if (byKid.length === 0) return yield* new JwsError({ reason: "UnknownKey" })

  // 3. the per-key allow-list: only keys whose one algorithm is the header's
  const candidates = byKid.filter((k) => k.alg === alg)
  if (candidates.length === 0) return yield* new JwsError({ reason: "AlgorithmNotAllowed" })

  // 4. signature; input and length errors on a candidate are a failed verification, not a crash
  const crypto = yield* Crypto
  const input = signingInput(h, p)
  for (const key of candidates) {
    const verify = isEd25519(key.alg)
      ? crypto.ed25519Verify(key.publicKey, input, signature)
      : crypto.ecdsaP256Verify(key.publicKey, input, signature)
    const ok = yield* Effect.match(verify, { onSuccess: () => true, onFailure: () => false })
    if (ok) {
      const verified: VerifiedJws = { header: header as VerifiedJws["header"], payload, key }
      return verified
    }
  }
  return yield* new JwsError({ reason: "BadSignature" })
})

export interface JwtVerifyOptions {
  /** Claims that must be present; default `["exp"]` — an access token without an expiry is refused. */
  readonly requiredClaims?: ReadonlyArray<string>
  /** Leeway for `exp` / `nbf`, in seconds (RFC 7519 §4.1.4 "small leeway"); default 0. */
  readonly clockToleranceSeconds?: number
  /** If set, the header's `typ` must equal it. */
  readonly typ?: string
}

export interface VerifiedJwt extends VerifiedJws {
  readonly claims: JwtClaims
}

const NUMERIC_DATES = ["exp", "nbf", "iat"] as const

/** Steps 1–6: a JWS, then its claims against the Effect `Clock`. */
export const verifyJwt = Effect.fn("Jws.verifyJwt")(function*(
  token: string,
  keys: ReadonlyArray<VerificationKey>,
  options: JwtVerifyOptions = {}
) {
  const verified = yield* verifyCompact(token, keys)
  if (options.typ !== undefined && verified.header.typ !== options.typ) return yield* malformed()
  // 5. the payload, now authenticated
  const claims = parseJsonObject(verified.payload)
  if (claims === undefined) return yield* malformed()
  for (const name of NUMERIC_DATES) {
    const value = claims[name]
    if (value !== undefined && (typeof value !== "number" || !Number.isFinite(value))) return yield* malformed()
  }
  // 6. claims against the clock
  for (const name of options.requiredClaims ?? ["exp"]) {
    if (!(name in claims)) return yield* new JwsError({ reason: "MissingClaim" })
  }
  const leeway = options.clockToleranceSeconds ?? 0
  const now = (yield* Clock.currentTimeMillis) / 1000
  // RFC 7519 §4.1.4: the current time MUST be before exp
  if (typeof claims.exp === "number" && now >= claims.exp + leeway) return yield* new JwsError({ reason: "Expired" })
  // RFC 7519 §4.1.5: not before nbf
  if (typeof claims.nbf === "number" && now < claims.nbf - leeway) return yield* new JwsError({ reason: "NotYetValid" })
  const out: VerifiedJwt = { ...verified, claims: claims as JwtClaims }
  return out
})

// --- JWK export (RFC 7517, RFC 8037 §2, RFC 7518 §6.2.1), so other JOSE libraries can verify ------

export type PublicJwk =
  | { readonly kty: "OKP"; readonly crv: "Ed25519"; readonly x: string; readonly alg: JwsAlgorithm; readonly kid?: string }
  | { readonly kty: "EC"; readonly crv: "P-256"; readonly x: string; readonly y: string; readonly alg: "ES256"; readonly kid?: string }

/** The public JWK of a verification key; a P-256 point is decompressed to its x and y. */
export const toPublicJwk = (key: VerificationKey): PublicJwk => {
  const kid = key.kid === undefined ? {} : { kid: key.kid }
  if (isEd25519(key.alg)) return { kty: "OKP", crv: "Ed25519", x: base64urlEncode(key.publicKey), alg: key.alg, ...kid }
  const point = p256.Point.fromBytes(key.publicKey).toBytes(false)
  return {
    kty: "EC",
    crv: "P-256",
    x: base64urlEncode(point.subarray(1, 33)),
    y: base64urlEncode(point.subarray(33, 65)),
    alg: "ES256",
    ...kid
  }
}
