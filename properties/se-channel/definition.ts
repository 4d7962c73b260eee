/**
 * P2a se-channel, as one protocol definition (properties/definition.ts): the model explores from
 * a fresh world (the SE personalised and paired with the user's browser, the bank and evil
 * certified, nothing visited); the implementation world runs the real services (impl/se-channel)
 * on real P-256, HKDF, HMAC and AES-GCM, as its own attacker.
 */
import { Record, SeFinish, SeHello, SeOpen, ServerHello } from "../../spec/se-channel/messages.ts"
import { properties } from "../../spec/se-channel/properties.ts"
import { policies, type Policy } from "../../spec/se-channel/variants.ts"
import type { Trace } from "../../spec/trace.ts"
import { browserMachine } from "../../model/se-channel/browser.machine.ts"
import { seMachine } from "../../model/se-channel/secure-element.machine.ts"
import { serverMachine } from "../../model/se-channel/server.machine.ts"
import * as system from "../../model/se-channel/system.ts"
import { composedSystem, type ProtocolDefinition } from "../definition.ts"
import { makeImplWorld } from "./impl-world.ts"
import { mutants, type SeChannelImplFlaw, type SeChannelModelFlaw } from "./mutants/index.ts"
import { serve } from "./serve.ts"

/**
 * The deepest the P2a model is explored: every claimed attack is at most 3 moves deep (a visit is
 * one honest move), and the hardened exploration to 3 is exhaustive in about a second (SPEC.md
 * §Model bound; depth 4 was checked exhaustively too: 6,492 states, every property holding).
 */
export const DEFAULT_MODEL_DEPTH = 3

const machinesOf = (flaw: SeChannelModelFlaw | undefined): system.Machines =>
  flaw === undefined
    ? system.MACHINES
    : {
        se: flaw.se === undefined ? seMachine : seMachine.provide(flaw.se),
        server: flaw.server === undefined ? serverMachine : serverMachine.provide(flaw.server),
        schedule: flaw.schedule ?? system.MACHINES.schedule
      }

/** The verdicts both worlds must agree on, step by step. */
const verdicts = (trace: Trace) =>
  trace.flatMap((e) => (e._tag === "Commit" || e._tag === "Signal" || e._tag === "Accept" || e._tag === "Reject" ? [JSON.stringify(e)] : []))

export const seChannel: ProtocolDefinition<Policy, system.SystemState, system.Observation, SeChannelModelFlaw, SeChannelImplFlaw> = {
  protocol: "se-channel",
  code: "P2a",
  title: "P2a Secure channel between a server and a secure element through a browser (Gemalto, US 10,812,467, seed 001)",
  seed: "../shared/seeds/001_ebbb5972caa6b023.txt",
  policies,
  messages: [SeHello, SeOpen, ServerHello, SeFinish, Record],
  properties,
  starts: [{ name: "fresh", description: "the SE personalised and paired with the user's browser, bank and evil certified, no page opened" }],
  model: {
    system: (policy, flaw) => composedSystem(system, [{ name: "fresh", ...system.freshState(policy, machinesOf(flaw)) }]),
    defaultDepth: DEFAULT_MODEL_DEPTH,
    guideDepth: DEFAULT_MODEL_DEPTH,
    machines: [
      { participant: "browser", machine: browserMachine },
      { participant: "se", machine: seMachine },
      { participant: "server", machine: serverMachine }
    ],
    honestRun: system.honestRun
  },
  impl: {
    world: ({ policy, seed, malformed, flaw, remote }) => makeImplWorld({ policy, seed, malformed, ...(flaw === undefined ? {} : { flaw }), ...(remote === undefined ? {} : { remote }) })
  },
  mutants,
  serve,
  conformance: {
    verdicts,
    vocabulary: {
      users: [["browser", "visit-bank"], ["browser", "visit-evil"], ["se", "send"], ["server", "send"]],
      actors: ["se", "server"],
      attacks: [...system.FORGES.map(([to, forge]) => ({ _tag: "Inject" as const, to, forge })), { _tag: "Compromise" as const, actor: "server", into: "attacker" }]
    }
  },
  bench: async () => (await import("../../bench/se-channel.ts")).bench
}
