/**
 * P2b server store in SQLite (impl/sqlite), the durable twin of `inMemoryStore(emptyServer)`
 * (./store.ts), held to the same contract (store.test.ts). Each `transact` is one transaction
 * writing only the rows its pure function changed (impl/sqlite/state-store.ts).
 *
 * Tables mirror `ServerState`: one row per session (keyed by its SID, in first-stored order, as the
 * in-memory Map) with its opener, device key, opening time, counts and — while a hardened login is
 * under way — the OPAQUE server state of that one attempt (the secret here: the file runs with
 * `secure_delete`, impl/sqlite/database.ts); one row per released token, by its SHA-256 only.
 */
import type { MigrationError } from "@effect/sql/Migrator"
import { SqlClient } from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Layer } from "effect"
import type { ConfigError } from "effect/ConfigError"
import { bytesOf, bytesOrNull, layerDatabase, migrate } from "../sqlite/database.ts"
import { makeStateStore, type StateTables, syncEntries } from "../sqlite/state-store.ts"
import { StepTransaction } from "../sqlite/step.ts"
import { type ServerState, type ServerStore, ServerStoreService, type SessionRecord } from "./store.ts"

const MIGRATIONS = [
  [
    `CREATE TABLE split_login_sessions (seq INTEGER PRIMARY KEY AUTOINCREMENT, sid TEXT NOT NULL UNIQUE, username TEXT NOT NULL,
       opener TEXT NOT NULL, device_key BLOB NOT NULL, opened_at INTEGER NOT NULL,
       challenge_user TEXT, challenge_state TEXT, challenge_fingerprint BLOB,
       logins INTEGER NOT NULL, releases INTEGER NOT NULL,
       CHECK ((challenge_user IS NULL) = (challenge_state IS NULL) AND (challenge_state IS NULL) = (challenge_fingerprint IS NULL)))`,
    `CREATE TABLE split_login_tokens (seq INTEGER PRIMARY KEY AUTOINCREMENT, digest TEXT NOT NULL UNIQUE, username TEXT NOT NULL, sid TEXT NOT NULL)`
  ]
] as const

interface SessionRow {
  readonly sid: string
  readonly username: string
  readonly opener: string
  readonly device_key: Uint8Array
  readonly opened_at: number
  readonly challenge_user: string | null
  readonly challenge_state: string | null
  readonly challenge_fingerprint: Uint8Array | null
  readonly logins: number
  readonly releases: number
}

const sessionOf = (r: SessionRow): SessionRecord => {
  const fingerprint = bytesOrNull(r.challenge_fingerprint)
  return {
    username: r.username,
    opener: r.opener,
    deviceKey: bytesOf(r.device_key),
    openedAt: r.opened_at,
    ...(r.challenge_user === null || r.challenge_state === null || fingerprint === null ? {} : { challenge: { state: { username: r.challenge_user, encoded: r.challenge_state }, fingerprint } }),
    logins: r.logins,
    releases: r.releases
  }
}

const tablesOf = (sql: SqlClient): StateTables<ServerState> => ({
  load: Effect.gen(function*() {
    const sessions = yield* sql<SessionRow>`SELECT sid, username, opener, device_key, opened_at, challenge_user, challenge_state,
      challenge_fingerprint, logins, releases FROM split_login_sessions ORDER BY seq`
    const tokens = yield* sql<{ digest: string; username: string; sid: string }>`SELECT digest, username, sid FROM split_login_tokens ORDER BY seq`
    return {
      sessions: new Map(sessions.map((r): [string, SessionRecord] => [r.sid, sessionOf(r)])),
      tokens: new Map(tokens.map((t) => [t.digest, { username: t.username, sid: t.sid }]))
    }
  }),
  save: (before, after) =>
    Effect.gen(function*() {
      yield* syncEntries(
        before.sessions,
        after.sessions,
        (sid, r) => sql`INSERT INTO split_login_sessions (sid, username, opener, device_key, opened_at, challenge_user, challenge_state,
            challenge_fingerprint, logins, releases)
          VALUES (${sid}, ${r.username}, ${r.opener}, ${r.deviceKey}, ${r.openedAt}, ${r.challenge?.state.username ?? null},
            ${r.challenge?.state.encoded ?? null}, ${r.challenge?.fingerprint ?? null}, ${r.logins}, ${r.releases})
          ON CONFLICT (sid) DO UPDATE SET username = excluded.username, opener = excluded.opener, device_key = excluded.device_key,
            opened_at = excluded.opened_at, challenge_user = excluded.challenge_user, challenge_state = excluded.challenge_state,
            challenge_fingerprint = excluded.challenge_fingerprint, logins = excluded.logins, releases = excluded.releases`,
        (sid) => sql`DELETE FROM split_login_sessions WHERE sid = ${sid}`
      )
      yield* syncEntries(
        before.tokens,
        after.tokens,
        (digest, t) => sql`INSERT INTO split_login_tokens (digest, username, sid) VALUES (${digest}, ${t.username}, ${t.sid})
          ON CONFLICT (digest) DO UPDATE SET username = excluded.username, sid = excluded.sid`,
        (digest) => sql`DELETE FROM split_login_tokens WHERE digest = ${digest}`
      )
    })
})

/** The server's store over the database in context. */
export const makeSqliteServerStore: Effect.Effect<ServerStore, SqlError | MigrationError, SqlClient> = Effect.gen(function*() {
  yield* migrate("split_login_server", MIGRATIONS)
  return yield* makeStateStore(tablesOf(yield* SqlClient))
})

/** The server's store in the SQLite file `filename` (created if absent), and its step boundary. */
export const layerSqlite = (filename: string): Layer.Layer<ServerStoreService | StepTransaction, SqlError | MigrationError | ConfigError> =>
  Layer.merge(Layer.effect(ServerStoreService, makeSqliteServerStore), StepTransaction.layerSqlite).pipe(Layer.provide(layerDatabase(filename)))
