/**
 * P2b split-login (seed 001, Gemalto US 9,635,022): every wire message, with its canonical encoding
 * (spec/codec.ts: strict length-prefixed frames), and the domain-separation labels.
 *
 * Two links (SECURITY.md §Channels): Device ↔ Server is a TLS connection (the attacker delays or
 * drops records, cannot read, edit or replay them); Machine ↔ Server is an open link the attacker
 * reads and writes — the claim names no protection for the authenticating message, and the
 * hardened PAKE needs none. The SID travels from the Device's screen to the Machine's camera (a QR
 * code: public, and substitutable by a phishing page).
 *
 * `claimed` uses `Login` (claim 1's "authenticating message": SID + data generated from the
 * password); `hardened` replaces it by the three OPAQUE flights (RFC 9807 §6: KE1, KE2, KE3), the
 * server's KE2 carrying the fingerprint of the opening device's key, the Machine's KE3 an approval
 * MAC over (SID, fingerprint) under the OPAQUE session key. The device key fields are empty in
 * `claimed`.
 */
import { emptyOrFixed, fixedBytes, message, utf8, wireUnion, type MessageOfCodec } from "../codec.ts"

/** Session identifiers: 128 random bits (both variants: the claim fixes no length; SPEC.md §SID). */
export const SID_BYTES = 16
/** The Device's per-login key, sent to the server over TLS: what a poll must show (`hardened`). */
export const DEVICE_KEY_BYTES = 32
/** What the Device and the Machine show the user: 8 bytes of SHA-256 of the device key (64 bits). */
export const FINGERPRINT_BYTES = 8
/** The claimed password hash and the approval MAC (HMAC-SHA256). */
export const DIGEST_BYTES = 32
/** RFC 9807 §6.1 sizes for ristretto255 / SHA-512 (Noe = Nn = Npk = 32, Nm = 64). */
export const KE1_BYTES = 96
export const KE2_BYTES = 320
export const KE3_BYTES = 64
/** A session token the server releases on a successful poll. */
export const TOKEN_BYTES = 32

const sid = fixedBytes(SID_BYTES)
const username = utf8(64)

/** Device → Server (TLS): the username the user typed, and (`hardened`) the Device's fresh key. */
export const Open = message("Open", 1, { username, deviceKey: emptyOrFixed(DEVICE_KEY_BYTES) })

/** Server → Device (TLS): the new session's identifier, which the Device shows as a QR code. */
export const Opened = message("Opened", 2, { sid })

/** Machine → Server (`claimed`): claim 1's authenticating message, SID + data generated from the password. */
export const Login = message("Login", 3, { sid, authData: fixedBytes(DIGEST_BYTES) })

/** Machine → Server (`hardened`): OPAQUE KE1 for this SID. */
export const LoginStart = message("LoginStart", 4, { sid, ke1: fixedBytes(KE1_BYTES) })

/** Server → Machine (`hardened`): OPAQUE KE2, and the fingerprint of the key of the device that opened the SID. */
export const LoginChallenge = message("LoginChallenge", 5, { sid, ke2: fixedBytes(KE2_BYTES), fingerprint: fixedBytes(FINGERPRINT_BYTES) })

/** Machine → Server (`hardened`): OPAQUE KE3, and the user's approval MAC over (SID, fingerprint shown). */
export const LoginFinish = message("LoginFinish", 6, { sid, ke3: fixedBytes(KE3_BYTES), approval: fixedBytes(DIGEST_BYTES) })

/** Device → Server (TLS): claim 2's polling message, "a second reference data based on the identifier"; `hardened` adds the device key. */
export const Poll = message("Poll", 7, { sid, deviceKey: emptyOrFixed(DEVICE_KEY_BYTES) })

/** Server → Device (TLS, the poll's response): the result message; a token when the login succeeded, empty while pending. */
export const Result = message("Result", 8, { sid, token: emptyOrFixed(TOKEN_BYTES) })

export type Open = MessageOfCodec<typeof Open>
export type Opened = MessageOfCodec<typeof Opened>
export type Login = MessageOfCodec<typeof Login>
export type LoginStart = MessageOfCodec<typeof LoginStart>
export type LoginChallenge = MessageOfCodec<typeof LoginChallenge>
export type LoginFinish = MessageOfCodec<typeof LoginFinish>
export type Poll = MessageOfCodec<typeof Poll>
export type Result = MessageOfCodec<typeof Result>

export const ToServer = wireUnion(Open, Login, LoginStart, LoginFinish, Poll)
export type ToServer = Open | Login | LoginStart | LoginFinish | Poll
export const ToMachine = wireUnion(LoginChallenge)
export const ToDevice = wireUnion(Opened, Result)
export type ToDevice = Opened | Result

export const allMessages = [Open, Opened, Login, LoginStart, LoginChallenge, LoginFinish, Poll, Result] as const

/** Domain-separation labels (spec/codec.ts `transcript`). */
export const Labels = {
  /** `claimed`: the authenticating data, a deterministic hash of (username, password). */
  passwordHash: "authlab/split-login/password-hash/v1",
  /** `hardened`: the user's approval of (SID, fingerprint shown), MACed under the OPAQUE session key. */
  approval: "authlab/split-login/approval/v1",
  /** The device-key fingerprint both screens show. */
  fingerprint: "authlab/split-login/fingerprint/v1",
  /** OPAQUE identities (RFC 9807 §4.1.1: bound into the envelope and the transcript). */
  server: "authlab/split-login/server/v1"
} as const
