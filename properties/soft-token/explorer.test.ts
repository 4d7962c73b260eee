/**
 * P1 on the symbolic model: every state reachable within AUTHLAB_DEPTH attacker moves (two
 * concurrent issuance sessions — the victim's and the attacker's own device — phishing of the
 * user's OTP, guessing bursts, clock ticks, stolen and forged tokens at a relying party) is
 * explored, and each model-judged property gets the verdict spec/soft-token/properties.ts expects.
 */
import { beforeAll, describe, expect, it } from "vitest"
import { variants } from "../../spec/property.ts"
import { properties } from "../../spec/soft-token/properties.ts"
import * as config from "../harness/config.ts"
import { softTokenSuite } from "./suite.ts"
import { explain as explainFor } from "../harness/explain.ts"
import type { Counterexample, ModelOutcome, Subject } from "../suite.ts"

const explain = (property: string, subject: Subject, cx: Counterexample | undefined) => explainFor("soft-token", property, subject, cx)

describe.each(variants)("P1 model, %s", (variant) => {
  const subject = { kind: "variant", variant } as const
  // Explore in a hook, not while the file is collected (see properties/rolling-key/explorer.test.ts).
  let outcome: ModelOutcome
  beforeAll(() => {
    outcome = softTokenSuite.explore(subject, { depth: config.depth })
  })

  it("explores a non-trivial state space exhaustively", () => {
    console.info(`P1 ${variant}: ${outcome.states} states, ${outcome.transitions} transitions, depth ${outcome.depth}, ${outcome.statesPerSecond} states/s`)
    expect(outcome.exhaustive).toBe(true)
    expect(outcome.states).toBeGreaterThan(1000)
  })

  it.each(properties.filter((p) => p.judgedIn.includes("model")).map((p) => [p.id, p] as const))("%s", (id, property) => {
    const j = outcome.judgements.get(id)!
    expect(j.verdict, explain(id, subject, j.counterexample)).toBe(property.expected[variant])
  })
})
