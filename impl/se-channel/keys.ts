/**
 * P2a key schedule (SPEC.md §Keys): two P-256 ECDH values — ee = ECDH(e_SE, e_S) for forward
 * secrecy, es = ECDH(e_SE, S) authenticating the server's certified key — into HKDF-SHA256, whose
 * salt (`hardened`) is a hash of the transcript: SE id, certificate subject, server key, both
 * ephemerals. 128 bytes of output: the server's and the SE's confirmation keys, then one AEAD key
 * per direction. Receipts are HMAC-SHA256 under a confirmation key over the transcript hash, as
 * SCP11's receipt (GlobalPlatform Amendment F §3.1.2) is a MAC over the key agreement data.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { Effect } from "effect"
import { transcript } from "../../spec/codec.ts"
import { CHANNEL_BYTES, Labels } from "../../spec/se-channel/messages.ts"
import type { Policy } from "../../spec/se-channel/variants.ts"
import { Crypto, type CryptoInputError, type VerificationFailed } from "../crypto/services.ts"

/** The public values both sides agree on. */
export interface Handshake {
  readonly seId: string
  /** The subject of the certificate the SE checked (the server believes: its own name). */
  readonly subject: string
  readonly serverKey: Uint8Array
  readonly seEphemeral: Uint8Array
  readonly serverEphemeral: Uint8Array
}

/** The two ECDH values (32-byte x-coordinates). */
export interface SharedSecrets {
  readonly ee: Uint8Array
  readonly es: Uint8Array
}

export interface ChannelKeys {
  readonly transcriptHash: Uint8Array
  readonly confirmServer: Uint8Array
  readonly confirmSe: Uint8Array
  readonly seToServer: Uint8Array
  readonly serverToSe: Uint8Array
}

export const KEY_BYTES = 32

/** The channel id: public, names a session on both sides (the first bytes of a hash of the SE's ephemeral). */
export const channelId = (seEphemeral: Uint8Array): Uint8Array => sha256(transcript(Labels.channel, [seEphemeral])).subarray(0, CHANNEL_BYTES)

/** The steps of the key schedule, as a seam: the transcript and the KDF input. */
export interface KeySchedule {
  readonly transcriptHash: (h: Handshake) => Uint8Array
  readonly ikm: (z: SharedSecrets) => Uint8Array
}

export const keySchedule: KeySchedule = {
  transcriptHash: (h) => sha256(transcript(Labels.salt, [h.seId, h.subject, h.serverKey, h.seEphemeral, h.serverEphemeral])),
  ikm: (z) => Uint8Array.from([...z.ee, ...z.es])
}

const info = new TextEncoder().encode(Labels.keys)

export const deriveKeys = (policy: Policy, schedule: KeySchedule, h: Handshake, z: SharedSecrets): Effect.Effect<ChannelKeys, CryptoInputError, Crypto> => {
  const transcriptHash = schedule.transcriptHash(h)
  const salt = policy.kdfSalt === "transcript" ? transcriptHash : new Uint8Array(0)
  return Effect.map(
    Effect.flatMap(Crypto, (c) => c.hkdfSha256(schedule.ikm(z), salt, info, 4 * KEY_BYTES)),
    (okm) => ({
      transcriptHash,
      confirmServer: okm.slice(0, KEY_BYTES),
      confirmSe: okm.slice(KEY_BYTES, 2 * KEY_BYTES),
      seToServer: okm.slice(2 * KEY_BYTES, 3 * KEY_BYTES),
      serverToSe: okm.slice(3 * KEY_BYTES)
    })
  )
}

export type Role = "server" | "se"

const receiptInput = (role: Role, keys: ChannelKeys) => transcript(role === "server" ? Labels.serverConfirm : Labels.seConfirm, [keys.transcriptHash])
const receiptKey = (role: Role, keys: ChannelKeys) => (role === "server" ? keys.confirmServer : keys.confirmSe)

/** `role`'s receipt: HMAC under its confirmation key over the transcript hash. */
export const receipt = (role: Role, keys: ChannelKeys): Effect.Effect<Uint8Array, never, Crypto> => Effect.flatMap(Crypto, (c) => c.hmacSha256(receiptKey(role, keys), receiptInput(role, keys)))

/** Check `role`'s receipt in constant time (a seam the tests may decorate). */
export type CheckReceipt = (role: Role, keys: ChannelKeys, tag: Uint8Array) => Effect.Effect<void, VerificationFailed | CryptoInputError, Crypto>

export const checkReceipt: CheckReceipt = (role, keys, tag) => Effect.flatMap(Crypto, (c) => c.hmacSha256Verify(receiptKey(role, keys), receiptInput(role, keys), tag))

/** ECDH as the participants call it (a seam: the point is validated inside the crypto layer). */
export type Ecdh = (secretKey: Uint8Array, publicKey: Uint8Array) => Effect.Effect<Uint8Array, CryptoInputError, Crypto>

export const ecdh: Ecdh = (secretKey, publicKey) => Effect.flatMap(Crypto, (c) => c.p256SharedSecret(secretKey, publicKey))

/** A fresh P-256 key pair from the run's random source (redrawn in the ~2⁻³² case of a scalar ≥ n). */
export const ephemeralKeyPair = (random: (n: number) => Effect.Effect<Uint8Array>): Effect.Effect<{ readonly secret: Uint8Array; readonly public: Uint8Array }, never, Crypto> =>
  Effect.flatMap(Crypto, (c) => {
    const attempt: Effect.Effect<{ readonly secret: Uint8Array; readonly public: Uint8Array }> = Effect.flatMap(random(32), (secret) =>
      Effect.matchEffect(c.p256PublicKey(secret), { onFailure: () => attempt, onSuccess: (pub) => Effect.succeed({ secret, public: pub }) })
    )
    return attempt
  })
