/**
 * Conformance: the same attacker schedule runs on the symbolic model and on the implementation,
 * and after every move each participant's observation (device phase and token names, token
 * counter, the AuthServer's counter, throttling record and refresh-token statuses) and every
 * verdict must agree. The schedule is drawn from the model's enabled moves.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { encodeMove } from "../../spec/attacker.ts"
import { policies } from "../../spec/hw-token-2fa/variants.ts"
import { variants } from "../../spec/property.ts"
import type { Trace } from "../../spec/trace.ts"
import * as config from "../harness/config.ts"
import { pickMove } from "../harness/world.ts"
import { makeImplWorld } from "./impl-world.ts"
import { makeModelWorld } from "./model-world.ts"
import { mutants } from "./mutants/index.ts"

/** The verdicts both worlds must agree on, step by step. */
const verdicts = (trace: Trace) =>
  trace.flatMap((e) =>
    e._tag === "Commit" || e._tag === "Signal" || e._tag === "Accept" || (e._tag === "Reject" && e.actor !== "device") ? [JSON.stringify(e)] : []
  )

const subjects = [
  ...variants.map((v) => [v, policies[v]] as const),
  // one mutant with a switch the variants never flip, so its code path is conformance-checked too
  ...mutants.filter((m) => m.name === "otp-any-users-token" || m.name === "lockout-permanent").map((m) => [`mutant:${m.name}`, m.policy] as const)
]

describe.each(subjects)("P3 conformance, %s", (_name, policy) => {
  it("model and implementation agree after every move", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7fffffff }), fc.array(fc.nat({ max: 1 << 16 }), { maxLength: config.steps }), (seed, choices) => {
        const model = makeModelWorld({ policy })
        const impl = makeImplWorld({ policy, seed, malformed: false })
        expect(impl.observe()).toEqual(model.observe())
        expect(verdicts(impl.initialTrace)).toEqual(verdicts(model.initialTrace))
        const done: Array<string> = []
        for (const choice of choices) {
          const move = pickMove(model.moves(), choice)
          done.push(encodeMove(move))
          expect(impl.moves().map(encodeMove), `after ${done.join(" ")}`).toEqual(model.moves().map(encodeMove))
          const m = model.step(move)
          const i = impl.step(move)
          expect(impl.observe(), `after ${done.join(" ")}`).toEqual(model.observe())
          expect(verdicts(i), `after ${done.join(" ")}`).toEqual(verdicts(m))
        }
        expect(verdicts(impl.continuation())).toEqual(verdicts(model.continuation()))
      }),
      { numRuns: Math.max(1, Math.round(config.runs / 2)), seed: 42 }
    )
  })
})
