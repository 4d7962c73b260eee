/**
 * P5, issue 9: the depth-8 attack on the hardened protocol before the client nonce. The device
 * times out of an attempt, starts another, and the attacker replays the first attempt's challenge
 * to it; the first attempt's request is then accepted and its grant delivered. Without the nonce
 * the device answered the replayed challenge and took that grant for its new attempt. Now it
 * refuses the challenge (it names another attempt) and ignores the grant, in both worlds, and
 * the two worlds agree move by move.
 */
import { describe, expect, it } from "vitest"
import { decodeMove } from "../../spec/attacker.ts"
import { injectiveAgreement } from "../../spec/rolling-key/properties.ts"
import { runMoves } from "../harness/world.ts"
import { lockstep } from "../harness/conformance.ts"
import { makeSuite } from "../harness/suite-kit.ts"
import { rollingKey } from "./definition.ts"

const PATH = "U:client:login D2 D3 T:client U:client:login D3 D4 D6".split(" ").map((s) => decodeMove(s)!)
const hardened = { kind: "variant", variant: "hardened" } as const

describe("P5 replayed challenge (issue 9, depth 8)", () => {
  const suite = makeSuite(rollingKey)

  it.each(["model", "impl"] as const)("%s: injective agreement holds and the device completes nothing on the path", (world) => {
    const run = runMoves(suite.worlds(hardened, "registered", 1, false)[world], PATH, { continuation: true })
    expect(injectiveAgreement.check(run.trace)).toBeUndefined()
    const faultsEnd = run.trace.findIndex((e) => e._tag === "FaultsEnd")
    expect(run.trace.slice(0, faultsEnd).filter((e) => e._tag === "Accept")).toEqual([])
  })

  it("the model and the implementation agree after every move of the path", () => {
    const { model, impl } = suite.worlds(hardened, "registered", 1, false)
    const r = lockstep(model, impl, (t) => t.flatMap((e) => (e._tag === "Commit" || e._tag === "Accept" || (e._tag === "Reject" && e.actor === "server") ? [JSON.stringify(e)] : [])), { moves: PATH })
    expect(r.disagreement).toBeUndefined()
    expect(r.steps).toBe(PATH.length)
  })
})
