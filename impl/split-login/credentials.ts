/**
 * P2b's derived values (SPEC.md §Derivations): the claimed authenticating data, the device-key
 * fingerprint both screens show, and the hardened approval transcript. SHA-256 from noble: the
 * Crypto service has no bare hash, and none of these is keyed.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { transcript } from "../../spec/codec.ts"
import { FINGERPRINT_BYTES, Labels } from "../../spec/split-login/messages.ts"

/** `claimed`: claim 1's "authenticating data generated from the password", SHA-256 over (username, password) — deterministic, the same in every session. */
export const passwordHash = (username: string, password: string): Uint8Array => sha256(transcript(Labels.passwordHash, [username, password]))

/** The first 8 bytes of SHA-256 over the device key: what the Device shows beside its QR code and the Machine shows before the user approves. */
export const fingerprintOf = (deviceKey: Uint8Array): Uint8Array => sha256(transcript(Labels.fingerprint, [deviceKey])).subarray(0, FINGERPRINT_BYTES)

/** `hardened`: what the approval MAC covers — the SID and the fingerprint the user was shown. */
export const approvalInput = (sid: Uint8Array, fingerprint: Uint8Array): Uint8Array => transcript(Labels.approval, [sid, fingerprint])

/** What the server keeps of a session token it released: its SHA-256, so a copy of the store holds no token that logs in. */
export const tokenDigest = (token: Uint8Array): Uint8Array => sha256(token)

/** Hex, for store keys and logs of public values (SIDs; never keys or tokens in logs). */
export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex")
