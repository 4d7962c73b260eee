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
import { Cause, Effect, Exit } from "effect"
import { KEY_BYTES, Labels, MAC_BYTES } from "../../spec/rolling-key/messages.ts"
import { transcript } from "../../spec/codec.ts"
import { Crypto, type CryptoInputError, type CryptoShape, type SecureRandomShape, VerificationFailed } from "../crypto/services.ts"

const EMPTY = new Uint8Array(0)

/** What a code and a grant are about: the device, the attempt's client nonce (empty in `claimed`) and the input. */
export interface Attempt {
  readonly deviceId: Uint8Array
  readonly clientNonce: Uint8Array
  readonly input: Uint8Array
}

export const codeTranscript = (a: Attempt) => transcript(Labels.authCode, [a.deviceId, a.clientNonce, a.input])

export const grantTranscript = (a: Attempt, rollingInput: Uint8Array) =>
  transcript(Labels.grant, [a.deviceId, a.clientNonce, a.input, rollingInput])

const confirmTranscript = (deviceId: Uint8Array, clientPublicKey: Uint8Array, serverPublicKey: Uint8Array) =>
  transcript(Labels.registerConfirm, [deviceId, clientPublicKey, serverPublicKey])

const BAD_MAC = new VerificationFailed({ primitive: "hmac-sha256" })

/** A failure of our own computation on our own inputs is a bug, not an input error. */
const orDie = <A, E>(exit: Exit.Exit<A, E>): Exit.Exit<A> => (Exit.isSuccess(exit) ? Exit.succeed(exit.value) : Exit.die(Cause.squash(exit.cause)))

/**
 * The formulas over one crypto service, as the participants hold it. Each returns the primitive's
 * `Exit`, computed on the call, with no context to look up: the participants build this once and
 * read the results at once — reading `Crypto` from the context, and providing it again on every
 * `receive`, cost more than the MACs (bench/rolling-key.ts).
 */
