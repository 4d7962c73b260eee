/**
 * The conformance driver's own checks, on two tiny worlds: the step-wise comparison reports the
 * first move where the implementation's attacker lacks a move the model's has, and where the
 * observations part.
 */
import { describe, expect, it } from "vitest"
import type { Move } from "../../spec/attacker.ts"
import { lockstep } from "./conformance.ts"
import type { World } from "./world.ts"

const tick: Move = { _tag: "Timeout", actor: "clock" }
const poke: Move = { _tag: "Inject", to: "server", forge: "poke" }

/** A counter world: `tick` adds one, offered while the count is under `maxTicks`; `poke` is offered when `pokes` says. */
const counter = (maxTicks: number, pokes = false): World<number> => {
  let n = 0
  return {
    initialTrace: [],
    moves: () => [...(n < maxTicks ? [tick] : []), ...(pokes ? [poke] : [])],
    step: () => {
      n++
      return [{ _tag: "Tick", actor: "clock" }]
    },
    observe: () => n,
    continuation: () => [{ _tag: "FaultsEnd" }]
  }
}

describe("lockstep", () => {
  it("agrees when the worlds offer the same moves and observe the same", () => {
    expect(lockstep(counter(3), counter(3), () => [], { moves: [tick, tick, tick] }).disagreement).toBeUndefined()
  })

  it("an implementation may offer more moves than the model", () => {
    expect(lockstep(counter(3), counter(3, true), () => [], { moves: [tick, tick] }).disagreement).toBeUndefined()
  })

  it("reports the first point where the model offers a move the implementation does not", () => {
    const d = lockstep(counter(3), counter(2), () => [], { moves: [tick, tick, tick] }).disagreement
    expect(d?.what).toMatch(/moves offered/)
    expect(d?.moves).toEqual(["T:clock", "T:clock"])
    expect(d?.model).toBe("T:clock")
  })
})
