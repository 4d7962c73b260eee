/**
 * The audit's options and what they select: the work per protocol (subjects × properties), or a
 * typed error saying why the selection cannot run.
 */
import { Data, Effect } from "effect"
import type { ProtocolName, SecurityProperty, Variant, WorldName } from "../../spec/property.ts"
import type { ProtocolSuite, Subject } from "../suite.ts"
import { type AuditCheck, CONFORMANCE, type ConformanceReport, type Exploration } from "./report.ts"

/** Whether `subject` has a model of its own to explore: not a mutant whose flaw only the implementation has. */
export const exploresModel = (suite: ProtocolSuite, subject: Subject): boolean =>
  subject.kind === "variant" || (suite.mutants.find((m) => m.name === subject.mutant)?.worlds.includes("model") ?? true)

/**
 * Whether the audit compares the two worlds step by step on `subject`: every variant, and every
 * mutant whose flaw only the implementation has (a disagreement is then the flaw caught). A
 * mutant the model has too is caught or missed by the properties in each world on its own
 * (`killedIn.model`, `killedIn.impl`); that its two halves are the same flaw is a test of our
 * mutants, which the suite tests run (properties/harness/suite-tests.ts), not a question the
 * audit answers — and it was a sixth of the audit's time.
 */
export const conformsStepwise = (suite: ProtocolSuite, subject: Subject): boolean => subject.kind === "variant" || !exploresModel(suite, subject)

/**
 * The order in which a subject's implementation checks run, and which may be left out. A variant
 * runs every check. A mutant runs first the properties expected to kill it and those the model
 * found broken on it (so a model/implementation disagreement on the mutant is still reported),
 * then the others, in order, only until a check has killed it in the implementation: what the audit
 * asks of a mutant is whether the implementation's attacker kills it on its own, and whether the
 * properties meant to kill it do. Mutation testers stop at the first kill the same way (Stryker,
 * PIT). Measured in the default audit before this rule: the other properties' full runs on
 * mutants already killed were 119 of the mutants' 133 CPU-s.
 */
export const implCheckOrder = (
  subject: Subject,
  implProperties: ReadonlyArray<string>,
  expectedKilledBy: ReadonlyArray<string>,
  modelBroken: ReadonlyArray<string>
): { readonly first: ReadonlyArray<string>; readonly unlessKilled: ReadonlyArray<string> } => {
  if (subject.kind === "variant") return { first: implProperties, unlessKilled: [] }
  const leading = (id: string) => expectedKilledBy.includes(id) || modelBroken.includes(id)
  return { first: implProperties.filter(leading), unlessKilled: implProperties.filter((id) => !leading(id)) }
}

/**
 * Whether step-wise conformance still runs on `subject` after its implementation checks: on a
 * variant always; on an implementation-only mutant (where a disagreement is a kill) only if no
 * implementation check has killed it — the same rule as `implCheckOrder`. Measured before: the
 * conformance of mutants already killed was about 80 of the audit's 88 conformance CPU-s.
 */
export const conformsAfterChecks = (subject: Subject, killedInImpl: boolean): boolean => subject.kind === "variant" || !killedInImpl

/** Why an implementation check of a mutant was left out (see `implCheckOrder`). */
export const skippedBecauseKilled = (killers: ReadonlyArray<string>): string =>
  `not run: the implementation already killed the mutant with ${killers.join(", ")}`

export interface AuditOptions {
  /** Protocol names; all suites when absent or empty. */
  readonly protocols?: ReadonlyArray<string>
  /**
   * Variants to judge. With neither `variants` nor `mutantNames`, both variants and (unless
   * `mutants` is false) every mutant; naming one kind of subject selects only that kind.
   */
  readonly variants?: ReadonlyArray<Variant>
  /** Mutant names (as in `suite.mutants`) to judge. */
  readonly mutantNames?: ReadonlyArray<string>
  /** Property ids; all of each selected protocol's properties when absent or empty. */
  readonly properties?: ReadonlyArray<string>
  readonly runs: number
  readonly seed: number
  /** The model's bound for the hardened variants; absent: each protocol's own default. */
  readonly depth?: number
  /** fast-check replay path: needs exactly one property and one subject. */
  readonly path?: string
  /** Judge the mutants when no subject is named (default set). */
  readonly mutants: boolean
  /** Worlds to judge in; both when absent. */
  readonly worlds?: ReadonlyArray<WorldName>
  /** `--out` for the replay commands printed with each counterexample (default `report/replay`). */
  readonly replayOut?: string
  readonly onProgress?: (e: AuditProgress) => void
}

export type AuditProgress =
  | { readonly _tag: "Start"; readonly total: number }
  | { readonly _tag: "ExploreStart"; readonly protocol: ProtocolName; readonly subject: string; readonly done: number; readonly total: number }
  | { readonly _tag: "ExploreDone"; readonly exploration: Exploration; readonly done: number; readonly total: number }
  | {
      readonly _tag: "ImplStart"
      readonly protocol: ProtocolName
      readonly subject: string
      readonly property: string
      readonly runs: number
      readonly done: number
      readonly total: number
    }
  | { readonly _tag: "CheckDone"; readonly check: AuditCheck; readonly done: number; readonly total: number }
  | { readonly _tag: "ConformanceDone"; readonly conformance: ConformanceReport; readonly done: number; readonly total: number }

