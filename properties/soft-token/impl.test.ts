/**
 * P1 on the implementation: each property on each variant, judged by fast-check over random
 * attacker schedules (AUTHLAB_RUNS runs of up to AUTHLAB_STEPS moves), seeded with the model's
 * counterexample when there is one. A failure prints its seed, path and replay command.
 */
import { describe, expect, it } from "vitest"
import { variants } from "../../spec/property.ts"
import { properties } from "../../spec/soft-token/properties.ts"
import * as config from "../harness/config.ts"
import { softTokenSuite } from "./suite.ts"
import { explain as explainFor } from "../harness/explain.ts"
import type { Counterexample, Subject } from "../suite.ts"

const explain = (property: string, subject: Subject, cx: Counterexample | undefined) => explainFor("soft-token", property, subject, cx)

describe.each(variants)("P1 implementation, %s", (variant) => {
  const subject = { kind: "variant", variant } as const
  it.each(properties.map((p) => [p.id, p] as const))("%s", (id, property) => {
    const j = softTokenSuite.checkImplNow(subject, property, { runs: config.runs, seed: 42 })
    expect(j.verdict, explain(id, subject, j.counterexample)).toBe(property.expected[variant])
  })
})
