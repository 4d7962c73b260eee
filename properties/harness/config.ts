/**
 * Property-test sizes, read once from the environment so CI and a developer can turn them up or
 * down without editing tests: `AUTHLAB_RUNS` (fast-check runs per property, default 100) and
 * `AUTHLAB_DEPTH` (bound for the symbolic explorer and command sequences, default 10).
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

/** Exploration / command-sequence depth bound. */
export const depth: number = positiveInteger("AUTHLAB_DEPTH", 10)
