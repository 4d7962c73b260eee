/**
 * Every P1 property can fail: each mutant (one deliberate flaw in the hardened participants) is
 * killed by the property it names, in the model or on the implementation, and every property
 * kills a mutant or fails on `claimed`. The model is explored to depth 4 here (every P1
 * counterexample is at most 4 moves long), which keeps nine explorations cheap.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { properties } from "../../spec/soft-token/properties.ts"
import * as config from "../harness/config.ts"
import { mutants } from "./mutants/index.ts"
import { softTokenSuite } from "./suite.ts"

const MUTANT_DEPTH = Math.min(config.depth, 4)

const killedBy = (mutant: string, propertyId: string): boolean => {
  const subject = { kind: "mutant", mutant } as const
  const property = properties.find((p) => p.id === propertyId)!
  if (property.judgedIn.includes("model")) {
    const j = softTokenSuite.explore(subject, { depth: MUTANT_DEPTH }).judgements.get(propertyId)
    if (j?.verdict === "fails") return true
  }
  return Effect.runSync(softTokenSuite.checkImpl(subject, property, { runs: config.runs, seed: 42 })).verdict === "fails"
}

describe("P1 mutants", () => {
  it.each(mutants.flatMap((m) => m.expectedKilledBy.map((p) => [m.name, p] as const)))("%s is killed by %s", (mutant, property) => {
    expect(killedBy(mutant, property), `${mutant} survived ${property}`).toBe(true)
  })

  it("every property fails on claimed or kills a mutant", () => {
    const catching = new Set([...properties.filter((p) => p.expected.claimed === "fails").map((p) => p.id), ...mutants.flatMap((m) => m.expectedKilledBy)])
    expect(properties.map((p) => p.id).filter((id) => !catching.has(id))).toEqual([])
  })
})
