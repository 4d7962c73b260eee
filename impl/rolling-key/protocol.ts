/**
 * P5 rolling-key: the formulas both participants compute (design §Registration, §Authentication),
 * written once so the client and the server cannot drift apart.
 *
 *   K0 (sent-back) = HKDF-SHA256(ikm = serverInput, salt = ∅, info = T(initial-key, [deviceId]), 32)
 *   K0 (ecdh)      = HKDF-SHA256(ikm = X25519(sk, pk'), salt = ∅, info = T(initial-key, [deviceId, pkC, pkS]), 32)
 *   confirm        = HMAC-SHA256(K0, T(register-confirm, [deviceId, pkC, pkS]))
 *   code(K)        = HMAC-SHA256(K, T(auth-code, [deviceId, clientNonce, input]))
 *   next(K, n)     = HKDF-SHA256(ikm = K, salt = n, info = T(next-key, [deviceId]), 32)
 *   proof(K)       = HMAC-SHA256(K, T(grant, [deviceId, clientNonce, input, n]))
 *
 * `clientNonce` is the attempt's nonce from AuthBegin (`hardened`), empty in `claimed` (no
 * AuthBegin): binding it makes a code and a grant belong to one attempt of the client, so a
 * challenge replayed into a later attempt cannot get the earlier attempt's grant accepted.
 *
 * where T is `transcript` (spec/codec.ts): a domain-separation label then length-prefixed fields.
 * Verifications fail with `VerificationFailed`; a tag of the wrong length is a failed
 * verification too (it comes off the wire), never a defect.
 */
import { Effect } from "effect"
import { KEY_BYTES, Labels, MAC_BYTES } from "../../spec/rolling-key/messages.ts"
import { transcript } from "../../spec/codec.ts"
import { Crypto, type CryptoInputError, SecureRandom, VerificationFailed } from "../crypto/services.ts"

const EMPTY = new Uint8Array(0)

/** Our own inputs never make HKDF refuse (32-byte output); if it does, that is a bug, not an input error. */
const hkdf32 = (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array) =>
  Effect.flatMap(Crypto, (c) => c.hkdfSha256(ikm, salt, info, KEY_BYTES)).pipe(Effect.orDie)

const mac = (key: Uint8Array, message: Uint8Array) => Effect.flatMap(Crypto, (c) => c.hmacSha256(key, message))

const verifyMac = (key: Uint8Array, message: Uint8Array, tag: Uint8Array): Effect.Effect<void, VerificationFailed, Crypto> =>
  // Full-length tags only: `hmacSha256Verify` would accept a 16-byte truncation, which no P5
  // message carries, so a short tag can only be a forgery attempt with half the work.
  (tag.length === MAC_BYTES
    ? Effect.flatMap(Crypto, (c) => c.hmacSha256Verify(key, message, tag))
    : Effect.fail(new VerificationFailed({ primitive: "hmac-sha256" }))).pipe(
    // a wrong-length tag is attacker input: refuse it like a wrong tag, with no detail
    Effect.catchTag("CryptoInputError", () => Effect.fail(new VerificationFailed({ primitive: "hmac-sha256" })))
  )

/** K0 in the `sent-back` registration, from the server's random input. */
export const initialKeyFromServerInput = (serverInput: Uint8Array, deviceId: Uint8Array) =>
  hkdf32(serverInput, EMPTY, transcript(Labels.initialKey, [deviceId]))

/** An ephemeral X25519 key pair for the `ecdh` registration; the caller erases `secret` after use. */
export const ephemeralKeyPair = Effect.gen(function*() {
  const random = yield* SecureRandom
  const crypto = yield* Crypto
  const secret = yield* random.bytes(KEY_BYTES)
  // any 32 bytes are a valid X25519 secret (RFC 7748 §5 clamps them), so this cannot fail
  const publicKey = yield* Effect.orDie(crypto.x25519PublicKey(secret))
  return { secret, publicKey }
})

