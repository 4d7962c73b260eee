/**
 * Symbolic terms of P3 (perfect-crypto assumption, spec/hw-token-2fa/SECURITY.md §Model): an OTP
 * is the pair (token, counter) and only its token can make it — `guess` matches no counter (a
 * 6-digit guess succeeds with probability 10^-6 per candidate: the model treats it as never); an
 * access token is a term only the AuthServer can sign, so the ResourceServer's signature check
 * always passes on terms that exist; refresh tokens are names only the AuthServer can mint.
 */

export type OtpTerm = { readonly token: string; readonly counter: number } | "guess"

export const otpName = (otp: OtpTerm): string => (otp === "guess" ? "guess" : `${otp.token}#${otp.counter}`)

/** A signed access token: the name `a<family>.<serial>`, its subject and its expiry (in ticks). */
export interface AccessTerm {
  readonly name: string
  readonly sub: string
  readonly exp: number
}

/** The symbolic wire messages: the same tags as spec/hw-token-2fa/messages.ts, terms for bytes. */
export type SymMessage =
  | { readonly _tag: "LoginRequest"; readonly apiKey: string; readonly otp: OtpTerm }
  | { readonly _tag: "TokenGrant"; readonly accessToken: AccessTerm; readonly refreshToken: string }
  | { readonly _tag: "RefreshBegin"; readonly accessToken: AccessTerm }
  | { readonly _tag: "RefreshPrompt"; readonly username: string }
  | { readonly _tag: "RefreshRequest"; readonly refreshToken: string; readonly otp: OtpTerm }
  | { readonly _tag: "AccessRequest"; readonly accessToken: AccessTerm }
  | { readonly _tag: "AccessGranted"; readonly subject: string }
  | { readonly _tag: "Denied"; readonly reason: "denied" | "expired" | "throttled" | "malformed" }

/** The data string a message carries in `Send` / `Deliver` events (spec/hw-token-2fa/properties.ts). */
export const dataOf = (m: SymMessage): string | undefined => {
  switch (m._tag) {
    case "LoginRequest":
      return `login;otp=${otpName(m.otp)}`
    case "RefreshRequest":
      return `refresh;rt=${m.refreshToken};otp=${otpName(m.otp)}`
    case "TokenGrant":
      return `grant;rt=${m.refreshToken};at=${m.accessToken.name}`
    case "AccessRequest":
      return `access;at=${m.accessToken.name}`
    default:
      return undefined
  }
}
