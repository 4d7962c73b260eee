/**
 * Shortest counterexamples survive the explorer's merging. P3 merges paths on its ordered history
 * of facts, not a summary of everything its properties read; a step into a situation already seen
 * must then still be judged with the continuation (model/explore/explorer.ts `judge`). Judged
 * without it, the claimed reuse-revokes-family attack below (an honest refresh, then the replay of
 * its request) was found only at depth 4.
 */
import { describe, expect, it } from "vitest"
import { suites } from "../../cli/protocols.ts"

const suite = suites.find((s) => s.protocol === "hw-token-2fa")!

describe("P3 shortest counterexample", () => {
  it.each([
    { name: "claimed", subject: { kind: "variant", variant: "claimed" } as const },
    { name: "mutant refresh-not-consumed", subject: { kind: "mutant", mutant: "refresh-not-consumed" } as const }
  ])("P3.reuse-revokes-family on $name is found at depth 2", ({ subject }) => {
    const judgement = suite.explore(subject, { depth: 10 }).judgements.get("P3.reuse-revokes-family")
    expect(judgement?.verdict).toBe("fails")
    expect(judgement?.counterexample?.depth).toBe(2)
  })
})
