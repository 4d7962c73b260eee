/**
 * The model side of the P5 mutants: the shipped machines with one named action or guard replaced
 * (`machine.provide`), so each flaw is written next to the one piece of the design it breaks and
 * the shipped machines keep no path that only a mutant takes.
 */
import { assign, enqueueActions } from "xstate"
import { nextKey } from "../../../model/rolling-key/terms.ts"
import type { Machines } from "../../../model/rolling-key/system.ts"

/** The server leaves a checked challenge outstanding (whatever the verdict). */
export const challengeNotConsumed = (m: Machines): Machines => ({
  ...m,
  server: m.server.provide({ actions: { consumeChallenge: () => {} } })
})

/** The server forgets the previous key when it rolls from current (and so never has a retired one either). */
export const previousNotKept = (m: Machines): Machines => ({
  ...m,
  server: m.server.provide({
    actions: {
      rotate: assign(({ context, event }, params: { readonly slot: "current" | "previous" | "retired" }) => {
        if (event.type !== "msg.AuthRequest") return {}
        const { deviceId } = event.message
        const d = context.devices[deviceId]!
        const verified = d[params.slot]!
        const current = nextKey(verified, event.fresh)
        const next = params.slot === "current" ? { ...d, current, previous: null, retired: null } : { ...d, current }
        return { devices: { ...context.devices, [deviceId]: next } }
      })
    }
  })
})

/** A valid code under the retired key is accepted (rolling from it) instead of raising clone-suspected. */
export const retiredAccepted = (m: Machines): Machines => ({
  ...m,
  server: m.server.provide({
    actions: {
      suspectClone: enqueueActions(({ enqueue }) => {
        enqueue({ type: "grant", params: { slot: "retired" } } as never)
        enqueue({ type: "rotate", params: { slot: "retired" } } as never)
      })
    }
  })
})

/** The client keeps a new key in memory and stores only the key just proven by the grant. */
export const keyUsedBeforeStored = (m: Machines): Machines => ({
  ...m,
  client: m.client.provide({
    actions: {
      roll: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== "msg.AuthGranted" || context.key === null || context.pending === null) return
        const key = nextKey(context.key, event.message.rollingInput)
        enqueue({ type: "fact", params: { event: { _tag: "Accept", actor: context.role, data: context.pending.data.split("@")[0]! } } } as never)
        enqueue({ type: "fact", params: { event: { _tag: "Secret", actor: context.role, name: `k${key.epoch}` } } } as never)
        enqueue.assign({ key, storedKey: context.key, pending: null })
      })
    }
  })
})
