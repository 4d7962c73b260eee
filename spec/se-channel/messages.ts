/**
 * P2a se-channel (seed 001, US 10,812,467): every wire message, with its canonical encoding
 * (spec/codec.ts: strict length-prefixed frames), and the domain-separation labels of every
 * signed, MACed or derived byte string. See SPEC.md for which step of the claim each carries.
 *
 * One schema per message serves both variants: the hardened platform tag, SE signature and key
 * confirmation receipts are empty in `claimed`.
 */
import { boundedBytes, emptyOrFixed, fixedBytes, message, type MessageOfCodec, utf8, wireUnion } from "../codec.ts"

/** SEC1 compressed P-256 point. */
export const POINT_BYTES = 33
/** ECDSA P-256, IEEE P1363 r‖s. */
export const SIGNATURE_BYTES = 64
export const HASH_BYTES = 32
export const TAG_BYTES = 32
/** The channel id: the first 8 bytes of a hash of the SE's ephemeral (public, names the session). */
export const CHANNEL_BYTES = 8
export const SEQ_BYTES = 8
/** AES-GCM tag. */
export const AEAD_TAG_BYTES = 16
export const MAX_PAYLOAD_BYTES = 1024

const name = utf8(64)
const point = fixedBytes(POINT_BYTES)
const signature = fixedBytes(SIGNATURE_BYTES)
const channel = fixedBytes(CHANNEL_BYTES)

/**
 * Claim steps 2–3 (web application → SE, through the browser): the application certificate —
 * subject, `link` = H(identity data), the server's certified static key, the CA's signature — and
 * the identity data (origin, TLS certificate hash). `platformTag`: `hardened`, the browser
 * platform's MAC over the identity data; empty in `claimed` (the page states the data).
 */
export const SeHello = message("SeHello", 1, {
  subject: name,
  link: fixedBytes(HASH_BYTES),
  serverKey: point,
  caSig: signature,
  origin: name,
  tlsHash: fixedBytes(HASH_BYTES),
  platformTag: emptyOrFixed(TAG_BYTES)
})

/**
 * Claim step 5 (SE → server, through the browser): the SE's certificate (id, static key, CA
 * signature) and its ephemeral public key. `signature`: `hardened`, the SE's ECDSA signature over
 * (id, ephemeral) under its certified key; empty in `claimed`.
 */
export const SeOpen = message("SeOpen", 2, {
  seId: utf8(32),
  seKey: point,
  seCaSig: signature,
  ephemeral: point,
  signature: emptyOrFixed(SIGNATURE_BYTES)
})

/** Claim step 5 (server → SE): the server's ephemeral and (`hardened`) its key-confirmation receipt. */
export const ServerHello = message("ServerHello", 3, {
  channel,
  ephemeral: point,
  confirm: emptyOrFixed(TAG_BYTES)
})

/** `hardened` only (SE → server): the SE's key-confirmation receipt. */
export const SeFinish = message("SeFinish", 4, { channel, confirm: fixedBytes(TAG_BYTES) })

/** A channel record, either direction: AES-256-GCM under the direction's key, nonce = 0⁴ ‖ seq. */
export const Record = message("Record", 5, {
  channel,
  seq: fixedBytes(SEQ_BYTES),
  sealed: boundedBytes(AEAD_TAG_BYTES + 1, MAX_PAYLOAD_BYTES + AEAD_TAG_BYTES)
})

export type SeHello = MessageOfCodec<typeof SeHello>
export type SeOpen = MessageOfCodec<typeof SeOpen>
export type ServerHello = MessageOfCodec<typeof ServerHello>
export type SeFinish = MessageOfCodec<typeof SeFinish>
export type Record = MessageOfCodec<typeof Record>

/** What each participant may receive. */
export const ToSe = wireUnion(SeHello, ServerHello, Record)
export type ToSe = SeHello | ServerHello | Record
export const ToServer = wireUnion(SeOpen, SeFinish, Record)
export type ToServer = SeOpen | SeFinish | Record

/** Domain-separation labels (spec/codec.ts `transcript`). */
export const Labels = {
  /** The CA's signature over an application certificate (subject, link, server key). */
  appCert: "authlab/se-channel/app-cert/v1",
  /** The CA's signature over an SE certificate (id, static key). */
  seCert: "authlab/se-channel/se-cert/v1",
  /** `link` = SHA-256 of this transcript of the identity data (origin, TLS certificate hash). */
  identity: "authlab/se-channel/identity/v1",
  /** `hardened`: the browser platform's MAC over the identity data. */
  platform: "authlab/se-channel/platform/v1",
  /** `hardened`: the SE's signature over (id, ephemeral). */
  seOpen: "authlab/se-channel/se-open/v1",
  /** The channel id: SHA-256 of this and the SE's ephemeral, first 8 bytes. */
  channel: "authlab/se-channel/channel/v1",
  /** `hardened`: the KDF salt, a hash of identities, server key and both ephemerals. */
  salt: "authlab/se-channel/salt/v1",
  /** The HKDF info string. */
  keys: "authlab/se-channel/keys/v1",
  serverConfirm: "authlab/se-channel/server-confirm/v1",
  seConfirm: "authlab/se-channel/se-confirm/v1",
  /** A record's associated data: channel, direction, sequence number. */
  record: "authlab/se-channel/record/v1"
} as const
