/**
 * What an audit concludes, as data: the checks (protocol × subject × property, in both worlds),
 * the conformance of every subject, the mutants' kill matrix, the explorations and the findings.
 * Rendering (JSON, Markdown, text) is the command's business (cli/report).
 */
import type { ProtocolName, PropertyKind, Variant, Verdict, Violation, WorldName } from "../../spec/property.ts"
import type { Trace } from "../../spec/trace.ts"
import type { ConformanceJudgement, Guidance, ModelOutcome } from "../suite.ts"

/** `n/a`: the property is not judged in that world (or the world was switched off). */
export type WorldVerdict = Verdict | "n/a" | "error"

export interface CounterexampleReport {
  readonly world: WorldName
  readonly steps: ReadonlyArray<string>
  readonly trace: Trace
  readonly violation: Violation
  readonly seed?: number
  readonly path?: string
  readonly depth?: number
  /** The one-line command that judges exactly this check in exactly this world again. */
  readonly replay: string
}

export interface AuditCheck {
  readonly protocol: ProtocolName
  /** Set for the variant checks (`checks`); absent on a mutant's checks. */
  readonly variant?: Variant
  /** Set for a mutant's checks (`mutants[].checks`). */
  readonly mutant?: string
  readonly property: string
  readonly statement: string
  readonly kind: PropertyKind
  /** The verdict the property declares for this variant (absent for mutants). */
  readonly expected?: Verdict
  /** `fails` when either world fails. */
  readonly verdict: Verdict | "error"
  readonly model: {
    readonly verdict: WorldVerdict
    readonly states: number
    readonly depth: number
    readonly exhaustive?: boolean
    readonly counterexample?: CounterexampleReport
    readonly error?: string
  }
  readonly impl: {
    readonly verdict: WorldVerdict
    readonly runs: number
    readonly seed: number
    readonly millis: number
    /** What the check could use (everything, or unguided runs only) and what found the counterexample. */
    readonly guidance?: "all" | "unguided"
    readonly foundBy?: Guidance
    readonly counterexample?: CounterexampleReport
    readonly error?: string
    /** Why the check was not run (a mutant the implementation had already killed: `implCheckOrder`); the verdict is then `n/a`. */
    readonly skipped?: string
  }
  /** The shorter of the worlds' counterexamples (the model's on a tie: it replays without a seed). */
  readonly counterexample?: CounterexampleReport
  /** Wall time of this check's implementation run (the suite's own `impl.millis` may leave out setup and shrinking); the exploration is timed per subject. */
  readonly millis: number
}

export interface MutantResult {
  readonly protocol: ProtocolName
  readonly name: string
  readonly flaw: string
  /** Ids of the properties that fail on the mutant, in either world (and `conformance` when the worlds disagree on an implementation-only flaw). */
  readonly killedBy: ReadonlyArray<string>
  /** Where the flaw exists: both worlds, or the implementation only. */
  readonly worlds: ReadonlyArray<WorldName>
  /** The kills per world, each found on its own: the model by exploration, the implementation by unguided runs. */
  readonly killedIn: { readonly model: ReadonlyArray<string>; readonly impl: ReadonlyArray<string>; readonly conformance: boolean }
  readonly expectedKilledBy: ReadonlyArray<string>
  /** Expected killers that were judged and did not kill it. */
  readonly missedBy: ReadonlyArray<string>
  readonly killed: boolean
  readonly checks: ReadonlyArray<AuditCheck>
}

/** One exploration as reported: the suite's figures (millis here is the wall time of `explore`). */
export interface Exploration extends Omit<ModelOutcome, "judgements"> {
  readonly protocol: ProtocolName
  readonly subject: string
  readonly error?: string
}

export type FindingKind =
  /** A hardened property fails: a bug in our work. */
  | "hardened-fails"
  /** The model and the implementation judge the same check differently. */
  | "disagreement"
  /** A claimed property fails, as its `expected` says: the weakness the audit exists to show. */
  | "weakness"
  /** A claimed property fails that was expected to hold. */
  | "unexpected-failure"
  /** A property holds that was expected to fail (the attack was not found: bound too small?). */
  | "unexpected-hold"
  | "mutant-survived"
  /** A mutant's expected killer did not kill it (some other property did). */
  | "mutant-missed"
  /** The exploration stopped at a cap before the depth bound. */
  | "not-exhaustive"
  /** A check could not run (the explorer or the implementation check died). */
  | "check-error"

export type Severity = "error" | "expected" | "warning"

export interface Finding {
  readonly kind: FindingKind
  readonly severity: Severity
  readonly protocol: ProtocolName
  /** `claimed`, `hardened` or `mutant:<name>`. */
  readonly subject: string
  readonly variant?: Variant
  readonly mutant?: string
  readonly property?: string
  readonly statement?: string
  /** The world the counterexample comes from. */
  readonly world?: WorldName
  readonly message: string
  readonly counterexample?: CounterexampleReport
}

export interface ProtocolSummary {
  readonly protocol: ProtocolName
  readonly title: string
  readonly seed: string
  readonly properties: ReadonlyArray<{
    readonly id: string
    readonly statement: string
    readonly kind: PropertyKind
    readonly expected: Readonly<Record<Variant, Verdict>>
    readonly judgedIn: ReadonlyArray<WorldName>
    readonly weakness?: string
  }>
}

export interface AuditReport {
  readonly ok: boolean
  /** 0 iff `ok`; the command's exit status. */
  readonly exitCode: 0 | 1
  readonly generatedAt: string
  readonly node: string
  readonly machine: { readonly cpu: string; readonly cores: number; readonly platform: string; readonly arch: string; readonly memoryGiB: number }
  readonly seed: number
  readonly runs: number
  /** The `--depth` asked for; absent: each protocol's own default (the explorations say which). */
  readonly depth?: number
  readonly path?: string
  readonly selection: {
    readonly protocols: ReadonlyArray<ProtocolName>
    readonly subjects: ReadonlyArray<string>
    readonly properties?: ReadonlyArray<string>
    readonly worlds: ReadonlyArray<WorldName>
    /** Some properties or a world were left out: a surviving mutant is then only a warning. */
    readonly partial: boolean
  }
  readonly summary: {
    /** Property × subject checks judged in at least one world. */
    readonly checks: number
    /** Implementation checks of mutants left out because the implementation had already killed them (`implCheckOrder`). */
    readonly implNotRun: number
    readonly errors: number
    readonly expected: number
    readonly warnings: number
    readonly mutants: number
    readonly mutantsKilled: number
    readonly millis: number
  }
  readonly findings: ReadonlyArray<Finding>
  /** The variant checks, in order: protocol, claimed then hardened, property. */
  readonly checks: ReadonlyArray<AuditCheck>
  readonly mutants: ReadonlyArray<MutantResult>
  /** Step-wise conformance per protocol × subject. */
  readonly conformance: ReadonlyArray<ConformanceReport>
  readonly explorations: ReadonlyArray<Exploration>
  readonly protocols: ReadonlyArray<ProtocolSummary>
}

/** The property id that selects conformance (`--property conformance`). */
export const CONFORMANCE = "conformance"

export interface ConformanceReport extends Omit<ConformanceJudgement, "disagreement"> {
  readonly protocol: ProtocolName
  readonly subject: string
  readonly error?: string
  readonly disagreement?: NonNullable<ConformanceJudgement["disagreement"]> & { readonly replay: string }
}

