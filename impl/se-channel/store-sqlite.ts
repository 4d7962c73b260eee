/**
 * P2a server store in SQLite (impl/sqlite), the durable twin of
 * `inMemoryStore(emptyChannels<ServerSession>())` (./store.ts), held to the same contract
 * (store.test.ts). Each `transact` is one transaction writing only the rows its pure function
 * changed (impl/sqlite/state-store.ts).
 *
 * Tables mirror `ServerState`: one row per channel (keyed by its public id, in first-stored order,
 * as the in-memory Map) with the handshake's public values, the five channel keys (the secrets
 * here: the file runs with `secure_delete`, impl/sqlite/database.ts) and the record counters; one
 * row naming the channel the server's application writes to (`latest`).
 */
import type { MigrationError } from "@effect/sql/Migrator"
import { SqlClient } from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Layer } from "effect"
import type { ConfigError } from "effect/ConfigError"
import { bytesOf, layerDatabase, migrate } from "../sqlite/database.ts"
import { makeStateStore, type StateTables, syncEntries } from "../sqlite/state-store.ts"
import { StepTransaction } from "../sqlite/step.ts"
import { type ServerSession, type ServerState, type Store, ServerStoreService } from "./store.ts"

const MIGRATIONS = [
  [
    `CREATE TABLE se_server_sessions (seq INTEGER PRIMARY KEY AUTOINCREMENT, channel TEXT NOT NULL UNIQUE, se_id TEXT NOT NULL,
       se_ephemeral BLOB NOT NULL, ephemeral BLOB NOT NULL, transcript_hash BLOB NOT NULL, confirm_server BLOB NOT NULL,
       confirm_se BLOB NOT NULL, se_to_server BLOB NOT NULL, server_to_se BLOB NOT NULL,
       status TEXT NOT NULL CHECK (status IN ('pending', 'open')), sent INTEGER NOT NULL, received INTEGER NOT NULL)`,
    `CREATE TABLE se_server_latest (id INTEGER PRIMARY KEY CHECK (id = 0), channel TEXT NOT NULL)`
  ]
] as const

interface SessionRow {
  readonly channel: string
  readonly se_id: string
  readonly se_ephemeral: Uint8Array
  readonly ephemeral: Uint8Array
  readonly transcript_hash: Uint8Array
  readonly confirm_server: Uint8Array
  readonly confirm_se: Uint8Array
  readonly se_to_server: Uint8Array
  readonly server_to_se: Uint8Array
  readonly status: ServerSession["status"]
  readonly sent: number
  readonly received: number
}

const sessionOf = (r: SessionRow): ServerSession => ({
  channel: Uint8Array.from(Buffer.from(r.channel, "hex")),
  seId: r.se_id,
  seEphemeral: bytesOf(r.se_ephemeral),
  ephemeral: bytesOf(r.ephemeral),
  keys: {
    transcriptHash: bytesOf(r.transcript_hash),
    confirmServer: bytesOf(r.confirm_server),
    confirmSe: bytesOf(r.confirm_se),
    seToServer: bytesOf(r.se_to_server),
    serverToSe: bytesOf(r.server_to_se)
  },
  status: r.status,
  sent: r.sent,
  received: r.received
})

const tablesOf = (sql: SqlClient): StateTables<ServerState> => ({
  load: Effect.gen(function*() {
    const sessions = yield* sql<SessionRow>`SELECT channel, se_id, se_ephemeral, ephemeral, transcript_hash, confirm_server, confirm_se,
      se_to_server, server_to_se, status, sent, received FROM se_server_sessions ORDER BY seq`
    const latest = yield* sql<{ channel: string }>`SELECT channel FROM se_server_latest`
    return {
      sessions: new Map(sessions.map((r): [string, ServerSession] => [r.channel, sessionOf(r)])),
      ...(latest[0] === undefined ? {} : { latest: latest[0].channel })
    }
  }),
  save: (before, after) =>
    Effect.gen(function*() {
      yield* syncEntries(
        before.sessions,
        after.sessions,
        (channel, s) => sql`INSERT INTO se_server_sessions (channel, se_id, se_ephemeral, ephemeral, transcript_hash, confirm_server,
            confirm_se, se_to_server, server_to_se, status, sent, received)
          VALUES (${channel}, ${s.seId}, ${s.seEphemeral}, ${s.ephemeral}, ${s.keys.transcriptHash}, ${s.keys.confirmServer},
            ${s.keys.confirmSe}, ${s.keys.seToServer}, ${s.keys.serverToSe}, ${s.status}, ${s.sent}, ${s.received})
          ON CONFLICT (channel) DO UPDATE SET se_id = excluded.se_id, se_ephemeral = excluded.se_ephemeral, ephemeral = excluded.ephemeral,
            transcript_hash = excluded.transcript_hash, confirm_server = excluded.confirm_server, confirm_se = excluded.confirm_se,
            se_to_server = excluded.se_to_server, server_to_se = excluded.server_to_se, status = excluded.status,
            sent = excluded.sent, received = excluded.received`,
        (channel) => sql`DELETE FROM se_server_sessions WHERE channel = ${channel}`
      )
      if (after.latest === before.latest) return
      if (after.latest === undefined) yield* sql`DELETE FROM se_server_latest`
      else yield* sql`INSERT INTO se_server_latest (id, channel) VALUES (0, ${after.latest}) ON CONFLICT (id) DO UPDATE SET channel = excluded.channel`
    })
})

/** The server's store over the database in context. */
export const makeSqliteServerStore: Effect.Effect<Store<ServerState>, SqlError | MigrationError, SqlClient> = Effect.gen(function*() {
  yield* migrate("se_channel_server", MIGRATIONS)
  return yield* makeStateStore(tablesOf(yield* SqlClient))
})

/** The server's store in the SQLite file `filename` (created if absent), and its step boundary. */
export const layerSqlite = (filename: string): Layer.Layer<ServerStoreService | StepTransaction, SqlError | MigrationError | ConfigError> =>
  Layer.merge(Layer.effect(ServerStoreService, makeSqliteServerStore), StepTransaction.layerSqlite).pipe(Layer.provide(layerDatabase(filename)))
