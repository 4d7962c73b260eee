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
  /** Entropy of one OTP (the deployment's length, at least the policy's minimum). */
  readonly bits: string
  /**
   * The symbolic OTP space: OTPs are the names `o0 … o(space-1)` (space = 10^digits), drawn in
   * turn, so that enough sessions make two records share an OTP (a real service draws at random).
   */
  readonly space: number
  /** OTPs drawn so far. */
  readonly drawn: number
  readonly now: number
  readonly sessions: Readonly<Record<string, IssuanceRecord>>
  /** hardened: the nonce issued on each C1, to be signed in its request. */
  readonly nonces: Readonly<Record<string, string>>
  /** C2 connections whose OTP matched, waiting for the ID token's attributes. */
  readonly reads: Readonly<Record<string, { readonly session: string; readonly nonce: string }>>
}

export interface ServiceInput {
  readonly policy: Policy
  readonly otpDigits: number
  readonly otpSpace: number
}

type Msg<T extends SymMessage["_tag"]> = Extract<SymMessage, { _tag: T }>

export type ServiceEvent =
  | { readonly type: "msg.IssueBegin"; readonly conn: string; readonly fresh: string; readonly message: Msg<"IssueBegin"> }
  | { readonly type: "msg.IssueRequest"; readonly conn: string; readonly fresh: string; readonly message: Msg<"IssueRequest"> }
  | { readonly type: "msg.OtpSubmit"; readonly conn: string; readonly fresh: string; readonly message: Msg<"OtpSubmit"> }
  | { readonly type: "msg.AttributeResponse"; readonly conn: string; readonly message: Msg<"AttributeResponse"> }
  | { readonly type: "clock.tick" }
  /** A burst of `count` wrong OTPs, each on its own C2 (symbolic guesses never match: a guess is wrong). */
  | { readonly type: "msg.OtpGuesses"; readonly count: number }

export interface IssuedParams {
  readonly c1: string
  readonly c2: string
  readonly token: SymToken
}

const send = (conn: string, message: SymMessage): never => ({ type: "send", params: { conn, message } }) as never
const fact = (event: TraceEvent): never => ({ type: "fact", params: { event } }) as never
const issued = (p: IssuedParams): never => ({ type: "issued", params: p }) as never

const expired = (c: ServiceContext, r: IssuanceRecord) =>
  c.policy.otpLifetimeSeconds !== null && (c.now - r.issuedAt) * TICK_SECONDS >= c.policy.otpLifetimeSeconds

/** The session a submitted OTP is bound to: the first record (in creation order) whose valid OTP it is. */
export const lookup = (c: ServiceContext, otp: string): string | undefined => Object.entries(c.sessions).find(([, r]) => r.otp === otp)?.[0]

/** OTPs held by records that are valid and not yet expired (an expired one is forgotten when the next OTP is issued). */
const liveOtps = (c: ServiceContext) => new Set(Object.values(c.sessions).flatMap((r) => (r.otp === null || expired(c, r) ? [] : [r.otp])))

/** The next OTP drawn: the next name in turn; under `uniqueOtp` the next one no live record holds. */
export const nextOtp = (c: ServiceContext): { readonly otp: string; readonly drawn: number } | undefined => {
  if (!c.policy.uniqueOtp) return { otp: `o${c.drawn % c.space}`, drawn: c.drawn + 1 }
  const taken = liveOtps(c)
  for (let k = 0; k < c.space; k++) {
    const otp = `o${(c.drawn + k) % c.space}`
    if (!taken.has(otp)) return { otp, drawn: c.drawn + k + 1 }
  }
  return undefined
}

/**
 * `check` of a guard named in this machine's `guards` (declared after the actions, so the types
 * cannot see the names yet); named so that a mutant can override it with `machine.provide`.
 */
const named = (check: unknown) => check as (guard: string | { readonly type: string; readonly params: unknown }) => boolean

const close = (session: string): never => fact({ _tag: "Signal", actor: "service", signal: `otp-closed:${session}` })

