/**
 * Every P3 property can fail: each mutant (one deliberate flaw in the hardened participants) is
 * killed by the properties it names — in the model, explored by iterative deepening up to depth 4
 * (every P3 mutant is caught within four moves; deeper would only cost time), else on the
 * implementation — and
 * every property kills at least one mutant or fails on `claimed`.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { properties } from "../../spec/hw-token-2fa/properties.ts"
import * as config from "../harness/config.ts"
import { mutants } from "./mutants/index.ts"
import { hwToken2faSuite } from "./suite.ts"

const MUTANT_DEPTH = Math.min(config.depth, 4)

const killedBy = (mutant: string, propertyId: string): boolean => {
  const subject = { kind: "mutant", mutant } as const
  const property = properties.find((p) => p.id === propertyId)!
  if (property.judgedIn.includes("model")) {
    // iterative deepening: most mutants fall within two or three moves, where the space is small
    for (let depth = 1; depth <= MUTANT_DEPTH; depth++) {
      const j = hwToken2faSuite.explore(subject, { depth }).judgements.get(propertyId)
      if (j?.verdict === "fails") return true
    }
  }
  return Effect.runSync(hwToken2faSuite.checkImpl(subject, property, { runs: config.runs, seed: 42 })).verdict === "fails"
}

describe("P3 mutants", () => {
  it.each(mutants.flatMap((m) => m.expectedKilledBy.map((p) => [m.name, p] as const)))("%s is killed by %s", (mutant, property) => {
    expect(killedBy(mutant, property), `${mutant} survived ${property}`).toBe(true)
  })

  it("every property fails on claimed or kills a mutant", () => {
    const catching = new Set([...properties.filter((p) => p.expected.claimed === "fails").map((p) => p.id), ...mutants.flatMap((m) => m.expectedKilledBy)])
    expect(properties.map((p) => p.id).filter((id) => !catching.has(id))).toEqual([])
  })
})
