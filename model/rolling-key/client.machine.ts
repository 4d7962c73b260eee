/**
 * P5 client (the device's app) as a pure XState v5 machine, both variants by `policy`.
 * Spec: spec/rolling-key/SPEC.md §Registration, §Authentication.
 *
 * Pure: nonces arrive in events, sending is an emitted `send` action and trace facts are emitted
 * `fact` actions, both interpreted by model/rolling-key/system.ts. The same machine, started with
 * role `clone`, is the attacker's copy of the device after a compromise.
 */
import { assign, enqueueActions, setup } from "xstate"
import type { Policy } from "../../spec/rolling-key/variants.ts"
import type { TraceEvent } from "../../spec/trace.ts"
import { authCode, grantProof, initialKeyFromDh, initialKeyFromInput, type Key, macEquals, nextKey, registerConfirm, type SymMessage } from "./terms.ts"

export type ClientRole = "client" | "clone"

export interface ClientContext {
  readonly policy: Policy
  readonly role: ClientRole
  // durable: survives a crash
  readonly deviceId: string | null
  readonly storedKey: Key | null
  readonly nextRequest: number
  // volatile
  /** The key in use; equals `storedKey` (the client stores a new key before it uses it). */
  readonly key: Key | null
  readonly ephemeral: string | null
  /** hardened: the nonce of the attempt waiting for its challenge. */
  readonly nonce: string | null
  /** The request waiting for its grant, with its attempt's nonce (`""` in claimed). */
  readonly pending: { readonly input: string; readonly nonce: string; readonly data: string } | null
}

export interface ClientInput {
  readonly policy: Policy
  readonly role: ClientRole
  /** Durable storage to start from (a restart, a clone, or a pre-registered device). */
  readonly stored?: { readonly deviceId: string; readonly key: Key; readonly nextRequest: number }
}

type Msg<T extends SymMessage["_tag"]> = Extract<SymMessage, { _tag: T }>

export type ClientEvent =
  | { readonly type: "user.register"; readonly ephemeral: string }
  | { readonly type: "user.login"; readonly input: string }
  | { readonly type: "msg.RegisterResponse"; readonly message: Msg<"RegisterResponse"> }
  | { readonly type: "msg.AuthChallenge"; readonly message: Msg<"AuthChallenge"> }
  | { readonly type: "msg.AuthGranted"; readonly message: Msg<"AuthGranted"> }
  | { readonly type: "msg.AuthRejected"; readonly message: Msg<"AuthRejected"> }
  | { readonly type: "timer.expired" }
  | { readonly type: "fault.crash" }

export interface SendParams {
  readonly message: SymMessage
  readonly data?: string
}

const requestData = (c: ClientContext): string =>
  `${c.role === "client" ? "req" : "clone"}${c.nextRequest}@k${c.key!.epoch}`

const authRequestOf = (c: ClientContext, nonce: string, input: string): SymMessage => ({
  _tag: "AuthRequest",
  deviceId: c.deviceId!,
  input,
  code: authCode(c.key!, c.deviceId!, nonce, input)
})

const claimedInitialKey = (e: Msg<"RegisterResponse">) => initialKeyFromInput(e.serverInput)
const hardenedInitialKey = (c: ClientContext, e: Msg<"RegisterResponse">) => initialKeyFromDh(c.ephemeral!, e.serverInput)

// Inside `setup`, `enqueue` cannot yet see the types of the sibling named actions `send` and
// `fact`; these build exactly the `{ type, params }` objects the chart itself uses.
const send = (message: SymMessage, data?: string): never =>
  ({ type: "send", params: data === undefined ? { message } : { message, data } }) as never
const fact = (event: TraceEvent): never => ({ type: "fact", params: { event } }) as never

