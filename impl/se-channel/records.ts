/**
 * P2a record layer (SPEC.md §Records): AES-256-GCM under one key per direction, nonce =
 * 0⁴ ‖ seq (64-bit big-endian), associated data = (channel, direction, seq). The receiver accepts
 * only the next sequence number it expects, so a replayed, dropped-then-delivered or reordered
 * record is refused before any decryption; a record reflected to its sender fails the tag
 * (the other direction's key).
 */
import { Data, Effect } from "effect"
import { transcript } from "../../spec/codec.ts"
import { Labels, Record } from "../../spec/se-channel/messages.ts"
import { Crypto } from "../crypto/services.ts"
import type { ChannelKeys } from "./keys.ts"

export type Direction = "se>server" | "server>se"

export type RecordReason = "bad-sequence" | "bad-record"

export class RecordError extends Data.TaggedError("RecordError")<{ readonly reason: RecordReason }> {}

export const seqBytes = (seq: number): Uint8Array => {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(seq))
  return out
}

export const seqOf = (bytes: Uint8Array): number => Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0))

const nonceOf = (seq: Uint8Array) => Uint8Array.from([0, 0, 0, 0, ...seq])
const aadOf = (layer: RecordLayer, channel: Uint8Array, direction: Direction, seq: Uint8Array) => transcript(Labels.record, [channel, layer.directionLabel(direction), seq])

/** The record layer's three decisions, as a seam the tests may decorate one at a time. */
export interface RecordLayer {
  readonly keyFor: (keys: ChannelKeys, direction: Direction) => Uint8Array
  /** What the associated data says of the direction. */
  readonly directionLabel: (direction: Direction) => string
  /** The sequence number the `sent`-th record (0-based) carries. */
  readonly sendSeq: (sent: number) => number
  /** Whether a record numbered `seq` may be opened by a receiver that has accepted `received`. */
  readonly acceptsSeq: (seq: number, received: number) => boolean
}

export const recordLayer: RecordLayer = {
  keyFor: (keys, direction) => (direction === "se>server" ? keys.seToServer : keys.serverToSe),
  directionLabel: (direction) => direction,
  sendSeq: (sent) => sent,
  acceptsSeq: (seq, received) => seq === received
}

export const sealRecord = (layer: RecordLayer, keys: ChannelKeys, direction: Direction, channel: Uint8Array, sent: number, plaintext: Uint8Array): Effect.Effect<Uint8Array, never, Crypto> => {
  const seq = seqBytes(layer.sendSeq(sent))
  return Effect.map(
    Effect.orDie(Effect.flatMap(Crypto, (c) => c.aesGcmSeal(layer.keyFor(keys, direction), nonceOf(seq), plaintext, aadOf(layer, channel, direction, seq)))),
    (sealed) => Record.encode(Record.make({ channel, seq, sealed }))
  )
}

export const openRecord = (layer: RecordLayer, keys: ChannelKeys, direction: Direction, received: number, record: Record): Effect.Effect<Uint8Array, RecordError, Crypto> =>
  layer.acceptsSeq(seqOf(record.seq), received)
    ? Effect.mapError(
        Effect.flatMap(Crypto, (c) => c.aesGcmOpen(layer.keyFor(keys, direction), nonceOf(record.seq), record.sealed, aadOf(layer, record.channel, direction, record.seq))),
        () => new RecordError({ reason: "bad-record" })
      )
    : Effect.fail(new RecordError({ reason: "bad-sequence" }))
