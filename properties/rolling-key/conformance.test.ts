/**
 * Conformance: the same attacker schedule runs on the symbolic model and on the implementation,
 * and after every move each participant's observation (device phase and key epoch; the server's
 * key epochs and outstanding challenge per device) must agree. The schedule is drawn from the
 * model's enabled moves, so every move is one the model defines.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { encodeMove } from "../../spec/attacker.ts"
import { variants } from "../../spec/property.ts"
import { policies } from "../../spec/rolling-key/variants.ts"
import type { Trace } from "../../spec/trace.ts"
import * as config from "../harness/config.ts"
import { pickMove } from "../harness/world.ts"
import { makeImplWorld } from "./impl-world.ts"
import { makeModelWorld } from "./model-world.ts"
import { STARTS } from "./suite.ts"

/** The verdicts both worlds must agree on, step by step (client-side refusals are worded differently). */
const verdicts = (trace: Trace) =>
  trace.flatMap((e) =>
    (e._tag === "Commit" || e._tag === "Signal" || (e._tag === "Reject" && e.actor === "server")) || e._tag === "Accept"
      ? [JSON.stringify(e)]
      : []
  )

describe.each(variants)("P5 conformance, %s", (variant) => {
  it("model and implementation agree after every move", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0x7fffffff }),
        fc.constantFrom(...STARTS),
        fc.array(fc.nat({ max: 1 << 16 }), { maxLength: config.steps }),
        (seed, start, choices) => {
          const policy = policies[variant]
          const model = makeModelWorld({ policy, clone: true, start })
          const impl = makeImplWorld({ policy, seed, clone: true, malformed: false, start })
          expect(impl.observe()).toEqual(model.observe())
          const done: Array<string> = []
          for (const choice of choices) {
            const move = pickMove(model.moves(), choice)
            done.push(encodeMove(move))
            const m = model.step(move)
            const i = impl.step(move)
            expect(impl.observe(), `after ${done.join(" ")}`).toEqual(model.observe())
            expect(verdicts(i), `after ${done.join(" ")}`).toEqual(verdicts(m))
          }
          expect(verdicts(impl.continuation())).toEqual(verdicts(model.continuation()))
        }
      ),
      { numRuns: config.runs, seed: 42 }
    )
  })
})
