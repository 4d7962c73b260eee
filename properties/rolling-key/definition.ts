/**
 * P5 rolling-key, as one protocol definition (properties/definition.ts): the model explores both
 * starting points (nobody registered; device registered) with the compromise move enabled; the
 * implementation world runs the real services (impl/rolling-key) on real crypto.
 */
import { AuthBegin, AuthChallenge, AuthGranted, AuthRejected, AuthRequest, RegisterKey, RegisterRequest, RegisterResponse } from "../../spec/rolling-key/messages.ts"
import { pastSummary, properties } from "../../spec/rolling-key/properties.ts"
import { policies, type Policy } from "../../spec/rolling-key/variants.ts"
import type { Trace } from "../../spec/trace.ts"
import { clientMachine } from "../../model/rolling-key/client.machine.ts"
import { serverMachine } from "../../model/rolling-key/server.machine.ts"
import * as system from "../../model/rolling-key/system.ts"
import { composedSystem, type ProtocolDefinition } from "../definition.ts"
import { makeImplWorld } from "./impl-world.ts"
import { mutants, type RollingKeyImplFlaw, type RollingKeyModelFlaw } from "./mutants/index.ts"
import { makeServe } from "./serve.ts"

/**
 * The depth-8 attack below (a replayed challenge after a timeout) must fit, with room: P5 is
 * explored to depth 9 by default, 284,775 states for the hardened model with the symmetric state
 * key (23.6 s alone here, 37 s in the audit beside the other worker, at the machine's usual speed;
 * the whole audit then takes about 1 min). Depth 10 is 1,197,477 states and 2¾–4 minutes alone
 * (`--depth 10`; every property holds), more than the audit's budget beside everything else.
 */
const DEFAULT_MODEL_DEPTH = 9

/**
 * Beyond this many nodes the audit says the search was cut short. Above depth 10's 1.2 M nodes
 * (2.5 GB of heap): what ends a deeper search is the explorer's memory guard.
 */
const MAX_STATES = 4_000_000

/** A mutant is the hardened policy, possibly with claimed's value of a real switch, under its own name. */
const flawedPolicy = (policy: Policy, change: Partial<Policy> | undefined, flawed: boolean): Policy => (flawed ? { ...policy, ...change, name: `${policy.name}+flaw` } : policy)

/**
 * The verdicts both worlds must agree on: client-side refusals are worded differently, and the
 * implementation harness's own observations (state-changed-on-reject, challenge-checked-twice)
 * judge bytes the model does not have.
 */
const verdicts = (trace: Trace) =>
  trace.flatMap((e) =>
    e._tag === "Commit" || (e._tag === "Signal" && e.signal === "clone-suspected") || e._tag === "Accept" || (e._tag === "Reject" && e.actor === "server") ? [JSON.stringify(e)] : []
  )

/**
 * Issue 9: on the hardened protocol before the client nonce, this depth-8 path made the device
 * answer a challenge replayed from its abandoned attempt, and the grant of that attempt's request
 * completed the new one (injective agreement broken, in both worlds).
 */
const REPLAYED_CHALLENGE = "U:client:login D2 D3 T:client U:client:login D3 D4 D6"

export const rollingKey: ProtocolDefinition<Policy, system.SystemState, system.Observation, RollingKeyModelFlaw, RollingKeyImplFlaw> = {
  protocol: "rolling-key",
  code: "P5",
  title: "P5 Rolling-key device authentication (NZ624154)",
  seed: "../shared/seeds/004_6d246013b9752547.txt",
  policies,
  properties,
  messages: [RegisterRequest, RegisterResponse, RegisterKey, AuthBegin, AuthChallenge, AuthRequest, AuthGranted, AuthRejected],
  starts: [
    { name: "fresh", description: "nobody registered" },
    { name: "registered", description: "device registered honestly" }
  ],
  model: {
    system: (policy, flaw) => {
      const p = flawedPolicy(policy, flaw?.policy, flaw !== undefined)
      const machines = flaw?.machines?.(system.shippedMachines) ?? system.shippedMachines
      return composedSystem(system, [
          { name: "fresh", state: system.initialState(p, machines), trace: [] },
          { name: "registered", ...system.registeredState(p, machines) }
        ], (s) => system.moves(s, { clone: true }))
    },
    defaultDepth: DEFAULT_MODEL_DEPTH,
    maxStates: MAX_STATES,
    summary: pastSummary,
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
    world: ({ policy, seed, start, malformed, flaw, remote }) =>
      makeImplWorld({ policy: flawedPolicy(policy, flaw?.policy, flaw !== undefined), seed, clone: true, malformed, start: start as "fresh" | "registered", ...(flaw === undefined ? {} : { flaw }), ...(remote === undefined ? {} : { remote }) })
  },
  serve: makeServe((policy, flaw) => flawedPolicy(policy, flaw?.policy, flaw !== undefined)),
  mutants,
  regressionPaths: { "P5.injective-agreement": [`registered ${REPLAYED_CHALLENGE}`] },
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
      },
      {
        why: "a claimed RegisterKey the server no longer expects (it crashed after RegisterResponse) is refused without a reply, as the model's server refuses it (found by a swarm-masked conformance run)",
        start: "fresh",
        moves: "U:client:register D0 D1 C:server D2 U:client:login D3",
        variants: ["claimed"]
      }
    ]
  },
  bench: async () => (await import("../../bench/rolling-key.ts")).bench
}
