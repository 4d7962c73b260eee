/**
 * The whole-state store that P4, P2a and P2b keep their participants' state behind: one atomic
 * read-check-write per input (`transact`), so a check and the write it licenses cannot be split,
 * and a `snapshot` of the state at one point in time. The in-memory layer is here; the durable one
 * is impl/sqlite/state-store.ts over each protocol's own tables, held to the same contract
 * (impl/sqlite/state-store-contract.ts).
 */
import { Effect, Ref } from "effect"

export interface Store<S> {
  /** Run `f` on the current state and store what it returns, atomically; `f` must be pure. */
  readonly transact: <A>(f: (state: S) => readonly [A, S]) => Effect.Effect<A>
  readonly snapshot: Effect.Effect<S>
}

export const inMemoryStore = <S>(initial: S): Effect.Effect<Store<S>> =>
  Effect.map(Ref.make(initial), (ref) => ({ transact: <A>(f: (state: S) => readonly [A, S]) => Ref.modify(ref, f), snapshot: Ref.get(ref) }))

/** A comparable rendering of a state (sets and maps sorted, bytes as hex), for "a refusal changed nothing" checks. */
export const fingerprint = (state: unknown): string =>
  JSON.stringify(state, (_k, v: unknown) =>
    v instanceof Set ? [...v].sort() : v instanceof Map ? [...v.entries()].sort() : v instanceof Uint8Array ? Buffer.from(v).toString("hex") : v
  )