export const formulas = (crypto: CryptoShape) => {
  /** Our own inputs never make HKDF refuse (32-byte output). */
  const hkdf32 = (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array) => orDie(crypto.hkdfSha256(ikm, salt, info, KEY_BYTES))

  const verifyMac = (key: Uint8Array, message: Uint8Array, tag: Uint8Array): Exit.Exit<void, VerificationFailed> =>
    // Full-length tags only: `hmacSha256Verify` would accept a 16-byte truncation, which no P5
    // message carries, so a short tag can only be a forgery attempt with half the work. A
    // wrong-length tag is attacker input: refused like a wrong tag, with no detail.
    tag.length === MAC_BYTES ? Exit.mapError(crypto.hmacSha256Verify(key, message, tag), () => BAD_MAC) : Exit.fail(BAD_MAC)

  return {
    /** K0 in the `sent-back` registration, from the server's random input. */
    initialKeyFromServerInput: (serverInput: Uint8Array, deviceId: Uint8Array) =>
      hkdf32(serverInput, EMPTY, transcript(Labels.initialKey, [deviceId])),

    /** An ephemeral X25519 key pair for the `ecdh` registration; the caller erases `secret` after use. */
    ephemeralKeyPair: (random: SecureRandomShape) =>
      Effect.gen(function*() {
        const secret = yield* random.bytes(KEY_BYTES)
        // any 32 bytes are a valid X25519 secret (RFC 7748 §5 clamps them), so this cannot fail
        const publicKey = yield* Effect.orDie(crypto.x25519PublicKey(secret))
        return { secret, publicKey }
      }),

    /**
     * K0 in the `ecdh` registration. The transcript binds both public keys and the device id, so a
     * key agreed for one registration cannot be passed off as another's. Fails on a low-order peer
     * key (an all-zero shared secret, RFC 7748 §6.1): the attacker would know K0.
     */
    initialKeyFromEcdh: (
      secret: Uint8Array,
      peerPublicKey: Uint8Array,
      parts: { readonly deviceId: Uint8Array; readonly clientPublicKey: Uint8Array; readonly serverPublicKey: Uint8Array }
    ): Exit.Exit<Uint8Array, CryptoInputError> =>
      Exit.flatMap(crypto.x25519SharedSecret(secret, peerPublicKey), (shared) => {
        const k0 = hkdf32(shared, EMPTY, transcript(Labels.initialKey, [parts.deviceId, parts.clientPublicKey, parts.serverPublicKey]))
        shared.fill(0)
        return k0
      }),

    /** Key confirmation for the `ecdh` registration: proves the server derived the same K0. */
    registerConfirm: (k0: Uint8Array, deviceId: Uint8Array, clientPublicKey: Uint8Array, serverPublicKey: Uint8Array) =>
      crypto.hmacSha256(k0, confirmTranscript(deviceId, clientPublicKey, serverPublicKey)),

    verifyRegisterConfirm: (k0: Uint8Array, deviceId: Uint8Array, clientPublicKey: Uint8Array, serverPublicKey: Uint8Array, confirm: Uint8Array) =>
      verifyMac(k0, confirmTranscript(deviceId, clientPublicKey, serverPublicKey), confirm),

    /** The authorisation code: HMAC under the current rolling key over the device id, the attempt's nonce and the input. */
    authCode: (key: Uint8Array, attempt: Attempt) => crypto.hmacSha256(key, codeTranscript(attempt)),

    /** The check of one code under any key, the transcript built once (the server tries every key it holds). */
    authCodeChecker: (attempt: Attempt, code: Uint8Array) => {
      const message = codeTranscript(attempt)
      return (key: Uint8Array) => verifyMac(key, message, code)
    },

    /** The next rolling key. The device id in `info` keeps two devices' key chains apart even on equal inputs. */
    nextKey: (key: Uint8Array, deviceId: Uint8Array, rollingInput: Uint8Array) => hkdf32(key, rollingInput, transcript(Labels.nextKey, [deviceId])),

    /**
     * The grant proof (`hardened`): a MAC under the key the server verified, over the request's
     * attempt (nonce and challenge) and the new rolling input, so a grant is bound to exactly one
     * request of one attempt and cannot be forged.
     */
    grantProof: (key: Uint8Array, attempt: Attempt, rollingInput: Uint8Array) => crypto.hmacSha256(key, grantTranscript(attempt, rollingInput)),

    verifyGrantProof: (key: Uint8Array, attempt: Attempt, rollingInput: Uint8Array, proof: Uint8Array) =>
      verifyMac(key, grantTranscript(attempt, rollingInput), proof)
  }
}

// The same formulas over the `Crypto` in context, for code that computes them now and then (a
// test harness building its own messages), where a context lookup per call costs nothing.
export const authCode = (key: Uint8Array, attempt: Attempt) => Effect.flatMap(Crypto, (c) => formulas(c).authCode(key, attempt))
export const nextKey = (key: Uint8Array, deviceId: Uint8Array, rollingInput: Uint8Array) =>
  Effect.flatMap(Crypto, (c) => formulas(c).nextKey(key, deviceId, rollingInput))
export const grantProof = (key: Uint8Array, attempt: Attempt, rollingInput: Uint8Array) =>
  Effect.flatMap(Crypto, (c) => formulas(c).grantProof(key, attempt, rollingInput))
export const initialKeyFromServerInput = (serverInput: Uint8Array, deviceId: Uint8Array) =>
  Effect.flatMap(Crypto, (c) => formulas(c).initialKeyFromServerInput(serverInput, deviceId))

/**
 * Best-effort erasure of a secret we no longer need (ephemeral X25519 secrets). JavaScript gives
 * no guarantee that no copy survives elsewhere in the heap; this is what the language allows.
 */
export const erase = (secret: Uint8Array): void => void secret.fill(0)
