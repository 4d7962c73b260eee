/**
 * The deployment the P3 crash test and its child share (crash.test.ts, crash-child.ts), made out
 * of band from fixed labels so two processes agree: alice's API key and hardware-token secret
 * (enrolled once, on a new file) and the AuthServer's Ed25519 signing key (a restarted server
 * verifies the access tokens it signed before). Not used by the implementation.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { API_KEY_BYTES } from "../../spec/hw-token-2fa/messages.ts"
import type { SigningKey } from "../jws/jws.ts"
import { enrol } from "./auth-server.ts"
import { type AuthState, emptyAuthState } from "./store.ts"

const labelled = (label: string) => sha256(new TextEncoder().encode(`authlab/hw-token-2fa/crash/${label}`))

export const CRASH_USER = {
  username: "alice",
  apiKey: labelled("alice/api-key").subarray(0, API_KEY_BYTES),
  keyId: "tA",
  /** The HOTP key (RFC 4226 §4: at least 128 bits; 160 here, as SHA-1 tokens ship). */
  secret: labelled("alice/token-secret").subarray(0, 20)
} as const

export const CRASH_SIGNING_KEY: SigningKey = { alg: "EdDSA", secretKey: labelled("auth/signing-key"), kid: "as1" }

/** What a new file is seeded with: alice enrolled. */
export const crashEnrolment = (): AuthState => enrol(emptyAuthState, CRASH_USER)
