/**
 * Judge one property on the implementation with fast-check: random move schedules (with faults)
 * of bounded length, each run on a fresh world whose randomness comes from a seed the
 * arbitrary draws — so fast-check's seed and path replay a failure exactly, byte for byte.
 *
 * Runs are really `depth` moves long: every random run draws exactly `depth` choices (fast-check's
 * default size would stop arrays at 10 moves, and its bias towards short arrays would make most
 * runs far shorter). A failing run is shrunk by fast-check (towards simpler choices), then cut to
 * its shortest failing prefix — deterministically, so a replay of the same seed and path prints
 * the same counterexample.
 */
import fc from "fast-check"
import type { SecurityProperty } from "../../spec/property.ts"
import { formatMove } from "../../spec/attacker.ts"
import type { Guidance, ImplJudgement } from "../suite.ts"
import { type Run, runChoices, type World } from "./world.ts"

/** One run: the world's random seed, its start index, the move choices and the swarm mask (0: every kind of move; see `pickMove`). */
export type RunValue = [number, number, Array<number>, number]

/** A run tried before the random ones, with where it came from (the judgement reports it). */
export interface ImplExample {
  readonly origin: Exclude<Guidance, "unguided">
  readonly value: RunValue
}

export interface ImplCheckOptions {
  /** Random runs (the examples come on top of them). */
  readonly runs: number
  readonly seed: number
  readonly path?: string
  /** Maximum number of attacker moves per run (before the fault-free continuation). */
  readonly depth: number
  /** How many set-ups `makeWorld` offers (its `start` argument ranges over 0..starts-1). */
  readonly starts: number
  /** Runs to try before the random ones, e.g. a model counterexample translated to choices. */
  readonly examples?: ReadonlyArray<ImplExample>
  /**
   * false: report the first failing run as found (cut to its shortest failing prefix) without
   * fast-check's shrinking, which makes hundreds of runs — costly when each run is HTTP requests
   * to a remote server. Default true. A replay of such a finding must say false too: its path is
   * then the run's index alone.
   */
  readonly shrink?: boolean
}

/**
 * The arbitrary of one run: the world's random seed, which set-up it starts from (a world may
 * offer several, e.g. fresh and already registered), the move choices, and a swarm mask: half the
 * runs pick from every kind of move, the other half from a random subset of the kinds, each kept
 * with probability 3/4 (`pickMove`). Measured over every definition mutant × expected killer
 * (237 pairs), 3 seeds × 100 unguided runs each: the mean runs to a kill went from 10.0 without
 * swarms to 9.7 (9.3 keeping each kind with probability 1/2, which doubled the runs one served
 * P2b mutant needed: an attack of three kinds of move survives a 1/2 mask once in eight); the
 * same one pair survives 100 runs in one seed in all of them.
 */
export const runArbitrary = (depth: number, starts: number): fc.Arbitrary<RunValue> =>
  fc.tuple(
    fc.integer({ min: 0, max: 0x7fffffff }),
    fc.nat({ max: starts - 1 }),
    fc.array(fc.nat({ max: 1 << 16 }), { minLength: depth, maxLength: depth }),
    // a swarm mask keeps each kind with probability 3/4 (two random masks or-ed)
    fc.oneof(fc.constant(0), fc.tuple(fc.integer({ min: 1, max: 0xffff }), fc.integer({ min: 1, max: 0xffff })).map(([a, b]) => a | b))
  )

/** The shortest prefix of `choices` for which `fails` still holds (`choices` itself at worst). */
export const shortestFailingPrefix = (choices: ReadonlyArray<number>, fails: (prefix: ReadonlyArray<number>) => boolean): Array<number> => {
  for (let length = 0; length < choices.length; length++) if (fails(choices.slice(0, length))) return choices.slice(0, length)
  return [...choices]
}

/**
 * Runs of the implementation, remembered by their input: the checks of the properties of one
 * subject draw the same inputs (same seed, same arbitrary), so each run is made once and its trace
 * judged by every property. A run is a pure function of its input (seeded randomness, stepped
 * clock), which is what makes this sound.
 */
export const rememberingRuns = <O>(makeWorld: (worldSeed: number, start: number) => World<O>, limit = 5_000) => {
  const runs = new Map<string, Run>()
  return (worldSeed: number, start: number, choices: ReadonlyArray<number>, swarm = 0): Run => {
    const key = `${worldSeed}/${start}/${swarm}/${choices.join(",")}`
    let run = runs.get(key)
    if (run === undefined) {
      run = runChoices(makeWorld(worldSeed, start), choices, { continuation: true, swarm })
      if (runs.size >= limit) runs.clear()
      runs.set(key, run)
    }
    return run
  }
}

export const checkOnImpl = (
  runOf: (worldSeed: number, start: number, choices: ReadonlyArray<number>, swarm: number) => Run,
  property: SecurityProperty,
  options: ImplCheckOptions
): Omit<ImplJudgement, "guidance"> => {
  const started = performance.now()
  const examples = options.examples ?? []
  const result = fc.check(
    fc.property(runArbitrary(options.depth, options.starts), ([worldSeed, start, choices, swarm]) => property.check(runOf(worldSeed, start, choices, swarm).trace) === undefined),
    {
      // Examples count against numRuns in fast-check: add them, so the random runs stay `runs`.
      numRuns: options.runs + examples.length,
      seed: options.seed,
      examples: examples.map((e) => [e.value] as [RunValue]),
      ...(options.path === undefined ? {} : { path: options.path }),
      endOnFailure: options.shrink === false
    }
  )
  const millis = performance.now() - started
  if (!result.failed) return { verdict: "holds", runs: result.numRuns, seed: options.seed, millis }
  if (result.counterexample === null) throw new Error(`fast-check failed without a counterexample: ${String(result.errorInstance)}`)
  const [[worldSeed, start, shrunk, swarm]] = result.counterexample
  const violates = (choices: ReadonlyArray<number>) => property.check(runOf(worldSeed, start, choices, swarm).trace) !== undefined
  const choices = shortestFailingPrefix(shrunk, violates)
  // The shortest case's trace; a run that throws (rather than violating the property) is a bug in
  // the harness or the implementation and surfaces as an exception.
  const run = runOf(worldSeed, start, choices, swarm)
  const violation = property.check(run.trace)
  if (violation === undefined) throw new Error(`${property.id}: the shrunk counterexample did not reproduce (non-determinism?)`)
  // The path's first step is the index of the run that failed first: the examples come first.
  const path = result.counterexamplePath ?? ""
  const first = Number(path.split(":")[0])
  const foundBy: Guidance = Number.isInteger(first) && first < examples.length ? examples[first]!.origin : "unguided"
  return {
    verdict: "fails",
    runs: result.numRuns,
    seed: options.seed,
    millis,
    foundBy,
    counterexample: {
      world: "impl",
      steps: run.moves.map(formatMove),
      trace: run.trace,
      violation,
      seed: options.seed,
      path
    }
  }
}
