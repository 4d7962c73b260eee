/**
 * The messages between the audit and its worker threads: one unit of work is one protocol ×
 * subject — its exploration and its implementation checks — so each worker keeps the suite's
 * exploration cache warm for the checks that follow it.
 */
import type { ConformanceJudgement, ImplJudgement, ModelJudgement, ModelOutcome, Subject } from "../../properties/suite.ts"

export interface UnitRequest {
  readonly id: number
  readonly protocol: string
  readonly subject: Subject
  /** Explore the model (judges every model-judged property at once). */
  readonly model: boolean
  /** Property ids to check on the implementation. */
  readonly impl: ReadonlyArray<string>
  /** Run step-wise conformance. */
  readonly conformance: boolean
  /** Absent: each protocol's own default bound. */
  readonly depth?: number
  readonly runs: number
  readonly seed: number
  /** A replay path (one check selected). */
  readonly path?: string
}

/** How far a unit's exploration is (sent every few thousand states while it explores). */
export interface UnitProgress {
  readonly _tag: "ExploreProgress"
  readonly id: number
  readonly depth: number
  readonly states: number
  readonly statesPerSecond: number
}

/** A `ModelOutcome` with its Map as entries, for structured cloning. */
export type SerializedOutcome = Omit<ModelOutcome, "judgements"> & { readonly judgements: ReadonlyArray<readonly [string, ModelJudgement]> }

export interface UnitResult {
  readonly id: number
  readonly outcome?: SerializedOutcome
  readonly exploreError?: string
  readonly impl: ReadonlyArray<{ readonly property: string; readonly judgement?: ImplJudgement; readonly error?: string }>
  readonly conformance?: { readonly judgement?: ConformanceJudgement; readonly error?: string }
  readonly millis: number
}
