/**
 * P3 AuthServer as a pure XState v5 machine, both variants by `policy`.
 * Spec: spec/hw-token-2fa/SPEC.md §2 (claim steps), §5 (check order).
 *
 * All state is durable and every input is handled atomically: checks in the fixed order, then
 * one state update, then the reply. Time arrives in the events (`now`, in ticks).
 */
import { enqueueActions, not, setup } from "xstate"
import { LOOK_AHEAD, type Policy } from "../../spec/hw-token-2fa/variants.ts"
import { type AccessTerm, otpName, type OtpTerm, type SymMessage } from "./terms.ts"

export interface UserRecord {
  readonly apiKey: string
  /** The key id linked to the username (claim: "linking … a username … to the key identification"). */
  readonly token: string
  /** Consecutive OTP failures (RFC 4226 §7.3), reset by a success or a clock tick. */
  readonly failures: number
  readonly locked: boolean
}

export interface RefreshRecord {
  readonly user: string
  readonly family: number
  readonly status: "active" | "used" | "revoked"
}

export interface AuthContext {
  readonly policy: Policy
  readonly users: Readonly<Record<string, UserRecord>>
  /** The next counter expected per token id (RFC 4226 §7.2 "the server's counter"). */
  readonly counters: Readonly<Record<string, number>>
  readonly refresh: Readonly<Record<string, RefreshRecord>>
  /** Families started so far; family f's serials issued so far. */
  readonly families: number
  readonly serials: Readonly<Record<number, number>>
}

type Msg<T extends SymMessage["_tag"]> = Extract<SymMessage, { _tag: T }>

export type AuthEvent =
  | { readonly type: "msg.LoginRequest"; readonly message: Msg<"LoginRequest">; readonly now: number }
  | { readonly type: "msg.RefreshBegin"; readonly message: Msg<"RefreshBegin">; readonly now: number }
  | { readonly type: "msg.RefreshRequest"; readonly message: Msg<"RefreshRequest">; readonly now: number }
  | { readonly type: "clock.tick" }

export type AuthRejectReason = "malformed" | "bad-credential" | "bad-otp" | "throttled" | "bad-refresh" | "reused"

export type AuthVerdict =
  | { readonly accepted: true; readonly data: string }
  | { readonly accepted: false; readonly reason: AuthRejectReason; readonly revoked?: boolean }

/** The emitted actions the system interprets (exported for mutants' machine overrides). */
export const send = (message: SymMessage): never => ({ type: "send", params: { message } }) as never
export const verdict = (v: AuthVerdict): never => ({ type: "verdict", params: v }) as never

/** The user whose API key this is (claim: "a username associated with the credential"). */
const userByKey = (c: AuthContext, apiKey: string): string | undefined =>
  Object.keys(c.users).find((u) => c.users[u]!.apiKey === apiKey)

/** Whether `counter` is in token `token`'s look-ahead window (RFC 4226 §7.4): `c … c+W−1` from the next expected `c`. */
export const inWindow = (c: AuthContext, token: string, counter: number, lookAhead: number = LOOK_AHEAD): boolean => {
  const expected = c.counters[token] ?? 0
  return counter >= expected && counter < expected + lookAhead
}

/** Whether `otp` is valid for `user`: from the token linked to the username, within its window. */
export const matchOtp = (c: AuthContext, user: string, otp: OtpTerm): boolean =>
  otp !== "guess" && otp.token === c.users[user]!.token && inWindow(c, otp.token, otp.counter)

export const userOf = (c: AuthContext, e: AuthEvent): string | undefined => {
  if (e.type === "msg.LoginRequest") return userByKey(c, e.message.apiKey)
  if (e.type === "msg.RefreshRequest") return c.refresh[e.message.refreshToken]?.user
  return undefined
}

export const otpOf = (e: AuthEvent): OtpTerm | undefined =>
  e.type === "msg.LoginRequest" || e.type === "msg.RefreshRequest" ? e.message.otp : undefined

