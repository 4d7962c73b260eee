/**
 * P3 UserDevice as a pure XState v5 machine (both variants behave alike on the device).
 * Spec: spec/hw-token-2fa/SPEC.md §2.
 *
 * Pure: the OTP the user reads off the hardware token arrives in the event (the system presses
 * the token), sends are emitted `send` actions and trace facts `fact` actions, interpreted by
 * model/hw-token-2fa/system.ts. The device holds its API key for good and at most one
 * access/refresh pair.
 */
import { assign, enqueueActions, setup } from "xstate"
import type { TraceEvent } from "../../spec/trace.ts"
import { type AccessTerm, dataOf, otpName, type OtpTerm, type SymMessage } from "./terms.ts"

export interface DeviceContext {
  readonly apiKey: string
  readonly accessToken: AccessTerm | null
  readonly refreshToken: string | null
}

type Msg<T extends SymMessage["_tag"]> = Extract<SymMessage, { _tag: T }>

export type DeviceEvent =
  | { readonly type: "user.login"; readonly otp: OtpTerm }
  | { readonly type: "user.refresh" }
  | { readonly type: "user.access" }
  | { readonly type: "msg.RefreshPrompt"; readonly message: Msg<"RefreshPrompt">; readonly otp: OtpTerm }
  | { readonly type: "msg.TokenGrant"; readonly message: Msg<"TokenGrant"> }
  /** A refusal from the AuthServer (the ResourceServer's answers change nothing on the device). */
  | { readonly type: "msg.Denied"; readonly message: Msg<"Denied"> }
  | { readonly type: "timer.expired" }

export interface SendParams {
  readonly message: SymMessage
  /** `auth` or `rs`. */
  readonly to: string
}

const send = (message: SymMessage, to = "auth"): never => ({ type: "send", params: { message, to } }) as never
const fact = (event: TraceEvent): never => ({ type: "fact", params: { event } }) as never

export const deviceMachine = setup({
  types: {
    context: {} as DeviceContext,
    events: {} as DeviceEvent,
    input: {} as { readonly apiKey: string }
  },
  actions: {
    send: (_, _params: SendParams) => {},
    fact: (_, _params: { readonly event: TraceEvent }) => {},
    /** "receiving … a credential from a user device": the API key, with the OTP just read. */
    login: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "user.login") return
      const message: SymMessage = { _tag: "LoginRequest", apiKey: context.apiKey, otp: event.otp }
      enqueue(fact({ _tag: "Running", actor: "device", peer: "auth", data: `login;otp=${otpName(event.otp)}` }))
      enqueue(send(message))
    }),
    /** "the first refresh token and a second one-time password". */
    sendRefresh: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.RefreshPrompt" || context.refreshToken === null) return
      const message: SymMessage = { _tag: "RefreshRequest", refreshToken: context.refreshToken, otp: event.otp }
      enqueue(fact({ _tag: "Running", actor: "device", peer: "auth", data: dataOf(message)! }))
      enqueue(send(message))
    }),
    store: enqueueActions(({ event, enqueue }) => {
      if (event.type !== "msg.TokenGrant") return
      enqueue.assign({ accessToken: event.message.accessToken, refreshToken: event.message.refreshToken })
      enqueue(fact({ _tag: "Accept", actor: "device", data: `tokens;rt=${event.message.refreshToken}` }))
    }),
    drop: assign({ accessToken: null, refreshToken: null })
  }
}).createMachine({
  id: "userDevice",
  description: "P3 user device: logs in with its API key and an OTP, uses its access token, refreshes with its refresh token and a new OTP.",
  meta: { spec: "spec/hw-token-2fa/SPEC.md §2" },
  context: ({ input }) => ({ apiKey: input.apiKey, accessToken: null, refreshToken: null }),
  initial: "idle",
  states: {
    idle: {
      description: "Holds only its API key.",
      on: { "user.login": { target: "loggingIn", actions: "login" } }
    },
    loggingIn: {
      description: "Sent API key and OTP; waiting for the first pair. The user may try again with a new OTP.",
      on: {
        "user.login": { target: "loggingIn", actions: "login" },
        "msg.TokenGrant": { target: "active", actions: "store" },
        "msg.Denied": { target: "idle" },
        "timer.expired": { target: "idle" }
      }
    },
    active: {
      description: "Holds an access token (maybe expired) and a refresh token.",
      on: {
        "user.access": {
          actions: { type: "send", params: ({ context }) => ({ message: { _tag: "AccessRequest", accessToken: context.accessToken! }, to: "rs" }) }
        },
        "user.refresh": {
          target: "awaitingPrompt",
          description: "after the access token expired: present it to the AuthServer",
          actions: { type: "send", params: ({ context }) => ({ message: { _tag: "RefreshBegin", accessToken: context.accessToken! }, to: "auth" }) }
        }
      }
    },
    awaitingPrompt: {
      description: "Presented the expired access token; waiting to be asked for the refresh token.",
      on: {
        "msg.RefreshPrompt": { target: "refreshing", actions: "sendRefresh" },
        "msg.Denied": { target: "idle", actions: "drop" },
        "timer.expired": { target: "active" }
      }
    },
    refreshing: {
      description: "Sent refresh token and OTP; waiting for the second pair. If the answer is lost the device keeps its old pair.",
      on: {
        "msg.TokenGrant": { target: "active", actions: "store" },
        "msg.Denied": { target: "idle", actions: "drop" },
        "timer.expired": { target: "active" }
      }
    }
  }
})
