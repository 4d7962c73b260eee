/**
 * The memoised transition's contract: the same snapshot content and event give the memo's answer,
 * and `next === snapshot` means "the event changed nothing" — no transition taken, or one that
 * emitted no action and left a snapshot of the same content. An event that emits an action with
 * the content unchanged still counts as a step (its action is the step's effect).
 */
import { describe, expect, it } from "vitest"
import { assign, initialTransition, setup } from "xstate"
import { newKeySpace } from "./keys.ts"
import { transition } from "./transition.ts"

const machine = setup({
  types: {
    context: {} as { readonly count: number },
    events: {} as { readonly type: "same" } | { readonly type: "sameAndSend" } | { readonly type: "add" } | { readonly type: "ignored" }
  },
  actions: { send: (_, _params: { readonly what: string }) => {} }
}).createMachine({
  initial: "idle",
  context: { count: 0 },
  states: {
    idle: {
      on: {
        same: { actions: assign(({ context }) => ({ count: context.count })) },
        sameAndSend: { actions: [assign(({ context }) => ({ count: context.count })), { type: "send", params: { what: "hello" } }] },
        add: { actions: assign(({ context }) => ({ count: context.count + 1 })) }
      }
    }
  }
})

describe("transition (memoised)", () => {
  it("hands back the caller's snapshot when nothing changed, on a miss and on a hit", () => {
    newKeySpace()
    const [start] = initialTransition(machine)
    expect(transition(machine, start, { type: "ignored" })[0]).toBe(start)
    const same = { type: "same" } as const
    const [afterSame, sameActions] = transition(machine, start, same)
    expect(afterSame).toBe(start)
    expect(sameActions).toEqual([])
    // an equal snapshot that is another object: the memo hits, and hands back that object
    const [other] = initialTransition(machine)
    expect(other).not.toBe(start)
    expect(transition(machine, other, same)[0]).toBe(other)
  })

  it("counts a content-equal step with an action as a step, and a changed content as a change", () => {
    newKeySpace()
    const [start] = initialTransition(machine)
    const [afterSend, actions] = transition(machine, start, { type: "sameAndSend" })
    expect(afterSend).not.toBe(start)
    expect(actions.map((a) => (a as { type: string }).type)).toContain("send")
    const [added] = transition(machine, start, { type: "add" })
    expect(added).not.toBe(start)
    expect(added.context.count).toBe(1)
    // the memo's answer for the same content and event is the one first computed
    expect(transition(machine, start, { type: "add" })[0]).toBe(added)
  })
})
