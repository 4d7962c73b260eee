/**
 * P1 soft-token issuance (US 9,413,753): every wire message, with its canonical encoding, and
 * the domain-separation labels of every signed byte string.
 *
 * Three channels: C1 (device ↔ service, TLS), C2 (user computer ↔ service, TLS) and the relying
 * party's channel (device ↔ relying party). One schema per message serves both variants; a field
 * a variant does not use is empty on the wire. See SPEC.md for the step of claim 1 each carries.
 */
import { boundedBytes, emptyOrFixed, fixedBytes, literal, message, utf8, wireUnion, type MessageOfCodec } from "../codec.ts"

/** SEC1 compressed P-256 point (what a secure element exports). */
export const PUBLIC_KEY_BYTES = 33
/** ECDSA P-256, IEEE P1363 r ‖ s. */
export const SIGNATURE_BYTES = 64
export const NONCE_BYTES = 32
/** Ed25519 signature of the ID token's chip over the service's read nonce. */
export const CARD_PROOF_BYTES = 64
/** SHA-256 of the device's public key, shown (truncated) to the user in `hardened`. */
export const FINGERPRINT_BYTES = 32
/** The soft token, a JWS compact serialization (RFC 7515 §7.1). */
export const MAX_TOKEN_BYTES = 3000

// --- C1: device ↔ service -----------------------------------------------------------------------

/** `hardened` only (device → service, C1): ask for a nonce to prove possession of sk_dev over. */
export const IssueBegin = message("IssueBegin", 1, {})

/** `hardened` only (service → device, C1): the nonce the secure element must sign. */
export const IssueNonce = message("IssueNonce", 2, { nonce: fixedBytes(NONCE_BYTES) })

/** Claim 1, "transmitting a request for the generation of a soft token … via the first connection". */
export const IssueRequest = message("IssueRequest", 3, {
  publicKey: fixedBytes(PUBLIC_KEY_BYTES),
  /** A name the user gave the device; shown on the PC in `hardened`. */
  deviceName: utf8(64),
  /** `hardened`: SE signature over the `issue-pop` transcript (nonce, public key, name); empty in `claimed`. */
  pop: emptyOrFixed(SIGNATURE_BYTES)
})

/** Claim 1, "transmitting the one-time password … to the electronic device via the first connection". */
export const OtpIssued = message("OtpIssued", 4, { otp: utf8(16) })

/** Claim 1, "transmitting the soft token to the electronic device via the first connection". */
export const TokenIssued = message("TokenIssued", 5, { token: boundedBytes(1, MAX_TOKEN_BYTES) })

/** A refusal on C1 or C2. Coarse on purpose: the precise reason stays in the service's log. */
export const Refused = message("Refused", 6, { reason: literal("denied", "malformed") })

// --- C2: user computer ↔ service ------------------------------------------------------------------

/** Claim 1, "transmitting the entered one-time password … via the second connection". */
export const OtpSubmit = message("OtpSubmit", 7, { otp: utf8(16) })

/**
 * The service's request to read the ID token, after the OTP matched. `hardened` adds what the
 * PC shows the user before she confirms with her PIN: the requesting device's name and the
 * fingerprint of its key (empty in `claimed`).
 */
export const AttributeRequest = message("AttributeRequest", 8, {
  nonce: fixedBytes(NONCE_BYTES),
  /** Shown on the consent screen: strict UTF-8 (no replacement characters to disguise a name); empty in `claimed`. */
  deviceName: utf8(64, 0),
  fingerprint: emptyOrFixed(FINGERPRINT_BYTES)
})

/** Claim 1, "reading at least one attribute stored in an ID token": the chip's signed answer. */
export const AttributeResponse = message("AttributeResponse", 9, {
  /** Canonical JSON of the attributes, e.g. `{"name":"Alice Example"}`. */
  attributes: utf8(512),
  cardKey: fixedBytes(32),
  cardProof: fixedBytes(CARD_PROOF_BYTES)
})

// --- usage: device ↔ relying party -------------------------------------------------------------

/** The holder presents its soft token. */
export const Present = message("Present", 10, { token: boundedBytes(1, MAX_TOKEN_BYTES) })

/** The relying party's fresh challenge. */
export const RpChallenge = message("RpChallenge", 11, { nonce: fixedBytes(NONCE_BYTES) })

/** The secure element's signature over the `possession` transcript (challenge, token hash). */
export const PossessionProof = message("PossessionProof", 12, { signature: fixedBytes(SIGNATURE_BYTES) })

export type IssueBegin = MessageOfCodec<typeof IssueBegin>
export type IssueNonce = MessageOfCodec<typeof IssueNonce>
export type IssueRequest = MessageOfCodec<typeof IssueRequest>
export type OtpIssued = MessageOfCodec<typeof OtpIssued>
export type TokenIssued = MessageOfCodec<typeof TokenIssued>
export type Refused = MessageOfCodec<typeof Refused>
export type OtpSubmit = MessageOfCodec<typeof OtpSubmit>
export type AttributeRequest = MessageOfCodec<typeof AttributeRequest>
export type AttributeResponse = MessageOfCodec<typeof AttributeResponse>
export type Present = MessageOfCodec<typeof Present>
export type RpChallenge = MessageOfCodec<typeof RpChallenge>
export type PossessionProof = MessageOfCodec<typeof PossessionProof>

/** Everything the service may receive (on C1 or C2), decoded in one step at its edge. */
export const ToService = wireUnion(IssueBegin, IssueRequest, OtpSubmit, AttributeResponse)
export type ToService = IssueBegin | IssueRequest | OtpSubmit | AttributeResponse

/** Everything the device may receive (from the service on C1, or from a relying party). */
export const ToDevice = wireUnion(IssueNonce, OtpIssued, TokenIssued, Refused, RpChallenge)
export type ToDevice = IssueNonce | OtpIssued | TokenIssued | Refused | RpChallenge

/** Everything the user computer may receive on C2. */
export const ToUserComputer = wireUnion(AttributeRequest, TokenIssued, Refused)
export type ToUserComputer = AttributeRequest | TokenIssued | Refused

/** Everything a relying party may receive. */
export const ToRelyingParty = wireUnion(Present, PossessionProof)
export type ToRelyingParty = Present | PossessionProof

/** Domain-separation labels: every signed byte string starts with one (see `transcript`). */
export const Labels = {
  issuePop: "authlab/soft-token/issue-pop/v1",
  cardRead: "authlab/soft-token/card-read/v1",
  possession: "authlab/soft-token/possession/v1",
  fingerprint: "authlab/soft-token/fingerprint/v1"
} as const
