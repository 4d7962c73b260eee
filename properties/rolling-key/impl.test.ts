/**
 * P5 on the implementation: each property on each variant, judged by fast-check over random
 * fault schedules (AUTHLAB_RUNS runs of up to AUTHLAB_STEPS moves), seeded with the model's
 * counterexample when there is one. A failure prints its seed, path and replay command.
 */
import { describe, expect, it } from "vitest"
import { variants } from "../../spec/property.ts"
import { properties } from "../../spec/rolling-key/properties.ts"
import * as config from "../harness/config.ts"
import type { Counterexample, Subject } from "../suite.ts"
import { rollingKeySuite } from "./suite.ts"
import { explain as explainFor } from "../harness/explain.ts"

const explain = (property: string, subject: Subject, cx: Counterexample | undefined) => explainFor("rolling-key", property, subject, cx)

describe.each(variants)("P5 implementation, %s", (variant) => {
  const subject = { kind: "variant", variant } as const
  it.each(properties.map((p) => [p.id, p] as const))("%s", (id, property) => {
    const j = rollingKeySuite.checkImplNow(subject, property, { runs: config.runs, seed: 42 })
    if (j.verdict === "fails") console.info(explain(id, subject, j.counterexample))
    expect(j.verdict, explain(id, subject, j.counterexample)).toBe(property.expected[variant])
  })
})
