/**
 * The deployment the P1 crash test and its child share (crash.test.ts, crash-child.ts), made out
 * of band from fixed labels so two processes agree: the issuer's ES256 key (a restarted service
 * signs with the key it had) and the chip key of the one genuine ID token, alice's. Not used by
 * the implementation.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import type { SigningKey } from "../jws/jws.ts"

const labelled = (label: string) => sha256(new TextEncoder().encode(`authlab/soft-token/crash/${label}`))

/** A SHA-256 output is a valid P-256 scalar but with probability about 2^-128; this one is (the child signs with it). */
export const CRASH_ISSUER_KEY: SigningKey = { alg: "ES256", secretKey: labelled("issuer"), kid: "issuer" }
export const CRASH_CHIP_KEY = labelled("alice/chip-key")
export const CRASH_PIN = "246810"
/** The deployment's configured OTP length (hardened issues at least 8 whatever it is). */
export const CRASH_OTP_DIGITS = 8
