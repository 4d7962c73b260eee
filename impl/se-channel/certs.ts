/**
 * P2a certificates (SPEC.md §Certificates): a compact structure of our own, signed with ECDSA
 * P-256 by the CA the SE trusts. Not X.509: a secure element parses as little as it can (SCP11
 * cards carry GlobalPlatform's own compact certificate, not X.509, for that reason), and the
 * fields the protocol needs — subject, link, key — fit one canonical transcript (spec/codec.ts),
 * so there is no ASN.1 ambiguity to get wrong.
 *
 * - application certificate: (subject, link = SHA-256(identity data), server static key), signed;
 * - SE certificate: (SE id, SE static key), signed;
 * - identity data: (origin, TLS certificate hash); its `link` is what the certificate commits to.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { Effect } from "effect"
import { transcript } from "../../spec/codec.ts"
import { Labels } from "../../spec/se-channel/messages.ts"
import { Crypto, type CryptoInputError, type VerificationFailed } from "../crypto/services.ts"

export interface AppCert {
  readonly subject: string
  readonly link: Uint8Array
  readonly serverKey: Uint8Array
  readonly caSig: Uint8Array
}

export interface SeCert {
  readonly seId: string
  readonly seKey: Uint8Array
  readonly seCaSig: Uint8Array
}

export interface IdentityData {
  readonly origin: string
  readonly tlsHash: Uint8Array
}

/** What the application certificate commits to: a hash of the identity data. */
export const identityLink = (data: IdentityData): Uint8Array => sha256(transcript(Labels.identity, [data.origin, data.tlsHash]))

export const appCertBytes = (c: Omit<AppCert, "caSig">): Uint8Array => transcript(Labels.appCert, [c.subject, c.link, c.serverKey])
export const seCertBytes = (c: Omit<SeCert, "seCaSig">): Uint8Array => transcript(Labels.seCert, [c.seId, c.seKey])

/** The CA: issues both kinds of certificate with its signing key (out of band, before any run). */
export const makeCa = (caSecret: Uint8Array) => ({
  publicKey: Effect.flatMap(Crypto, (c) => c.p256PublicKey(caSecret)),
  issueApp: (subject: string, data: IdentityData, serverKey: Uint8Array): Effect.Effect<AppCert, CryptoInputError, Crypto> => {
    const body = { subject, link: identityLink(data), serverKey }
    return Effect.map(Effect.flatMap(Crypto, (c) => c.ecdsaP256Sign(caSecret, appCertBytes(body))), (caSig) => ({ ...body, caSig }))
  },
  issueSe: (seId: string, seKey: Uint8Array): Effect.Effect<SeCert, CryptoInputError, Crypto> =>
    Effect.map(Effect.flatMap(Crypto, (c) => c.ecdsaP256Sign(caSecret, seCertBytes({ seId, seKey }))), (seCaSig) => ({ seId, seKey, seCaSig }))
})

export type Ca = ReturnType<typeof makeCa>

/** A signature check that fails with a tagged error (a seam the tests may decorate). */
export type VerifySignature = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => Effect.Effect<void, VerificationFailed | CryptoInputError, Crypto>

export const verifySignature: VerifySignature = (publicKey, message, signature) => Effect.flatMap(Crypto, (c) => c.ecdsaP256Verify(publicKey, message, signature))
