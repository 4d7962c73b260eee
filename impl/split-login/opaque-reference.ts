/**
 * OPAQUE-3DH (RFC 9807) for ristretto255-SHA512, written out from the RFC as a TEST ORACLE.
 *
 * Why this exists: the protocol runs on `@serenity-kit/opaque` (./opaque.ts), and the project's
 * rule is not to hand-write what a library does. That package ships no test vectors, has no
 * deterministic entry points and always stretches with Argon2id, so RFC 9807's vectors (Appendix C,
 * KSF = Identity) cannot be fed through it. This file is the other half of the check: an
 * independent, deterministic rendering of RFC 9807 §4–§6 on @noble primitives (RFC 9497 OPRF,
 * RFC 9496 ristretto255, HKDF/HMAC/SHA-512, Argon2id), every random value an explicit argument.
 * It must reproduce RFC 9807 Appendix C byte for byte (./opaque-vectors.test.ts), and then it
 * recomputes what the package produced from the bytes the package drew. It is imported by tests
 * only; nothing in the protocol calls it, and it keeps no secret hygiene (no zeroising, plain
 * compares) because it only ever sees test values.
 *
 * Not covered: configurations other than ristretto255-SHA512 / 3DH; input validation beyond what
 * noble's decoders do (the package is tested for refusals in ./opaque.test.ts).
 */
import { ristretto255, ristretto255_hasher, ristretto255_oprf } from "@noble/curves/ed25519.js"
import { argon2id } from "@noble/hashes/argon2.js"
import { expand, extract } from "@noble/hashes/hkdf.js"
import { hmac } from "@noble/hashes/hmac.js"
import { sha512 } from "@noble/hashes/sha2.js"
import { concatBytes, utf8ToBytes } from "@noble/hashes/utils.js"

/** RFC 9807 §2 and §7 sizes for ristretto255-SHA512: nonces, seeds, hash/MAC/KDF outputs, keys. */
export const Nn = 32
export const Nseed = 32
export const Nh = 64
export const Nm = 64
export const Npk = 32
const Nok = 32
const ENVELOPE_BYTES = Nn + Nm

/** The key-stretching function (RFC 9807 §2.3). */
export type Ksf = (msg: Uint8Array) => Uint8Array

/** The KSF of RFC 9807's test vectors: Stretch(msg) = msg (Appendix C). */
export const identityKsf: Ksf = (msg) => msg

/**
 * Argon2id (RFC 9106, version 0x13) with a zero 16-byte salt and Nh bytes of output: how opaque-ke
 * 4 stretches (`impl Ksf for Argon2`: `hash_password_into(input, &[0; RECOMMENDED_SALT_LEN], out)`
 * with `out` the OPRF output's length), with the package's `argon2id-custom` parameters (memory in KiB).
 */
export const argon2idKsf = (params: { readonly iterations: number; readonly memory: number; readonly parallelism: number }): Ksf => (msg) =>
  argon2id(msg, new Uint8Array(16), { t: params.iterations, m: params.memory, p: params.parallelism, dkLen: Nh, version: 0x13 })

/** RFC 9807 §7: the application's context string (in the preamble) and its KSF. */
export interface Config {
  readonly context: Uint8Array
  readonly ksf: Ksf
}

/** Optional identities (RFC 9807 §4); an absent one defaults to the party's public key. */
export interface Identities {
  readonly client?: Uint8Array | undefined
  readonly server?: Uint8Array | undefined
}

// --- encodings -----------------------------------------------------------------------------------

const ascii = utf8ToBytes
const i2osp = (value: number, length: number): Uint8Array => {
  const out = new Uint8Array(length)
  for (let i = length - 1, v = value; i >= 0; i--, v >>>= 8) out[i] = v & 0xff
  return out
}
/** A length-prefixed field, `I2OSP(len(x), 2) ‖ x` (RFC 9807 §4, §6.4.2.1). */
const prefixed = (x: Uint8Array): Uint8Array => concatBytes(i2osp(x.length, 2), x)
const xor = (a: Uint8Array, b: Uint8Array): Uint8Array => a.map((byte, i) => byte ^ b[i]!)
const equal = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((byte, i) => byte === b[i])

