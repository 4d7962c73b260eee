/**
 * The robustness property every protocol states the same way: garbage the attacker injects
 * (labelled `malformed:<kind>` by the harness: truncated, trailing bytes, random, wrong lengths,
 * …) is refused, and a refusal changes no durable state (the harness signals
 * `state-changed-on-reject` when a refuser's storage differs after it refused). Judged on the
 * implementation only: the symbolic model has no bytes.
 */
import type { ProtocolName, SecurityProperty } from "./property.ts"

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
      const next = trace.slice(at + 1).find((f) => f._tag === "Deliver" || f._tag === "Reject" || f._tag === "Commit" || f._tag === "Accept")
      if (next === undefined || next._tag !== "Reject") return { at, reason: `injected ${e.label} to ${e.to} was not refused` }
      if (options.reasons !== undefined && !options.reasons.includes(next.reason))
        return { at, reason: `injected ${e.label} to ${e.to} was parsed and refused as ${next.reason}, not at the edge` }
    }
    return undefined
  }
})
