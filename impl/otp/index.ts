/** HOTP / TOTP (RFC 4226, RFC 6238) and `otpauth://` Key URI provisioning. */
export * from "./otp.ts"
export * from "./uri.ts"
