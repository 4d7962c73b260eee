/**
 * P4 cpk-payment, as one protocol definition (properties/definition.ts): the model explores from
 * everyone enrolled with the KMC (zhang, li, the attacker's own mallory; zhang's transit key in
 * the attacker's hands); the implementation world runs the real services (impl/cpk-payment) on
 * real CPK arithmetic and ECDSA P-256, as its own attacker — including the real linear collusion.
 */
import { OfflineOffer, OfflinePayment, PaymentRequest, PayOnline, Settle } from "../../spec/cpk-payment/messages.ts"
import { properties } from "../../spec/cpk-payment/properties.ts"
import { policies, type Policy } from "../../spec/cpk-payment/variants.ts"
import type { Trace } from "../../spec/trace.ts"
import { backendMachine } from "../../model/cpk-payment/backend.machine.ts"
import { kmcMachine } from "../../model/cpk-payment/kmc.machine.ts"
import { payeeMachine } from "../../model/cpk-payment/payee.machine.ts"
import { payerMachine } from "../../model/cpk-payment/payer.machine.ts"
import * as system from "../../model/cpk-payment/system.ts"
import { composedSystem, type ProtocolDefinition } from "../definition.ts"
import { makeImplWorld } from "./impl-world.ts"
import { serve } from "./serve.ts"
import { type CpkImplFlaw, type CpkModelFlaw, mutants } from "./mutants/index.ts"

/** How deep the P4 model is explored unless `--depth` says (each honest move is a whole exchange). */
export const DEFAULT_MODEL_DEPTH = 4

const machinesOf = (flaw: CpkModelFlaw | undefined): system.Machines =>
  flaw === undefined
    ? system.MACHINES
    : {
        backend: flaw.backend === undefined ? backendMachine : backendMachine.provide(flaw.backend),
        payee: flaw.payee === undefined ? payeeMachine : payeeMachine.provide(flaw.payee)
      }

/** The verdicts both worlds must agree on, step by step. */
const verdicts = (trace: Trace) =>
  trace.flatMap((e) => (e._tag === "Commit" || e._tag === "Signal" || e._tag === "Accept" || e._tag === "Reject" ? [JSON.stringify(e)] : []))

export const cpkPayment: ProtocolDefinition<Policy, system.SystemState, system.Observation, CpkModelFlaw, CpkImplFlaw> = {
  protocol: "cpk-payment",
  code: "P4",
  title: "P4 Identity-based (CPK) soft keys for online and offline payments (China Smartcity, seed 003)",
  seed: "../shared/seeds/003_7b98921d2b0d5630.txt",
  policies,
  messages: [PaymentRequest, PayOnline, OfflineOffer, OfflinePayment, Settle],
  properties,
  starts: [{ name: "enrolled", description: "zhang, li and mallory enrolled with the KMC, nothing paid" }],
  model: {
    system: (policy, flaw) => {
      const machines = machinesOf(flaw)
      return composedSystem(system, [{ name: "enrolled", ...system.enrolledState(policy, machines) }])
    },
    defaultDepth: DEFAULT_MODEL_DEPTH,
    guideDepth: 4,
    machines: [
      { participant: "kmc", machine: kmcMachine },
      { participant: "payer", machine: payerMachine },
      { participant: "payee", machine: payeeMachine },
      { participant: "backend", machine: backendMachine }
    ],
    honestRun: system.honestRun
  },
  impl: {
    world: ({ policy, seed, malformed, flaw, remote }) => makeImplWorld({ policy, seed, malformed, ...(flaw === undefined ? {} : { flaw }), ...(remote === undefined ? {} : { remote }) })
  },
  mutants,
  // Two offers answered, the second payment held back: its offer nonce spliced in from the first
  // payment. The hardened payment signature covers the offer nonce, so the splice is refused; a
  // signature that left it out (an independent source mutant did) lets one payment answer two
  // offers. Six moves and one splice among hundreds of byte edits: random runs did not find it.
  regressionPaths: { "P4.offline-replay": ["enrolled U:payee:offer U:payee:offer D1 D0 D3 I:payee:splice:3:2:6"] },
  serve,
  conformance: {
    verdicts,
    vocabulary: {
      users: [["payer", "pay"], ["payee", "offer"], ["payee", "settle"]],
      actors: ["payer", "payee"],
      attacks: system.FORGES.map(([to, forge]) => ({ _tag: "Inject" as const, to, forge }))
    }
  },
  bench: async () => (await import("../../bench/cpk-payment.ts")).bench
}
