/**
 * P1 service computer (the issuer) as a pure XState v5 machine, both variants by `policy`.
 * Spec: spec/soft-token/SPEC.md §Claim 1 steps 3–6, 10–13, §Service checks.
 *
 * Fresh names (nonces, OTPs) arrive in events; `conn` names the TLS connection a message came
 * on (C1 `s<n>`, C2 `t<n>`), and replies go back to a connection. An issuance session is keyed
 * by its C1: the OTP is recorded "as an identifier of the first connection". Time is a tick
 * count advanced by `clock.tick`. Verdicts and trace facts are emitted actions.
 */
import { assign, enqueueActions, not, setup } from "xstate"
import { Labels } from "../../spec/soft-token/messages.ts"
import { otpBits, type Policy, TICK_SECONDS } from "../../spec/soft-token/variants.ts"
import type { TraceEvent } from "../../spec/trace.ts"
import { cardProof, fingerprint, ISSUER_KEY, popOver, type SendParams, sign, sigEquals, type SymMessage, type SymToken } from "./terms.ts"

export interface IssuanceRecord {
  readonly pk: string
  readonly deviceName: string
  /** Null once the OTP is no longer valid (matched under single use, expired, revoked). */
  readonly otp: string | null
  readonly issuedAt: number
  /** Wrong OTPs evaluated while this one was valid. */
  readonly wrong: number
}

export interface ServiceContext {
  readonly policy: Policy
  readonly now: number
  readonly sessions: Readonly<Record<string, IssuanceRecord>>
  /** hardened: the nonce issued on each C1, to be signed in its request. */
  readonly nonces: Readonly<Record<string, string>>
  /** C2 connections whose OTP matched, waiting for the ID token's attributes. */
  readonly reads: Readonly<Record<string, { readonly session: string; readonly nonce: string }>>
}

type Msg<T extends SymMessage["_tag"]> = Extract<SymMessage, { _tag: T }>

export type ServiceEvent =
  | { readonly type: "msg.IssueBegin"; readonly conn: string; readonly fresh: string; readonly message: Msg<"IssueBegin"> }
  | { readonly type: "msg.IssueRequest"; readonly conn: string; readonly fresh: string; readonly message: Msg<"IssueRequest"> }
  | { readonly type: "msg.OtpSubmit"; readonly conn: string; readonly fresh: string; readonly message: Msg<"OtpSubmit"> }
  | { readonly type: "msg.AttributeResponse"; readonly conn: string; readonly message: Msg<"AttributeResponse"> }
  | { readonly type: "clock.tick" }
  /** A burst of `count` wrong OTPs, each on its own C2 (symbolic OTPs never match: a guess is wrong). */
  | { readonly type: "msg.OtpGuesses"; readonly count: number }

export interface IssuedParams {
  readonly c1: string
  readonly c2: string
  readonly token: SymToken
}

const send = (conn: string, message: SymMessage): never => ({ type: "send", params: { conn, message } }) as never
const fact = (event: TraceEvent): never => ({ type: "fact", params: { event } }) as never
const issued = (p: IssuedParams): never => ({ type: "issued", params: p }) as never

const bits = (p: Policy) => otpBits(p.otpDigits).toFixed(2)

const expired = (c: ServiceContext, r: IssuanceRecord) =>
  c.policy.otpLifetimeSeconds !== null && (c.now - r.issuedAt) * TICK_SECONDS >= c.policy.otpLifetimeSeconds

/** The session a submitted OTP is bound to: its own record, or (flaw) the latest pending one. */
export const lookup = (c: ServiceContext, otp: string): string | undefined => {
  const entries = Object.entries(c.sessions)
  const own = entries.find(([, r]) => r.otp === otp)?.[0]
  if (own === undefined || c.policy.lookup === "by-otp") return own
  return entries.filter(([, r]) => r.otp !== null).at(-1)?.[0]
}

const close = (session: string): never => fact({ _tag: "Signal", actor: "service", signal: `otp-closed:${session}` })

