/**
 * Context for the "our layer" ratios: what one call through an Effect wrapper costs when the
 * body does nothing. Our crypto layers define every method with `Effect.fn("Crypto.method")`
 * (a traced span per call) and are run here with `Effect.runSync`; the difference between
 * `1 / ours` and `1 / raw` in the crypto table is close to `1 / this figure`.
 */
import { Effect } from "effect"
import type { Case } from "./measure.ts"

export const GROUP = "effect"
const OPERATION = "Effect wrapper around an empty body, run with runSync"

export const effectCases = (): Array<Case> => {
  let n = 0
  const named = Effect.fn("Bench.named")(function*(x: number) {
    return x + 1
  })
  const gen = (x: number) =>
    Effect.gen(function*() {
      return x + 1
    })
  return [
    { group: GROUP, operation: OPERATION, implementation: 'Effect.fn("name"), as our layers', fn: () => Effect.runSync(named(n++)) },
    { group: GROUP, operation: OPERATION, implementation: "Effect.gen", fn: () => Effect.runSync(gen(n++)) }
  ]
}

export const effectBaselines: Readonly<Record<string, string>> = {
  'Effect.fn("name"), as our layers': "Effect.gen"
}
