/**
 * P1 electronic device (the phone's app; its key lives in the secure element) as a pure XState
 * v5 machine, both variants by `policy`. Spec: spec/soft-token/SPEC.md §Claim 1 steps 2–3, 6–7,
 * 13, §Usage.
 *
 * Pure: connection names and nonces arrive in events; signatures are asked of the secure
 * element with an emitted `seSign` action and come back as `se.signed`; sends and trace facts
 * are emitted actions, interpreted by model/soft-token/system.ts. The same machine, with role
 * `evil`, is the attacker's own phone (it may ask for a token for someone else's public key).
 */
import { assign, enqueueActions, setup } from "xstate"
import { Labels } from "../../spec/soft-token/messages.ts"
import type { Policy } from "../../spec/soft-token/variants.ts"
import type { TraceEvent } from "../../spec/trace.ts"
import { fingerprint, popOver, possessionOver, type SendParams, type Sig, type SymMessage, type SymToken, tokenId } from "./terms.ts"

export type DeviceRole = "device" | "evil"

export interface DeviceContext {
  readonly policy: Policy
  readonly role: DeviceRole
  /** The secure element's key (its name only: the device never holds sk_dev). */
  readonly key: string
  readonly name: string
  /** The public key this request asks a token for: its own, unless the attacker's device lies. */
  readonly claimKey: string
  readonly c1: string | null
  readonly nonce: string | null
  /** What the screen shows: the OTP and, in `hardened`, the fingerprint of its key. */
  readonly display: { readonly otp: string; readonly fingerprint: string | null } | null
  readonly token: SymToken | null
  readonly rp: string | null
}

export type DeviceEvent =
  | { readonly type: "user.request"; readonly conn: string; readonly claimKey?: string }
  | { readonly type: "user.use"; readonly conn: string }
  | { readonly type: "se.signed"; readonly sig: Sig }
  | { readonly type: "msg.IssueNonce"; readonly message: Extract<SymMessage, { _tag: "IssueNonce" }> }
  | { readonly type: "msg.OtpIssued"; readonly message: Extract<SymMessage, { _tag: "OtpIssued" }> }
  | { readonly type: "msg.TokenIssued"; readonly message: Extract<SymMessage, { _tag: "TokenIssued" }> }
  | { readonly type: "msg.Refused"; readonly message: Extract<SymMessage, { _tag: "Refused" }> }
  | { readonly type: "msg.RpChallenge"; readonly message: Extract<SymMessage, { _tag: "RpChallenge" }> }

const send = (conn: string, message: SymMessage): never => ({ type: "send", params: { conn, message } }) as never
const fact = (event: TraceEvent): never => ({ type: "fact", params: { event } }) as never
const seSign = (label: string, fields: ReadonlyArray<string>): never => ({ type: "seSign", params: { label, fields } }) as never

const requestFact = (c: DeviceContext): TraceEvent => ({ _tag: "Running", actor: c.role, peer: "service", data: `${c.c1}|pk=${c.claimKey}|own=${c.key}` })

/** Start a request (from idle, or again after a refusal or an OTP that no longer works). */
const REQUEST = [{ guard: "usesPop", target: "awaitingNonce", actions: "open" }, { target: "awaitingOtp", actions: "open" }] as const

