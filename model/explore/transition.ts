/**
 * XState's pure `transition()`, memoised by content. Exploring a system re-applies the same event
 * to the same participant state many times (the rest of the system differs). An xstate transition
 * costs ~100 µs here; the lookup ~1 µs plus the event's key — the explorer's largest saving.
 *
 * The memo is keyed by the snapshot's content id (./keys.ts), not its identity: a participant that
 * reaches the same state along two paths holds two equal but distinct snapshot objects, and the
 * second one hits the memo too. The event is keyed by its content id too (`eventId`, remembered
 * per event object), in a table of events per snapshot: two small integers, which a Map hashes at
 * once, where a key string built per call was hashed afresh each time (with P5 making its events
 * once per message, depth 8 went from 5.9 s to 5.5 s). The next snapshot handed out on a hit is
 * the one first computed, so equal states share objects from then on (and their ids are found by
 * identity).
 *
 * Safe because the machines are pure (ARCHITECTURE.md: no clock, randomness or invoke inside):
 * the same state and event always give the same next state and actions. Callers test
 * `next === snapshot` for "the event changed nothing"; the memo keeps that meaning: when XState
 * returned the input snapshot itself, or one of the same content with no actions, a hit returns
 * the caller's snapshot.
 */
import { type AnyActorScope, type AnyStateMachine, createActor, type EventFromLogic, type SnapshotFrom, type transition as xstateTransition } from "xstate"
import { eventId, memoOf, snapshotId } from "./keys.ts"

/**
 * One inert actor scope per machine, reused by every transition. XState's own `transition()`
 * builds a new actor (and its initial snapshot) on each call — two thirds of a transition's cost
 * here; the machines spawn and invoke nothing, so a scope that only collects the actions is all a
 * pure transition needs (the `ActorLogic.transition(snapshot, event, scope)` contract).
 */
const scopes = new WeakMap<AnyStateMachine, { readonly scope: AnyActorScope; readonly collected: Array<unknown> }>()

const scopeOf = (machine: AnyStateMachine) => {
  let entry = scopes.get(machine)
  if (entry === undefined) {
    const self = createActor(machine)
    const collected: Array<unknown> = []
    const scope = {
      self,
      id: "",
      sessionId: "",
      system: self.system,
      defer: () => {},
      logger: () => {},
      stopChild: () => {},
      emit: () => {},
      actionExecutor: (action: unknown) => void collected.push(action)
    } as unknown as AnyActorScope
    entry = { scope, collected }
    scopes.set(machine, entry)
  }
  return entry
}

interface Memo {
  readonly next: unknown
  readonly actions: ReadonlyArray<unknown>
  readonly unchanged: boolean
}

export const transition = <M extends AnyStateMachine>(
  machine: M,
  snapshot: SnapshotFrom<M>,
  event: EventFromLogic<M>
): ReturnType<typeof xstateTransition<M>> => {
  const memo = memoOf<Map<number, Memo>, number>(machine)
  const state = snapshotId(snapshot as never)
  let bySnapshot = memo.get(state)
  if (bySnapshot === undefined) memo.set(state, (bySnapshot = new Map()))
  const input = eventId(event)
  let hit = bySnapshot.get(input)
  if (hit === undefined) {
    const { scope, collected } = scopeOf(machine)
    const next = machine.transition(snapshot, event, scope)
    const actions = collected.splice(0)
    // An event that did nothing and left the same content (an `assign` of the values already
    // there, e.g. a crash with nothing in memory) changed nothing either: handing back the
    // caller's snapshot lets the system keep its state object, and the explorer skip its key
    // (P5 at depth 8: 27 k of the 228 k keys it computed, 12 % of them).
    hit = { next, actions, unchanged: next === snapshot || (actions.length === 0 && snapshotId(next as never) === state) }
    bySnapshot.set(input, hit)
  }
  return [hit.unchanged ? snapshot : hit.next, hit.actions] as ReturnType<typeof xstateTransition<M>>
}
