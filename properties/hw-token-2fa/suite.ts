/**
 * The P3 hw-token-2fa suite: what the audit and the tests run. The model side explores from an
 * honest login (alice enrolled, device holding its first pair); the implementation side runs
 * fast-check schedules on the real services, seeded first with the model's shortest
 * counterexample for that subject and with recorded regression paths, then with random
 * schedules (see properties/harness/suite-kit.ts).
 *
 * Bound: each P3 move is a macro (a whole refresh hand-shake, an honest exchange), and the
 * model is explored to at most `MAX_MODEL_DEPTH` moves whatever the depth asked for — depth 5 is
 * ~18k states per subject, depth 6 would be ~10× more. The outcome reports the depth used.
 */
import { properties } from "../../spec/hw-token-2fa/properties.ts"
import { policies, type Policy } from "../../spec/hw-token-2fa/variants.ts"
import type { Variant } from "../../spec/property.ts"
import { explore, type ExploreResult } from "../../model/explore/explorer.ts"
import { authMachine } from "../../model/hw-token-2fa/auth.machine.ts"
import { deviceMachine } from "../../model/hw-token-2fa/device.machine.ts"
import { resourceMachine } from "../../model/hw-token-2fa/resource.machine.ts"
import * as system from "../../model/hw-token-2fa/system.ts"
import { tokenMachine } from "../../model/hw-token-2fa/token.machine.ts"
import { makeSuite, parseModelPath as parseWith } from "../harness/suite-kit.ts"
import type { Subject } from "../suite.ts"
import { makeImplWorld } from "./impl-world.ts"
import { mutantNamed, mutants } from "./mutants/index.ts"

export const STARTS = ["logged-in"] as const
export type Start = (typeof STARTS)[number]

/** The deepest the P3 model is explored (see the module doc). */
export const MAX_MODEL_DEPTH = 5

const policyOf = (subject: Subject): Policy =>
  subject.kind === "variant" ? policies[subject.variant] : mutantNamed(subject.mutant).policy

export const exploreHwToken2fa = (policy: Policy, depth: number): ExploreResult =>
  explore(
    {
      initial: [{ name: "logged-in", ...system.loggedInState(policy) }],
      moves: system.moves,
      step: system.step,
      key: system.stateKey,
      continuation: system.continuation
    },
    properties.filter((p) => p.judgedIn.includes("model")),
    { depth: Math.min(depth, MAX_MODEL_DEPTH) }
  )

/** Parse a model path printed by the audit (`logged-in H:device:refresh D6 …`). */
export const parseModelPath = (path: string) => parseWith(path, STARTS)

export const hwToken2faSuite = makeSuite({
  protocol: "hw-token-2fa",
  title: "P3 Second factor with a hardware token, rotating access and refresh tokens (US 10,554,641)",
  seed: "../shared/seeds/002_8265302bbab8fd64.txt",
  properties,
  mutants,
  starts: [{ name: "logged-in", description: "alice enrolled and logged in honestly" }],
  guideDepth: 4,
  // claimed: resynchronising to the matched counter wastes a window slot; two lost OTPs lock out
  // (depth 5, deeper than the guide).
  regressionPaths: {
    "P3.rotation-liveness": ["logged-in U:device:refresh T:device U:token:press H:device:refresh D6"]
  },
  explore: (subject, depth) => exploreHwToken2fa(policyOf(subject), depth),
  implWorld: (subject) => (seed) => {
    const decode = subject.kind === "mutant" ? mutantNamed(subject.mutant).decode : undefined
    return makeImplWorld({ policy: policyOf(subject), seed, malformed: true, ...(decode === undefined ? {} : { decode }) })
  },
  machines: [
    { participant: "device", machine: deviceMachine },
    { participant: "token", machine: tokenMachine },
    { participant: "auth", machine: authMachine },
    { participant: "rs", machine: resourceMachine }
  ],
  honestRun: (variant: Variant) => {
    const policy = policies[variant]
    const start = system.loggedInState(policy)
    const refresh = system.step(start.state, { _tag: "Honest", actor: "device", action: "refresh" })!
    return [...start.trace, ...refresh.events]
  }
})
