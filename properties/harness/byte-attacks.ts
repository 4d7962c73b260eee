/**
 * The implementation world's own attacker: edits of the bytes it has seen, which the symbolic
 * model (perfect crypto, whole terms) cannot express. Each edit keeps the frame well-formed, so it
 * reaches the participant's checks instead of dying in the decoder:
 * - `tamper:<ref>:<field>` flips the last byte of one field (a MAC, a signature, a nonce, an id);
 *   `tamper:<ref>:<field>:0` flips its first byte — between them a comparison on a prefix and one
 *   that stops at the first difference are both exercised;
 * - `cut:<ref>:<field>` drops the field's last byte (a truncated MAC or signature, a short OTP);
 * - `splice:<ref>:<other>:<field>` replaces one field with the same field of another message of the
 *   same type (a value from another session or another participant's exchange).
 * The edited message goes to the original's addressee. A participant that accepts one is caught by
 * the protocol's tamper property (spec/robustness.ts) and, because the harness gives a tampered
 * message no run name, by its agreement properties.
 */
import { joinAnyFrame, splitAnyFrame } from "../../spec/codec.ts"
import type { Move } from "../../spec/attacker.ts"
import type { Actor } from "../../spec/trace.ts"

export interface SeenMessage {
  readonly from: Actor
  readonly to: Actor
  readonly bytes: Uint8Array
  readonly label: string
}

/** Splices look back this far among messages of the same type (older ones add moves, not attacks). */
const SPLICE_WINDOW = 6

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])

export const byteAttackMoves = (seen: ReadonlyArray<SeenMessage>, options: { readonly skip?: (m: SeenMessage) => boolean } = {}): Array<Move> => {
  const out: Array<Move> = []
  seen.forEach((m, ref) => {
    if (m.from === "attacker" || options.skip?.(m) === true) return
    const frame = splitAnyFrame(m.bytes)
    if (frame === undefined) return
    frame.fields.forEach((field, f) => {
      if (field.length === 0) return
      out.push({ _tag: "Inject", to: m.to, forge: `tamper:${ref}:${f}` })
      if (field.length > 1) out.push({ _tag: "Inject", to: m.to, forge: `tamper:${ref}:${f}:0` })
      out.push({ _tag: "Inject", to: m.to, forge: `cut:${ref}:${f}` })
    })
    const others = seen
      .map((o, k) => [o, k] as const)
      .filter(([o, k]) => k < ref && o.label === m.label && o.from !== "attacker" && !equal(o.bytes, m.bytes))
      .slice(-SPLICE_WINDOW)
    for (const [o, k] of others) {
      const other = splitAnyFrame(o.bytes)
      if (other === undefined || other.fields.length !== frame.fields.length) continue
      frame.fields.forEach((field, f) => {
        if (!equal(field, other.fields[f]!)) out.push({ _tag: "Inject", to: m.to, forge: `splice:${ref}:${k}:${f}` })
      })
    }
  })
  return out
}

/** The bytes a byte-attack move sends, to whom, and which field of the message it edited; undefined when `move` is not one (or names nothing seen). */
export const byteAttack = (seen: ReadonlyArray<SeenMessage>, move: Move): { readonly to: Actor; readonly bytes: Uint8Array; readonly label: string; readonly field: number } | undefined => {
  if (move._tag !== "Inject") return undefined
  const [kind, a, b, c] = move.forge.split(":")
  if (kind !== "tamper" && kind !== "cut" && kind !== "splice") return undefined
  const m = seen[Number(a)]
  const frame = m === undefined ? undefined : splitAnyFrame(m.bytes)
  if (m === undefined || frame === undefined) return undefined
  const fields = frame.fields.map((x) => Uint8Array.from(x))
  const f = Number(kind === "splice" ? c : b)
  const field = fields[f]
  if (field === undefined) return undefined
  if (kind === "tamper") {
    if (field.length === 0) return undefined
    field[c === "0" && kind === "tamper" ? 0 : field.length - 1]! ^= 0x01
  } else if (kind === "cut") {
    if (field.length === 0) return undefined
    fields[f] = field.subarray(0, field.length - 1)
  } else {
    const other = seen[Number(b)]
    const source = other === undefined ? undefined : splitAnyFrame(other.bytes)?.fields[f]
    if (source === undefined) return undefined
    fields[f] = Uint8Array.from(source)
  }
  return { to: m.to, bytes: joinAnyFrame(frame.header, fields), label: `tampered:${m.label}`, field: f }
}

/** The kinds of garbage every world throws: a captured message cut short or extended, or random bytes. */
export const GARBAGE_KINDS = ["truncated", "trailing", "random"] as const
export type GarbageKind = (typeof GARBAGE_KINDS)[number]

/**
 * Garbage of `kind` made from `sample` (a message the addressee was sent, if any), with `choice` (a
 * random byte the world drew) for the length and `draw` for fresh bytes — in the order the
 * worlds always drew them, so recorded seeds replay the same runs.
 */
export const garbage = (kind: GarbageKind, choice: number, sample: Uint8Array | undefined, draw: (length: number) => Uint8Array): Uint8Array => {
  const base = sample ?? draw(40)
  return kind === "truncated"
    ? base.subarray(0, Math.max(0, base.length - 1 - (choice % base.length)))
    : kind === "trailing"
      ? Uint8Array.from([...base, ...draw(1 + (choice % 4))])
      : draw(1 + (choice % 96))
}
