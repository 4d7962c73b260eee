/**
 * XState's pure `transition()`, memoised by content. Exploring a system re-applies the same event
 * to the same participant state many times (the rest of the system differs). An xstate transition
 * costs ~100 µs here (it builds an inert actor each call); the lookup ~1 µs plus the event's JSON —
 * the explorer's largest saving.
 *
 * The memo is keyed by the snapshot's content id (./keys.ts), not its identity: a participant that
 * reaches the same state along two paths holds two equal but distinct snapshot objects, and the
 * second one hits the memo too. The next snapshot handed out on a hit is the one first computed,
 * so equal states share objects from then on (and their ids are found by identity).
 *
 * Safe because the machines are pure (ARCHITECTURE.md: no clock, randomness or invoke inside):
 * the same state and event always give the same next state and actions. Callers test
 * `next === snapshot` for "the event changed nothing"; the memo keeps that meaning: when XState
 * returned the input snapshot itself, a hit returns the caller's snapshot.
 */
import { transition as xstateTransition, type AnyStateMachine, type EventFromLogic, type SnapshotFrom } from "xstate"
import { memoOf, snapshotId, termId } from "./keys.ts"

/**
 * An event's key: its fields, with object fields (messages, terms) by content id. The objects are
 * shared with the network the event came from, so each is serialised once, not per delivery.
 */
const eventKey = (event: object): string => {
  let out = ""
  for (const [name, value] of Object.entries(event)) out += `${name}=${typeof value === "object" && value !== null ? `#${termId(value)}` : JSON.stringify(value)};`
  return out
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
  const memo = memoOf<Memo>(machine)
  const key = `${snapshotId(snapshot as never)}|${eventKey(event)}`
  let hit = memo.get(key)
  if (hit === undefined) {
    const [next, actions] = xstateTransition(machine, snapshot, event)
    hit = { next, actions, unchanged: next === snapshot }
    memo.set(key, hit)
  }
  return [hit.unchanged ? snapshot : hit.next, hit.actions] as ReturnType<typeof xstateTransition<M>>
}
