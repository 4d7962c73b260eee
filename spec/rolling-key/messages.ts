/**
 * P5 rolling-key device authentication (NZ624154): every wire message, with its canonical
 * encoding, and the domain-separation labels of every MAC and KDF input.
 *
 * One schema per message serves both variants; a field a variant does not use is empty on the
 * wire (`emptyOrFixed`). See SPEC.md for which step of the claim each message carries.
 */
import { emptyOrFixed, fixedBytes, literal, message, utf8, wireUnion, type MessageOfCodec } from "../codec.ts"

export const DEVICE_ID_BYTES = 16
export const KEY_BYTES = 32
export const NONCE_BYTES = 32
export const MAC_BYTES = 32

const deviceId = fixedBytes(DEVICE_ID_BYTES)

/** Registration, step 1 (client → server, over TLS): the user's credentials. */
export const RegisterRequest = message("RegisterRequest", 1, {
  username: utf8(64),
  password: utf8(128),
  /** `hardened`: the client's ephemeral X25519 public key; empty in `claimed`. */
  clientPublicKey: emptyOrFixed(KEY_BYTES)
})

/** Registration, step 2 (server → client): the server rolling-key input and the user/device id. */
export const RegisterResponse = message("RegisterResponse", 2, {
  deviceId,
  /** `claimed`: a random server rolling-key input; `hardened`: the server's ephemeral X25519 public key. */
  serverInput: fixedBytes(KEY_BYTES),
  /** `hardened`: HMAC(K0, register-confirm transcript) — key confirmation; empty in `claimed`. */
  confirm: emptyOrFixed(MAC_BYTES)
})

/** Registration, step 3, `claimed` only (client → server): the initial rolling key itself, sent back. */
export const RegisterKey = message("RegisterKey", 3, {
  deviceId,
  rollingKey: fixedBytes(KEY_BYTES)
})

/**
 * Authentication, `hardened` only (client → server): ask for a fresh challenge, with a fresh
 * nonce of the client's own that names this attempt.
 */
export const AuthBegin = message("AuthBegin", 4, { deviceId, clientNonce: fixedBytes(NONCE_BYTES) })

/**
 * Authentication, `hardened` only (server → client): the challenge the next code must cover,
 * echoing the attempt's client nonce (the client answers only a challenge for its current
 * attempt; the code and the grant proof cover the nonce too, so the echo need not be trusted).
 */
export const AuthChallenge = message("AuthChallenge", 5, {
  deviceId,
  clientNonce: fixedBytes(NONCE_BYTES),
  challenge: fixedBytes(NONCE_BYTES)
})

/** Authentication request (client → server): code = HMAC(K_current, auth-code transcript). */
export const AuthRequest = message("AuthRequest", 6, {
  deviceId,
  /** The authorisation-code input: client-chosen in `claimed`, the server's challenge in `hardened`. */
  input: fixedBytes(NONCE_BYTES),
  code: fixedBytes(MAC_BYTES)
})

/** Success (server → client): the new rolling-key input. */
export const AuthGranted = message("AuthGranted", 7, {
  deviceId,
  rollingInput: fixedBytes(NONCE_BYTES),
  /** `hardened`: HMAC(K_verified, grant transcript) binding the reply to the request; empty in `claimed`. */
  proof: emptyOrFixed(MAC_BYTES)
})

/** Refusal (server → client). Deliberately coarse: the precise reason stays in the server's log. */
export const AuthRejected = message("AuthRejected", 8, {
  deviceId,
  reason: literal("denied", "malformed")
})

export type RegisterRequest = MessageOfCodec<typeof RegisterRequest>
export type RegisterResponse = MessageOfCodec<typeof RegisterResponse>
export type RegisterKey = MessageOfCodec<typeof RegisterKey>
export type AuthBegin = MessageOfCodec<typeof AuthBegin>
export type AuthChallenge = MessageOfCodec<typeof AuthChallenge>
export type AuthRequest = MessageOfCodec<typeof AuthRequest>
export type AuthGranted = MessageOfCodec<typeof AuthGranted>
export type AuthRejected = MessageOfCodec<typeof AuthRejected>

/** Everything the server may receive, decoded from bytes in one step at its edge. */
export const ToServer = wireUnion(RegisterRequest, RegisterKey, AuthBegin, AuthRequest)
export type ToServer = RegisterRequest | RegisterKey | AuthBegin | AuthRequest

/** Everything the client may receive. */
export const ToClient = wireUnion(RegisterResponse, AuthChallenge, AuthGranted, AuthRejected)
export type ToClient = RegisterResponse | AuthChallenge | AuthGranted | AuthRejected

/** Domain-separation labels: every MAC and KDF input starts with one (see `transcript`). */
export const Labels = {
  /** HKDF info for K0 in `claimed` (from the server input) and `hardened` (from the X25519 secret). */
  initialKey: "authlab/rolling-key/initial-key/v1",
  registerConfirm: "authlab/rolling-key/register-confirm/v1",
  authCode: "authlab/rolling-key/auth-code/v1",
  /** HKDF info for K_{i+1} = HKDF(ikm = K_i, salt = rolling input). */
  nextKey: "authlab/rolling-key/next-key/v1",
  grant: "authlab/rolling-key/grant/v1"
} as const
