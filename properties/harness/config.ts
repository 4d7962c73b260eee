/**
 * Sizes of the property checks, read once from the environment so CI and a developer can turn
 * them up or down without editing tests: `AUTHLAB_RUNS` (fast-check runs per check, default
 * 100), `AUTHLAB_DEPTH` (attacker moves the symbolic explorer takes the hardened variants to,
 * exhaustively; unset: each protocol's own `defaultDepth`; the mutants and claimed go to the
 * protocol's guide depth, or less),
 * `AUTHLAB_STEPS` (attacker moves in one random run of the implementation, default 12) and
 * `AUTHLAB_WORKERS` (audit worker threads, default one per core) and `AUTHLAB_FUZZ` (inputs per
 * message type in the canonical-decoding fuzz, default 10,000).
 *
 * A bad value never throws while modules load (that would be a stack trace instead of an
 * answer): it is recorded in `configProblems`, the default is used meanwhile, and the `authlab`
 * command and the test setup refuse to start while there is any, naming the variable and the
 * allowed range.
 */
import { availableParallelism } from "node:os"

/** Each bad environment value, as one line for the user. */
export const configProblems: Array<string> = []

/** The largest values we accept: beyond them a run does not finish in any useful time. */
export const LIMITS = { runs: 1_000_000, depth: 30, steps: 200, workers: 64, fuzz: 10_000_000 } as const

/** An environment value as an integer from 1 to `max`: its value, the fallback when unset, or the problem. */
export const parseSize = (name: string, raw: string | undefined, fallback: number, max: number): { readonly value: number; readonly problem?: string } => {
  if (raw === undefined || raw.trim() === "") return { value: fallback }
  const value = /^\s*\d+\s*$/.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isSafeInteger(value) || value < 1 || value > max) return { value: fallback, problem: `${name} must be an integer from 1 to ${max}, got ${JSON.stringify(raw)}` }
  return { value }
}

const integerIn = (name: string, fallback: number, max: number): number => {
  const parsed = parseSize(name, process.env[name], fallback, max)
  if (parsed.problem !== undefined) configProblems.push(parsed.problem)
  return parsed.value
}

/** fast-check `numRuns` for each property. */
export const runs: number = integerIn("AUTHLAB_RUNS", 100, LIMITS.runs)

/**
 * Exhaustive exploration bound (attacker moves; a move may be a whole honest exchange), or
 * `undefined`: each protocol's own default (its definition's `defaultDepth`).
 */
export const depth: number | undefined = process.env.AUTHLAB_DEPTH === undefined || process.env.AUTHLAB_DEPTH.trim() === "" ? undefined : integerIn("AUTHLAB_DEPTH", 1, LIMITS.depth)

/** Maximum attacker moves in one random implementation run. */
export const DEFAULT_STEPS = 12
export const steps: number = integerIn("AUTHLAB_STEPS", DEFAULT_STEPS, LIMITS.steps)

/** Audit worker threads: one per core by default. */
export const workers: number = integerIn("AUTHLAB_WORKERS", Math.max(1, availableParallelism()), LIMITS.workers)

/** Inputs per message type in the canonical-decoding fuzz (`AUTHLAB_FUZZ`). */
export const fuzz: number = integerIn("AUTHLAB_FUZZ", 10_000, LIMITS.fuzz)