export const deviceMachine = setup({
  types: {
    context: {} as DeviceContext,
    events: {} as DeviceEvent,
    input: {} as { readonly policy: Policy; readonly role: DeviceRole; readonly key: string; readonly name: string }
  },
  actions: {
    send: (_, _params: SendParams) => {},
    fact: (_, _params: { readonly event: TraceEvent }) => {},
    seSign: (_, _params: { readonly label: string; readonly fields: ReadonlyArray<string> }) => {},
    /** Claim 1 (2)–(3): open C1 and ask; `hardened` first asks for a nonce to sign. */
    open: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "user.request") return
      const c: DeviceContext = { ...context, c1: event.conn, claimKey: event.claimKey ?? context.key }
      enqueue.assign({ c1: c.c1, claimKey: c.claimKey, display: null, nonce: null })
      if (context.policy.proofOfPossession) enqueue(send(event.conn, { _tag: "IssueBegin" }))
      else {
        enqueue(fact(requestFact(c)))
        enqueue(send(event.conn, { _tag: "IssueRequest", publicKey: c.claimKey, deviceName: context.name, pop: null }))
      }
    }),
    /** `hardened`: the secure element signs (nonce, pk, name) — proof of possession of sk_dev. */
    askPop: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.IssueNonce") return
      enqueue.assign({ nonce: event.message.nonce })
      enqueue(seSign(Labels.issuePop, popOver(event.message.nonce, context.claimKey, context.name)))
    }),
    sendRequest: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "se.signed") return
      enqueue(fact(requestFact(context)))
      enqueue(send(context.c1!, { _tag: "IssueRequest", publicKey: context.claimKey, deviceName: context.name, pop: event.sig }))
      enqueue.assign({ nonce: null })
    }),
    /** Claim 1 (7): output the OTP via the user interface (and, hardened, the key fingerprint). */
    show: assign(({ context, event }) =>
      event.type !== "msg.OtpIssued"
        ? {}
        : { display: { otp: event.message.otp, fingerprint: context.policy.showFingerprint ? fingerprint(context.key) : null } }
    ),
    store: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.TokenIssued") return
      const t = event.message.token
      enqueue.assign({ token: t, display: null })
      enqueue(fact({ _tag: "Accept", actor: context.role, data: `token:${t.attrs}|${t.pk}` }))
    }),
    giveUp: assign({ display: null, nonce: null }),
    present: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "user.use") return
      enqueue.assign({ rp: event.conn })
      enqueue(send(event.conn, { _tag: "Present", token: context.token! }))
    }),
    askPossession: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.RpChallenge") return
      enqueue(seSign(Labels.possession, possessionOver(event.message.nonce, context.token!)))
    }),
    sendProof: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "se.signed") return
      enqueue(send(context.rp!, { _tag: "PossessionProof", signature: event.sig }))
      enqueue.assign({ rp: null })
    })
  },
  guards: {
    usesPop: ({ context }) => context.policy.proofOfPossession,
    forOurToken: ({ context, event }) => event.type === "msg.TokenIssued" && event.message.token.pk === context.claimKey
  }
}).createMachine({
  id: "device",
  description: "P1 device: requests a soft token over C1, shows the OTP, stores the token, proves possession to relying parties.",
  meta: { spec: "spec/soft-token/SPEC.md §Claim 1, §Usage" },
  context: ({ input }) => ({
    policy: input.policy,
    role: input.role,
    key: input.key,
    name: input.name,
    claimKey: input.key,
    c1: null,
    nonce: null,
    display: null,
    token: null,
    rp: null
  }),
  initial: "idle",
  states: {
    idle: {
      description: "No request yet.",
      on: { "user.request": REQUEST }
    },
    awaitingNonce: {
      description: "hardened: C1 open, waiting for the service's nonce.",
      on: { "msg.IssueNonce": { target: "signingPop", actions: "askPop" }, "msg.Refused": { target: "done", actions: "giveUp" } }
    },
    signingPop: { on: { "se.signed": { target: "awaitingOtp", actions: "sendRequest" } } },
    awaitingOtp: {
      on: { "msg.OtpIssued": { target: "displaying", actions: "show" }, "msg.Refused": { target: "done", actions: "giveUp" } }
    },
    displaying: {
      description: "Claim 1 (7): the OTP is on the screen; the token comes over C1.",
      on: { "msg.TokenIssued": { guard: "forOurToken", target: "holding", actions: "store" }, "user.request": REQUEST }
    },
    holding: {
      description: "Holds a soft token; can present it to a relying party.",
      on: { "user.use": { target: "presenting", actions: "present" }, "msg.TokenIssued": { guard: "forOurToken", actions: "store" }, "user.request": REQUEST }
    },
    presenting: {
      on: { "msg.RpChallenge": { target: "proving", actions: "askPossession" }, "msg.Refused": "holding" }
    },
    proving: { on: { "se.signed": { target: "holding", actions: "sendProof" } } },
    done: { description: "The request was refused; the user may start again.", on: { "user.request": REQUEST } }
  }
})
