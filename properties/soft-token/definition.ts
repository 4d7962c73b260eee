/**
 * P1 soft-token, as one protocol definition (properties/definition.ts). Both worlds run the same
 * deployment: one-digit OTPs where the policy allows them (`claimed`: the claim sets no length;
 * `hardened` issues eight whatever it is configured with), so that about thirty sessions of the
 * attacker cover the OTP space and a collision shows in short runs — at six digits the same takes
 * about 10^7 sessions. The model's OTPs are 10^digits names drawn in turn; for conformance the
 * implementation's service draws its OTPs in turn too (impl-world.ts), elsewhere at random.
 */
import {
  AttributeRequest,
  AttributeResponse,
  IssueBegin,
  IssueNonce,
  IssueRequest,
  OtpIssued,
  OtpSubmit,
  PossessionProof,
  Present,
  Refused,
  RpChallenge,
  TokenIssued
} from "../../spec/soft-token/messages.ts"
import { properties } from "../../spec/soft-token/properties.ts"
import { policies, type Policy } from "../../spec/soft-token/variants.ts"
import type { Trace } from "../../spec/trace.ts"
import { deviceMachine } from "../../model/soft-token/device.machine.ts"
import { idTokenMachine } from "../../model/soft-token/id-token.machine.ts"
import { relyingPartyMachine } from "../../model/soft-token/relying-party.machine.ts"
import { secureElementMachine } from "../../model/soft-token/secure-element.machine.ts"
import { serviceMachine } from "../../model/soft-token/service.machine.ts"
import * as system from "../../model/soft-token/system.ts"
import { userComputerMachine } from "../../model/soft-token/user-computer.machine.ts"
import { composedSystem, type ProtocolDefinition } from "../definition.ts"
import { makeImplWorld, type SoftTokenImplFlaw } from "./impl-world.ts"
import { mutants, type SoftTokenModelFlaw } from "./mutants/index.ts"
import { serve } from "./serve.ts"

export const DEPLOYMENT: system.Deployment = { otpDigits: 1 }

const FACTS = new Set(["Running", "Secret", "Accept", "Commit", "Reject", "Signal"])
/** A fact about one of the flood's C1s (`f<n>`): how many the flood takes differs between the worlds (4 names vs 10^digits). */
const aboutFlood = (text: string) => /(^|[:|])f\d+([:|@]|$)/.test(text)

/** The verdict facts both worlds must produce alike; the flood's own C1s are named apart and not compared one by one. */
const verdicts = (trace: Trace) =>
  trace.flatMap((e) => {
    if (!FACTS.has(e._tag)) return []
    if (e._tag === "Accept") return [JSON.stringify({ ...e, data: e.data.replace(/otp:f\d+@/, "otp:f@") })]
    if (e._tag === "Commit") return [JSON.stringify({ ...e, data: e.data.replace(/on=f\d+$/, "on=f") })]
    // The harness's own judgement of a refusal (the model has no store to compare).
    if (e._tag === "Signal" && e.signal === "state-changed-on-reject") return []
    if ((e._tag === "Running" && aboutFlood(e.data)) || (e._tag === "Secret" && aboutFlood(e.name)) || (e._tag === "Signal" && aboutFlood(e.signal))) return []
    return [JSON.stringify(e)]
  })

export const softToken: ProtocolDefinition<Policy, system.SystemState, system.Observation, SoftTokenModelFlaw, SoftTokenImplFlaw> = {
  protocol: "soft-token",
  code: "P1",
  title: "P1 Soft-token issuance bound by a one-time password (US 9,413,753)",
  seed: "../shared/seeds/000_a78e3dbc7f4660f6.txt",
  policies,
  messages: [IssueBegin, IssueNonce, IssueRequest, OtpIssued, TokenIssued, Refused, OtpSubmit, AttributeRequest, AttributeResponse, Present, RpChallenge, PossessionProof],
  properties,
  starts: [{ name: "fresh", description: "nobody has a token; victim and attacker each have a phone, a computer and an ID token" }],
  model: {
    system: (policy, flaw) => composedSystem(system, [{ name: "fresh", state: system.initialState(policy, DEPLOYMENT, flaw === undefined ? system.MACHINES : flaw.machines(system.MACHINES)), trace: [] }]),
    historyKey: system.historyKey,
    // Every P1 counterexample is at most 4 moves deep.
    guideDepth: 4,
    // Depth 6 costs about five times depth 5 (26 000 states on hardened, 44 000 on claimed), over the
    // test suite's budget; every counterexample is at most 4 moves deep.
    defaultDepth: 5,
    machines: [
      { participant: "device", machine: deviceMachine },
      { participant: "secure element", machine: secureElementMachine },
      { participant: "service computer", machine: serviceMachine },
      { participant: "user computer", machine: userComputerMachine },
      { participant: "ID token", machine: idTokenMachine },
      { participant: "relying party", machine: relyingPartyMachine }
    ],
    honestRun: (policy) => system.honestTrace(policy, DEPLOYMENT)
  },
  impl: {
    world: ({ policy, seed, malformed, flaw, remote }) =>
      makeImplWorld({ policy, seed, otpDigits: DEPLOYMENT.otpDigits, malformed, ...(flaw === undefined ? {} : { flaw }), ...(remote === undefined ? {} : { remote }) })
  },
  mutants,
  conformance: {
    verdicts,
    vocabulary: {
      users: [["device", "request"], ["user", "type"], ["device", "use"]],
      actors: ["clock"],
      attacks: [
        { _tag: "Inject", to: "service", forge: "own-request" },
        { _tag: "Inject", to: "service", forge: "own-otp" },
        { _tag: "Inject", to: "service", forge: "foreign-key" },
        { _tag: "Inject", to: "service", forge: "guesses" },
        { _tag: "Inject", to: "service", forge: "flood" },
        { _tag: "Inject", to: "user", forge: "phish" },
        { _tag: "Inject", to: "rp", forge: "stolen-token" },
        { _tag: "Inject", to: "rp", forge: "forged-token" }
      ]
    }
  },
  serve,
  bench: async () => (await import("../../bench/soft-token.ts")).bench
}
