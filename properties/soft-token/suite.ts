/**
 * The P1 soft-token suite: what the audit and the tests run. The model side explores every
 * schedule of the attacker's moves from a fresh start (victim and attacker devices, computers,
 * service, relying party); the implementation side runs fast-check schedules on the real
 * services, seeded first with the model's shortest counterexample for that subject
 * (model-guided), then with random schedules.
 */
import type { Variant } from "../../spec/property.ts"
import { properties } from "../../spec/soft-token/properties.ts"
import { policies, type Policy } from "../../spec/soft-token/variants.ts"
import { explore, type ExploreResult } from "../../model/explore/explorer.ts"
import { deviceMachine } from "../../model/soft-token/device.machine.ts"
import { idTokenMachine } from "../../model/soft-token/id-token.machine.ts"
import { relyingPartyMachine } from "../../model/soft-token/relying-party.machine.ts"
import { secureElementMachine } from "../../model/soft-token/secure-element.machine.ts"
import { serviceMachine } from "../../model/soft-token/service.machine.ts"
import * as system from "../../model/soft-token/system.ts"
import { userComputerMachine } from "../../model/soft-token/user-computer.machine.ts"
import { makeSuite } from "../harness/suite-kit.ts"
import type { Subject } from "../suite.ts"
import { makeImplWorld } from "./impl-world.ts"
import { mutantNamed, mutants } from "./mutants/index.ts"

const resolve = (subject: Subject) =>
  subject.kind === "variant"
    ? { policy: policies[subject.variant] as Policy, decode: undefined }
    : { policy: mutantNamed(subject.mutant).policy, decode: mutantNamed(subject.mutant).decode }

export const exploreSoftToken = (policy: Policy, depth: number): ExploreResult =>
  explore(
    {
      initial: [{ name: "fresh", state: system.initialState(policy), trace: [] }],
      moves: system.moves,
      step: system.step,
      key: system.stateKey,
      continuation: system.continuation
    },
    properties.filter((p) => p.judgedIn.includes("model")),
    { depth, historyKey: system.historyKey }
  )

export const softTokenSuite = makeSuite({
  protocol: "soft-token",
  title: "P1 Soft-token issuance bound by a one-time password (US 9,413,753)",
  seed: "../shared/seeds/000_a78e3dbc7f4660f6.txt",
  properties,
  mutants,
  starts: [{ name: "fresh", description: "nobody has a token; victim and attacker each have a phone, a computer and an ID token" }],
  // Every P1 counterexample is at most 4 moves deep.
  guideDepth: 4,
  explore: (subject, depth) => exploreSoftToken(resolve(subject).policy, depth),
  implWorld: (subject) => (seed) => {
    const { policy, decode } = resolve(subject)
    return makeImplWorld({ policy, seed, malformed: true, ...(decode === undefined ? {} : { decode }) })
  },
  machines: [
    { participant: "device", machine: deviceMachine },
    { participant: "secure element", machine: secureElementMachine },
    { participant: "service computer", machine: serviceMachine },
    { participant: "user computer", machine: userComputerMachine },
    { participant: "ID token", machine: idTokenMachine },
    { participant: "relying party", machine: relyingPartyMachine }
  ],
  honestRun: (variant: Variant) => system.honestTrace(policies[variant])
})
