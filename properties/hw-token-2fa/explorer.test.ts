/**
 * P3 on the symbolic model: every state reachable within min(AUTHLAB_DEPTH, MAX_MODEL_DEPTH)
 * moves from an honest login is explored, and each model-judged property gets the verdict
 * spec/hw-token-2fa/properties.ts expects per variant.
 */
import { beforeAll, describe, expect, it } from "vitest"
import { properties } from "../../spec/hw-token-2fa/properties.ts"
import { variants } from "../../spec/property.ts"
import * as config from "../harness/config.ts"
import type { ModelOutcome } from "../suite.ts"
import { hwToken2faSuite } from "./suite.ts"
import { explain } from "./testing.ts"

describe.each(variants)("P3 model, %s", (variant) => {
  const subject = { kind: "variant", variant } as const
  // Explore in a hook, not while the file is collected (see properties/rolling-key/explorer.test.ts).
  let outcome: ModelOutcome
  beforeAll(() => {
    outcome = hwToken2faSuite.explore(subject, { depth: config.depth })
  })

  it("explores a non-trivial state space exhaustively", () => {
    console.info(`P3 ${variant}: ${outcome.states} states, ${outcome.transitions} transitions, depth ${outcome.depth}, ${outcome.statesPerSecond} states/s`)
    expect(outcome.exhaustive).toBe(true)
    expect(outcome.states).toBeGreaterThan(1000)
  })

  it.each(properties.filter((p) => p.judgedIn.includes("model")).map((p) => [p.id, p] as const))("%s", (id, property) => {
    const j = outcome.judgements.get(id)!
    if (j.verdict === "fails") console.info(explain(id, subject, j.counterexample))
    expect(j.verdict, explain(id, subject, j.counterexample)).toBe(property.expected[variant])
  })
})
