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
import { Cause, Clock, Effect } from "effect"
import type { Verdict, WorldName } from "../../spec/property.ts"
import type { Counterexample, ImplJudgement, ModelOutcome, ProtocolSuite, Subject } from "../suite.ts"
import { subjectName } from "../suite.ts"
import { replayCommand } from "../harness/replay.ts"
import { type AuditOptions, type AuditSelectionError, conformsAfterChecks, conformsStepwise, exploresModel, implCheckOrder, planAudit, skippedBecauseKilled, type Work } from "./plan.ts"
import { classify } from "./classify.ts"
import { type AuditCheck, type AuditReport, CONFORMANCE, type ConformanceReport, type CounterexampleReport, type Exploration, type Finding, type MutantResult, type Severity, type WorldVerdict } from "./report.ts"

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
      w.subjects.reduce(
        (n, subject) =>
          n +
          (useModel && exploresModel(w.suite, subject) && w.properties.some((p) => p.judgedIn.includes("model")) ? 1 : 0) +
          w.properties.filter((p) => useImpl && p.judgedIn.includes("impl")).length +
          (w.conformance && conformsStepwise(w.suite, subject) ? 1 : 0),
        0
      )
    const total = work.reduce((n, w) => n + units(w), 0)
    let done = 0
    progress({ _tag: "Start", total })

    const checks: Array<AuditCheck> = []
    const mutants: Array<MutantResult> = []
    const explorations: Array<Exploration> = []
    const conformance: Array<ConformanceReport> = []
    const findings: Array<Finding> = []

    for (const { suite, subjects, properties, conformance: conform } of work) {
      const protocol = suite.protocol
      for (const subject of subjects) {
        const name = subjectName(subject)
        const where = subject.kind === "variant" ? { variant: subject.variant } : { mutant: subject.mutant }
        const mutantDef = subject.kind === "mutant" ? suite.mutants.find((m) => m.name === subject.mutant)! : undefined
        /**
         * A flaw only the implementation has (in its bytes or its code) is not explored: the model
         * is the hardened one, already judged. Step-wise, a disagreement is then the flaw caught;
         * elsewhere it is an error.
         */
        const implOnly = !exploresModel(suite, subject)
        const exploreModel = useModel && !implOnly

        // One exploration per subject judges every model-judged property at once.
        let outcome: ModelOutcome | undefined
        let exploreError: string | undefined
        if (exploreModel && properties.some((p) => p.judgedIn.includes("model"))) {
          progress({ _tag: "ExploreStart", protocol, subject: name, done, total })
          const t0 = now()
          // A throw in the explorer is a defect; sandbox exposes it so one bad suite does not end the audit.
          const result = yield* Effect.sync(() => suite.explore(subject, options.depth === undefined ? {} : { depth: options.depth })).pipe(Effect.sandbox, Effect.either)
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
                ...(outcome.stopped === undefined ? {} : { stopped: outcome.stopped }),
                statesPerSecond: outcome.statesPerSecond,
                // The suite's own figure when it is larger: judgements may have been computed ahead, in a worker.
                millis: Math.max(wall, outcome.millis)
              }
            : { protocol, subject: name, states: 0, transitions: 0, depth: suite.depthOf(subject, options.depth), exhaustive: false, statesPerSecond: 0, millis: wall, error: exploreError }
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
              message: `the exploration stopped before depth ${outcome.depth} (${outcome.stopped ?? `${outcome.states} states`}): "holds" on the model covers only the part explored`
            })
        }

        const subjectChecks: Array<AuditCheck> = []
        // A mutant's checks run in `implCheckOrder`; the report lists them in property order.
        const order = implCheckOrder(
          subject,
          properties.filter((p) => useImpl && p.judgedIn.includes("impl")).map((p) => p.id),
          mutantDef?.expectedKilledBy ?? [],
          outcome === undefined ? [] : [...outcome.judgements].filter(([, j]) => j.verdict === "fails").map(([id]) => id)
        )
        const rank = new Map([...order.first, ...order.unlessKilled].map((id, i) => [id, i]))
        const byRank = (a: string, b: string) => (rank.get(a) ?? -1) - (rank.get(b) ?? -1)
        for (const property of [...properties].sort((a, b) => byRank(a.id, b.id))) {
          const report = (cx: Counterexample | undefined, world: WorldName, fallback: { seed: number; depth?: number; runs: number }): CounterexampleReport | undefined =>
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
          let model: AuditCheck["model"] = { verdict: "n/a", states: 0, depth: suite.depthOf(subject, options.depth) }
          if (exploreModel && property.judgedIn.includes("model")) {
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
              model = { verdict: "error", states: outcome?.states ?? 0, depth: outcome?.depth ?? suite.depthOf(subject, options.depth), error }
              if (exploreError === undefined)
                findings.push({ kind: "check-error", severity: "error", protocol, subject: name, ...where, property: property.id, world: "model", message: error })
            }
          }

          // Implementation world.
          let impl: AuditCheck["impl"] = { verdict: "n/a", runs: 0, seed: options.seed, millis: 0 }
          let implWall = 0
          const implKillers = subjectChecks.filter((c) => c.impl.verdict === "fails").map((c) => c.property)
          if (useImpl && order.unlessKilled.includes(property.id) && implKillers.length > 0) {
            impl = { ...impl, skipped: skippedBecauseKilled(implKillers) }
            done++
          } else if (useImpl && property.judgedIn.includes("impl")) {
            progress({ _tag: "ImplStart", protocol, subject: name, property: property.id, runs: options.runs, done, total })
            const t0 = now()
            const result = yield* Effect.suspend(() =>
              suite.checkImpl(subject, property, {
                runs: options.runs,
                seed: options.seed,
                // A mutant must be caught by the implementation on its own: no model counterexample.
                guidance: subject.kind === "mutant" ? "unguided" : "all",
                ...(options.path !== undefined ? { path: options.path } : {})
              })
            ).pipe(Effect.sandbox, Effect.either)
            const millis = now() - t0
            implWall = result._tag === "Right" ? Math.max(millis, result.right.millis) : millis
            done++
            if (result._tag === "Right") {
              const j: ImplJudgement = result.right
              const counterexample = report(j.counterexample, "impl", { seed: j.seed, runs: options.runs })
              impl = {
                verdict: j.verdict,
                runs: j.runs,
                seed: j.seed,
                millis: j.millis,
                guidance: j.guidance,
                ...(j.foundBy !== undefined ? { foundBy: j.foundBy } : {}),
                ...(counterexample ? { counterexample } : {})
              }
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

        // Step-wise conformance: the same schedules on both worlds, compared after every move.
        let conformed: ConformanceReport | undefined
        const killedInImpl = subjectChecks.some((c) => c.impl.verdict === "fails")
        if (conform && conformsStepwise(suite, subject) && !conformsAfterChecks(subject, killedInImpl)) done++
        else if (conform && conformsStepwise(suite, subject)) {
          progress({ _tag: "ImplStart", protocol, subject: name, property: CONFORMANCE, runs: options.runs, done, total })
          const t0 = now()
          const result = yield* Effect.suspend(() =>
            suite.conform(subject, { runs: options.runs, seed: options.seed, ...(options.path !== undefined ? { path: options.path } : {}) })
          ).pipe(Effect.sandbox, Effect.either)
          done++
          if (result._tag === "Left") {
            const error = describeCause(result.left)
            conformed = { protocol, subject: name, verdict: "disagrees", runs: 0, steps: 0, seed: options.seed, millis: now() - t0, error }
            findings.push({ kind: "check-error", severity: "error", protocol, subject: name, ...where, property: CONFORMANCE, message: `the conformance check died: ${error}` })
          } else {
            const { disagreement, ...j } = result.right
            const replay = replayCommand({ protocol, subject, property: CONFORMANCE, world: "both", depth: options.depth, runs: options.runs, seed: j.seed, out: replayOut, ...(disagreement !== undefined && !disagreement.path.startsWith("regression") ? { path: disagreement.path } : {}) })
            conformed = {
              ...j,
              protocol,
              subject: name,
              millis: Math.max(j.millis, now() - t0),
              ...(disagreement !== undefined ? { disagreement: { ...disagreement, replay } } : {})
            }
            if (disagreement !== undefined && !implOnly)
              findings.push({
                kind: "disagreement",
                severity: "error",
                protocol,
                subject: name,
                ...where,
                property: CONFORMANCE,
                message: `model and implementation disagree step by step on ${name}: ${disagreement.what} after ${disagreement.moves.join(" ") || "the set-up"} (start ${disagreement.start}): model ${disagreement.model}, implementation ${disagreement.impl} — replay: ${replay}`
              })
          }
          conformance.push(conformed!)
          progress({ _tag: "ConformanceDone", conformance: conformed!, done, total })
        }

        const propertyOrder = properties.map((p) => p.id)
        subjectChecks.sort((a, b) => propertyOrder.indexOf(a.property) - propertyOrder.indexOf(b.property))
        if (subject.kind === "variant") checks.push(...subjectChecks)
        else {
          const mutant = mutantDef!
          const conformanceKill = implOnly && conformed?.disagreement !== undefined && conformed.error === undefined
          const killedIn = {
            model: subjectChecks.filter((c) => c.model.verdict === "fails").map((c) => c.property),
            impl: subjectChecks.filter((c) => c.impl.verdict === "fails").map((c) => c.property),
            conformance: conformanceKill
          }
          const killedBy = [...subjectChecks.filter((c) => c.model.verdict === "fails" || c.impl.verdict === "fails").map((c) => c.property), ...(conformanceKill ? [CONFORMANCE] : [])]
          const judged = new Set(subjectChecks.map((c) => c.property))
          const missedBy = mutant.expectedKilledBy.filter((id) => judged.has(id) && !killedBy.includes(id))
          const errored = subjectChecks.some((c) => c.verdict === "error")
          mutants.push({ protocol, name: mutant.name, flaw: mutant.flaw, killedBy, worlds: mutant.worlds, killedIn, expectedKilledBy: mutant.expectedKilledBy, missedBy, killed: killedBy.length > 0, checks: subjectChecks })
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
      ...(options.depth === undefined ? {} : { depth: options.depth }),
      ...(options.path !== undefined ? { path: options.path } : {}),
      selection: {
        protocols,
        subjects: [...new Set(work.flatMap((w) => w.subjects.map(subjectName)))],
        ...(options.properties && options.properties.length > 0 ? { properties: options.properties } : {}),
        worlds,
        partial
      },
      summary: {
        checks: [...checks, ...mutants.flatMap((m) => m.checks)].filter((c) => c.model.verdict !== "n/a" || c.impl.verdict !== "n/a").length,
        implNotRun: mutants.reduce((n, m) => n + m.checks.filter((c) => c.impl.skipped !== undefined).length, 0),
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
      conformance,
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
