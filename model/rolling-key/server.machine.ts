/**
 * P5 server as a pure XState v5 machine, both variants by `policy`.
 * Spec: spec/rolling-key/SPEC.md §Server checks (fixed order: device, challenge, code under
 * current / previous / retired), §Registration.
 *
 * Everything the server holds is durable (a crash loses nothing); fresh names (device ids,
 * challenges, rolling inputs) arrive in the events. Replies are emitted `send` actions, routed by
 * the system to whoever sent the request; verdicts are emitted `verdict` actions.
 */
import { assign, enqueueActions, not, setup } from "xstate"
import type { Policy } from "../../spec/rolling-key/variants.ts"
import { authCode, grantProof, initialKeyFromDh, type Key, macEquals, nextKey, registerConfirm, type SymMessage } from "./terms.ts"

export interface DeviceRecord {
  /** Null between a `claimed` registration response and the client's RegisterKey. */
  readonly current: Key | null
  readonly previous: Key | null
  readonly retired: Key | null
  /** The outstanding challenge with the client nonce of the attempt it answers. */
  readonly challenge: { readonly challenge: string; readonly nonce: string } | null
}

export interface ServerContext {
  readonly policy: Policy
  readonly devices: Readonly<Record<string, DeviceRecord>>
}

export interface ServerInput {
  readonly policy: Policy
  readonly devices?: Readonly<Record<string, DeviceRecord>>
}

type Msg<T extends SymMessage["_tag"]> = Extract<SymMessage, { _tag: T }>

export type ServerEvent =
  | { readonly type: "msg.RegisterRequest"; readonly message: Msg<"RegisterRequest">; readonly fresh: string }
  | { readonly type: "msg.RegisterKey"; readonly message: Msg<"RegisterKey"> }
  | { readonly type: "msg.AuthBegin"; readonly message: Msg<"AuthBegin">; readonly fresh: string }
  | { readonly type: "msg.AuthRequest"; readonly message: Msg<"AuthRequest">; readonly fresh: string }
  | { readonly type: "fault.crash" }

export type RejectReason = "malformed" | "unknown-device" | "stale-challenge" | "bad-code" | "clone-suspected" | "bad-credentials"
export type Slot = "current" | "previous" | "retired"

export type VerdictParams =
  | { readonly accepted: true; readonly via: Slot; readonly epoch: number }
  | { readonly accepted: false; readonly reason: RejectReason }

const deviceOf = (c: ServerContext, e: ServerEvent): DeviceRecord | undefined =>
  "message" in e && "deviceId" in e.message ? c.devices[e.message.deviceId] : undefined

const keyIn = (d: DeviceRecord, slot: Slot): Key | null => d[slot]

const withDevice = (c: ServerContext, id: string, d: DeviceRecord) => ({ devices: { ...c.devices, [id]: d } })

/** The client nonce a code for device `d` must cover: its outstanding challenge's (`""` in claimed: no challenges). */
const nonceOf = (d: DeviceRecord): string => d.challenge?.nonce ?? ""

// See client.machine.ts: `enqueue` inside `setup` cannot see the sibling named actions' types.
const send = (message: SymMessage): never => ({ type: "send", params: { message } }) as never
const verdict = (v: VerdictParams): never => ({ type: "verdict", params: v }) as never

