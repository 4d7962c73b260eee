/**
 * P3 hw-token-2fa (US 10,554,641 B2): every wire message, with its canonical encoding
 * (../codec.ts). One schema per message serves both variants. See SPEC.md §2 for the claim step
 * each message carries.
 *
 * Access tokens travel as JWS compact strings (RFC 7515, EdDSA) so any JOSE library can verify
 * them; refresh tokens and API keys are 32 opaque random bytes; an OTP is its 6–8 decimal digits.
 */
import { boundedBytes, fixedBytes, literal, message, utf8, wireUnion, type MessageOfCodec } from "../codec.ts"

export const API_KEY_BYTES = 32
export const REFRESH_TOKEN_BYTES = 32
/** A JWS of ours is ~250 bytes; the bound leaves room and still refuses abuse before any parsing. */
export const MAX_ACCESS_TOKEN_BYTES = 2048

const otp = boundedBytes(6, 8)
const accessToken = utf8(MAX_ACCESS_TOKEN_BYTES)

/** Login (device → AuthServer): "receiving … a credential … an application programming interface key", with the token's OTP. */
export const LoginRequest = message("LoginRequest", 1, {
  apiKey: fixedBytes(API_KEY_BYTES),
  /** ASCII digits, read from the hardware token at the time of the request. */
  otp
})

/** Issue (AuthServer → device): "generating … a first access token and a first refresh token" (and, later, the second ones). */
export const TokenGrant = message("TokenGrant", 2, {
  accessToken,
  refreshToken: fixedBytes(REFRESH_TOKEN_BYTES)
})

/** "responsive to after the first access token expiring, receiving … the first access token from the user device". */
export const RefreshBegin = message("RefreshBegin", 3, { accessToken })

/** "sending … a request to the user device to send the first refresh token". */
export const RefreshPrompt = message("RefreshPrompt", 4, { username: utf8(64) })

/** "receiving … the first refresh token and a second one-time password … sent from the hardware token device". */
export const RefreshRequest = message("RefreshRequest", 5, {
  refreshToken: fixedBytes(REFRESH_TOKEN_BYTES),
  otp
})

/** Access to the website (device → ResourceServer) with the current access token. */
export const AccessRequest = message("AccessRequest", 6, { accessToken })

/** The website's answer: access for `subject` (the username the token is bound to). */
export const AccessGranted = message("AccessGranted", 7, { subject: utf8(64) })

/** Refusal by either server. Coarse on purpose: the precise reason stays in the server's log. */
export const Denied = message("Denied", 8, { reason: literal("denied", "expired", "throttled", "malformed") })

export type LoginRequest = MessageOfCodec<typeof LoginRequest>
export type TokenGrant = MessageOfCodec<typeof TokenGrant>
export type RefreshBegin = MessageOfCodec<typeof RefreshBegin>
export type RefreshPrompt = MessageOfCodec<typeof RefreshPrompt>
export type RefreshRequest = MessageOfCodec<typeof RefreshRequest>
export type AccessRequest = MessageOfCodec<typeof AccessRequest>
export type AccessGranted = MessageOfCodec<typeof AccessGranted>
export type Denied = MessageOfCodec<typeof Denied>

/** Everything the AuthServer may receive. */
export const ToAuth = wireUnion(LoginRequest, RefreshBegin, RefreshRequest)
export type ToAuth = LoginRequest | RefreshBegin | RefreshRequest

/** Everything the ResourceServer may receive. */
export const ToResource = wireUnion(AccessRequest)
export type ToResource = AccessRequest

/** Everything the device may receive. */
export const ToDevice = wireUnion(TokenGrant, RefreshPrompt, AccessGranted, Denied)
export type ToDevice = TokenGrant | RefreshPrompt | AccessGranted | Denied

/** Domain-separation labels (hash inputs; see ../codec.ts `transcript`). */
export const Labels = {
  /** SHA-256 over this label and the 32 bytes: how an API key is stored. */
  apiKeyHash: "authlab/hw-token-2fa/api-key/v1",
  /** SHA-256 over this label and the 32 bytes: how a refresh token is stored. */
  refreshTokenHash: "authlab/hw-token-2fa/refresh-token/v1"
} as const

/** JWT claims of an access token: `sub` (username), `iat`, `exp` (NumericDate), `jti`, `fam` (refresh family). */
export const ACCESS_TOKEN_TYP = "at+jwt"
