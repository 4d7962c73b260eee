/**
 * P2b split-login, as one protocol definition (properties/definition.ts): the model explores from
 * alice registered (symbolic OPAQUE); the implementation world runs the real services
 * (impl/split-login) with real OPAQUE, as its own attacker — including a real dictionary attack.
 */
import { allMessages } from "../../spec/split-login/messages.ts"
import { properties } from "../../spec/split-login/properties.ts"
import { policies, type Policy } from "../../spec/split-login/variants.ts"
import type { Trace } from "../../spec/trace.ts"
import { deviceMachine } from "../../model/split-login/device.machine.ts"
import { machineMachine } from "../../model/split-login/machine.machine.ts"
import { FORGES } from "../../model/split-login/moves.ts"
import { serverMachine } from "../../model/split-login/server.machine.ts"
import * as system from "../../model/split-login/system.ts"
import { composedSystem, type ProtocolDefinition } from "../definition.ts"
import { makeImplWorld, type SplitLoginImplFlaw } from "./impl-world.ts"
import { mutants, type SplitLoginModelFlaw } from "./mutants/index.ts"
import { serve } from "./serve.ts"

/**
 * The deepest the P2b model is explored: the cheapest claimed attacks take 2 moves (an honest
 * login, then a poll with the SID seen, a replayed login or a dictionary run; QRLjacking: open,
 * phish) and a replay into the attacker's session 3; 4 keeps every hardened refusal of those within
 * reach and the exploration near 10 s (5 costs ~50 s for 24k states).
 */
export const DEFAULT_MODEL_DEPTH = 4

const machinesOf = (flaw: SplitLoginModelFlaw | undefined): system.Machines =>
  flaw === undefined
    ? system.MACHINES
    : {
        server: flaw.server === undefined ? serverMachine : serverMachine.provide(flaw.server),
        machine: flaw.machine === undefined ? machineMachine : machineMachine.provide(flaw.machine)
      }

/** The verdicts both worlds must agree on, step by step. */
const verdicts = (trace: Trace) =>
  trace.flatMap((e) => (e._tag === "Commit" || e._tag === "Signal" || e._tag === "Accept" || e._tag === "Reject" || e._tag === "Reveal" || e._tag === "Running" ? [JSON.stringify(e)] : []))

export const splitLogin: ProtocolDefinition<Policy, system.SystemState, system.Observation, SplitLoginModelFlaw, SplitLoginImplFlaw> = {
  protocol: "split-login",
  code: "P2b",
  title: "P2b Split-device login: username on one device, password on another (Gemalto US 9,635,022, seed 001)",
  seed: "../shared/seeds/001_ebbb5972caa6b023.txt",
  policies,
  messages: [...allMessages],
  properties,
  starts: [{ name: "registered", description: "alice registered with the server (password hash or OPAQUE record), no session open" }],
  model: {
    system: (policy, flaw) => composedSystem(system, [{ name: "registered", ...system.registeredState(policy, machinesOf(flaw)) }]),
    defaultDepth: DEFAULT_MODEL_DEPTH,
    // the implementation checks replay one path to every observation the model reaches at this
    // depth: 3 reaches every kind of session state (opened, challenged, logged in, released,
    // phished) at a third of depth 4's paths, each a real OPAQUE run
    guideDepth: 3,
    machines: [
      { participant: "device", machine: deviceMachine },
      { participant: "machine", machine: machineMachine },
      { participant: "server", machine: serverMachine }
    ],
    honestRun: system.honestRun
  },
  impl: {
    world: ({ policy, seed, malformed, flaw, remote }) => makeImplWorld({ policy, seed, malformed, ...(flaw === undefined ? {} : { flaw }), ...(remote === undefined ? {} : { remote }) })
  },
  mutants,
  // alice logs in once (her LoginChallenge, with her Device's fingerprint, is on the open link);
  // the attacker opens a session of its own, has alice scan its QR code and holds what follows,
  // then splices her fingerprint into its session's LoginChallenge. She approves; the server's
  // approval check over (SID, the opener's fingerprint) must refuse the answer. An approval MAC
  // that left out the fingerprint (an independent source mutant) logs the attacker's session in.
  regressionPaths: { "P2b.intent": ["registered H:device:login I:server:open I:machine:phish:held D6 I:machine:splice:7:3:2 D9"] },
  serve,
  conformance: {
    verdicts,
    vocabulary: {
      users: [["device", "login"], ["user", "scan"], ["device", "poll"]],
      actors: ["server", "machine", "device"],
      attacks: FORGES.map(([to, forge]) => ({ _tag: "Inject" as const, to, forge }))
    }
  },
  bench: async () => (await import("../../bench/split-login.ts")).bench
}
