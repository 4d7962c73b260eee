/**
 * What a protocol contributes to the audit: its properties, a way to judge all of them on the
 * symbolic model (bounded exploration) and on the implementation (fast-check runs with faults),
 * its mutants, and its participant machines for diagrams. The audit (`properties/audit.ts`) and
 * the `authlab` command work only through this interface, so adding a protocol is adding a suite.
 */
import type { Effect } from "effect"
import type { AnyStateMachine } from "xstate"
import type { ProtocolName, SecurityProperty, Variant, Verdict, Violation, WorldName } from "../spec/property.ts"
import type { Trace } from "../spec/trace.ts"

/** What is being judged: one of the two variants, or one mutant (a flawed hardened participant). */
export type Subject = { readonly kind: "variant"; readonly variant: Variant } | { readonly kind: "mutant"; readonly mutant: string }

export const subjectName = (s: Subject): string => (s.kind === "variant" ? s.variant : `mutant:${s.mutant}`)

export interface Counterexample {
  readonly world: WorldName
  /** The attacker's and participants' moves, one line each, in order (the shortest found). */
  readonly steps: ReadonlyArray<string>
  /** The full protocol trace those moves produced (events, for the sequence diagram). */
  readonly trace: Trace
  readonly violation: Violation
  /** fast-check seed and path (implementation) — with them the run replays exactly. */
  readonly seed?: number
  readonly path?: string
  /** Exploration bound (model) — the explorer is deterministic, so depth reproduces the path. */
  readonly depth?: number
}

export interface ModelJudgement {
  readonly verdict: Verdict
  /** Distinct system states visited (after hashing). */
  readonly states: number
  readonly depth: number
  readonly counterexample?: Counterexample
}

export interface ModelOutcome {
  readonly judgements: ReadonlyMap<string, ModelJudgement>
  readonly states: number
  readonly transitions: number
  readonly depth: number
  /** True when every state within the bound was expanded (no time or state cap hit). */
  readonly exhaustive: boolean
  /** Why the exploration stopped before its bound (a state cap, the memory guard), when it did. */
  readonly stopped?: string
  readonly statesPerSecond: number
  readonly millis: number
}

/**
 * How an implementation check looked for (and, when it fails, found) its counterexample: the
 * model's counterexample replayed, a recorded regression path, a path covering a model state, or
 * random runs alone (`unguided`). `all` tries them in that order, then random runs.
 */
export type Guidance = "model-replay" | "seeded" | "covering" | "unguided"

export interface ImplJudgement {
  readonly verdict: Verdict
  readonly runs: number
  readonly seed: number
  readonly counterexample?: Counterexample
  /** Which source of runs found the counterexample (absent when the property held). */
  readonly foundBy?: Guidance
  /** What the check was allowed to use: everything, or random runs only (mutants). */
  readonly guidance: "all" | "unguided"
  readonly millis: number
}

/** Step-wise conformance of one subject: model and implementation compared after every move. */
export interface ConformanceJudgement {
  readonly verdict: "agrees" | "disagrees"
  readonly runs: number
  /** Moves after which the two worlds were compared, over all runs. */
  readonly steps: number
  readonly seed: number
  readonly millis: number
  readonly disagreement?: {
    readonly start: string
    /** The moves applied to both worlds, the last one being where they first differ. */
    readonly moves: ReadonlyArray<string>
    readonly what: string
    readonly model: string
    readonly impl: string
    readonly path: string
  }
}

export interface ImplOptions {
  readonly runs: number
  readonly seed: number
  /** fast-check replay path, with `seed`, to re-run one failing case. */
  readonly path?: string
  /** Random runs only (default for mutants), or every source of runs (default for variants). */
  readonly guidance?: "all" | "unguided"
}

export interface Mutant {
  readonly name: string
  /** The one flaw, in a sentence (what a careless implementer might do). */
  readonly flaw: string
  /** The properties we expect to catch it (the test suite asserts at least one does). */
  readonly expectedKilledBy: ReadonlyArray<string>
  /** Where the flaw exists: both worlds, or only the implementation (a flaw in bytes). */
  readonly worlds: ReadonlyArray<WorldName>
}

/** What an exploration is asked for: its bound, and who hears how far it is. */
export interface ExploreRequest {
  /** Absent: the protocol's own default bound. */
  readonly depth?: number
  readonly onProgress?: (p: { readonly depth: number; readonly states: number; readonly statesPerSecond: number }) => void
}

export interface ProtocolSuite {
  readonly protocol: ProtocolName
  readonly title: string
  readonly seed: string
  readonly properties: ReadonlyArray<SecurityProperty>
  readonly mutants: ReadonlyArray<Mutant>
  /** Bounded exhaustive exploration of the model; judges every model-judged property at once. */
  readonly explore: (subject: Subject, options: ExploreRequest) => ModelOutcome
  /**
   * Whether exploring `subject` to `depth` goes deeper than the exploration its implementation
   * checks are guided by: the deep one then shares no work with them, and a parallel audit runs it
   * as a unit of its own (cli/parallel/pool.ts). Absent: never.
   */
  readonly exploresBeyondGuidance?: (subject: Subject, depth: number | undefined) => boolean
  /** The depth `subject` is explored to when `depth` is asked for (absent: the protocol's default). */
  readonly depthOf: (subject: Subject, depth: number | undefined) => number
  /** fast-check runs of the implementation under faults, for one property. */
  readonly checkImpl: (subject: Subject, property: SecurityProperty, options: ImplOptions) => Effect.Effect<ImplJudgement>
  /** Step-wise conformance of the model and the implementation of `subject`. */
  readonly conform: (subject: Subject, options: ImplOptions) => Effect.Effect<ConformanceJudgement>
  /** The participant machines (hardened), for state diagrams. */
  readonly machines: ReadonlyArray<{ readonly participant: string; readonly machine: AnyStateMachine }>
  /** The trace of one fault-free honest run on the model, for the sequence diagram. */
  readonly honestRun: (variant: Variant) => Trace
}