export const serviceMachine = setup({
  types: { context: {} as ServiceContext, events: {} as ServiceEvent, input: {} as ServiceInput },
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
      const drawn = nextOtp(context)!
      const nonces = Object.fromEntries(Object.entries(context.nonces).filter(([c]) => c !== event.conn))
      const record: IssuanceRecord = { pk: event.message.publicKey, deviceName: event.message.deviceName, otp: drawn.otp, issuedAt: context.now, wrong: 0 }
      // Expired OTPs are forgotten first, so the new one is the only record that holds its value.
      const sessions: Record<string, IssuanceRecord> = {}
      for (const [s, r] of Object.entries(context.sessions)) {
        const sweep = r.otp !== null && expired(context, r)
        sessions[s] = sweep ? { ...r, otp: null } : r
        if (sweep) enqueue(close(s))
      }
      enqueue.assign({ nonces, drawn: drawn.drawn, sessions: { ...sessions, [event.conn]: record } })
      enqueue(fact({ _tag: "Secret", actor: "service", name: `otp:${event.conn}:${context.bits}` }))
      enqueue(send(event.conn, { _tag: "OtpIssued", otp: drawn.otp }))
    }),
    /** A refused request has used up its C1's nonce. */
    refuseRequest: enqueueActions(({ context, event, enqueue }, params: { readonly reason: string }) => {
      if (event.type !== "msg.IssueRequest") return
      enqueue.assign({ nonces: Object.fromEntries(Object.entries(context.nonces).filter(([c]) => c !== event.conn)) })
      enqueue(fact({ _tag: "Reject", actor: "service", reason: params.reason }))
      enqueue(send(event.conn, { _tag: "Refused" }))
    }),
    /** Claim 1 (12): the OTP agrees — only now ask for the attributes (hardened: with what to show). */
    accept: enqueueActions(({ context, event, enqueue, check }) => {
      if (event.type !== "msg.OtpSubmit") return
      const own = lookup(context, event.message.otp)!
      const r = context.sessions[own]!
      const consume = named(check)("consumesOtp")
      const shows = named(check)("showsFingerprint")
      enqueue(fact({ _tag: "Accept", actor: "service", data: `otp:${own}@${event.conn}` }))
      const sessions = consume ? { ...context.sessions, [own]: { ...r, otp: null } } : context.sessions
      if (consume) enqueue(close(own))
      enqueue.assign({ sessions, reads: { ...context.reads, [event.conn]: { session: own, nonce: event.fresh } } })
      enqueue(
        send(event.conn, {
          _tag: "AttributeRequest",
          nonce: event.fresh,
          deviceName: shows ? r.deviceName : null,
          fingerprint: shows ? fingerprint(r.pk) : null
        })
      )
    }),
    /** A matching but expired OTP: refuse and forget it. */
    refuseExpired: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.OtpSubmit") return
      const own = lookup(context, event.message.otp)!
      enqueue.assign({ sessions: { ...context.sessions, [own]: { ...context.sessions[own]!, otp: null } } })
      enqueue(close(own))
      enqueue(fact({ _tag: "Reject", actor: "service", reason: "expired" }))
      enqueue(send(event.conn, { _tag: "Refused" }))
    }),
    /**
     * A wrong OTP, or a burst of `count`: each counts against every OTP valid at that moment; an
     * OTP whose count reaches the limit (`atLimit`) is revoked. Written as `bad-otp×N` segments
     * split at each revocation, in order.
     */
    refuseWrong: enqueueActions(({ context, event, enqueue, check }) => {
      if (event.type !== "msg.OtpSubmit" && event.type !== "msg.OtpGuesses") return
      const burst = event.type === "msg.OtpGuesses" ? event.count : 1
      // The k-th wrong OTP (1 ≤ k ≤ burst) at which each valid OTP reaches the limit, if it does.
      const revokedAt = new Map<string, number>()
      let valid = 0
      for (const [s, r] of Object.entries(context.sessions)) {
        if (r.otp === null) continue
        valid++
        for (let k = 1; k <= burst; k++)
          if (named(check)({ type: "atLimit", params: { wrong: r.wrong + k } })) {
            revokedAt.set(s, k)
            break
          }
      }
      // A burst stops once no valid OTP is left to aim at.
      const count = event.type === "msg.OtpGuesses" && valid > 0 && revokedAt.size === valid ? Math.max(...revokedAt.values()) : burst
      const sessions: Record<string, IssuanceRecord> = {}
      for (const [s, r] of Object.entries(context.sessions)) {
        const k = revokedAt.get(s)
        sessions[s] = r.otp === null ? r : k === undefined ? { ...r, wrong: r.wrong + count } : { ...r, wrong: r.wrong + k, otp: null }
      }
      let done = 0
      for (const at of [...new Set(revokedAt.values())].sort((x, y) => x - y)) {
        const n = at - done
        enqueue(fact({ _tag: "Reject", actor: "service", reason: n === 1 ? "bad-otp" : `bad-otp×${n}` }))
        for (const [s, k] of revokedAt) if (k === at) enqueue(close(s))
        done = at
      }
      if (count > done) enqueue(fact({ _tag: "Reject", actor: "service", reason: count - done === 1 ? "bad-otp" : `bad-otp×${count - done}` }))
      enqueue.assign({ sessions })
      if (event.type === "msg.OtpSubmit") enqueue(send(event.conn, { _tag: "Refused" }))
    }),
    /** Claim 1 (13): sign the attributes and pk_dev; deliver over C1 and/or C2. */
    issueToken: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.AttributeResponse") return
      const read = context.reads[event.conn]!
      const r = context.sessions[read.session]!
      const token: SymToken = { signer: ISSUER_KEY, attrs: event.message.attributes, pk: r.pk }
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
    /** hardened: the requested key already holds `maxLivePerKey` valid, unexpired sessions. */
    tooManySessions: ({ context, event }) => {
      if (event.type !== "msg.IssueRequest" || context.policy.maxLivePerKey === null) return false
      const pk = event.message.publicKey
      return Object.values(context.sessions).filter((r) => r.otp !== null && r.pk === pk && !expired(context, r)).length >= context.policy.maxLivePerKey
    },
    /** hardened: every OTP of the space is held by a valid record (none can be issued uniquely). */
    otpSpaceFull: ({ context }) => nextOtp(context) === undefined,
    otpKnown: ({ context, event }) => event.type === "msg.OtpSubmit" && lookup(context, event.message.otp) !== undefined,
    otpExpired: ({ context, event }) => {
      if (event.type !== "msg.OtpSubmit") return false
      const own = lookup(context, event.message.otp)
      return own !== undefined && expired(context, context.sessions[own]!)
    },
    /** The attempt limit: an OTP with `wrong` wrong OTPs counted against it is revoked. */
    atLimit: ({ context }, params: { readonly wrong: number }) => context.policy.maxAttempts !== null && params.wrong >= context.policy.maxAttempts,
    /** Single use: a matched OTP is deleted. */
    consumesOtp: ({ context }) => context.policy.singleUse,
    /** The consent screen: the AttributeRequest carries the requesting device's name and key fingerprint. */
    showsFingerprint: ({ context }) => context.policy.showFingerprint,
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
  context: ({ input }) => ({ policy: input.policy, bits: otpBits(input.otpDigits).toFixed(2), space: input.otpSpace, drawn: 0, now: 0, sessions: {}, nonces: {}, reads: {} }),
  initial: "serving",
  states: {
    serving: {
      on: {
        "clock.tick": { actions: "tick" },
        "msg.OtpGuesses": { actions: "refuseWrong" },
        "msg.IssueBegin": [
          { guard: "usesPop", actions: "issueNonce" },
          { actions: { type: "refuse", params: { reason: "malformed" } } }
        ],
        "msg.IssueRequest": [
          { guard: not("newSession"), actions: { type: "refuse", params: { reason: "duplicate-request" } } },
          { guard: not("popValid"), actions: { type: "refuseRequest", params: { reason: "bad-pop" } } },
          { guard: "tooManySessions", actions: { type: "refuseRequest", params: { reason: "too-many-sessions" } } },
          { guard: "otpSpaceFull", actions: { type: "refuseRequest", params: { reason: "busy" } } },
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
