/**
 * P3 hw-token-2fa, as one protocol definition (properties/definition.ts): the model explores from
 * an honest login (alice enrolled, device holding its first pair); the implementation world runs
 * the real services (impl/hw-token-2fa) on real crypto, as its own attacker.
 *
 * Bound: each P3 move is a macro (a whole refresh hand-shake, an honest exchange), and the
 * model is explored to `DEFAULT_MODEL_DEPTH` moves unless `--depth` asks otherwise — depth 5 is
 * ~18k states per subject, depth 6 would be ~10× more. The outcome reports the depth used.
 */
import { AccessGranted, AccessRequest, Denied, LoginRequest, RefreshBegin, RefreshPrompt, RefreshRequest, TokenGrant } from "../../spec/hw-token-2fa/messages.ts"
import { properties } from "../../spec/hw-token-2fa/properties.ts"
import { policies, type Policy } from "../../spec/hw-token-2fa/variants.ts"
import type { Trace } from "../../spec/trace.ts"
import { authMachine } from "../../model/hw-token-2fa/auth.machine.ts"
import { deviceMachine } from "../../model/hw-token-2fa/device.machine.ts"
import { resourceMachine } from "../../model/hw-token-2fa/resource.machine.ts"
import * as system from "../../model/hw-token-2fa/system.ts"
import { tokenMachine } from "../../model/hw-token-2fa/token.machine.ts"
import { composedSystem, type ProtocolDefinition } from "../definition.ts"
import { makeImplWorld } from "./impl-world.ts"
import { serve } from "./serve.ts"
import { type HwToken2faImplFlaw, type HwToken2faModelFlaw, mutants } from "./mutants/index.ts"

/** How deep the P3 model is explored unless `--depth` says (see the module doc). */
export const DEFAULT_MODEL_DEPTH = 5

/** The machines with a mutant's overrides applied. */
const machinesOf = (flaw: HwToken2faModelFlaw | undefined): system.Machines =>
  flaw === undefined
    ? system.MACHINES
    : { auth: flaw.auth === undefined ? authMachine : authMachine.provide(flaw.auth), rs: flaw.rs === undefined ? resourceMachine : resourceMachine.provide(flaw.rs) }

/** The verdicts both worlds must agree on, step by step (the device's refusals are its own business). */
const verdicts = (trace: Trace) =>
  trace.flatMap((e) =>
    e._tag === "Commit" || e._tag === "Signal" || e._tag === "Accept" || (e._tag === "Reject" && e.actor !== "device") ? [JSON.stringify(e)] : []
  )

export const hwToken2fa: ProtocolDefinition<Policy, system.SystemState, system.Observation, HwToken2faModelFlaw, HwToken2faImplFlaw> = {
  protocol: "hw-token-2fa",
  code: "P3",
  title: "P3 Second factor with a hardware token, rotating access and refresh tokens (US 10,554,641)",
  seed: "../shared/seeds/002_8265302bbab8fd64.txt",
  policies,
  // the cast: `encode` takes each codec's own message type, so no codec is assignable to the registry's generic one
  messages: [LoginRequest, TokenGrant, RefreshBegin, RefreshPrompt, RefreshRequest, AccessRequest, AccessGranted, Denied],
  properties,
  starts: [{ name: "logged-in", description: "alice enrolled and logged in honestly" }],
  model: {
    system: (policy, flaw) => {
      const machines = machinesOf(flaw)
      return composedSystem(system, [{ name: "logged-in", ...system.loggedInState(policy, machines) }])
    },
    defaultDepth: DEFAULT_MODEL_DEPTH,
    guideDepth: 4,
    machines: [
      { participant: "device", machine: deviceMachine },
      { participant: "token", machine: tokenMachine },
      { participant: "auth", machine: authMachine },
      { participant: "rs", machine: resourceMachine }
    ],
    honestRun: (policy) => {
      const start = system.loggedInState(policy)
      const refresh = system.step(start.state, { _tag: "Honest", actor: "device", action: "refresh" })!
      return [...start.trace, ...refresh.events]
    }
  },
  impl: {
    world: ({ policy, seed, malformed, flaw, remote }) => makeImplWorld({ policy, seed, malformed, ...(flaw === undefined ? {} : { flaw }), ...(remote === undefined ? {} : { remote }) })
  },
  mutants,
  serve,
  conformance: {
    verdicts,
    vocabulary: {
      users: [["device", "login"], ["device", "refresh"], ["clock", "tick"], ["token", "press"]],
      actors: ["device"],
      attacks: [{ _tag: "Inject", to: "auth", forge: "login-mallory" }]
    }
  },
  bench: async () => (await import("../../bench/hw-token-2fa.ts")).bench,
  // Depth 5, deeper than the guide: a lost rotation response and an idle press bring the device's
  // next OTP to the edge of the look-ahead window. It once showed a claimed reading that stored the
  // matched counter (now read as RFC 4226 §7.2, SPEC.md §3); kept as a seeded example for every subject.
  regressionPaths: {
    "P3.rotation-liveness": ["logged-in U:device:refresh T:device U:token:press H:device:refresh D6"]
  }
}
