/**
 * The P5 rolling-key suite: what the audit and the tests run. The model side explores both
 * starting points (nobody registered; device registered) with the compromise move enabled; the
 * implementation side runs fast-check schedules on the real services, seeded first with the
 * model's shortest counterexample for that subject (see properties/harness/suite-kit.ts).
 */
import type { Variant } from "../../spec/property.ts"
import { properties } from "../../spec/rolling-key/properties.ts"
import { policies, type Policy } from "../../spec/rolling-key/variants.ts"
import { explore, type ExploreResult } from "../../model/explore/explorer.ts"
import { clientMachine } from "../../model/rolling-key/client.machine.ts"
import { serverMachine } from "../../model/rolling-key/server.machine.ts"
import * as system from "../../model/rolling-key/system.ts"
import { makeSuite } from "../harness/suite-kit.ts"
import type { Subject } from "../suite.ts"
import { makeImplWorld } from "./impl-world.ts"
import { mutantNamed, mutants } from "./mutants/index.ts"

export const STARTS = ["fresh", "registered"] as const

/** About 2 GB of explorer nodes at depth 7–8; beyond it the audit says the search was cut short. */
const MAX_STATES = 400_000

const resolve = (subject: Subject) =>
  subject.kind === "variant"
    ? { policy: policies[subject.variant] as Policy, decode: undefined }
    : { policy: mutantNamed(subject.mutant).policy, decode: mutantNamed(subject.mutant).decode }

export const exploreRollingKey = (policy: Policy, depth: number): ExploreResult =>
  explore(
    {
      initial: [
        { name: "fresh", state: system.initialState(policy), trace: [] },
        { name: "registered", ...system.registeredState(policy) }
      ],
      moves: (s) => system.moves(s, { clone: true }),
      step: system.step,
      key: system.stateKey,
      continuation: system.continuation
    },
    properties.filter((p) => p.judgedIn.includes("model")),
    // A cap keeps a large --depth from exhausting memory; hitting it is reported (not exhaustive).
    { depth, maxStates: MAX_STATES }
  )

export const rollingKeySuite = makeSuite({
  protocol: "rolling-key",
  title: "P5 Rolling-key device authentication (NZ624154)",
  seed: "../shared/seeds/004_6d246013b9752547.txt",
  properties,
  mutants,
  starts: [
    { name: "fresh", description: "nobody registered" },
    { name: "registered", description: "device registered honestly" }
  ],
  explore: (subject, depth) => exploreRollingKey(resolve(subject).policy, depth),
  implWorld: (subject) => (seed, start) => {
    const { policy, decode } = resolve(subject)
    return makeImplWorld({ policy, seed, clone: true, malformed: true, start: STARTS[start]!, ...(decode === undefined ? {} : { decode }) })
  },
  machines: [
    { participant: "client", machine: clientMachine },
    { participant: "server", machine: serverMachine }
  ],
  honestRun: (variant: Variant) => {
    const policy = policies[variant]
    const registered = system.registeredState(policy)
    const login = system.step(registered.state, { _tag: "Honest", actor: "client", action: "login" })!
    return [...registered.trace, ...login.events]
  }
})
