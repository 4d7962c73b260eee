/**
 * The audit: every selected protocol × subject (claimed, hardened, then each mutant) × property,
 * judged on the symbolic model (one bounded exploration per subject judges every model-judged
 * property) and on the implementation (one fast-check run per impl-judged property).
 *
 * What counts as a failure of the audit (ARCHITECTURE.md §cli): a `hardened` property that
 * fails, a model and an implementation that disagree about a variant, a mutant that no property
 * kills, or a check that could not run. Failures on `claimed` are the findings the project exists
 * to show; they are reported, not errors. Everything the audit concludes is in the returned
 * report; writing it out (JSON, Markdown) and the exit status are the command's business.
 */
import { arch, cpus, platform, totalmem } from "node:os"
import { Cause, Clock, Data, Effect } from "effect"
import type { ProtocolName, PropertyKind, SecurityProperty, Variant, Verdict, Violation, World } from "../spec/property.ts"
import type { Trace } from "../spec/trace.ts"
import type { Counterexample, ImplJudgement, ModelOutcome, ProtocolSuite, Subject } from "./suite.ts"
import { subjectName } from "./suite.ts"
import * as config from "./harness/config.ts"

// ---------------------------------------------------------------------------------------------
// Options and progress

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
  readonly depth: number
  /** fast-check replay path: needs exactly one property and one subject. */
  readonly path?: string
  /** Judge the mutants when no subject is named (default set). */
  readonly mutants: boolean
  /** Worlds to judge in; both when absent. */
  readonly worlds?: ReadonlyArray<World>
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

/** The selection names something that does not exist, or cannot be run as asked. */
export class AuditSelectionError extends Data.TaggedError("AuditSelectionError")<{ readonly message: string }> {}

// ---------------------------------------------------------------------------------------------
// The report

/** `n/a`: the property is not judged in that world (or the world was switched off). */
export type WorldVerdict = Verdict | "n/a" | "error"

