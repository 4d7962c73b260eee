/**
 * The SQLite database every durable store of authlab lives in: one connection per file
 * (`@effect/sql-sqlite-node` over better-sqlite3), its pragmas, and each store's migrations.
 *
 * Pragmas, and why:
 * - `journal_mode = DELETE` (a rollback journal, not WAL): a committed transaction leaves the old
 *   page images nowhere in the database's files. WAL keeps every written page in the `-wal` file
 *   until it is overwritten, so the keys a P5 server has rolled past — which SECURITY.md promises
 *   are erased (forward secrecy) — would stay readable in a copy of the files.
 * - `secure_delete = ON`: a deleted or overwritten row is zeroed in its page, for the same reason.
 * - `synchronous = FULL`: COMMIT returns after the journal and the database are on disk, so a
 *   reply sent after COMMIT survives a power cut as well as a killed process.
 * - `foreign_keys = ON`, in case a store declares any.
 *
 * A store owns its tables and its migration table (`<store>_migrations`), so several stores can
 * share one file (P4's backend and payee, say) and a store's schema can grow on its own.
 */
import * as Migrator from "@effect/sql/Migrator"
import { SqlClient } from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Layer } from "effect"
import type { ConfigError } from "effect/ConfigError"

const PRAGMAS = ["journal_mode = DELETE", "secure_delete = ON", "synchronous = FULL", "foreign_keys = ON"] as const

/** The pragmas above, on the connection in context. */
const applyPragmas = Effect.gen(function*() {
  const sql = yield* SqlClient
  for (const pragma of PRAGMAS) yield* sql.unsafe(`PRAGMA ${pragma}`)
})

/** A connection to `filename` (created if absent) with the pragmas applied; `:memory:` for a private in-memory database. */
export const layerDatabase = (filename: string): Layer.Layer<SqlClient, SqlError | ConfigError> =>
  Layer.effectDiscard(applyPragmas).pipe(Layer.provideMerge(SqliteClient.layer({ filename, disableWAL: true })))

const runMigrations = Migrator.make({})

/**
 * Bring a store's tables up to date: `migrations` are applied in order, each once, in one
 * transaction, recorded in the table `<store>_migrations`. Append to the list; never edit an entry
 * that has shipped.
 */
export const migrate = (store: string, migrations: ReadonlyArray<ReadonlyArray<string>>) =>
  runMigrations({
    table: `${store}_migrations`,
    loader: Migrator.fromRecord(
      Object.fromEntries(
        migrations.map((statements, i) => [
          `${i + 1}_${store}`,
          Effect.flatMap(SqlClient, (sql) => Effect.forEach(statements, (s) => sql.unsafe(s), { discard: true }))
        ])
      )
    )
  }).pipe(Effect.asVoid)

/**
 * A failed query inside a store is a defect, not a protocol refusal: the store interfaces promise
 * no error channel, the step's transaction rolls back, and no reply is sent for it.
 */
export const orDieSql = <A, R>(effect: Effect.Effect<A, SqlError, R>): Effect.Effect<A, never, R> => Effect.orDie(effect)

/** A BLOB column as a fresh `Uint8Array` (better-sqlite3 returns a Buffer; callers compare and copy plain arrays). */
export const bytesOf = (blob: unknown): Uint8Array => {
  if (!(blob instanceof Uint8Array)) throw new TypeError(`expected a BLOB column, got ${typeof blob}`)
  return Uint8Array.from(blob)
}

/** A nullable BLOB column. */
export const bytesOrNull = (blob: unknown): Uint8Array | null => (blob === null || blob === undefined ? null : bytesOf(blob))
