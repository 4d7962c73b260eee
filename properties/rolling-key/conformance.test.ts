/**
 * Conformance: the same attacker schedule runs on the symbolic model and on the implementation,
 * and after every move each participant's observation (device phase and key epoch; the server's
 * key epochs and outstanding challenge per device) and the verdicts must agree. Two generators:
 * fast-check model-based testing with the harness's move commands (the model as fast-check's
 * model), and flat schedules of enabled moves (denser in long exchanges); plus the regressions
 * they found, replayed move by move.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { variants } from "../../spec/property.ts"
import { policies } from "../../spec/rolling-key/variants.ts"
import type { Trace } from "../../spec/trace.ts"
import { decodeMove, encodeMove, type Move } from "../../spec/attacker.ts"
import { moveCommands } from "../harness/commands/index.ts"
import { pickMove, type World } from "../harness/world.ts"
import * as config from "../harness/config.ts"
import { makeImplWorld } from "./impl-world.ts"
import { makeModelWorld } from "./model-world.ts"
import type { Observation } from "../../model/rolling-key/system.ts"
import { STARTS } from "./suite.ts"

/** The verdicts both worlds must agree on (client-side refusals are worded differently). */
const verdicts = (trace: Trace) =>
  trace.flatMap((e) =>
    e._tag === "Commit" || e._tag === "Signal" || e._tag === "Accept" || (e._tag === "Reject" && e.actor === "server") ? [JSON.stringify(e)] : []
  )

const vocabulary = {
  users: [["client", "register"], ["client", "login"], ["clone", "login"]] as const,
  actors: ["client", "server", "clone"],
  attacks: [
    { _tag: "Compromise", actor: "client", into: "clone" },
    { _tag: "Inject", to: "client", forge: "grant" },
    { _tag: "Inject", to: "clone", forge: "grant" }
  ] as const
}

/** Apply moves to both worlds, comparing after each; returns the moves applied. */
const lockstep = (model: World<Observation>, impl: World<Observation>, moves: Iterable<Move>) => {
  const done: Array<string> = []
  expect(impl.observe()).toEqual(model.observe())
  for (const move of moves) {
    done.push(encodeMove(move))
    const m = model.step(move)
    const i = impl.step(move)
    expect(impl.observe(), `after ${done.join(" ")}`).toEqual(model.observe())
    expect(verdicts(i), `after ${done.join(" ")}`).toEqual(verdicts(m))
  }
  expect(verdicts(impl.continuation()), `after ${done.join(" ")} and the faults stop`).toEqual(verdicts(model.continuation()))
}

/** Schedules that once showed a disagreement (now fixed), kept as regressions. */
const regressions: ReadonlyArray<{ readonly why: string; readonly start: (typeof STARTS)[number]; readonly moves: string }> = [
  {
    why: "a stale registration response with a failing key confirmation must not cancel the pending registration",
    start: "fresh",
    moves: "U:client:register T:client D0 U:client:register D1"
  }
]

describe.each(variants)("P5 conformance, %s", (variant) => {
  it.each(regressions.map((r) => [r.why, r] as const))("regression: %s", (_, r) => {
    const policy = policies[variant]
    lockstep(makeModelWorld({ policy, clone: true, start: r.start }), makeImplWorld({ policy, seed: 1, clone: true, malformed: false, start: r.start }), r.moves.split(" ").map((m) => decodeMove(m)!))
  })

  it("random schedules of enabled moves agree", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7fffffff }), fc.constantFrom(...STARTS), fc.array(fc.nat({ max: 1 << 16 }), { maxLength: config.steps }), (seed, start, choices) => {
        const policy = policies[variant]
        const model = makeModelWorld({ policy, clone: true, start })
        const impl = makeImplWorld({ policy, seed, clone: true, malformed: false, start })
        // Moves are drawn from the model's enabled moves, lazily, as the schedule unfolds.
        lockstep(model, impl, (function* () {
          for (const choice of choices) yield pickMove(model.moves(), choice)
        })())
      }),
      { numRuns: config.runs, seed: 42 }
    )
  })

  it("fast-check model-based runs (move commands) agree", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7fffffff }), fc.constantFrom(...STARTS), moveCommands<Observation>(vocabulary, config.steps), (seed, start, commands) => {
        const policy = policies[variant]
        const model = makeModelWorld({ policy, clone: true, start })
        const impl = makeImplWorld({ policy, seed, clone: true, malformed: false, start })
        expect(impl.observe()).toEqual(model.observe())
        const setup = () => ({ model: { world: model, verdicts, done: [] as Array<string> }, real: impl })
        fc.modelRun(setup, commands)
        expect(verdicts(impl.continuation()), "after the faults stop").toEqual(verdicts(model.continuation()))
      }),
      { numRuns: config.runs, seed: 42 }
    )
  })
})
