/**
 * Session mix-up under concurrent issuance sessions, on the implementation. The services are
 * synchronous (every call completes before the next), so races are not `fc.scheduler`
 * interleavings of promises: they are the attacker's choice of ORDER among whole exchanges — the
 * victim's C1, the attacker's C1, the victim's C2 (typing what her phone shows, or what the
 * attacker slipped her), the attacker's C2s — which is exactly what the attacker controls over
 * TLS. fast-check shuffles those exchanges; every order is run on the real services.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { encodeMove, type Move } from "../../spec/attacker.ts"
import { consentPhishing, sessionBinding } from "../../spec/soft-token/properties.ts"
import { hardened } from "../../spec/soft-token/variants.ts"
import type { TraceEvent } from "../../spec/trace.ts"
import * as config from "../harness/config.ts"
import { makeImplWorld } from "./impl-world.ts"
import { mutantNamed } from "./mutants/index.ts"

const EXCHANGES: ReadonlyArray<Move> = [
  { _tag: "Honest", actor: "device", action: "request" },
  { _tag: "Honest", actor: "evil", action: "request" },
  { _tag: "Inject", to: "user", forge: "phish" },
  { _tag: "Honest", actor: "user", action: "type" },
  { _tag: "Honest", actor: "evilpc", action: "type" },
  { _tag: "Honest", actor: "user", action: "type" },
  { _tag: "Honest", actor: "evilpc", action: "type" }
]

/** Run the exchanges in the given order, skipping any not enabled at its turn. */
const runOrder = (policy: typeof hardened, seed: number, order: ReadonlyArray<Move>) => {
  const world = makeImplWorld({ policy, seed, malformed: false })
  const trace: Array<TraceEvent> = []
  for (const move of order) if (world.moves().some((m) => encodeMove(m) === encodeMove(move))) trace.push(...world.step(move))
  return trace
}

const orders = fc.tuple(fc.integer({ min: 0, max: 0x7fffffff }), fc.shuffledSubarray([...EXCHANGES], { minLength: EXCHANGES.length }))

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

  it("a service that looks the OTP up without its connection is caught mixing sessions in some order", () => {
    const flawed = mutantNamed("otp-without-connection").policy
    const result = fc.check(fc.property(orders, ([seed, order]) => sessionBinding.check(runOrder(flawed, seed, order)) === undefined), {
      numRuns: Math.max(20, config.runs),
      seed: 42
    })
    expect(result.failed).toBe(true)
  })
})