export const authMachine = setup({
  types: {
    context: {} as AuthContext,
    events: {} as AuthEvent,
    input: {} as { readonly policy: Policy; readonly users: Readonly<Record<string, { readonly apiKey: string; readonly token: string }>> }
  },
  actions: {
    send: (_, _params: { readonly message: SymMessage }) => {},
    verdict: (_, _params: AuthVerdict) => {},
    refuse: enqueueActions(({ enqueue }, params: { readonly reason: AuthRejectReason }) => {
      enqueue(verdict({ accepted: false, reason: params.reason }))
      enqueue(send({ _tag: "Denied", reason: params.reason === "throttled" ? "throttled" : params.reason === "malformed" ? "malformed" : "denied" }))
    }),
    /** A wrong OTP: count it; the T-th consecutive one throttles the account (RFC 4226 §7.3). */
    refuseOtp: enqueueActions(({ context, event, enqueue }) => {
      const user = userOf(context, event)!
      const u = context.users[user]!
      if (context.policy.maxOtpFailures !== null) {
        const failures = u.failures + 1
        enqueue.assign({ users: { ...context.users, [user]: { ...u, failures, locked: failures >= context.policy.maxOtpFailures } } })
      }
      enqueue(verdict({ accepted: false, reason: "bad-otp" }))
      enqueue(send({ _tag: "Denied", reason: "denied" }))
    }),
    /** A reused refresh token: revoke its whole family (hardened), refuse. */
    refuseReuse: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.RefreshRequest") return
      const family = context.refresh[event.message.refreshToken]!.family
      if (context.policy.revokeFamilyOnReuse)
        enqueue.assign({
          refresh: Object.fromEntries(
            Object.entries(context.refresh).map(([name, r]) => [name, r.family === family ? { ...r, status: "revoked" as const } : r])
          )
        })
      enqueue(verdict({ accepted: false, reason: "reused", revoked: context.policy.revokeFamilyOnReuse }))
      enqueue(send({ _tag: "Denied", reason: "denied" }))
    }),
    /** "the server asks the user device to send the first refresh token". */
    prompt: enqueueActions(({ event, enqueue }) => {
      if (event.type !== "msg.RefreshBegin") return
      enqueue(send({ _tag: "RefreshPrompt", username: event.message.accessToken.sub }))
    }),
    /** The OTP verified: spend it — store the counter after it (RFC 4226 §7.2) — and reset the user's failures. */
    acceptOtp: enqueueActions(({ context, event, enqueue }) => {
      const user = userOf(context, event)!
      const otp = otpOf(event) as Exclude<OtpTerm, "guess">
      enqueue.assign({
        counters: { ...context.counters, [otp.token]: otp.counter + 1 },
        users: { ...context.users, [user]: { ...context.users[user]!, failures: 0 } }
      })
    }),
    /** `consumeRefresh`: mark the presented refresh token used, in the same step that issues its successor. */
    consumeRefresh: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.RefreshRequest" || !context.policy.consumeRefresh) return
      const presented = event.message.refreshToken
      enqueue.assign({ refresh: { ...context.refresh, [presented]: { ...context.refresh[presented]!, status: "used" } } })
    }),
    /** Issue a new pair: a new family for a login, the next serial of the presented token's family for a refresh. */
    issue: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.LoginRequest" && event.type !== "msg.RefreshRequest") return
      const user = userOf(context, event)!
      const otp = event.message.otp as Exclude<OtpTerm, "guess">
      let family: number
      let families = context.families
      let presented = ""
      if (event.type === "msg.LoginRequest") {
        family = ++families
      } else {
        presented = event.message.refreshToken
        family = context.refresh[presented]!.family
      }
      const serial = context.serials[family] ?? 0
      const rt = `F${family}.${serial}`
      const refresh = { ...context.refresh, [rt]: { user, family, status: "active" as const } }
      const accessToken: AccessTerm = { name: `a${family}.${serial}`, sub: user, exp: event.now + 1 }
      enqueue.assign({ refresh, families, serials: { ...context.serials, [family]: serial + 1 } })
      const data =
        event.type === "msg.LoginRequest"
          ? `login;user=${user};otp=${otpName(otp)};new=${rt}`
          : `refresh;user=${user};rt=${presented};otp=${otpName(otp)};new=${rt}`
      enqueue(verdict({ accepted: true, data }))
      enqueue(send({ _tag: "TokenGrant", accessToken, refreshToken: rt }))
    }),
    /** Time passes: a lockout ends and the per-tick failure budget is renewed. */
    tick: enqueueActions(({ context, enqueue }) => {
      enqueue.assign({ users: Object.fromEntries(Object.entries(context.users).map(([n, u]) => [n, { ...u, failures: 0, locked: false }])) })
    })
  },
  guards: {
    knownKey: ({ context, event }) => event.type === "msg.LoginRequest" && userByKey(context, event.message.apiKey) !== undefined,
    refreshUnknown: ({ context, event }) => {
      if (event.type !== "msg.RefreshRequest") return false
      const r = context.refresh[event.message.refreshToken]
      return r === undefined || r.status === "revoked"
    },
    refreshUsed: ({ context, event }) => event.type === "msg.RefreshRequest" && context.refresh[event.message.refreshToken]?.status === "used",
    throttled: ({ context, event }) => {
      const user = userOf(context, event)
      return user !== undefined && context.policy.maxOtpFailures !== null && context.users[user]!.locked
    },
    otpValid: ({ context, event }) => {
      const user = userOf(context, event)
      const otp = otpOf(event)
      return user !== undefined && otp !== undefined && matchOtp(context, user, otp)
    }
  }
}).createMachine({
  id: "authServer",
  description: "P3 AuthServer: API key → username → linked key id → OTP; issues and rotates access and refresh tokens.",
  meta: { spec: "spec/hw-token-2fa/SPEC.md §2, §5" },
  context: ({ input }) => ({
    policy: input.policy,
    users: Object.fromEntries(Object.entries(input.users).map(([n, u]) => [n, { ...u, failures: 0, locked: false }])),
    counters: {},
    refresh: {},
    families: 0,
    serials: {}
  }),
  initial: "serving",
  states: {
    serving: {
      description: "Every record is durable; each input is one atomic check-then-update.",
      on: {
        "clock.tick": { actions: "tick" },
        "msg.LoginRequest": [
          { guard: not("knownKey"), actions: { type: "refuse", params: { reason: "bad-credential" } } },
          { guard: "throttled", actions: { type: "refuse", params: { reason: "throttled" } } },
          { guard: not("otpValid"), actions: "refuseOtp" },
          { description: "link username → key id, OTP valid: first access and refresh token", actions: ["acceptOtp", "issue"] }
        ],
        "msg.RefreshBegin": { description: "the expired access token: ask for the refresh token", actions: "prompt" },
        "msg.RefreshRequest": [
          { guard: "refreshUnknown", actions: { type: "refuse", params: { reason: "bad-refresh" } } },
          { guard: "refreshUsed", description: "a rotated refresh token presented again (RFC 9700 §4.14.2)", actions: "refuseReuse" },
          { guard: "throttled", actions: { type: "refuse", params: { reason: "throttled" } } },
          { guard: not("otpValid"), actions: "refuseOtp" },
          { description: "refresh token → username → key id → OTP valid: second access and refresh token", actions: ["acceptOtp", "consumeRefresh", "issue"] }
        ]
      }
    }
  }
})