export interface CounterexampleReport {
  readonly world: World
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
    readonly counterexample?: CounterexampleReport
    readonly error?: string
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
  /** Ids of the properties that fail on the mutant, in either world. */
  readonly killedBy: ReadonlyArray<string>
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
  readonly world?: World
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
    readonly judgedIn: ReadonlyArray<World>
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
  readonly depth: number
  readonly path?: string
  readonly selection: {
    readonly protocols: ReadonlyArray<ProtocolName>
    readonly subjects: ReadonlyArray<string>
    readonly properties?: ReadonlyArray<string>
    readonly worlds: ReadonlyArray<World>
    /** Some properties or a world were left out: a surviving mutant is then only a warning. */
    readonly partial: boolean
  }
  readonly summary: {
    readonly checks: number
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
  readonly explorations: ReadonlyArray<Exploration>
  readonly protocols: ReadonlyArray<ProtocolSummary>
}

// ---------------------------------------------------------------------------------------------
// Replay commands

export const REPLAY_COMMAND = "npx authlab audit"

const shellWord = (s: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`)

const subjectFlags = (s: Subject): ReadonlyArray<string> => (s.kind === "variant" ? ["--variant", s.variant] : ["--mutant", s.mutant])

/**
 * The command that judges one check in one world again, and nothing else: the subject and the
 * property select the check, `--no-model` / `--no-impl` the world; the model's exploration is
 * deterministic (depth reproduces it), the implementation's run replays from seed and path.
 * It writes to its own `--out` so replaying never overwrites the report it came from.
 */
export const replayCommand = (args: {
  readonly protocol: string
  readonly subject: Subject
  readonly property: string
  readonly world: World
  readonly depth: number
  readonly runs: number
  readonly seed: number
  readonly path?: string
  readonly out: string
}): string => {
  const words = ["--protocol", args.protocol, ...subjectFlags(args.subject), "--property", args.property]
  if (args.world === "model") words.push("--depth", String(args.depth), "--no-impl")
  else {
    words.push("--seed", String(args.seed))
    if (args.path !== undefined) words.push("--path", args.path)
    words.push("--runs", String(args.runs), "--no-model")
  }
  words.push("--out", args.out)
  // The length of a random run is part of what the seed and path index into.
  const env = args.world === "impl" && config.steps !== config.DEFAULT_STEPS ? `AUTHLAB_STEPS=${config.steps} ` : ""
  return `${env}${REPLAY_COMMAND} ${words.map(shellWord).join(" ")}`
}

// ---------------------------------------------------------------------------------------------
// Selection

interface Work {
  readonly suite: ProtocolSuite
  readonly subjects: ReadonlyArray<Subject>
  readonly properties: ReadonlyArray<SecurityProperty>
}

const fail = (message: string) => Effect.fail(new AuditSelectionError({ message }))

const known = (names: Iterable<string>): string => [...names].join(", ") || "(none)"

/** What an audit with these options would judge (or why it cannot run): the work per protocol. */
export const planAudit = (suites: ReadonlyArray<ProtocolSuite>, options: AuditOptions) =>
  Effect.gen(function* () {
    if (suites.length === 0) return yield* fail("no protocol suites are registered (cli/suites.ts): nothing to audit")
    for (const [name, value] of [["runs", options.runs], ["depth", options.depth]] as const) {
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
    const allProperties = chosen.flatMap((s) => s.properties.map((p) => p.id))
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
      if (properties.length > 0 && subjects.length > 0) work.push({ suite, subjects, properties })
    }
    const checks = work.reduce((n, w) => n + w.subjects.length * w.properties.length, 0)
    if (checks === 0) return yield* fail("the selection leaves no check to run (is the property judged in the chosen world?)")
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

// ---------------------------------------------------------------------------------------------
// Judging

const now = () => performance.now()

const describeCause = (cause: Cause.Cause<unknown>): string => {
  const squashed = Cause.squash(cause)
  return squashed instanceof Error ? squashed.message : String(squashed)
}

const combine = (...verdicts: ReadonlyArray<WorldVerdict>): Verdict | "error" =>
  verdicts.includes("error") ? "error" : verdicts.includes("fails") ? "fails" : "holds"

const shorter = (a: CounterexampleReport | undefined, b: CounterexampleReport | undefined) =>
  a === undefined ? b : b === undefined ? a : b.steps.length < a.steps.length ? b : a

const machineInfo = () => {
  const cpu = cpus()
  return {
    cpu: cpu[0]?.model.trim() ?? "unknown",
    cores: cpu.length,
    platform: platform(),
    arch: arch(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10
  }
}

export const runAudit = (
  suites: ReadonlyArray<ProtocolSuite>,
  options: AuditOptions
): Effect.Effect<AuditReport, AuditSelectionError> =>
  Effect.gen(function* () {
    const started = now()
    const generatedAt = new Date(yield* Clock.currentTimeMillis).toISOString()
    const { work, worlds, partial, protocols } = yield* planAudit(suites, options)
    const progress = options.onProgress ?? (() => {})
    const replayOut = options.replayOut ?? "report/replay"
    const useModel = worlds.includes("model")
    const useImpl = worlds.includes("impl")

    const units = (w: Work) =>
      w.subjects.length * ((useModel && w.properties.some((p) => p.judgedIn.includes("model")) ? 1 : 0) + w.properties.filter((p) => useImpl && p.judgedIn.includes("impl")).length)
    const total = work.reduce((n, w) => n + units(w), 0)
    let done = 0
    progress({ _tag: "Start", total })

    const checks: Array<AuditCheck> = []
    const mutants: Array<MutantResult> = []
    const explorations: Array<Exploration> = []
    const findings: Array<Finding> = []

    for (const { suite, subjects, properties } of work) {
      const protocol = suite.protocol
      for (const subject of subjects) {
        const name = subjectName(subject)
        const where = subject.kind === "variant" ? { variant: subject.variant } : { mutant: subject.mutant }

        // One exploration per subject judges every model-judged property at once.
        let outcome: ModelOutcome | undefined
        let exploreError: string | undefined
        if (useModel && properties.some((p) => p.judgedIn.includes("model"))) {
          progress({ _tag: "ExploreStart", protocol, subject: name, done, total })
          const t0 = now()
          // A throw in the explorer is a defect; sandbox exposes it so one bad suite does not end the audit.
          const result = yield* Effect.sync(() => suite.explore(subject, { depth: options.depth })).pipe(Effect.sandbox, Effect.either)
          if (result._tag === "Left") exploreError = describeCause(result.left)
          else outcome = result.right
          const wall = now() - t0
          const exploration: Exploration = outcome
            ? {
                protocol,
                subject: name,
                states: outcome.states,
                transitions: outcome.transitions,
                depth: outcome.depth,
                exhaustive: outcome.exhaustive,
                statesPerSecond: outcome.statesPerSecond,
                // The suite's own figure when it is larger: judgements may have been computed ahead, in a worker.
                millis: Math.max(wall, outcome.millis)
              }
            : { protocol, subject: name, states: 0, transitions: 0, depth: options.depth, exhaustive: false, statesPerSecond: 0, millis: wall, error: exploreError }
          explorations.push(exploration)
          done++
          progress({ _tag: "ExploreDone", exploration, done, total })
          if (exploreError !== undefined)
            findings.push({ kind: "check-error", severity: "error", protocol, subject: name, ...where, world: "model", message: `the model explorer died: ${exploreError}` })
          else if (outcome && !outcome.exhaustive)
            findings.push({
              kind: "not-exhaustive",
              severity: "warning",
              protocol,
              subject: name,
              ...where,
              world: "model",
              message: `the exploration stopped at a cap before depth ${outcome.depth} (${outcome.states} states): "holds" on the model covers only the part explored`
            })
        }

        const subjectChecks: Array<AuditCheck> = []
        for (const property of properties) {
          const report = (cx: Counterexample | undefined, world: World, fallback: { seed: number; depth: number; runs: number }): CounterexampleReport | undefined =>
            cx && {
              world,
              steps: cx.steps,
              trace: cx.trace,
              violation: cx.violation,
              ...(cx.seed !== undefined ? { seed: cx.seed } : {}),
              ...(cx.path !== undefined ? { path: cx.path } : {}),
              ...(cx.depth !== undefined ? { depth: cx.depth } : {}),
              replay: replayCommand({
                protocol,
                subject,
                property: property.id,
                world,
                depth: cx.depth ?? fallback.depth,
                runs: fallback.runs,
                seed: cx.seed ?? fallback.seed,
                out: replayOut,
                ...(cx.path !== undefined ? { path: cx.path } : {})
              })
            }

          // Model world.
          let model: AuditCheck["model"] = { verdict: "n/a", states: 0, depth: options.depth }
          if (useModel && property.judgedIn.includes("model")) {
            const judgement = outcome?.judgements.get(property.id)
            if (judgement !== undefined) {
              const counterexample = report(judgement.counterexample, "model", { seed: options.seed, depth: judgement.depth, runs: options.runs })
              model = {
                verdict: judgement.verdict,
                states: judgement.states,
                depth: judgement.depth,
                exhaustive: outcome!.exhaustive,
                ...(counterexample ? { counterexample } : {})
              }
            } else {
              const error = exploreError ?? `the explorer returned no judgement for ${property.id}`
              model = { verdict: "error", states: outcome?.states ?? 0, depth: options.depth, error }
              if (exploreError === undefined)
                findings.push({ kind: "check-error", severity: "error", protocol, subject: name, ...where, property: property.id, world: "model", message: error })
            }
          }

          // Implementation world.
          let impl: AuditCheck["impl"] = { verdict: "n/a", runs: 0, seed: options.seed, millis: 0 }
          let implWall = 0
          if (useImpl && property.judgedIn.includes("impl")) {
            progress({ _tag: "ImplStart", protocol, subject: name, property: property.id, runs: options.runs, done, total })
            const t0 = now()
            const result = yield* Effect.suspend(() =>
              suite.checkImpl(subject, property, {
                runs: options.runs,
                seed: options.seed,
                ...(options.path !== undefined ? { path: options.path } : {})
              })
            ).pipe(Effect.sandbox, Effect.either)
            const millis = now() - t0
            implWall = result._tag === "Right" ? Math.max(millis, result.right.millis) : millis
            done++
            if (result._tag === "Right") {
              const j: ImplJudgement = result.right
              const counterexample = report(j.counterexample, "impl", { seed: j.seed, depth: options.depth, runs: options.runs })
              impl = { verdict: j.verdict, runs: j.runs, seed: j.seed, millis: j.millis, ...(counterexample ? { counterexample } : {}) }
            } else {
              const error = describeCause(result.left)
              impl = { verdict: "error", runs: 0, seed: options.seed, millis, error }
              findings.push({
                kind: "check-error",
                severity: "error",
                protocol,
                subject: name,
                ...where,
                property: property.id,
                world: "impl",
                message: `the implementation check died: ${error}`
              })
            }
          }

          const counterexample = shorter(model.counterexample, impl.counterexample)
          const check: AuditCheck = {
            protocol,
            ...where,
            property: property.id,
            statement: property.statement,
            kind: property.kind,
            ...(subject.kind === "variant" ? { expected: property.expected[subject.variant] } : {}),
            verdict: combine(model.verdict, impl.verdict),
            model,
            impl,
            ...(counterexample ? { counterexample } : {}),
            millis: implWall
          }
          subjectChecks.push(check)
          findings.push(...classify(check, name))
          progress({ _tag: "CheckDone", check, done, total })
        }

        if (subject.kind === "variant") checks.push(...subjectChecks)
        else {
          const mutant = suite.mutants.find((m) => m.name === subject.mutant)!
          const killedBy = subjectChecks.filter((c) => c.model.verdict === "fails" || c.impl.verdict === "fails").map((c) => c.property)
          const judged = new Set(subjectChecks.map((c) => c.property))
          const missedBy = mutant.expectedKilledBy.filter((id) => judged.has(id) && !killedBy.includes(id))
          const errored = subjectChecks.some((c) => c.verdict === "error")
          mutants.push({ protocol, name: mutant.name, flaw: mutant.flaw, killedBy, expectedKilledBy: mutant.expectedKilledBy, missedBy, killed: killedBy.length > 0, checks: subjectChecks })
          if (killedBy.length === 0 && !errored)
            findings.push({
              kind: "mutant-survived",
              severity: partial ? "warning" : "error",
              protocol,
              subject: name,
              mutant: mutant.name,
              message: `no ${partial ? "selected " : ""}property kills mutant ${mutant.name} (${mutant.flaw})${partial ? " — a partial audit: not every property or world was judged" : ""}`
            })
          else if (killedBy.length > 0 && missedBy.length > 0)
            findings.push({
              kind: "mutant-missed",
              severity: "warning",
              protocol,
              subject: name,
              mutant: mutant.name,
              message: `mutant ${mutant.name} is killed by ${killedBy.join(", ")}, but not by ${missedBy.join(", ")} as expected`
            })
        }
      }
    }

    const order: Record<Severity, number> = { error: 0, expected: 1, warning: 2 }
    const sorted = findings.map((f, i) => [f, i] as const).sort(([a, i], [b, j]) => order[a.severity] - order[b.severity] || i - j).map(([f]) => f)
    const errors = sorted.filter((f) => f.severity === "error").length
    const ok = errors === 0
    return {
      ok,
      exitCode: ok ? 0 : 1,
      generatedAt,
      node: process.version,
      machine: machineInfo(),
      seed: options.seed,
      runs: options.runs,
      depth: options.depth,
      ...(options.path !== undefined ? { path: options.path } : {}),
      selection: {
        protocols,
        subjects: [...new Set(work.flatMap((w) => w.subjects.map(subjectName)))],
        ...(options.properties && options.properties.length > 0 ? { properties: options.properties } : {}),
        worlds,
        partial
      },
      summary: {
        checks: checks.length + mutants.reduce((n, m) => n + m.checks.length, 0),
        errors,
        expected: sorted.filter((f) => f.severity === "expected").length,
        warnings: sorted.filter((f) => f.severity === "warning").length,
        mutants: mutants.length,
        mutantsKilled: mutants.filter((m) => m.killed).length,
        millis: now() - started
      },
      findings: sorted,
      checks,
      mutants,
      explorations,
      protocols: work.map(({ suite }) => ({
        protocol: suite.protocol,
        title: suite.title,
        seed: suite.seed,
        properties: suite.properties.map((p) => ({
          id: p.id,
          statement: p.statement,
          kind: p.kind,
          expected: p.expected,
          judgedIn: p.judgedIn,
          ...(p.weakness !== undefined ? { weakness: p.weakness } : {})
        }))
      }))
    } satisfies AuditReport
  })

/** What one check means for the audit, as findings (none when all is as expected). */
const classify = (check: AuditCheck, subject: string): ReadonlyArray<Finding> => {
  if (check.verdict === "error") return [] // reported where the check died
  const base = {
    protocol: check.protocol,
    subject,
    ...(check.variant !== undefined ? { variant: check.variant } : {}),
    ...(check.mutant !== undefined ? { mutant: check.mutant } : {}),
    property: check.property,
    statement: check.statement
  }
  const withCx = (cx: CounterexampleReport | undefined) => (cx ? { world: cx.world, counterexample: cx } : {})
  const { model, impl } = check
  const judgedBoth = model.verdict !== "n/a" && impl.verdict !== "n/a"
  if (judgedBoth && model.verdict !== impl.verdict) {
    // On a mutant the two worlds may reach the flaw at different bounds; worth a look, not a failure.
    return [
      {
        kind: "disagreement",
        severity: check.variant !== undefined ? "error" : "warning",
        ...base,
        message: `model and implementation disagree on ${check.property} (${subject}): the model says ${model.verdict} (${model.states} states, depth ${model.depth}), the implementation says ${impl.verdict} (${impl.runs} runs)`,
        ...withCx(model.counterexample ?? impl.counterexample)
      }
    ]
  }
  if (check.variant === undefined) return [] // a mutant's verdicts feed the kill matrix
  const cx = check.counterexample
  if (check.verdict === "fails") {
    if (check.variant === "hardened")
      return [{ kind: "hardened-fails", severity: "error", ...base, message: `${check.property} fails on hardened: ${cx?.violation.reason ?? "no counterexample given"}`, ...withCx(cx) }]
    if (check.expected === "fails")
      return [{ kind: "weakness", severity: "expected", ...base, message: `${check.property} fails on claimed, as expected: ${cx?.violation.reason ?? "no counterexample given"}`, ...withCx(cx) }]
    return [{ kind: "unexpected-failure", severity: "warning", ...base, message: `${check.property} fails on claimed, where it was expected to hold: ${cx?.violation.reason ?? "no counterexample given"}`, ...withCx(cx) }]
  }
  if (check.expected === "fails") {
    const searched = [
      ...(model.verdict !== "n/a" ? [`${model.states} model states to depth ${model.depth}`] : []),
      ...(impl.verdict !== "n/a" ? [`${impl.runs} implementation runs`] : [])
    ].join(" and ")
    return [
      {
        kind: "unexpected-hold",
        severity: "warning",
        ...base,
        message: `${check.property} holds on ${check.variant}, where it was expected to fail: no attack found in ${searched}`
      }
    ]
  }
  return []
}
