/**
 * Step-wise conformance, for every protocol alike: one attacker schedule runs on the symbolic
 * model and on the implementation, and after every move the two worlds' observations (what each
 * participant holds) and verdict facts must be equal, and every move the model's attacker has
 * must be one the implementation's has too; after the schedule, the fault-free
 * continuation must give the same verdicts. A disagreement is a finding in itself: the
 * implementation does something the specification does not (or the model is wrong).
 *
 * Schedules are drawn from the model's enabled moves (the implementation has more — bytes —
 * that the model cannot follow), at full length, plus the protocol's recorded regressions. The
 * first disagreement is shrunk by fast-check and reported with its seed and path.
 */
import fc from "fast-check"
import { encodeMove, type Move } from "../../spec/attacker.ts"
import type { Trace } from "../../spec/trace.ts"
import type { ConformanceJudgement } from "../suite.ts"
import { runArbitrary } from "./check.ts"
import { pickMove, type World } from "./world.ts"

/** A canonical JSON (keys sorted), so equal observations compare equal whatever their key order. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Uint8Array)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v
  )

export interface Disagreement {
  readonly moves: ReadonlyArray<string>
  readonly what: string
  readonly model: string
  readonly impl: string
}

/**
 * Run `moves` (a fixed list, or choices resolved against the model's enabled moves as the run
 * unfolds) on both worlds; the first point where they differ, or undefined.
 */
export const lockstep = <O>(
  model: World<O>,
  impl: World<O>,
  verdicts: (trace: Trace) => ReadonlyArray<string>,
  schedule: { readonly moves: ReadonlyArray<Move> } | { readonly choices: ReadonlyArray<number>; readonly swarm: number }
): { readonly disagreement: Disagreement | undefined; readonly steps: number } => {
  const done: Array<string> = []
  let steps = 0
  const compare = (what: string, m: unknown, i: unknown): Disagreement | undefined => {
    const ms = canonicalJson(m)
    const is = canonicalJson(i)
    return ms === is ? undefined : { moves: [...done], what, model: ms, impl: is }
  }
  const first = compare("the set-up's verdicts", verdicts(model.initialTrace), verdicts(impl.initialTrace)) ?? compare("observation at the start", model.observe(), impl.observe())
  if (first !== undefined) return { disagreement: first, steps }
  const count = "moves" in schedule ? schedule.moves.length : schedule.choices.length
  for (let k = 0; k < count; k++) {
    // The implementation's attacker must be at least the model's: every move the model offers
    // here, the implementation world offers too (it has more: bytes, races). A move it lacks is a
    // hole in what the implementation checks try, whatever the observations say.
    const enabled = model.moves()
    const offered = new Set(impl.moves().map(encodeMove))
    const missing = enabled.map(encodeMove).filter((m) => !offered.has(m))
    if (missing.length > 0) return { disagreement: { moves: [...done], what: "the moves offered (every model move must be an implementation move)", model: missing.join(" "), impl: "not offered" }, steps }
    let move: Move
    if ("moves" in schedule) move = schedule.moves[k]!
    else {
      if (enabled.length === 0) break
      move = pickMove(enabled, schedule.choices[k]!, schedule.swarm)
    }
    done.push(encodeMove(move))
    const m = model.step(move)
    // A move the implementation cannot take (a message it never sent: the two networks diverged
    // earlier, unseen by the observations) or on which it dies is a disagreement to report, not
    // an exception that ends the check without one.
    let i: Trace
    try {
      i = impl.step(move)
    } catch (e) {
      return { disagreement: { moves: [...done], what: "whether the implementation can take the move", model: "took it", impl: `failed: ${String(e).split("\n")[0]}` }, steps: steps + 1 }
    }
    steps++
    const d = compare("verdicts of the move", verdicts(m), verdicts(i)) ?? compare("observation after the move", model.observe(), impl.observe())
    if (d !== undefined) return { disagreement: d, steps }
  }
  done.push("(faults stop)")
  return { disagreement: compare("verdicts of the fault-free continuation", verdicts(model.continuation()), verdicts(impl.continuation())), steps }
}

export const checkConformance = <O>(options: {
  readonly model: (start: number) => World<O>
  readonly impl: (seed: number, start: number) => World<O>
  readonly verdicts: (trace: Trace) => ReadonlyArray<string>
  readonly starts: number
  readonly steps: number
  readonly runs: number
  readonly seed: number
  readonly path?: string
  readonly regressions: ReadonlyArray<{ readonly start: number; readonly moves: ReadonlyArray<Move> }>
}): ConformanceJudgement => {
  const started = performance.now()
  let steps = 0
  for (const r of options.regressions) {
    const result = lockstep(options.model(r.start), options.impl(1, r.start), options.verdicts, { moves: r.moves })
    steps += result.steps
    if (result.disagreement !== undefined)
      return {
        verdict: "disagrees",
        runs: 1,
        steps,
        seed: options.seed,
        millis: performance.now() - started,
        disagreement: { start: String(r.start), ...result.disagreement, path: `regression ${r.moves.map(encodeMove).join(" ")}` }
      }
  }
  let last: Disagreement | undefined
  let lastStart = 0
  const result = fc.check(
    fc.property(runArbitrary(options.steps, options.starts), ([seed, start, choices, swarm]) => {
      const r = lockstep(options.model(start), options.impl(seed, start), options.verdicts, { choices, swarm })
      steps += r.steps
      last = r.disagreement
      lastStart = start
      return r.disagreement === undefined
    }),
    { numRuns: options.runs, seed: options.seed, ...(options.path === undefined ? {} : { path: options.path }), endOnFailure: false }
  )
  const millis = performance.now() - started
  if (!result.failed) return { verdict: "agrees", runs: result.numRuns, steps, seed: options.seed, millis }
  if (result.counterexample === null) throw new Error(`conformance check failed without a counterexample: ${String(result.errorInstance)}`)
  // Re-run the shrunk schedule: `last` is from whatever run fast-check tried last.
  const [[seed, start, choices, swarm]] = result.counterexample
  const again = lockstep(options.model(start), options.impl(seed, start), options.verdicts, { choices, swarm })
  last = again.disagreement ?? last
  lastStart = start
  if (last === undefined) throw new Error("the shrunk conformance counterexample did not reproduce (non-determinism?)")
  return {
    verdict: "disagrees",
    runs: result.numRuns,
    steps,
    seed: options.seed,
    millis,
    disagreement: { start: String(lastStart), ...last, path: result.counterexamplePath ?? "" }
  }
}
