/**
 * P5 rolling-key, as one protocol definition (properties/definition.ts): the model explores both
 * starting points (nobody registered; device registered) with the compromise move enabled; the
 * implementation world runs the real services (impl/rolling-key) on real crypto.
 */
import { properties } from "../../spec/rolling-key/properties.ts"
import { policies, type Policy } from "../../spec/rolling-key/variants.ts"
import type { Trace } from "../../spec/trace.ts"
import { clientMachine } from "../../model/rolling-key/client.machine.ts"
import { serverMachine } from "../../model/rolling-key/server.machine.ts"
import * as system from "../../model/rolling-key/system.ts"
import type { ProtocolDefinition } from "../definition.ts"
import { makeImplWorld } from "./impl-world.ts"
import { mutants, type RollingKeyImplFlaw, type RollingKeyModelFlaw } from "./mutants/index.ts"

/** About 2 GB of explorer nodes at depth 7–8; beyond it the audit says the search was cut short. */
const MAX_STATES = 400_000

const modelPolicy = (policy: Policy, flaw: RollingKeyModelFlaw | undefined): Policy => (flaw === undefined ? policy : { ...policy, ...flaw.policy })

/** The verdicts both worlds must agree on (client-side refusals are worded differently). */
const verdicts = (trace: Trace) =>
  trace.flatMap((e) =>
    e._tag === "Commit" || e._tag === "Signal" || e._tag === "Accept" || (e._tag === "Reject" && e.actor === "server") ? [JSON.stringify(e)] : []
  )

export const rollingKey: ProtocolDefinition<Policy, system.SystemState, system.Observation, RollingKeyModelFlaw, RollingKeyImplFlaw> = {
  protocol: "rolling-key",
  code: "P5",
  title: "P5 Rolling-key device authentication (NZ624154)",
  seed: "../shared/seeds/004_6d246013b9752547.txt",
  policies,
  properties,
  starts: [
    { name: "fresh", description: "nobody registered" },
    { name: "registered", description: "device registered honestly" }
  ],
  model: {
    system: (policy, flaw) => {
      const p = modelPolicy(policy, flaw)
      return {
        initial: [
          { name: "fresh", state: system.initialState(p), trace: [] },
          { name: "registered", ...system.registeredState(p) }
        ],
        moves: (s) => system.moves(s, { clone: true }),
        step: system.step,
        key: system.stateKey,
        continuation: system.continuation,
        observe: system.observe
      }
    },
    maxStates: MAX_STATES,
    machines: [
      { participant: "client", machine: clientMachine },
      { participant: "server", machine: serverMachine }
    ],
    honestRun: (policy) => {
      const registered = system.registeredState(policy)
      const login = system.step(registered.state, { _tag: "Honest", actor: "client", action: "login" })!
      return [...registered.trace, ...login.events]
    }
  },
  impl: {
    world: ({ policy, seed, start, malformed, flaw }) =>
      makeImplWorld({ policy: flaw?.policy === undefined ? policy : { ...policy, ...flaw.policy }, seed, clone: true, malformed, start: start as "fresh" | "registered", ...(flaw?.decode === undefined ? {} : { decode: flaw.decode }) })
  },
  mutants,
  conformance: {
    verdicts,
    vocabulary: {
      users: [["client", "register"], ["client", "login"], ["clone", "login"]],
      actors: ["client", "server", "clone"],
      attacks: [
        { _tag: "Compromise", actor: "client", into: "clone" },
        { _tag: "Inject", to: "client", forge: "grant" },
        { _tag: "Inject", to: "clone", forge: "grant" }
      ]
    },
    regressions: [
      {
        why: "a stale registration response with a failing key confirmation must not cancel the pending registration",
        start: "fresh",
        moves: "U:client:register T:client D0 U:client:register D1"
      }
    ]
  }
}
