/**
 * Judge one property on the implementation with fast-check: random move schedules (with faults)
 * of bounded length, each run on a fresh world whose randomness comes from a seed the
 * arbitrary draws — so fast-check's seed and path replay a failure exactly, byte for byte.
 */
import fc from "fast-check"
import type { SecurityProperty } from "../../spec/property.ts"
import { formatMove } from "../../spec/attacker.ts"
import type { ImplJudgement } from "../suite.ts"
import { runChoices, type World } from "./world.ts"

export interface ImplCheckOptions {
  readonly runs: number
  readonly seed: number
  readonly path?: string
  /** Maximum number of attacker moves per run (before the fault-free continuation). */
  readonly depth: number
  /** How many set-ups `makeWorld` offers (its `start` argument ranges over 0..starts-1). */
  readonly starts: number
  /** Runs to try before the random ones, e.g. a model counterexample translated to choices. */
  readonly examples?: ReadonlyArray<[number, number, Array<number>]>
}

/**
 * The arbitrary of one run: the world's random seed, which set-up it starts from (a world may
 * offer several, e.g. fresh and already registered) and the move choices.
 */
export const runArbitrary = (depth: number, starts: number) =>
  fc.tuple(fc.integer({ min: 0, max: 0x7fffffff }), fc.nat({ max: starts - 1 }), fc.array(fc.nat({ max: 1 << 16 }), { maxLength: depth }))

export const checkOnImpl = <O>(
  makeWorld: (worldSeed: number, start: number) => World<O>,
  property: SecurityProperty,
  options: ImplCheckOptions
): ImplJudgement => {
  const started = performance.now()
  const result = fc.check(
    fc.property(runArbitrary(options.depth, options.starts), ([worldSeed, start, choices]) => {
      const run = runChoices(makeWorld(worldSeed, start), choices, { continuation: true })
      return property.check(run.trace) === undefined
    }),
    { numRuns: options.runs, seed: options.seed, examples: (options.examples ?? []).map((e) => [e] as [[number, number, Array<number>]]), ...(options.path === undefined ? {} : { path: options.path }), endOnFailure: false }
  )
  const millis = performance.now() - started
  if (!result.failed) return { verdict: "holds", runs: result.numRuns, seed: options.seed, millis }
  if (result.counterexample === null) throw new Error(`fast-check failed without a counterexample: ${String(result.errorInstance)}`)
  const [[worldSeed, start, choices]] = result.counterexample
  // Re-run the shrunk case to get its trace; a run that throws (rather than violating the
  // property) is a bug in the harness or the implementation and surfaces here as an exception.
  const run = runChoices(makeWorld(worldSeed, start), choices, { continuation: true })
  const violation = property.check(run.trace)
  if (violation === undefined) throw new Error(`${property.id}: the shrunk counterexample did not reproduce (non-determinism?)`)
  return {
    verdict: "fails",
    runs: result.numRuns,
    seed: options.seed,
    millis,
    counterexample: {
      world: "impl",
      steps: run.moves.map(formatMove),
      trace: run.trace,
      violation,
      seed: options.seed,
      path: result.counterexamplePath ?? ""
    }
  }
}
