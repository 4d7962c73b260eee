/**
 * Session mix-up under concurrent issuance sessions, on the implementation. The services are
 * synchronous (every call completes before the next), so races are not `fc.scheduler`
 * interleavings of promises: they are the attacker's choice of ORDER among whole exchanges — the
 * victim's C1, the attacker's C1s (its phone's, and a flood of its script's), the victim's C2
 * (typing what her phone shows, or what the attacker slipped her), the attacker's C2s — which is
 * exactly what the attacker controls over TLS. fast-check shuffles those exchanges; every order
 * is run on the real services.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { encodeMove, type Move } from "../../spec/attacker.ts"
import { consentPhishing, sessionBinding } from "../../spec/soft-token/properties.ts"
import { claimed, hardened, type Policy } from "../../spec/soft-token/variants.ts"
import type { TraceEvent } from "../../spec/trace.ts"
import * as config from "../harness/config.ts"
import { softToken } from "./definition.ts"
import type { SoftTokenImplFlaw } from "./impl-world.ts"

const EXCHANGES: ReadonlyArray<Move> = [
  { _tag: "Honest", actor: "device", action: "request" },
  { _tag: "Inject", to: "service", forge: "own-request" },
  { _tag: "Inject", to: "service", forge: "flood" },
  { _tag: "Inject", to: "user", forge: "phish" },
  { _tag: "Honest", actor: "user", action: "type" },
  { _tag: "Inject", to: "service", forge: "own-otp" },
  { _tag: "Honest", actor: "user", action: "type" },
  { _tag: "Honest", actor: "evilpc", action: "type" }
]

const world = (policy: Policy, seed: number, flaw?: SoftTokenImplFlaw) => softToken.impl.world({ policy, seed, start: "fresh", malformed: false, flaw })

/** Run the exchanges in the given order, skipping any not enabled at its turn. */
const runOrder = (policy: Policy, seed: number, order: ReadonlyArray<Move>, flaw?: SoftTokenImplFlaw) => {
  const w = world(policy, seed, flaw)
  const trace: Array<TraceEvent> = []
  for (const move of order) if (w.moves().some((m) => encodeMove(m) === encodeMove(move))) trace.push(...w.step(move))
  return trace
}

const orders = fc.tuple(fc.integer({ min: 0, max: 0x7fffffff }), fc.shuffledSubarray([...EXCHANGES], { minLength: EXCHANGES.length }))

const move = (s: string): Move => EXCHANGES.find((m) => encodeMove(m) === s)!

describe("P1 session mix-up, concurrent sessions", () => {
  it("hardened: in every order of the exchanges, each token binds its C2's attributes to its OTP's C1 key, and never the victim's to another key", () => {
    fc.assert(
      fc.property(orders, ([seed, order]) => {
        const trace = runOrder(hardened, seed, order)
        expect(sessionBinding.check(trace)).toBeUndefined()
        expect(consentPhishing.check(trace)).toBeUndefined()
      }),
      { numRuns: Math.max(10, Math.floor(config.runs / 2)), seed: 42 }
    )
  })

  it("claimed: after the attacker's flood covers the OTP space, the victim typing her own OTP gets her attributes bound to the attacker's key", () => {
    for (const seed of [1, 2, 3]) {
      const trace = runOrder(claimed, seed, [move("I:service:flood"), move("H:device:request"), move("H:user:type")])
      expect(sessionBinding.check(trace)?.reason).toMatch(/binds t\d+'s attributes to key evil, but the OTP was issued on s\d+ for key dev/)
      // She typed her own OTP: a session mix-up, not consent phishing (she was not given another's OTP).
      expect(consentPhishing.check(trace)).toBeUndefined()
    }
  })

  it("hardened: the flood stops at the bound of live sessions per key, and no two valid records share an OTP", () => {
    const w = world(hardened, 7)
    const trace = [...w.step(move("I:service:own-request")), ...w.step(move("I:service:flood")), ...w.step(move("H:device:request"))]
    const refusals = trace.filter((e) => e._tag === "Reject" && e.actor === "service").map((e) => (e._tag === "Reject" ? e.reason : ""))
    expect(refusals).toEqual(["too-many-sessions"])
    expect(w.observe().service.map((r) => r.pk)).toEqual(["evil", "dev"])
  })

  it("a service that opens the read for the latest pending request is caught mixing sessions in some order", () => {
    const flaw = softToken.mutants.find((m) => m.name === "otp-without-connection")!.impl
    const result = fc.check(fc.property(orders, ([seed, order]) => sessionBinding.check(runOrder(hardened, seed, order, flaw)) === undefined), {
      numRuns: Math.max(20, config.runs),
      seed: 42
    })
    expect(result.failed).toBe(true)
  })
})
