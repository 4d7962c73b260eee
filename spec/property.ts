/**
 * Security properties as trace predicates.
 *
 * A property is stated once and judged on two worlds: every path of the symbolic model (by the
 * bounded explorer) and random fault-injected runs of the implementation (by fast-check). The
 * predicate returns `undefined` when the trace satisfies it and a `Violation` naming the event
 * where it broke otherwise — never a bare boolean, so a failure always says why.
 */
import type { Trace } from "./trace.ts"

export type Variant = "claimed" | "hardened"
export const variants: ReadonlyArray<Variant> = ["claimed", "hardened"]

export type ProtocolName = "soft-token" | "se-channel" | "split-login" | "hw-token-2fa" | "cpk-payment" | "rolling-key"

export type PropertyKind = "secrecy" | "agreement" | "freshness" | "binding" | "liveness" | "detection" | "robustness"

export type Verdict = "holds" | "fails"

export interface Violation {
  /** Index of the trace event at which the property is first seen broken. */
  readonly at: number
  readonly reason: string
}

export interface SecurityProperty {
  /** `<P>.<kebab-name>`, e.g. `P5.no-replay`. */
  readonly id: string
  readonly protocol: ProtocolName
  /** One sentence an auditor can check against the predicate. */
  readonly statement: string
  readonly kind: PropertyKind
  /** The verdict we expect per variant; a `hardened` failure is a bug in our work. */
  readonly expected: Readonly<Record<Variant, Verdict>>
  /** Why `claimed` fails (the weakness), when it is expected to. */
  readonly weakness?: string
  /**
   * Where the property is judged. Most are judged in both worlds; a property about bytes
   * (malformed input) has no meaning in the symbolic model and is judged on the implementation only.
   */
  readonly judgedIn: ReadonlyArray<WorldName>
  readonly check: (trace: Trace) => Violation | undefined
}

export type WorldName = "model" | "impl"