/** The selection names something that does not exist, or cannot be run as asked. */
export class AuditSelectionError extends Data.TaggedError("AuditSelectionError")<{ readonly message: string }> {}
export interface Work {
  readonly suite: ProtocolSuite
  readonly subjects: ReadonlyArray<Subject>
  readonly properties: ReadonlyArray<SecurityProperty>
  /** Run step-wise conformance for each subject (needs both worlds). */
  readonly conformance: boolean
}

const fail = (message: string) => Effect.fail(new AuditSelectionError({ message }))

const known = (names: Iterable<string>): string => [...names].join(", ") || "(none)"

/** What an audit with these options would judge (or why it cannot run): the work per protocol. */
export const planAudit = (suites: ReadonlyArray<ProtocolSuite>, options: AuditOptions) =>
  Effect.gen(function* () {
    if (suites.length === 0) return yield* fail("no protocol suites are registered (cli/suites.ts): nothing to audit")
    for (const [name, value] of [["runs", options.runs], ["depth", options.depth ?? 1]] as const) {
      if (!Number.isSafeInteger(value) || value < 1) return yield* fail(`--${name} must be a positive integer, got ${value}`)
    }
    if (!Number.isSafeInteger(options.seed)) return yield* fail(`--seed must be an integer, got ${options.seed}`)
    const worlds = options.worlds ?? ["model", "impl"]
    if (worlds.length === 0) return yield* fail("both worlds are switched off (--no-model and --no-impl): nothing to judge")

    const wanted = new Set(options.protocols ?? [])
    const unknownProtocols = [...wanted].filter((p) => !suites.some((s) => s.protocol === p))
    if (unknownProtocols.length > 0)
      return yield* fail(`unknown protocol ${known(unknownProtocols)}; known: ${known(suites.map((s) => s.protocol))}`)
    const chosen = wanted.size === 0 ? suites : suites.filter((s) => wanted.has(s.protocol))

    const propertyIds = new Set(options.properties ?? [])
    const allProperties = [...chosen.flatMap((s) => s.properties.map((p) => p.id)), CONFORMANCE]
    const unknownProperties = [...propertyIds].filter((id) => !allProperties.includes(id))
    if (unknownProperties.length > 0)
      return yield* fail(`unknown property ${known(unknownProperties)} in ${known(chosen.map((s) => s.protocol))}; known: ${known(allProperties)}`)

    const mutantNames = new Set(options.mutantNames ?? [])
    const allMutants = chosen.flatMap((s) => s.mutants.map((m) => m.name))
    const unknownMutants = [...mutantNames].filter((m) => !allMutants.includes(m))
    if (unknownMutants.length > 0) return yield* fail(`unknown mutant ${known(unknownMutants)}; known: ${known(allMutants)}`)

    const namedVariants = options.variants ?? []
    const anyNamed = namedVariants.length > 0 || mutantNames.size > 0
    const variants: ReadonlyArray<Variant> = anyNamed ? (["claimed", "hardened"] as const).filter((v) => namedVariants.includes(v)) : ["claimed", "hardened"]

    const work: Array<Work> = []
    for (const suite of chosen) {
      const properties = suite.properties.filter(
        (p) => (propertyIds.size === 0 || propertyIds.has(p.id)) && p.judgedIn.some((w) => worlds.includes(w))
      )
      const mutants = suite.mutants.filter((m) => (anyNamed ? mutantNames.has(m.name) : options.mutants))
      const subjects: Array<Subject> = [
        ...variants.map((variant): Subject => ({ kind: "variant", variant })),
        ...mutants.map((m): Subject => ({ kind: "mutant", mutant: m.name }))
      ]
      const conformance = (propertyIds.size === 0 || propertyIds.has(CONFORMANCE)) && worlds.length === 2
      if ((properties.length > 0 || conformance) && subjects.length > 0) work.push({ suite, subjects, properties, conformance })
    }
    const checks = work.reduce((n, w) => n + w.subjects.length * w.properties.length + (w.conformance ? w.subjects.filter((s) => conformsStepwise(w.suite, s)).length : 0), 0)
    if (checks === 0)
      return yield* fail(
        propertyIds.has(CONFORMANCE) ? "conformance compares the two worlds: it cannot run with --no-model or --no-impl" : "the selection leaves no check to run (is the property judged in the chosen world?)"
      )
    if (options.path !== undefined && (checks !== 1 || !worlds.includes("impl")))
      return yield* fail(
        `--path replays one implementation run: select exactly one check (--protocol, --variant or --mutant, --property); this selection has ${checks}`
      )
    return {
      work,
      worlds,
      partial: propertyIds.size > 0 || worlds.length < 2,
      protocols: chosen.map((s) => s.protocol)
    }
  })