export const clientMachine = setup({
  types: {
    context: {} as ClientContext,
    events: {} as ClientEvent,
    input: {} as ClientInput
  },
  actions: {
    /** Put a message on the wire to the server (interpreted by the system). */
    send: (_, _params: SendParams) => {},
    /** Record a trace fact (interpreted by the system). */
    fact: (_, _params: { readonly event: TraceEvent }) => {},
    /** A crash loses everything volatile: the client restarts from storage. */
    restart: assign(({ context }) => ({ key: context.storedKey, ephemeral: null, nonce: null, pending: null })),
    /** Send AuthRequest over `input` with the current key; the request counter is durable. */
    makeRequest: enqueueActions(({ context, enqueue }, params: { readonly input: string }) => {
      const data = requestData(context)
      const nonce = context.nonce ?? ""
      enqueue(fact({ _tag: "Running", actor: context.role, peer: "server", data }))
      enqueue(send(authRequestOf(context, nonce, params.input), data))
      enqueue.assign({ pending: { input: params.input, nonce, data }, nonce: null, nextRequest: context.nextRequest + 1 })
    }),
    /** K_{i+1} = next(K_i, n), stored before any use. */
    roll: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.AuthGranted" || context.key === null || context.pending === null) return
      const key = nextKey(context.key, event.message.rollingInput)
      const request = context.pending.data.split("@")[0]!
      enqueue(fact({ _tag: "Accept", actor: context.role, data: request }))
      enqueue(fact({ _tag: "Secret", actor: context.role, name: `k${key.epoch}` }))
      enqueue.assign({ key, storedKey: key, pending: null })
    }),
    /** hardened: a new attempt, named by a fresh nonce; ask for a challenge. */
    beginAttempt: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "user.login") return
      enqueue.assign({ nonce: event.input })
      enqueue(send({ _tag: "AuthBegin", deviceId: context.deviceId!, clientNonce: event.input }))
    }),
    abandonAttempt: assign({ nonce: null, pending: null }),
    /** Take K0 (and the device id) from the registration response. */
    storeInitialKey: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.RegisterResponse") return
      const k0 = context.policy.initialKey === "sent-back" ? claimedInitialKey(event.message) : hardenedInitialKey(context, event.message)
      enqueue.assign({ deviceId: event.message.deviceId, storedKey: k0, key: k0, ephemeral: null })
      enqueue(fact({ _tag: "Secret", actor: context.role, name: "k0" }))
      if (context.policy.initialKey === "sent-back")
        enqueue(send({ _tag: "RegisterKey", deviceId: event.message.deviceId, rollingKey: k0 }))
    })
  },
  guards: {
    hasStoredKey: ({ context }) => context.storedKey !== null,
    challengeInput: ({ context }) => context.policy.input === "server-challenge",
    sendsKeyBack: ({ context }) => context.policy.initialKey === "sent-back",
    forThisDevice: ({ context, event }) => "message" in event && "deviceId" in event.message && event.message.deviceId === context.deviceId,
    /** A challenge for this device and for the attempt now waiting (it echoes the attempt's nonce). */
    forThisAttempt: ({ context, event }) =>
      event.type === "msg.AuthChallenge" && event.message.deviceId === context.deviceId && context.nonce !== null && event.message.clientNonce === context.nonce,
    /** RFC-style key confirmation: the server proves it derived the same K0 (hardened). */
    confirmValid: ({ context, event }) => {
      if (event.type !== "msg.RegisterResponse" || context.ephemeral === null) return false
      const k0 = hardenedInitialKey(context, event.message)
      return macEquals(event.message.confirm, registerConfirm(k0, event.message.deviceId, context.ephemeral, event.message.serverInput))
    },
    /** The grant belongs to this device and, when the policy says so, proves it answers our pending request. */
    grantValid: ({ context, event }) => {
      if (event.type !== "msg.AuthGranted" || context.pending === null || event.message.deviceId !== context.deviceId) return false
      if (!context.policy.authenticatedGrant) return true
      return macEquals(event.message.proof, grantProof(context.key!, context.deviceId, context.pending.nonce, context.pending.input, event.message.rollingInput))
    }
  }
}).createMachine({
  id: "rollingKeyClient",
  description: "P5 client: registers, then logs in with its current rolling key and rolls it on every grant.",
  meta: { spec: "spec/rolling-key/SPEC.md" },
  context: ({ input }) => ({
    policy: input.policy,
    role: input.role,
    deviceId: input.stored?.deviceId ?? null,
    storedKey: input.stored?.key ?? null,
    key: input.stored?.key ?? null,
    nextRequest: input.stored?.nextRequest ?? 0,
    ephemeral: null,
    nonce: null,
    pending: null
  }),
  initial: "booting",
  on: {
    "fault.crash": [
      { guard: "hasStoredKey", target: ".ready", actions: "restart" },
      { target: ".unregistered", actions: "restart" }
    ]
  },
  states: {
    booting: {
      always: [{ guard: "hasStoredKey", target: "ready" }, { target: "unregistered" }]
    },
    unregistered: {
      description: "No rolling key yet.",
      on: {
        "user.register": {
          target: "registering",
          actions: [
            assign({ ephemeral: ({ context, event }) => (context.policy.initialKey === "ecdh" ? event.ephemeral : null) }),
            { type: "send", params: ({ context }) => ({ message: { _tag: "RegisterRequest", clientPublicKey: context.ephemeral } }) }
          ]
        }
      }
    },
    registering: {
      description: "Sent credentials; waiting for the server rolling-key input and the device id (SPEC §Registration 1–2).",
      meta: { spec: "SPEC.md §Registration" },
      on: {
        "msg.RegisterResponse": [
          {
            guard: "sendsKeyBack",
            description: "claimed: derive K0 from the server input, store it, send it back",
            target: "ready",
            actions: "storeInitialKey"
          },
          {
            guard: "confirmValid",
            description: "hardened: K0 from the X25519 secret, after checking the server's key confirmation",
            target: "ready",
            actions: "storeInitialKey"
          },
          { actions: { type: "fact", params: ({ context }) => ({ event: { _tag: "Reject", actor: context.role, reason: "bad-confirm" } }) } }
        ],
        "timer.expired": { target: "unregistered", actions: assign({ ephemeral: null }) }
      }
    },
    ready: {
      description: "Holds a rolling key; may start a login.",
      on: {
        "user.login": [
          { guard: "challengeInput", target: "awaitingChallenge", actions: "beginAttempt" },
          {
            description: "claimed: the client picks the authorisation-code input itself",
            target: "awaitingGrant",
            actions: { type: "makeRequest", params: ({ event }) => ({ input: event.input }) }
          }
        ]
      }
    },
    awaitingChallenge: {
      description: "hardened: asked for a challenge.",
      on: {
        "msg.AuthChallenge": {
          guard: "forThisAttempt",
          target: "awaitingGrant",
          actions: { type: "makeRequest", params: ({ event }) => ({ input: event.message.challenge }) }
        },
        "msg.AuthRejected": { guard: "forThisDevice", target: "ready", actions: "abandonAttempt" },
        "timer.expired": { target: "ready", actions: "abandonAttempt" }
      }
    },
    awaitingGrant: {
      description: "Sent the authorisation code; waiting for the new rolling-key input (SPEC §Authentication).",
      on: {
        "msg.AuthGranted": [
          { guard: "grantValid", target: "ready", actions: "roll" },
          { actions: { type: "fact", params: ({ context }) => ({ event: { _tag: "Reject", actor: context.role, reason: "bad-proof" } }) } }
        ],
        "msg.AuthRejected": { guard: "forThisDevice", target: "ready", actions: "abandonAttempt" },
        "timer.expired": { target: "ready", actions: "abandonAttempt" }
      }
    }
  }
})