const Expand = (prk: Uint8Array, info: Uint8Array, length: number) => expand(sha512, prk, info, length)
const Extract = (salt: Uint8Array, ikm: Uint8Array) => extract(sha512, ikm, salt)
const MAC = (key: Uint8Array, msg: Uint8Array) => hmac(sha512, key, msg)

// --- groups: RFC 9497 OPRF (modeOPRF) and the 3DH group, both ristretto255 -----------------------

const { Point } = ristretto255
const oprf = ristretto255_oprf.oprf

/** A little-endian scalar encoding as RFC 9496 / RFC 9497 serialise it (the vectors' blinds). */
export const scalarFromBytes = (bytes: Uint8Array): bigint => Point.Fn.fromBytes(bytes)

/** RFC 9497 §3.3.1 Blind with the blind given: HashToGroup(input) · blind, DST of §4.1. */
const blindWith = (input: Uint8Array, blind: bigint): Uint8Array =>
  ristretto255_hasher.hashToCurve(input, { DST: concatBytes(ascii("HashToGroup-OPRFV1-"), Uint8Array.of(0x00), ascii("-ristretto255-SHA512")) }).multiply(blind).toBytes()

/** RFC 9807 §6.4.1.1: DeriveKeyPair(seed, "OPAQUE-DeriveDiffieHellmanKeyPair") of RFC 9497 §3.2. */
export const deriveDiffieHellmanKeyPair = (seed: Uint8Array): { readonly privateKey: Uint8Array; readonly publicKey: Uint8Array } => {
  const { secretKey, publicKey } = oprf.deriveKeyPair(seed, ascii("OPAQUE-DeriveDiffieHellmanKeyPair"))
  return { privateKey: secretKey, publicKey }
}

/** The public key of a private key (little-endian scalar): the server's static key. */
export const publicKeyOf = (privateKey: Uint8Array): Uint8Array => Point.BASE.multiply(scalarFromBytes(privateKey)).toBytes()

