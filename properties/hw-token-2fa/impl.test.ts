/**
 * P3 on the implementation: each property on each variant, judged by fast-check over random
 * fault schedules (AUTHLAB_RUNS runs of up to AUTHLAB_STEPS moves), seeded with the model's
 * counterexample and recorded regression paths. A failure prints its seed, path and replay command.
 */
import { describe, expect, it } from "vitest"
import { properties } from "../../spec/hw-token-2fa/properties.ts"
import { variants } from "../../spec/property.ts"
import * as config from "../harness/config.ts"
import { hwToken2faSuite } from "./suite.ts"
import { explain } from "./testing.ts"

describe.each(variants)("P3 implementation, %s", (variant) => {
  const subject = { kind: "variant", variant } as const
  it.each(properties.map((p) => [p.id, p] as const))("%s", (id, property) => {
    const j = hwToken2faSuite.checkImplNow(subject, property, { runs: config.runs, seed: 42 })
    if (j.verdict === "fails") console.info(explain(id, subject, j.counterexample))
    expect(j.verdict, explain(id, subject, j.counterexample)).toBe(property.expected[variant])
  })
})
