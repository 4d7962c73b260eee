/**
 * Conformance: the same attacker schedule runs on the symbolic model and on the implementation,
 * and after every move each participant's observation (device phases and tokens, computer
 * phases, the service's issuance records: key, OTP still valid, wrong guesses counted) and every
 * verdict fact (Running, Secret, Accept, Commit, Reject, Signal) must agree. The schedule is drawn
 * from the model's enabled moves.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { encodeMove } from "../../spec/attacker.ts"
import { variants } from "../../spec/property.ts"
import { policies } from "../../spec/soft-token/variants.ts"
import type { Trace } from "../../spec/trace.ts"
import * as config from "../harness/config.ts"
import { pickMove } from "../harness/world.ts"
import { makeImplWorld } from "./impl-world.ts"
import { makeModelWorld } from "./model-world.ts"

const FACTS = new Set(["Running", "Secret", "Accept", "Commit", "Reject", "Signal"])
const verdicts = (trace: Trace) => trace.flatMap((e) => (FACTS.has(e._tag) ? [JSON.stringify(e)] : []))

describe.each(variants)("P1 conformance, %s", (variant) => {
  it("model and implementation agree after every move", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7fffffff }), fc.array(fc.nat({ max: 1 << 16 }), { maxLength: config.steps }), (seed, choices) => {
        const policy = policies[variant]
        const model = makeModelWorld({ policy })
        const impl = makeImplWorld({ policy, seed, malformed: false })
        expect(impl.observe()).toEqual(model.observe())
        const done: Array<string> = []
        for (const choice of choices) {
          const enabled = model.moves()
          if (enabled.length === 0) break
          const move = pickMove(enabled, choice)
          done.push(encodeMove(move))
          const m = model.step(move)
          const i = impl.step(move)
          expect(impl.observe(), `after ${done.join(" ")}`).toEqual(model.observe())
          expect(verdicts(i), `after ${done.join(" ")}`).toEqual(verdicts(m))
        }
      }),
      { numRuns: Math.max(1, Math.floor(config.runs / 2)), seed: 42 }
    )
  })
})
