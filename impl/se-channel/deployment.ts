/**
 * The P2a world's enrolment (SPEC.md §World), fixed and public except for the secrets: the CA;
 * the bank's static key and application certificate; the user's SE (`se1`) with its static key
 * and certificate; the pairing key of the SE and the user's browser platform; and the attacker's
 * origin `evil`, whose application certificate the CA issued for the key `evil` submitted — the
 * bank's public key (no proof of possession asked). TLS certificate hashes are stand-ins for the
 * SHA-256 of each origin's TLS certificate.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { Effect } from "effect"
import { SE_ID, SERVER } from "../../spec/se-channel/variants.ts"
import { Crypto, type CryptoInputError } from "../crypto/services.ts"
import { type AppCert, type IdentityData, makeCa, type SeCert } from "./certs.ts"

const utf8 = new TextEncoder()
/** A 32-byte secret of the deployment, derived from a label (fixed across runs: enrolment is out of band). */
const secretOf = (label: string) => sha256(utf8.encode(`authlab/se-channel/world/${label}`))

export interface Deployment {
  readonly caKey: Uint8Array
  readonly identities: Readonly<Record<string, IdentityData>>
  readonly certs: Readonly<Record<string, AppCert>>
  readonly server: { readonly name: string; readonly secret: Uint8Array; readonly key: Uint8Array }
  readonly se: { readonly id: string; readonly secret: Uint8Array; readonly cert: SeCert }
  readonly pairingKey: Uint8Array
}

export const makeDeployment: Effect.Effect<Deployment, CryptoInputError, Crypto> = Effect.gen(function*() {
  const crypto = yield* Crypto
  const caSecret = secretOf("ca")
  const ca = makeCa(caSecret)
  const serverSecret = secretOf("bank-static")
  const serverKey = yield* crypto.p256PublicKey(serverSecret)
  const seSecret = secretOf("se1-static")
  const identities = {
    bank: { origin: "https://bank.example", tlsHash: sha256(utf8.encode("tls-certificate:bank.example")) },
    evil: { origin: "https://evil.example", tlsHash: sha256(utf8.encode("tls-certificate:evil.example")) }
  }
  return {
    caKey: yield* ca.publicKey,
    identities,
    certs: { bank: yield* ca.issueApp(SERVER, identities.bank, serverKey), evil: yield* ca.issueApp("evil", identities.evil, serverKey) },
    server: { name: SERVER, secret: serverSecret, key: serverKey },
    se: { id: SE_ID, secret: seSecret, cert: yield* ca.issueSe(SE_ID, yield* crypto.p256PublicKey(seSecret)) },
    pairingKey: secretOf("pairing")
  }
})
