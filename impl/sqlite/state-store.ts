/**
 * A whole-state store in SQLite: the `transact(f)` / `snapshot` interface P3 and P4 use
 * (impl/hw-token-2fa/store.ts, impl/cpk-payment/store.ts), over a protocol's own tables.
 *
 * `transact` is one transaction (a savepoint when the step around it already opened one): read the
 * state from the tables, run the pure `f`, write back only the rows `f` changed. `f` builds its
 * next state from the one it was given, sharing every record it did not touch, so "changed" is
 * decided by reference (`syncEntries`) — a record `f` rebuilt without changing it is just written
 * again. Reading the whole state costs one SELECT per table per step: fine for the sizes a test or
 * a single-node server sees, and the price of `f` staying a pure function of the whole state.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect } from "effect"
import { orDieSql } from "./database.ts"

export interface StateStore<S> {
  /** Run `f` on the current state and store what it returns, atomically; `f` must be pure. */
  readonly transact: <A>(f: (state: S) => readonly [A, S]) => Effect.Effect<A>
  readonly snapshot: Effect.Effect<S>
}

export interface StateTables<S> {
  /** The whole state, from the tables. */
  readonly load: Effect.Effect<S, SqlError>
  /** Write what differs between `before` (as loaded) and `after`. */
  readonly save: (before: S, after: S) => Effect.Effect<void, SqlError>
}

export const makeStateStore = <S>(tables: StateTables<S>): Effect.Effect<StateStore<S>, never, SqlClient> =>
  Effect.map(SqlClient, (sql) => ({
    transact: <A>(f: (state: S) => readonly [A, S]) =>
      orDieSql(
        sql.withTransaction(
          Effect.gen(function*() {
            const before = yield* tables.load
            const [result, after] = f(before)
            if (after !== before) yield* tables.save(before, after)
            return result
          })
        )
      ),
    // In a transaction, so the tables are read at one point in time.
    snapshot: orDieSql(sql.withTransaction(tables.load))
  }))

/**
 * Bring a keyed table from `before` to `after`: upsert each entry whose value is not the very
 * object `before` had under that key, delete each key `after` lacks.
 */
export const syncEntries = <K, V>(
  before: ReadonlyMap<K, V>,
  after: ReadonlyMap<K, V>,
  upsert: (key: K, value: V) => Effect.Effect<unknown, SqlError>,
  remove: (key: K) => Effect.Effect<unknown, SqlError>
): Effect.Effect<void, SqlError> =>
  Effect.gen(function*() {
    for (const key of before.keys()) if (!after.has(key)) yield* remove(key)
    for (const [key, value] of after) if (before.get(key) !== value) yield* upsert(key, value)
  })

/** A list as a map from index to element, for `syncEntries` (a list that only grows or changes in place). */
export const indexed = <V>(list: ReadonlyArray<V>): ReadonlyMap<number, V> => new Map(list.map((v, i) => [i, v]))

/** A set as a map from each element to itself, for `syncEntries`. */
export const members = <V>(set: ReadonlySet<V>): ReadonlyMap<V, V> => new Map([...set].map((v) => [v, v]))

/** Whether the state tables hold anything yet (a fresh file is seeded once with a store's initial state). */
export const seedOnce = <S>(tables: StateTables<S>, isEmpty: Effect.Effect<boolean, SqlError>, empty: S, initial: S) =>
  Effect.flatMap(SqlClient, (sql) =>
    sql.withTransaction(Effect.flatMap(isEmpty, (fresh) => (fresh && initial !== empty ? tables.save(empty, initial) : Effect.void)))
  )
