/**
 * XState's pure `transition()`, memoised. Exploring a system re-applies the same event to the same
 * participant snapshot many times (the rest of the system differs); snapshots are immutable and
 * shared between system states, so the result can be reused. An xstate transition costs ~100 µs
 * here, the lookup ~1 µs plus the event's JSON — the explorer's largest saving.
 *
 * Safe because the machines are pure (ARCHITECTURE.md: no clock, randomness or invoke inside):
 * the same snapshot and event always give the same next snapshot and actions.
 */
import { transition as xstateTransition, type AnyStateMachine, type EventFromLogic, type SnapshotFrom } from "xstate"

const cache = new WeakMap<object, Map<string, unknown>>()

export const transition = <M extends AnyStateMachine>(
  machine: M,
  snapshot: SnapshotFrom<M>,
  event: EventFromLogic<M>
): ReturnType<typeof xstateTransition<M>> => {
  let byEvent = cache.get(snapshot as object)
  if (byEvent === undefined) {
    byEvent = new Map()
    cache.set(snapshot as object, byEvent)
  }
  const key = JSON.stringify(event)
  let result = byEvent.get(key) as ReturnType<typeof xstateTransition<M>> | undefined
  if (result === undefined) {
    result = xstateTransition(machine, snapshot, event)
    byEvent.set(key, result)
  }
  return result
}