const diffieHellman = (privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array => Point.fromBytes(publicKey).multiply(scalarFromBytes(privateKey)).toBytes()

/** RFC 9807 §5.2.2: the per-credential OPRF key from the server's seed. */
export const oprfKey = (oprfSeed: Uint8Array, credentialIdentifier: Uint8Array): Uint8Array =>
  oprf.deriveKeyPair(Expand(oprfSeed, concatBytes(credentialIdentifier, ascii("OprfKey")), Nok), ascii("OPAQUE-DeriveKeyPair")).secretKey

// --- key recovery: RFC 9807 §4 ------------------------------------------------------------------

/** §5.2.3 / §6.3.2.3: randomized_password = Extract("", oprf_output ‖ Stretch(oprf_output)). */
const randomizedPassword = (config: Config, password: Uint8Array, blind: bigint, evaluated: Uint8Array): Uint8Array => {
  const oprfOutput = oprf.finalize(password, Point.Fn.toBytes(blind), evaluated)
  return Extract(new Uint8Array(0), concatBytes(oprfOutput, config.ksf(oprfOutput)))
}

interface EnvelopeKeys {
  readonly authKey: Uint8Array
  readonly exportKey: Uint8Array
  readonly clientPrivateKey: Uint8Array
  readonly clientPublicKey: Uint8Array
}

/** §4.1.2 Store / §4.1.3 Recover: what the randomized password and the envelope nonce give. */
const envelopeKeys = (randomized: Uint8Array, envelopeNonce: Uint8Array): EnvelopeKeys => {
  const { privateKey, publicKey } = deriveDiffieHellmanKeyPair(Expand(randomized, concatBytes(envelopeNonce, ascii("PrivateKey")), Nseed))
  return {
    authKey: Expand(randomized, concatBytes(envelopeNonce, ascii("AuthKey")), Nh),
    exportKey: Expand(randomized, concatBytes(envelopeNonce, ascii("ExportKey")), Nh),
    clientPrivateKey: privateKey,
    clientPublicKey: publicKey
  }
}

/** §4: CleartextCredentials, serialised: server_public_key ‖ len ‖ server_identity ‖ len ‖ client_identity. */
const cleartextCredentials = (serverPublicKey: Uint8Array, clientPublicKey: Uint8Array, ids: Identities): Uint8Array =>
  concatBytes(serverPublicKey, prefixed(ids.server ?? serverPublicKey), prefixed(ids.client ?? clientPublicKey))

const authTag = (keys: EnvelopeKeys, envelopeNonce: Uint8Array, serverPublicKey: Uint8Array, ids: Identities): Uint8Array =>
  MAC(keys.authKey, concatBytes(envelopeNonce, cleartextCredentials(serverPublicKey, keys.clientPublicKey, ids)))

// --- registration: RFC 9807 §5 ------------------------------------------------------------------

/** §5.2.1 CreateRegistrationRequest: the blinded element. */
export const createRegistrationRequest = (password: Uint8Array, blind: bigint): Uint8Array => blindWith(password, blind)

/** §5.2.2 CreateRegistrationResponse: evaluated_message ‖ server_public_key. */
export const createRegistrationResponse = (request: Uint8Array, serverPublicKey: Uint8Array, credentialIdentifier: Uint8Array, oprfSeed: Uint8Array): Uint8Array =>
  concatBytes(oprf.blindEvaluate(oprfKey(oprfSeed, credentialIdentifier), request), serverPublicKey)

export interface Registered {
  /** RegistrationRecord: client_public_key ‖ masking_key ‖ envelope (envelope_nonce ‖ auth_tag). */
  readonly record: Uint8Array
  readonly exportKey: Uint8Array
  readonly randomizedPassword: Uint8Array
  readonly authKey: Uint8Array
}

/** §5.2.3 FinalizeRegistrationRequest, with Store's envelope_nonce given. */
export const finalizeRegistrationRequest = (config: Config, password: Uint8Array, blind: bigint, response: Uint8Array, ids: Identities, envelopeNonce: Uint8Array): Registered => {
  const evaluated = response.subarray(0, Npk)
  const serverPublicKey = response.subarray(Npk, 2 * Npk)
  const randomized = randomizedPassword(config, password, blind, evaluated)
  const keys = envelopeKeys(randomized, envelopeNonce)
  const maskingKey = Expand(randomized, ascii("MaskingKey"), Nh)
  return {
    record: concatBytes(keys.clientPublicKey, maskingKey, envelopeNonce, authTag(keys, envelopeNonce, serverPublicKey, ids)),
    exportKey: keys.exportKey,
    randomizedPassword: randomized,
    authKey: keys.authKey
  }
}

// --- the 3DH key schedule: RFC 9807 §6.4.2 --------------------------------------------------------

/** §6.4.2.1 Expand-Label(secret, label, context, Nx) with CustomLabel{ Nx, "OPAQUE-" + label, context }. */
const deriveSecret = (secret: Uint8Array, label: string, context: Uint8Array): Uint8Array => {
  const fullLabel = ascii(`OPAQUE-${label}`)
  return Expand(secret, concatBytes(i2osp(Nh, 2), i2osp(fullLabel.length, 1), fullLabel, i2osp(context.length, 1), context), Nh)
}

/** §6.4.2.1 Preamble. */
const preamble = (config: Config, clientIdentity: Uint8Array, ke1: Uint8Array, serverIdentity: Uint8Array, credentialResponse: Uint8Array, serverNonce: Uint8Array, serverKeyshare: Uint8Array): Uint8Array =>
  concatBytes(ascii("OPAQUEv1-"), prefixed(config.context), prefixed(clientIdentity), ke1, prefixed(serverIdentity), credentialResponse, serverNonce, serverKeyshare)

export interface DerivedKeys {
  readonly handshakeSecret: Uint8Array
  readonly serverMacKey: Uint8Array
  readonly clientMacKey: Uint8Array
  readonly sessionKey: Uint8Array
}

/** §6.4.2.2 DeriveKeys. */
const deriveKeys = (ikm: Uint8Array, transcriptHash: Uint8Array): DerivedKeys => {
  const prk = Extract(new Uint8Array(0), ikm)
  const handshakeSecret = deriveSecret(prk, "HandshakeSecret", transcriptHash)
  return {
    handshakeSecret,
    sessionKey: deriveSecret(prk, "SessionKey", transcriptHash),
    serverMacKey: deriveSecret(handshakeSecret, "ServerMAC", new Uint8Array(0)),
    clientMacKey: deriveSecret(handshakeSecret, "ClientMAC", new Uint8Array(0))
  }
}

// --- login: RFC 9807 §6 -------------------------------------------------------------------------

/** What the client keeps between KE1 and KE2 (§6.2 ClientState, §6.4 ClientAkeState). */
export interface ClientState {
  readonly password: Uint8Array
  readonly blind: bigint
  readonly clientSecret: Uint8Array
  readonly ke1: Uint8Array
}

/** §6.2.1 GenerateKE1 (CreateCredentialRequest, then AuthClientStart): KE1 = blinded ‖ client_nonce ‖ client_public_keyshare. */
export const generateKE1 = (password: Uint8Array, blind: bigint, clientNonce: Uint8Array, clientKeyshareSeed: Uint8Array): ClientState => {
  const keyshare = deriveDiffieHellmanKeyPair(clientKeyshareSeed)
  return { password, blind, clientSecret: keyshare.privateKey, ke1: concatBytes(blindWith(password, blind), clientNonce, keyshare.publicKey) }
}

/** The server's long-term inputs to GenerateKE2 (§6.2.2). */
export interface ServerInputs {
  readonly serverPrivateKey: Uint8Array
  readonly serverPublicKey: Uint8Array
  readonly oprfSeed: Uint8Array
  readonly credentialIdentifier: Uint8Array
  /** The client's RegistrationRecord, or a fake one (§6.3.2.2) for an unknown client. */
  readonly record: Uint8Array
}

/** The random values GenerateKE2 draws, given. */
export interface ServerRandomness {
  readonly maskingNonce: Uint8Array
  readonly serverNonce: Uint8Array
  readonly serverKeyshareSeed: Uint8Array
}

export interface ServerState {
  readonly ke2: Uint8Array
  readonly expectedClientMac: Uint8Array
  readonly keys: DerivedKeys
}

/** §6.2.2 GenerateKE2: CreateCredentialResponse (§6.3.2.2), then AuthServerRespond (§6.4.4). */
export const generateKE2 = (config: Config, server: ServerInputs, ids: Identities, ke1: Uint8Array, random: ServerRandomness): ServerState => {
  const clientPublicKey = server.record.subarray(0, Npk)
  const maskingKey = server.record.subarray(Npk, Npk + Nh)
  const envelope = server.record.subarray(Npk + Nh, Npk + Nh + ENVELOPE_BYTES)
  const evaluated = oprf.blindEvaluate(oprfKey(server.oprfSeed, server.credentialIdentifier), ke1.subarray(0, Npk))
  const pad = Expand(maskingKey, concatBytes(random.maskingNonce, ascii("CredentialResponsePad")), Npk + ENVELOPE_BYTES)
  const credentialResponse = concatBytes(evaluated, random.maskingNonce, xor(pad, concatBytes(server.serverPublicKey, envelope)))

  const keyshare = deriveDiffieHellmanKeyPair(random.serverKeyshareSeed)
  const transcript = preamble(config, ids.client ?? clientPublicKey, ke1, ids.server ?? server.serverPublicKey, credentialResponse, random.serverNonce, keyshare.publicKey)
  const clientKeyshare = ke1.subarray(Npk + Nn, 2 * Npk + Nn)
  const ikm = concatBytes(
    diffieHellman(keyshare.privateKey, clientKeyshare),
    diffieHellman(server.serverPrivateKey, clientKeyshare),
    diffieHellman(keyshare.privateKey, clientPublicKey)
  )
  const keys = deriveKeys(ikm, sha512(transcript))
  const serverMac = MAC(keys.serverMacKey, sha512(transcript))
  return {
    ke2: concatBytes(credentialResponse, random.serverNonce, keyshare.publicKey, serverMac),
    expectedClientMac: MAC(keys.clientMacKey, sha512(concatBytes(transcript, serverMac))),
    keys
  }
}

/** Why a client could not finish: the envelope's tag (a wrong password) or the server's MAC. */
export class ReferenceRefusal extends Error {
  constructor(readonly step: "EnvelopeRecoveryError" | "ServerAuthenticationError" | "ClientAuthenticationError") {
    super(`OPAQUE reference: ${step}`)
  }
}

export interface ClientFinished {
  readonly ke3: Uint8Array
  readonly sessionKey: Uint8Array
  readonly exportKey: Uint8Array
  readonly keys: DerivedKeys
}

/** §6.2.3 GenerateKE3: RecoverCredentials (§6.3.2.3), then AuthClientFinalize (§6.4.3). Throws a `ReferenceRefusal`. */
export const generateKE3 = (config: Config, state: ClientState, ids: Identities, ke2: Uint8Array): ClientFinished => {
  const credentialResponse = ke2.subarray(0, 2 * Npk + Nn + ENVELOPE_BYTES)
  const evaluated = credentialResponse.subarray(0, Npk)
  const maskingNonce = credentialResponse.subarray(Npk, Npk + Nn)
  const maskedResponse = credentialResponse.subarray(Npk + Nn)
  const serverNonce = ke2.subarray(credentialResponse.length, credentialResponse.length + Nn)
  const serverKeyshare = ke2.subarray(credentialResponse.length + Nn, credentialResponse.length + Nn + Npk)
  const serverMac = ke2.subarray(credentialResponse.length + Nn + Npk)

  const randomized = randomizedPassword(config, state.password, state.blind, evaluated)
  const maskingKey = Expand(randomized, ascii("MaskingKey"), Nh)
  const unmasked = xor(Expand(maskingKey, concatBytes(maskingNonce, ascii("CredentialResponsePad")), Npk + ENVELOPE_BYTES), maskedResponse)
  const serverPublicKey = unmasked.subarray(0, Npk)
  const envelopeNonce = unmasked.subarray(Npk, Npk + Nn)
  const keys = envelopeKeys(randomized, envelopeNonce)
  if (!equal(unmasked.subarray(Npk + Nn), authTag(keys, envelopeNonce, serverPublicKey, ids))) throw new ReferenceRefusal("EnvelopeRecoveryError")

  const transcript = preamble(config, ids.client ?? keys.clientPublicKey, state.ke1, ids.server ?? serverPublicKey, credentialResponse, serverNonce, serverKeyshare)
  const ikm = concatBytes(
    diffieHellman(state.clientSecret, serverKeyshare),
    diffieHellman(state.clientSecret, serverPublicKey),
    diffieHellman(keys.clientPrivateKey, serverKeyshare)
  )
  const derived = deriveKeys(ikm, sha512(transcript))
  if (!equal(serverMac, MAC(derived.serverMacKey, sha512(transcript)))) throw new ReferenceRefusal("ServerAuthenticationError")
  return { ke3: MAC(derived.clientMacKey, sha512(concatBytes(transcript, serverMac))), sessionKey: derived.sessionKey, exportKey: keys.exportKey, keys: derived }
}

/** §6.2.4 ServerFinish: the session key if KE3 is the expected MAC. Throws a `ReferenceRefusal`. */
export const serverFinish = (state: ServerState, ke3: Uint8Array): Uint8Array => {
  if (!equal(ke3, state.expectedClientMac)) throw new ReferenceRefusal("ClientAuthenticationError")
  return state.keys.sessionKey
}

/** §6.3.2.2: the fake record for an unknown client: a public key, a masking key, a zero envelope. */
export const fakeRecord = (clientPublicKey: Uint8Array, maskingKey: Uint8Array): Uint8Array => concatBytes(clientPublicKey, maskingKey, new Uint8Array(ENVELOPE_BYTES))