/**
 * K0 in the `ecdh` registration. The transcript binds both public keys and the device id, so a
 * key agreed for one registration cannot be passed off as another's. Fails on a low-order peer
 * key (an all-zero shared secret, RFC 7748 §6.1): the attacker would know K0.
 */
export const initialKeyFromEcdh = (
  secret: Uint8Array,
  peerPublicKey: Uint8Array,
  parts: { readonly deviceId: Uint8Array; readonly clientPublicKey: Uint8Array; readonly serverPublicKey: Uint8Array }
): Effect.Effect<Uint8Array, CryptoInputError, Crypto> =>
  Effect.gen(function*() {
    const crypto = yield* Crypto
    const shared = yield* crypto.x25519SharedSecret(secret, peerPublicKey)
    const k0 = yield* hkdf32(shared, EMPTY, transcript(Labels.initialKey, [parts.deviceId, parts.clientPublicKey, parts.serverPublicKey]))
    shared.fill(0)
    return k0
  })

const confirmTranscript = (deviceId: Uint8Array, clientPublicKey: Uint8Array, serverPublicKey: Uint8Array) =>
  transcript(Labels.registerConfirm, [deviceId, clientPublicKey, serverPublicKey])

/** Key confirmation for the `ecdh` registration: proves the server derived the same K0. */
export const registerConfirm = (k0: Uint8Array, deviceId: Uint8Array, clientPublicKey: Uint8Array, serverPublicKey: Uint8Array) =>
  mac(k0, confirmTranscript(deviceId, clientPublicKey, serverPublicKey))

export const verifyRegisterConfirm = (
  k0: Uint8Array,
  deviceId: Uint8Array,
  clientPublicKey: Uint8Array,
  serverPublicKey: Uint8Array,
  confirm: Uint8Array
) => verifyMac(k0, confirmTranscript(deviceId, clientPublicKey, serverPublicKey), confirm)

/** What a code and a grant are about: the device, the attempt's client nonce (empty in `claimed`) and the input. */
export interface Attempt {
  readonly deviceId: Uint8Array
  readonly clientNonce: Uint8Array
  readonly input: Uint8Array
}

export const codeTranscript = (a: Attempt) => transcript(Labels.authCode, [a.deviceId, a.clientNonce, a.input])

/** The authorisation code: HMAC under the current rolling key over the device id, the attempt's nonce and the input. */
export const authCode = (key: Uint8Array, attempt: Attempt) => mac(key, codeTranscript(attempt))

export const verifyAuthCode = (key: Uint8Array, attempt: Attempt, code: Uint8Array) => verifyMac(key, codeTranscript(attempt), code)

/** The next rolling key. The device id in `info` keeps two devices' key chains apart even on equal inputs. */
export const nextKey = (key: Uint8Array, deviceId: Uint8Array, rollingInput: Uint8Array) =>
  hkdf32(key, rollingInput, transcript(Labels.nextKey, [deviceId]))

export const grantTranscript = (a: Attempt, rollingInput: Uint8Array) =>
  transcript(Labels.grant, [a.deviceId, a.clientNonce, a.input, rollingInput])

/**
 * The grant proof (`hardened`): a MAC under the key the server verified, over the request's
 * attempt (nonce and challenge) and the new rolling input, so a grant is bound to exactly one
 * request of one attempt and cannot be forged.
 */
export const grantProof = (key: Uint8Array, attempt: Attempt, rollingInput: Uint8Array) => mac(key, grantTranscript(attempt, rollingInput))

export const verifyGrantProof = (key: Uint8Array, attempt: Attempt, rollingInput: Uint8Array, proof: Uint8Array) =>
  verifyMac(key, grantTranscript(attempt, rollingInput), proof)

/**
 * Best-effort erasure of a secret we no longer need (ephemeral X25519 secrets). JavaScript gives
 * no guarantee that no copy survives elsewhere in the heap; this is what the language allows.
 */
export const erase = (secret: Uint8Array): void => void secret.fill(0)
