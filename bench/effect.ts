/**
 * Context for the "our layer" ratios: what one call through each Effect wrapper costs when the
 * body does nothing, run with `Effect.runSync` as the crypto figures are. Our crypto layers
 * return an already-complete `Exit` (impl/crypto/bytes.ts `compute`), which `runSync` takes
 * without starting a fiber; that is the baseline here. The traced `Effect.fn` captures a stack
 * trace per call, `Effect.fnUntraced` and `Effect.gen` build a generator and run a fiber, and
 * `Effect.sync` runs a fiber for one step. The P5 participants' authentication steps are
 * `Effect.fnUntraced`, their registration steps `Effect.fn`.
 */
import { Effect, Exit } from "effect"
import type { Case } from "./measure.ts"

export const GROUP = "effect"
const OPERATION = "Effect wrapper around an empty body, run with runSync"

export const Wrapper = {
  traced: 'Effect.fn("name")',
  untraced: "Effect.fnUntraced",
  gen: "Effect.gen",
  sync: "Effect.sync",
  exit: "a function returning an Exit, as our crypto layers"
} as const

export const effectCases = (): Array<Case> => {
  let n = 0
  const traced = Effect.fn("Bench.named")(function*(x: number) {
    return x + 1
  })
  const untraced = Effect.fnUntraced(function*(x: number) {
    return x + 1
  })
  const gen = (x: number) =>
    Effect.gen(function*() {
      return x + 1
    })
  const sync = (x: number) => Effect.sync(() => x + 1)
  const exit = (x: number) => Exit.succeed(x + 1)
  const cases = (implementation: string, fn: () => unknown): Case => ({ group: GROUP, operation: OPERATION, implementation, fn })
  return [
    cases(Wrapper.traced, () => Effect.runSync(traced(n++))),
    cases(Wrapper.untraced, () => Effect.runSync(untraced(n++))),
    cases(Wrapper.gen, () => Effect.runSync(gen(n++))),
    cases(Wrapper.sync, () => Effect.runSync(sync(n++))),
    cases(Wrapper.exit, () => Effect.runSync(exit(n++)))
  ]
}

export const effectBaselines: Readonly<Record<string, string>> = {
  [Wrapper.traced]: Wrapper.exit,
  [Wrapper.untraced]: Wrapper.exit,
  [Wrapper.gen]: Wrapper.exit,
  [Wrapper.sync]: Wrapper.exit
}