export const serviceMachine = setup({
  types: { context: {} as ServiceContext, events: {} as ServiceEvent, input: {} as { readonly policy: Policy } },
  actions: {
    send: (_, _params: SendParams) => {},
    fact: (_, _params: { readonly event: TraceEvent }) => {},
    issued: (_, _params: IssuedParams) => {},
    tick: assign(({ context }) => ({ now: context.now + 1 })),
    issueNonce: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.IssueBegin") return
      enqueue.assign({ nonces: { ...context.nonces, [event.conn]: event.fresh } })
      enqueue(send(event.conn, { _tag: "IssueNonce", nonce: event.fresh }))
    }),
    /** Claim 1 (4)–(6): make an OTP, record it as C1's identifier, send it over C1. */
    issueOtp: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.IssueRequest") return
      const otp = `${event.fresh}o`
      const nonces = Object.fromEntries(Object.entries(context.nonces).filter(([c]) => c !== event.conn))
      const record: IssuanceRecord = { pk: event.message.publicKey, deviceName: event.message.deviceName, otp, issuedAt: context.now, wrong: 0 }
      enqueue.assign({ nonces, sessions: { ...context.sessions, [event.conn]: record } })
      enqueue(fact({ _tag: "Secret", actor: "service", name: `otp:${event.conn}:${bits(context.policy)}` }))
      enqueue(send(event.conn, { _tag: "OtpIssued", otp }))
    }),
    /** Claim 1 (12): the OTP agrees — only now ask for the attributes (hardened: with what to show). */
    accept: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.OtpSubmit") return
      const session = lookup(context, event.message.otp)!
      const own = Object.entries(context.sessions).find(([, r]) => r.otp === event.message.otp)![0]
      const r = context.sessions[session]!
      enqueue(fact({ _tag: "Accept", actor: "service", data: `otp:${own}@${event.conn}` }))
      const sessions = context.policy.singleUse ? { ...context.sessions, [own]: { ...context.sessions[own]!, otp: null } } : context.sessions
      if (context.policy.singleUse) enqueue(close(own))
      enqueue.assign({ sessions, reads: { ...context.reads, [event.conn]: { session, nonce: event.fresh } } })
      enqueue(
        send(event.conn, {
          _tag: "AttributeRequest",
          nonce: event.fresh,
          deviceName: context.policy.showFingerprint ? r.deviceName : null,
          fingerprint: context.policy.showFingerprint ? fingerprint(r.pk) : null
        })
      )
    }),
    /** A matching but expired OTP: refuse and forget it. */
    refuseExpired: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.OtpSubmit") return
      const own = Object.entries(context.sessions).find(([, r]) => r.otp === event.message.otp)![0]
      enqueue.assign({ sessions: { ...context.sessions, [own]: { ...context.sessions[own]!, otp: null } } })
      enqueue(close(own))
      enqueue(fact({ _tag: "Reject", actor: "service", reason: "expired" }))
      enqueue(send(event.conn, { _tag: "Refused" }))
    }),
    /** A wrong OTP: it counts against every OTP valid now; at the limit, that OTP is revoked. */
    refuseWrong: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.OtpSubmit") return
      const sessions: Record<string, IssuanceRecord> = {}
      const closed: Array<string> = []
      for (const [s, r] of Object.entries(context.sessions)) {
        if (r.otp === null) {
          sessions[s] = r
          continue
        }
        const wrong = r.wrong + 1
        const revoke = context.policy.maxAttempts !== null && wrong >= context.policy.maxAttempts
        sessions[s] = { ...r, wrong, otp: revoke ? null : r.otp }
        if (revoke) closed.push(s)
      }
      enqueue.assign({ sessions })
      enqueue(fact({ _tag: "Reject", actor: "service", reason: "bad-otp" }))
      for (const s of closed) enqueue(close(s))
      enqueue(send(event.conn, { _tag: "Refused" }))
    }),
    /**
     * A burst of wrong OTPs: each counts against every OTP valid at that moment; at the limit an
     * OTP is revoked. Written as `bad-otp×N` segments split at each revocation, in order.
     */
    refuseGuesses: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.OtpGuesses") return
      const sessions: Record<string, IssuanceRecord> = { ...context.sessions }
      const limit = context.policy.maxAttempts
      let left = event.count
      while (left > 0) {
        const valid = Object.entries(sessions).filter(([, r]) => r.otp !== null)
        const untilRevocation = limit === null || valid.length === 0 ? left : Math.min(left, ...valid.map(([, r]) => limit - r.wrong))
        for (const [s, r] of valid) sessions[s] = { ...r, wrong: r.wrong + untilRevocation }
        enqueue(fact({ _tag: "Reject", actor: "service", reason: untilRevocation === 1 ? "bad-otp" : `bad-otp×${untilRevocation}` }))
        for (const [s, r] of valid)
          if (limit !== null && r.wrong + untilRevocation >= limit) {
            sessions[s] = { ...sessions[s]!, otp: null }
            enqueue(close(s))
          }
        left -= untilRevocation
      }
      enqueue.assign({ sessions })
    }),
    /** Claim 1 (13): sign the attributes and pk_dev; deliver over C1 and/or C2. */
    issueToken: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.AttributeResponse") return
      const read = context.reads[event.conn]!
      const r = context.sessions[read.session]!
      const token: SymToken = { signer: ISSUER_KEY, attrs: event.message.attributes, pk: context.policy.bindKey ? r.pk : null }
      enqueue.assign({ reads: Object.fromEntries(Object.entries(context.reads).filter(([c]) => c !== event.conn)) })
      enqueue(issued({ c1: read.session, c2: event.conn, token }))
      enqueue(send(read.session, { _tag: "TokenIssued", token }))
      if (context.policy.delivery === "c1-and-c2") enqueue(send(event.conn, { _tag: "TokenIssued", token }))
    }),
    refuse: enqueueActions(({ event, enqueue }, params: { readonly reason: string }) => {
      enqueue(fact({ _tag: "Reject", actor: "service", reason: params.reason }))
      if ("conn" in event) enqueue(send(event.conn, { _tag: "Refused" }))
    })
  },
  guards: {
    usesPop: ({ context }) => context.policy.proofOfPossession,
    /** A new C1 (one request per connection). */
    newSession: ({ context, event }) => "conn" in event && context.sessions[event.conn] === undefined,
    /** hardened: the request's pop is the secure element's signature under the requested key over our nonce. */
    popValid: ({ context, event }) => {
      if (event.type !== "msg.IssueRequest") return false
      if (!context.policy.proofOfPossession) return true
      const nonce = context.nonces[event.conn]
      const m = event.message
      return nonce !== undefined && sigEquals(m.pop, sign(m.publicKey, Labels.issuePop, popOver(nonce, m.publicKey, m.deviceName)))
    },
    otpKnown: ({ context, event }) => event.type === "msg.OtpSubmit" && lookup(context, event.message.otp) !== undefined,
    otpExpired: ({ context, event }) => {
      if (event.type !== "msg.OtpSubmit") return false
      const r = Object.values(context.sessions).find((x) => x.otp === event.message.otp)
      return r !== undefined && expired(context, r)
    },
    awaitingRead: ({ context, event }) => "conn" in event && context.reads[event.conn] !== undefined,
    cardValid: ({ context, event }) => {
      if (event.type !== "msg.AttributeResponse") return false
      const read = context.reads[event.conn]
      return read !== undefined && sigEquals(event.message.cardProof, cardProof(event.message.attributes, read.nonce))
    }
  }
}).createMachine({
  id: "serviceComputer",
  description: "P1 service computer: OTP per C1 request, checked on C2, then the ID token read and the soft token signed.",
  meta: { spec: "spec/soft-token/SPEC.md §Claim 1, §Service checks" },
  context: ({ input }) => ({ policy: input.policy, now: 0, sessions: {}, nonces: {}, reads: {} }),
  initial: "serving",
  states: {
    serving: {
      on: {
        "clock.tick": { actions: "tick" },
        "msg.OtpGuesses": { actions: "refuseGuesses" },
        "msg.IssueBegin": [
          { guard: "usesPop", actions: "issueNonce" },
          { actions: { type: "refuse", params: { reason: "malformed" } } }
        ],
        "msg.IssueRequest": [
          { guard: not("newSession"), actions: { type: "refuse", params: { reason: "duplicate-request" } } },
          { guard: not("popValid"), actions: { type: "refuse", params: { reason: "bad-pop" } } },
          { actions: "issueOtp" }
        ],
        "msg.OtpSubmit": [
          { guard: "otpExpired", actions: "refuseExpired" },
          { guard: "otpKnown", actions: "accept" },
          { actions: "refuseWrong" }
        ],
        "msg.AttributeResponse": [
          { guard: not("awaitingRead"), actions: { type: "refuse", params: { reason: "unexpected" } } },
          { guard: "cardValid", actions: "issueToken" },
          { actions: { type: "refuse", params: { reason: "bad-card" } } }
        ]
      }
    }
  }
})
