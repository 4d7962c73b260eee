/**
 * P3 AuthServer store in SQLite (impl/sqlite), the durable twin of `makeInMemoryAuthStore`
 * (./store.ts), held to the same contract (store.test.ts). Each `transact` is one transaction that
 * writes only the rows its pure function changed (impl/sqlite/state-store.ts).
 *
 * Tables mirror `AuthState`: users (API key by hash only), hardware tokens (the HOTP secret — the
 * one secret here — loaded back as Redacted; counter and throttling record), refresh tokens (by
 * SHA-256 only, never the token), the family counter and each family's next serial. `seq` keeps
 * each map's insertion order, as the in-memory Maps do.
 */
import type { MigrationError } from "@effect/sql/Migrator"
import { SqlClient } from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Layer, Redacted } from "effect"
import type { ConfigError } from "effect/ConfigError"
import { bytesOf, layerDatabase, migrate } from "../sqlite/database.ts"
import { makeStateStore, seedOnce, type StateTables, syncEntries } from "../sqlite/state-store.ts"
import { StepTransaction } from "../sqlite/step.ts"
import { type AuthState, type AuthStore, AuthStoreService, emptyAuthState, type RefreshRecord, type TokenRecord, type UserRecord } from "./store.ts"

const MIGRATIONS = [
  [
    `CREATE TABLE hw_users (seq INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT NOT NULL UNIQUE, api_key_hash TEXT NOT NULL, key_id TEXT NOT NULL)`,
    `CREATE TABLE hw_tokens (seq INTEGER PRIMARY KEY AUTOINCREMENT, key_id TEXT NOT NULL UNIQUE, secret BLOB NOT NULL,
       counter INTEGER NOT NULL, failures INTEGER NOT NULL, failure_tick INTEGER NOT NULL)`,
    `CREATE TABLE hw_refresh (seq INTEGER PRIMARY KEY AUTOINCREMENT, hash TEXT NOT NULL UNIQUE, username TEXT NOT NULL,
       family INTEGER NOT NULL, serial INTEGER NOT NULL, status TEXT NOT NULL CHECK (status IN ('active', 'used', 'revoked')))`,
    `CREATE TABLE hw_families (id INTEGER PRIMARY KEY CHECK (id = 0), families INTEGER NOT NULL)`,
    `CREATE TABLE hw_serials (family INTEGER PRIMARY KEY, next INTEGER NOT NULL)`
  ]
] as const

const tablesOf = (sql: SqlClient): StateTables<AuthState> => ({
  load: Effect.gen(function*() {
    const users = yield* sql<{ username: string; api_key_hash: string; key_id: string }>`SELECT username, api_key_hash, key_id FROM hw_users ORDER BY seq`
    const tokens = yield* sql<{ key_id: string; secret: Uint8Array; counter: number; failures: number; failure_tick: number }>`
      SELECT key_id, secret, counter, failures, failure_tick FROM hw_tokens ORDER BY seq`
    const refresh = yield* sql<{ hash: string; username: string; family: number; serial: number; status: RefreshRecord["status"] }>`
      SELECT hash, username, family, serial, status FROM hw_refresh ORDER BY seq`
    const families = yield* sql<{ families: number }>`SELECT families FROM hw_families`
    const serials = yield* sql<{ family: number; next: number }>`SELECT family, next FROM hw_serials ORDER BY family`
    return {
      users: new Map(users.map((u): [string, UserRecord] => [u.username, { username: u.username, apiKeyHash: u.api_key_hash, keyId: u.key_id }])),
      tokens: new Map(
        tokens.map((t): [string, TokenRecord] => [
          t.key_id,
          { keyId: t.key_id, secret: Redacted.make(bytesOf(t.secret)), counter: t.counter, failures: t.failures, failureTick: t.failure_tick }
        ])
      ),
      refresh: new Map(refresh.map((r): [string, RefreshRecord] => [r.hash, { username: r.username, family: r.family, serial: r.serial, status: r.status }])),
      families: families[0]?.families ?? 0,
      serials: new Map(serials.map((s) => [s.family, s.next]))
    } satisfies AuthState
  }),
  save: (before, after) =>
    Effect.gen(function*() {
      yield* syncEntries(
        before.users,
        after.users,
        (username, u) => sql`INSERT INTO hw_users (username, api_key_hash, key_id) VALUES (${username}, ${u.apiKeyHash}, ${u.keyId})
          ON CONFLICT (username) DO UPDATE SET api_key_hash = excluded.api_key_hash, key_id = excluded.key_id`,
        (username) => sql`DELETE FROM hw_users WHERE username = ${username}`
      )
      yield* syncEntries(
        before.tokens,
        after.tokens,
        (keyId, t) => sql`INSERT INTO hw_tokens (key_id, secret, counter, failures, failure_tick)
          VALUES (${keyId}, ${Redacted.value(t.secret)}, ${t.counter}, ${t.failures}, ${t.failureTick})
          ON CONFLICT (key_id) DO UPDATE SET secret = excluded.secret, counter = excluded.counter,
            failures = excluded.failures, failure_tick = excluded.failure_tick`,
        (keyId) => sql`DELETE FROM hw_tokens WHERE key_id = ${keyId}`
      )
      yield* syncEntries(
        before.refresh,
        after.refresh,
        (hash, r) => sql`INSERT INTO hw_refresh (hash, username, family, serial, status) VALUES (${hash}, ${r.username}, ${r.family}, ${r.serial}, ${r.status})
          ON CONFLICT (hash) DO UPDATE SET username = excluded.username, family = excluded.family, serial = excluded.serial, status = excluded.status`,
        (hash) => sql`DELETE FROM hw_refresh WHERE hash = ${hash}`
      )
      if (after.families !== before.families)
        yield* sql`INSERT INTO hw_families (id, families) VALUES (0, ${after.families}) ON CONFLICT (id) DO UPDATE SET families = excluded.families`
      yield* syncEntries(
        before.serials,
        after.serials,
        (family, next) => sql`INSERT INTO hw_serials (family, next) VALUES (${family}, ${next}) ON CONFLICT (family) DO UPDATE SET next = excluded.next`,
        (family) => sql`DELETE FROM hw_serials WHERE family = ${family}`
      )
    })
})

/**
 * An AuthServer store over the database in context. A fresh database is seeded with `initial`
 * (the enrolled users and tokens, `enrol` of ./auth-server.ts); a database that already holds
 * users is left as it is — a restart does not re-enrol.
 */
export const makeSqliteAuthStore = (initial: AuthState = emptyAuthState): Effect.Effect<AuthStore, SqlError | MigrationError, SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient
    yield* migrate("hw_token_2fa", MIGRATIONS)
    const tables = tablesOf(sql)
    const fresh = Effect.map(sql<{ n: number }>`SELECT (SELECT count(*) FROM hw_users) + (SELECT count(*) FROM hw_families) AS n`, (rows) => rows[0]!.n === 0)
    yield* seedOnce(tables, fresh, emptyAuthState, initial)
    return yield* makeStateStore(tables)
  })

/** The AuthStore in the SQLite file `filename` (created and seeded with `initial` if new), and its step boundary. */
export const layerSqlite = (
  filename: string,
  initial: AuthState = emptyAuthState
): Layer.Layer<AuthStoreService | StepTransaction, SqlError | MigrationError | ConfigError> =>
  Layer.merge(Layer.effect(AuthStoreService, makeSqliteAuthStore(initial)), StepTransaction.layerSqlite).pipe(Layer.provide(layerDatabase(filename)))
