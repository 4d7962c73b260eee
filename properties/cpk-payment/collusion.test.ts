/**
 * The linear-collusion finding on the implementation, directly: the world's attacker registers a
 * coalition with the KMC, solves for the matrix by Gaussian elimination mod n and pays itself as
 * zhang. `claimed`: the backend's own verifier accepts, and P4.linear-collusion reports the number
 * of keys; `hardened`: refused, and the property holds.
 */
import { describe, expect, it } from "vitest"
import { linearCollusion, unforgeability } from "../../spec/cpk-payment/properties.ts"
import { collusionBound, policies, WORLD_COLUMNS, WORLD_ROWS } from "../../spec/cpk-payment/variants.ts"
import { makeImplWorld } from "./impl-world.ts"

const collude = (variant: "claimed" | "hardened") => {
  const world = makeImplWorld({ policy: policies[variant], seed: 5, malformed: false })
  return [...world.initialTrace, ...world.step({ _tag: "Inject", to: "backend", forge: "collude" })]
}

describe("P4 linear collusion on the implementation", () => {
  it("claimed: a coalition of m(h−1)+1 = 13 keys pays itself as zhang, and the backend accepts", () => {
    const trace = collude("claimed")
    const deliver = trace.find((e) => e._tag === "Deliver")
    expect(deliver?._tag === "Deliver" && deliver.label).toMatch(/^collusion:\d+-keys$/)
    const keys = Number(/collusion:(\d+)-keys/.exec(deliver?._tag === "Deliver" ? deliver.label : "")?.[1])
    expect(keys).toBeGreaterThanOrEqual(collusionBound(WORLD_ROWS, WORLD_COLUMNS))
    expect(trace.some((e) => e._tag === "Commit" && e.actor === "backend" && e.data.includes("payer=zhang;payee=mallory"))).toBe(true)
    const v = linearCollusion.check(trace)
    expect(v?.reason).toContain(`coalition of ${keys} registered users`)
    expect(v?.reason).toContain("993")
    console.info(`P4 collusion finding: ${v?.reason}`)
    // the coalition's forgery is not the unforgeability property's business
    expect(unforgeability.check(trace)).toBeUndefined()
  })

  it("hardened: the same coalition's key fails under zhang's certified key", () => {
    const trace = collude("hardened")
    expect(trace.some((e) => e._tag === "Reject" && e.actor === "backend" && e.reason === "bad-signature")).toBe(true)
    expect(linearCollusion.check(trace)).toBeUndefined()
  })
})
