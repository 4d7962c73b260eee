/**
 * A parallel audit: the units of work (protocol × subject) are judged ahead of time in worker
 * threads, one per core, and the audit then runs over suites that answer from those results. The
 * verdicts, counterexamples and replay commands are the same as a sequential audit's — every
 * check is deterministic in its seed and depth — only the wall time shrinks.
 */
import { Effect } from "effect"
import { Worker } from "node:worker_threads"
import type { AuditOptions } from "../../properties/audit/plan.ts"
import { conformsStepwise, exploresModel, planAudit } from "../../properties/audit/plan.ts"
import type { ConformanceJudgement, ImplJudgement, ModelOutcome, ProtocolSuite } from "../../properties/suite.ts"
import { subjectName } from "../../properties/suite.ts"
import type { UnitProgress, UnitRequest, UnitResult } from "./protocol.ts"

export interface UnitDone {
  readonly request: UnitRequest
  readonly result: UnitResult
  readonly done: number
  readonly total: number
  /** The units the workers are judging now. */
  readonly running: ReadonlyArray<UnitRequest>
}

/**
 * The units an audit with `options` needs, or none when it cannot run (runAudit then says why).
 * A unit is one protocol × subject: its exploration, implementation checks and conformance, in
 * one worker, which keeps the suite's guiding exploration warm for the checks. An exploration
 * that goes deeper than that guidance (the hardened variants' bound) shares no work with the
 * checks: it is a unit of its own, and these come first, as the longest (P5's is most of an
 * audit's critical path).
 */
export const unitsOf = (suites: ReadonlyArray<ProtocolSuite>, options: AuditOptions) =>
  Effect.map(Effect.either(planAudit(suites, options)), (plan) => {
    if (plan._tag === "Left") return []
    const useModel = plan.right.worlds.includes("model")
    const useImpl = plan.right.worlds.includes("impl")
    const shared = { depth: options.depth, runs: options.runs, seed: options.seed, ...(options.path === undefined ? {} : { path: options.path }) }
    const wanted = plan.right.work.flatMap(({ suite, subjects, properties, conformance }) =>
      subjects.map((subject) => {
        const model = useModel && exploresModel(suite, subject) && properties.some((p) => p.judgedIn.includes("model"))
        return {
          suite,
          subject,
          model,
          alone: model && suite.exploresBeyondGuidance?.(subject, options.depth) === true,
          impl: useImpl ? properties.filter((p) => p.judgedIn.includes("impl")).map((p) => p.id) : [],
          conformance: conformance && conformsStepwise(suite, subject)
        }
      })
    )
    const explorations = wanted.filter((w) => w.alone).map((w) => ({ protocol: w.suite.protocol, subject: w.subject, model: true, impl: [], conformance: false, ...shared }))
    const rest = wanted
      .map((w) => ({ protocol: w.suite.protocol, subject: w.subject, model: w.model && !w.alone, impl: w.impl, conformance: w.conformance, ...shared }))
      .filter((u) => u.model || u.impl.length > 0 || u.conformance)
    return [...explorations, ...rest].map((u, id): UnitRequest => ({ id, ...u }))
  })

/**
 * Judge `units` on `workers` threads; `onDone` hears of each as it completes, `onExplore` of how
 * far a running exploration is. The returned `stop` terminates every worker at once (an
 * interrupt must not wait for a long exploration).
 */
export const judgeInWorkers = (
  units: ReadonlyArray<UnitRequest>,
  workers: number,
  onDone: (d: UnitDone) => void,
  onExplore: (p: UnitProgress & { readonly request: UnitRequest }) => void = () => {}
): { readonly results: Promise<Map<number, UnitResult>>; readonly stop: () => void } => {
  const pool: Array<Worker> = []
  const stop = () => {
    for (const w of pool) void w.terminate()
  }
  const results = new Promise<Map<number, UnitResult>>((resolve, reject) => {
    const results = new Map<number, UnitResult>()
    const queue = [...units]
    const running = new Map<Worker, UnitRequest>()
    const finish = (error?: unknown) => {
      stop()
      if (error === undefined) resolve(results)
      else reject(error)
    }
    const feed = (w: Worker) => {
      const next = queue.shift()
      if (next !== undefined) {
        running.set(w, next)
        w.postMessage(next)
      } else {
        running.delete(w)
        if (results.size === units.length) finish()
      }
    }
    for (let i = 0; i < Math.min(workers, units.length); i++) {
      const w = new Worker(new URL("./worker.mjs", import.meta.url))
      pool.push(w)
      w.on("message", (message: UnitResult | UnitProgress) => {
        if ("_tag" in message) return onExplore({ ...message, request: units.find((u) => u.id === message.id)! })
        const result = message
        results.set(result.id, result)
        running.delete(w)
        feed(w)
        onDone({ request: units.find((u) => u.id === result.id)!, result, done: results.size, total: units.length, running: [...running.values()] })
      })
      w.on("error", (e) => finish(e))
      feed(w)
    }
    if (units.length === 0) finish()
  })
  return { results, stop }
}

/** `judgeInWorkers` as an Effect: interrupting it (a signal) terminates the workers. */
export const judgeInWorkersInterruptibly = (
  units: ReadonlyArray<UnitRequest>,
  workers: number,
  onDone: (d: UnitDone) => void,
  onExplore?: (p: UnitProgress & { readonly request: UnitRequest }) => void
) =>
  Effect.async<Map<number, UnitResult>>((resume) => {
    const { results, stop } = judgeInWorkers(units, workers, onDone, onExplore)
    results.then(
      (r) => resume(Effect.succeed(r)),
      (e) => resume(Effect.die(e))
    )
    return Effect.sync(stop)
  })

/** The suites, answering `explore` and `checkImpl` from the workers' results where they have one. */
export const answeringFrom = (
  suites: ReadonlyArray<ProtocolSuite>,
  units: ReadonlyArray<UnitRequest>,
  results: ReadonlyMap<number, UnitResult>
): ReadonlyArray<ProtocolSuite> =>
  suites.map((suite) => {
    // A subject's results may come from two units (its deep exploration runs alone).
    const resultsFor = (subject: Parameters<ProtocolSuite["explore"]>[0]): ReadonlyArray<UnitResult> =>
      units.filter((u) => u.protocol === suite.protocol && subjectName(u.subject) === subjectName(subject)).flatMap((u) => results.get(u.id) ?? [])
    return {
      ...suite,
      explore: (subject, options) => {
        const r = resultsFor(subject).find((x) => x.exploreError !== undefined || x.outcome !== undefined)
        if (r?.exploreError !== undefined) throw new Error(r.exploreError)
        if (r?.outcome === undefined || (options.depth !== undefined && r.outcome.depth > options.depth)) return suite.explore(subject, options)
        return { ...r.outcome, judgements: new Map(r.outcome.judgements) } satisfies ModelOutcome
      },
      checkImpl: (subject, property, options) => {
        const found = resultsFor(subject).flatMap((r) => r.impl).find((x) => x.property === property.id)
        if (found === undefined) return suite.checkImpl(subject, property, options)
        return found.judgement !== undefined ? Effect.succeed<ImplJudgement>(found.judgement) : Effect.die(new Error(found.error))
      },
      conform: (subject, options) => {
        const found = resultsFor(subject).find((r) => r.conformance !== undefined)?.conformance
        if (found === undefined) return suite.conform(subject, options)
        return found.judgement !== undefined ? Effect.succeed<ConformanceJudgement>(found.judgement) : Effect.die(new Error(found.error))
      }
    }
  })