export const serverMachine = setup({
  types: {
    context: {} as ServerContext,
    events: {} as ServerEvent,
    input: {} as ServerInput
  },
  actions: {
    send: (_, _params: { readonly message: SymMessage }) => {},
    verdict: (_, _params: VerdictParams) => {},
    /** Registration: a device id and the server rolling-key input (claimed) or ephemeral key (hardened). */
    register: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.RegisterRequest") return
      const deviceId = `${event.fresh}d`
      const serverInput = `${event.fresh}s`
      if (context.policy.initialKey === "ecdh" && event.message.clientPublicKey !== null) {
        const k0 = initialKeyFromDh(event.message.clientPublicKey, serverInput)
        enqueue.assign(withDevice(context, deviceId, { current: k0, previous: null, retired: null, challenge: null }))
        enqueue(send({ _tag: "RegisterResponse", deviceId, serverInput, confirm: registerConfirm(k0, deviceId, event.message.clientPublicKey, serverInput) }))
      } else {
        enqueue.assign(withDevice(context, deviceId, { current: null, previous: null, retired: null, challenge: null }))
        enqueue(send({ _tag: "RegisterResponse", deviceId, serverInput, confirm: null }))
      }
    }),
    forgetPendingRegistrations: assign(({ context }) => ({
      devices: Object.fromEntries(Object.entries(context.devices).filter(([, d]) => d.current !== null))
    })),
    /** claimed: "receive a rolling key from the client device; save the rolling key". */
    storeSentKey: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.RegisterKey") return
      const d = context.devices[event.message.deviceId]!
      enqueue.assign(withDevice(context, event.message.deviceId, { ...d, current: event.message.rollingKey }))
    }),
    issueChallenge: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "msg.AuthBegin") return
      const { deviceId, clientNonce } = event.message
      const d = context.devices[deviceId]!
      enqueue.assign(withDevice(context, deviceId, { ...d, challenge: { challenge: event.fresh, nonce: clientNonce } }))
      enqueue(send({ _tag: "AuthChallenge", deviceId, clientNonce, challenge: event.fresh }))
    }),
    /** The code verified under `slot`: accept, and grant with a proof under that key (before the keys roll). */
    grant: enqueueActions(({ context, event, enqueue }, params: { readonly slot: Slot }) => {
      if (event.type !== "msg.AuthRequest") return
      const { deviceId, input } = event.message
      const d = context.devices[deviceId]!
      const verified = keyIn(d, params.slot)!
      enqueue(verdict({ accepted: true, via: params.slot, epoch: verified.epoch }))
      enqueue(
        send({
          _tag: "AuthGranted",
          deviceId,
          rollingInput: event.fresh,
          proof: context.policy.authenticatedGrant ? grantProof(verified, deviceId, nonceOf(d), input, event.fresh) : null
        })
      )
    }),
    /**
     * Roll from the key that verified the code under `slot`. From `current` the keys shift
     * (current → previous → retired, when retired keys are kept); from any other slot (a device
     * whose grant was lost) only `current` is replaced.
     */
    rotate: assign(({ context, event }, params: { readonly slot: Slot }) => {
      if (event.type !== "msg.AuthRequest") return {}
      const { deviceId } = event.message
      const d = context.devices[deviceId]!
      const verified = keyIn(d, params.slot)!
      const current = nextKey(verified, event.fresh)
      const next: DeviceRecord =
        params.slot === "current" ? { ...d, current, previous: verified, retired: context.policy.retired === "detect" ? d.previous : null } : { ...d, current }
      return withDevice(context, deviceId, next)
    }),
    /** A checked challenge is consumed whatever the verdict (no second guess on it). */
    consumeChallenge: assign(({ context, event }) => {
      const d = deviceOf(context, event)
      if (d === undefined || d.challenge === null || !("message" in event) || !("deviceId" in event.message)) return {}
      return withDevice(context, event.message.deviceId, { ...d, challenge: null })
    }),
    /** Refuse with `reason`, answering the named device with a coarse AuthRejected. */
    refuse: enqueueActions(({ event, enqueue }, params: { readonly reason: RejectReason }) => {
      enqueue(verdict({ accepted: false, reason: params.reason }))
      if ("message" in event && "deviceId" in event.message && event.type !== "msg.RegisterKey")
        enqueue(send({ _tag: "AuthRejected", deviceId: event.message.deviceId, reason: "denied" }))
    }),
    /** A valid code under the retired key: refuse it as a copy's (the system signals clone-suspected). */
    suspectClone: enqueueActions(({ enqueue }) => {
      enqueue({ type: "refuse", params: { reason: "clone-suspected" } } as never)
    })
  },
  guards: {
    knownDevice: ({ context, event }) => deviceOf(context, event)?.current != null,
    awaitingKey: ({ context, event }) => {
      const d = deviceOf(context, event)
      return d !== undefined && d.current === null
    },
    usesChallenges: ({ context }) => context.policy.input === "server-challenge",
    /** The request's input is this device's outstanding challenge (hardened freshness). */
    freshInput: ({ context, event }) =>
      context.policy.input !== "server-challenge" ||
      (event.type === "msg.AuthRequest" && deviceOf(context, event)?.challenge?.challenge === event.message.input),
    codeUnder: ({ context, event }, params: { readonly slot: Slot }) => {
      if (event.type !== "msg.AuthRequest") return false
      const d = deviceOf(context, event)
      const key = d === undefined ? null : keyIn(d, params.slot)
      return d !== undefined && key !== null && macEquals(event.message.code, authCode(key, event.message.deviceId, nonceOf(d), event.message.input))
    },
    /** A valid code under the retired key (kept only by `detect`): the device has provably moved past it, so this is a copy. */
    cloneCode: ({ context, event }) => {
      if (event.type !== "msg.AuthRequest") return false
      const d = deviceOf(context, event)
      const key = d?.retired ?? null
      return d !== undefined && key !== null && macEquals(event.message.code, authCode(key, event.message.deviceId, nonceOf(d), event.message.input))
    }
  }
}).createMachine({
  id: "rollingKeyServer",
  description: "P5 server: registers devices, verifies authorisation codes under the current (then previous, retired) key and rolls.",
  meta: { spec: "spec/rolling-key/SPEC.md" },
  context: ({ input }) => ({ policy: input.policy, devices: input.devices ?? {} }),
  initial: "serving",
  states: {
    serving: {
      description: "Device records are durable; a claimed registration still waiting for its RegisterKey lives in memory and a crash loses it.",
      on: {
        "fault.crash": { actions: "forgetPendingRegistrations" },
        "msg.RegisterRequest": { actions: "register" },
        "msg.RegisterKey": [
          { guard: "awaitingKey", actions: "storeSentKey" },
          { actions: { type: "refuse", params: { reason: "unknown-device" } } }
        ],
        "msg.AuthBegin": [
          { guard: not("usesChallenges"), actions: { type: "refuse", params: { reason: "malformed" } } },
          { guard: not("knownDevice"), actions: { type: "refuse", params: { reason: "unknown-device" } } },
          { actions: "issueChallenge" }
        ],
        "msg.AuthRequest": [
          { guard: not("knownDevice"), actions: { type: "refuse", params: { reason: "unknown-device" } } },
          { guard: not("freshInput"), actions: { type: "refuse", params: { reason: "stale-challenge" } } },
          {
            guard: { type: "codeUnder", params: { slot: "current" } },
            actions: [{ type: "grant", params: { slot: "current" } }, { type: "rotate", params: { slot: "current" } }, "consumeChallenge"]
          },
          {
            guard: { type: "codeUnder", params: { slot: "previous" } },
            description: "a device whose last grant was lost, still holding the key before current",
            actions: [{ type: "grant", params: { slot: "previous" } }, { type: "rotate", params: { slot: "previous" } }, "consumeChallenge"]
          },
          { guard: "cloneCode", actions: ["suspectClone", "consumeChallenge"] },
          { actions: [{ type: "refuse", params: { reason: "bad-code" } }, "consumeChallenge"] }
        ]
      }
    }
  }
})
