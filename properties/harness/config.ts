/**
 * Property-test sizes, read once from the environment so CI and a developer can turn them up or
 * down without editing tests: `AUTHLAB_RUNS` (fast-check runs per property, default 100),
 * `AUTHLAB_DEPTH` (attacker moves the symbolic explorer goes to, exhaustively, default 6) and
 * `AUTHLAB_STEPS` (attacker moves in one random run of the implementation, default 12).
 */

const positiveInteger = (name: string, fallback: number): number => {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === "") return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${JSON.stringify(raw)}`)
  }
  return value
}

/** fast-check `numRuns` for each property. */
export const runs: number = positiveInteger("AUTHLAB_RUNS", 100)

/** Exhaustive exploration bound (attacker moves; a move may be a whole honest exchange). */
export const depth: number = positiveInteger("AUTHLAB_DEPTH", 6)

/** Maximum attacker moves in one random implementation run. */
export const DEFAULT_STEPS = 12
export const steps: number = positiveInteger("AUTHLAB_STEPS", DEFAULT_STEPS)
