/**
 * For the store contract tests: every store contract is written once and run against each backend
 * (in memory, SQLite), so the durable store is held to exactly what the audit's store does.
 *
 * A backend `opens` a store over some storage and can `reopen` it — a new store over the same
 * storage, as a restarted process would build. In memory the storage is the store itself (what
 * the harness's crash-restart keeps), so reopening returns it; in SQLite it is a file, reopened
 * on a new connection. Not used by the implementation.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Layer, Scope } from "effect"
import { layerDatabase } from "./database.ts"
import type { SqlClient } from "@effect/sql/SqlClient"

export interface Opened<S> {
  readonly store: S
  /** A store over the same storage, as a restarted process builds it (SQLite: the old connection is closed first). */
  readonly reopen: Effect.Effect<S>
  /** The database file, for SQLite (tests that read the bytes on disk). */
  readonly file?: string
}

export interface Backend<S> {
  readonly name: string
  /** A store over fresh, empty storage; everything it opened is released with the test's scope. */
  readonly open: Effect.Effect<Opened<S>, never, Scope.Scope>
}

export const memoryBackend = <S>(make: Effect.Effect<S>): Backend<S> => ({
  name: "in-memory",
  open: Effect.map(make, (store) => ({ store, reopen: Effect.succeed(store) }))
})

/** A fresh temporary directory, removed when the scope closes. */
export const scopedTempDir = (prefix: string): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), prefix))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

/** `make` over its own connection to `file`, open until `scope` closes. */
export const connect = <S, E>(file: string, make: Effect.Effect<S, E, SqlClient>, scope: Scope.Scope): Effect.Effect<S> =>
  Effect.orDie(Effect.flatMap(Layer.buildWithScope(layerDatabase(file), scope), (context) => Effect.provide(make, context)))

export const sqliteBackend = <S, E>(make: Effect.Effect<S, E, SqlClient>): Backend<S> => ({
  name: "sqlite",
  open: Effect.gen(function*() {
    const file = join(yield* scopedTempDir("authlab-store-"), "store.sqlite")
    // One connection at a time, as one process has: reopening closes the last one first.
    let connection = yield* Scope.make()
    yield* Effect.addFinalizer(() => Scope.close(connection, Exit.void))
    const store = yield* connect(file, make, connection)
    const reopen = Effect.gen(function*() {
      yield* Scope.close(connection, Exit.void)
      connection = yield* Scope.make()
      return yield* connect(file, make, connection)
    })
    return { store, file, reopen }
  })
})
