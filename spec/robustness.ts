/**
 * The robustness property every protocol states the same way: garbage the attacker injects
 * (labelled `malformed:<kind>` by the harness: truncated, trailing bytes, random, wrong lengths,
 * …) is refused, and a refusal changes no durable state (the harness signals
 * `state-changed-on-reject` when a refuser's storage differs after it refused). Judged on the
 * implementation only: the symbolic model has no bytes.
 */
import { Either, Schema } from "effect"
import type { ProtocolName, SecurityProperty, Violation } from "./property.ts"
import type { Trace, TraceEvent } from "./trace.ts"

/** What followed the delivery at `at`: the next verdict (Reject, Commit, Accept) or the next delivery. */
const verdictAfter = (trace: Trace, at: number): { readonly at: number; readonly event: TraceEvent } | undefined => {
  for (let i = at + 1; i < trace.length; i++) {
    const f = trace[i]!
    if (f._tag === "Deliver" || f._tag === "Reject" || f._tag === "Commit" || f._tag === "Accept") return { at: i, event: f }
  }
  return undefined
}

export const malformedInputRejected = (options: {
  readonly id: string
  readonly protocol: ProtocolName
  readonly statement: string
  /** The refusal reasons that count as refusing garbage at the edge; any refusal when absent. */
  readonly reasons?: ReadonlyArray<string>
}): SecurityProperty => ({
  id: options.id,
  protocol: options.protocol,
  kind: "robustness",
  statement: options.statement,
  expected: { claimed: "holds", hardened: "holds" },
  judgedIn: ["impl"],
  check: (trace) => {
    for (let at = 0; at < trace.length; at++) {
      const e = trace[at]!
      if (e._tag === "Signal" && e.signal === "state-changed-on-reject")
        return { at, reason: `${e.actor} changed its durable state while refusing an input` }
      // Forged but well-formed messages are other properties' business.
      if (e._tag !== "Deliver" || e.how !== "injected" || !e.label.startsWith("malformed")) continue
      const next = verdictAfter(trace, at)?.event
      if (next === undefined || next._tag !== "Reject") return { at, reason: `injected ${e.label} to ${e.to} was not refused` }
      if (options.reasons !== undefined && !options.reasons.includes(next.reason))
        return { at, reason: `injected ${e.label} to ${e.to} was parsed and refused as ${next.reason}, not at the edge` }
    }
    return undefined
  }
})

/**
 * The answer `to` sent to what was delivered at `at` (its first Send after it, before its next
 * delivery): every delivery of it must be refused. A violation, or undefined.
 */
const answerRefused = (trace: Trace, at: number, to: string): Violation | undefined => {
  let answer: number | undefined
  for (let i = at + 1; i < trace.length && answer === undefined; i++) {
    const f = trace[i]!
    if (f._tag === "Deliver" && f.to === to) return undefined
    if (f._tag === "Send" && f.from === to) answer = f.ref
  }
  if (answer === undefined) return undefined
  for (let i = at + 1; i < trace.length; i++) {
    const f = trace[i]!
    if (f._tag !== "Deliver" || f.ref !== answer) continue
    const found = verdictAfter(trace, i)
    if (found !== undefined && (found.event._tag === "Accept" || found.event._tag === "Commit"))
      return { at: found.at, reason: `${f.to} accepted ${f.label}, ${to}'s answer to a tampered message it could not judge` }
  }
  return undefined
}

/**
 * The property every protocol states for the implementation attacker's byte edits
 * (properties/harness/byte-attacks.ts): a well-formed message with one field flipped, cut or
 * taken from another message (labelled `tampered:<label>`) is refused by its recipient, and the
 * refusal changes no durable state beyond what the design names for that refusal.
 */
export const tamperedInputRejected = (options: {
  readonly id: string
  readonly protocol: ProtocolName
  readonly statement: string
  /**
   * Tampered messages (by label, `tampered:…`) whose recipient cannot judge them and may answer:
   * the design leaves the judgement to whoever checks the answer. Such a message holds if the
   * recipient refuses it, or if every delivery of the answer it sent is refused.
   */
  readonly judgedByTheAnswer?: ReadonlyArray<string>
}): SecurityProperty => ({
  id: options.id,
  protocol: options.protocol,
  kind: "robustness",
  statement: options.statement,
  expected: { claimed: "holds", hardened: "holds" },
  judgedIn: ["impl"],
  check: (trace) => {
    for (let at = 0; at < trace.length; at++) {
      const e = trace[at]!
      if (e._tag !== "Deliver" || e.how !== "injected" || !e.label.startsWith("tampered:")) continue
      const found = verdictAfter(trace, at)
      if (options.judgedByTheAnswer?.includes(e.label) && found?.event._tag !== "Reject") {
        const answered = answerRefused(trace, at, e.to)
        if (answered !== undefined) return answered
        continue
      }
      if (found === undefined || found.event._tag === "Deliver") return { at, reason: `${e.label} delivered to ${e.to} was neither accepted nor refused` }
      if (found.event._tag !== "Reject") return { at: found.at, reason: `${e.to} accepted ${e.label} (a captured message with one field changed)` }
      const changed = trace.slice(at + 1, found.at + 3).find((f) => f._tag === "Signal" && f.signal === "state-changed-on-reject")
      if (changed !== undefined) return { at, reason: `${e.to} changed its durable state while refusing ${e.label}` }
    }
    return undefined
  }
})

/**
 * Canonical decoding, for every wire message: bytes that decode must be exactly the encoding of
 * what they decode to (`encode(decode(b)) = b`). Otherwise two byte strings mean one message —
 * a replay filter keyed on bytes misses the twin, a signature over one form is taken for the
 * other — or a decoder drops something (a byte-order mark, a padding byte) the sender sent.
 * Returns why `bytes` break it, or undefined (also when they do not decode at all).
 */
export const nonCanonical = <A>(wire: Schema.Schema<A, Uint8Array>, bytes: Uint8Array): string | undefined => {
  const decoded = Schema.decodeUnknownEither(wire)(bytes)
  if (Either.isLeft(decoded)) return undefined
  const again = Schema.encodeEither(wire)(decoded.right)
  if (Either.isLeft(again)) return "decodes to a message that does not encode"
  const re = again.right
  const same = re.length === bytes.length && re.every((x, i) => x === bytes[i])
  return same ? undefined : `decodes to a message that encodes differently (${re.length} bytes instead of ${bytes.length})`
}
