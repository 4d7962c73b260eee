/**
 * The P1 soft token: a JWT (RFC 7519) in JWS compact serialization (RFC 7515), signed by the
 * service with ES256, whose claims are the ID token's attributes and a `cnf` claim holding
 * pk_dev as a JWK (RFC 7800 §3.2) — so any JOSE library can check it, and a relying party knows
 * which key the holder must prove possession of.
 *
 * Also the byte strings the secure element signs (proof of possession at issuance and at a
 * relying party) and the key fingerprint the PC shows in `hardened`.
 */
import { p256 } from "@noble/curves/nist.js"
import { sha256 } from "@noble/hashes/sha2.js"
import { transcript } from "../../spec/codec.ts"
import { Labels } from "../../spec/soft-token/messages.ts"
import { base64urlDecode, base64urlEncode, type PublicJwk, toPublicJwk } from "../jws/jws.ts"

export const ISSUER = "authlab-soft-token-service"

export interface SoftTokenClaims {
  readonly iss: string
  readonly iat: number
  readonly exp: number
  readonly jti: string
  /** The attributes read from the ID token. */
  readonly attrs: Readonly<Record<string, string>>
  /** RFC 7800 confirmation: the holder's secure-element key (every token the service issues has one). */
  readonly cnf: { readonly jwk: PublicJwk }
}

/** pk_dev (SEC1 compressed) as the JWK of an ES256 verification key. */
export const jwkOf = (publicKey: Uint8Array): PublicJwk => toPublicJwk({ alg: "ES256", publicKey })

/** The SEC1 compressed point of a P-256 JWK, or undefined if it is not one (checked on the curve). */
export const publicKeyOfJwk = (jwk: unknown): Uint8Array | undefined => {
  if (typeof jwk !== "object" || jwk === null) return undefined
  const j = jwk as Record<string, unknown>
  if (j["kty"] !== "EC" || j["crv"] !== "P-256" || typeof j["x"] !== "string" || typeof j["y"] !== "string") return undefined
  const x = base64urlDecode(j["x"])
  const y = base64urlDecode(j["y"])
  if (x === undefined || y === undefined || x.length !== 32 || y.length !== 32) return undefined
  try {
    const point = new Uint8Array(65)
    point[0] = 4
    point.set(x, 1)
    point.set(y, 33)
    return p256.Point.fromBytes(point).toBytes(true)
  } catch {
    return undefined
  }
}

/** The claims of a compact JWS, NOT verified (for a holder checking what it was given over TLS). */
export const unverifiedClaims = (token: string): Record<string, unknown> | undefined => {
  const payload = token.split(".")[1]
  const bytes = payload === undefined ? undefined : base64urlDecode(payload)
  if (bytes === undefined) return undefined
  try {
    const value: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes))
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

const utf8 = new TextEncoder()

/** What the secure element signs to prove possession of sk_dev at issuance (hardened). */
export const issuePopInput = (nonce: Uint8Array, publicKey: Uint8Array, deviceName: string): Uint8Array =>
  transcript(Labels.issuePop, [nonce, publicKey, deviceName])

/** What the ID token's chip signs when it releases attributes. */
export const cardReadInput = (nonce: Uint8Array, attributes: string): Uint8Array => transcript(Labels.cardRead, [nonce, attributes])

/** What the secure element signs for a relying party: its challenge and the hash of the token presented. */
export const possessionInput = (nonce: Uint8Array, token: Uint8Array): Uint8Array =>
  transcript(Labels.possession, [nonce, sha256(token)])

/** SHA-256 fingerprint of pk_dev, shown by the PC (and the phone) before the user confirms. */
export const fingerprintOf = (publicKey: Uint8Array): Uint8Array => sha256(transcript(Labels.fingerprint, [publicKey]))

/** The first 8 bytes as four groups of four hex digits: what a person can compare at a glance (64 bits). */
export const displayFingerprint = (fp: Uint8Array): string =>
  Array.from(fp.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("").match(/.{4}/g)!.join(" ")

export const tokenBytes = (token: string): Uint8Array => utf8.encode(token)
export const tokenString = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

export { base64urlEncode }
