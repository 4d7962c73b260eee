/**
 * P5 on the symbolic model: every state reachable within AUTHLAB_DEPTH attacker moves (both
 * from scratch and from a registered device, with compromise allowed) is explored, and each
 * model-judged property gets the verdict spec/rolling-key/properties.ts expects per variant.
 */
import { beforeAll, describe, expect, it } from "vitest"
import { variants } from "../../spec/property.ts"
import { properties } from "../../spec/rolling-key/properties.ts"
import * as config from "../harness/config.ts"
import type { Counterexample, ModelOutcome, Subject } from "../suite.ts"
import { rollingKeySuite } from "./suite.ts"
import { explain as explainFor } from "../harness/explain.ts"

const explain = (property: string, subject: Subject, cx: Counterexample | undefined) => explainFor("rolling-key", property, subject, cx)

describe.each(variants)("P5 model, %s", (variant) => {
  const subject = { kind: "variant", variant } as const
  // Explore in a hook, not while the file is collected: vitest's worker must get back to its
  // event loop within 60 s (its RPC timeout), and collection does not yield between describes.
  let outcome: ModelOutcome
  beforeAll(() => {
    outcome = rollingKeySuite.explore(subject, { depth: config.depth })
  })

  it("explores a non-trivial state space exhaustively", () => {
    console.info(`P5 ${variant}: ${outcome.states} states, ${outcome.transitions} transitions, depth ${outcome.depth}, ${outcome.statesPerSecond} states/s`)
    expect(outcome.exhaustive).toBe(true)
    expect(outcome.states).toBeGreaterThan(1000)
  })

  it.each(properties.filter((p) => p.judgedIn.includes("model")).map((p) => [p.id, p] as const))("%s", (id, property) => {
    const j = outcome.judgements.get(id)!
    const expected = property.expected[variant]
    if (j.verdict === "fails") console.info(explain(id, subject, j.counterexample))
    expect(j.verdict, explain(id, subject, j.counterexample)).toBe(expected)
  })
})
