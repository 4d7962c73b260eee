/**
 * P5 rolling-key: the server's store in SQLite (impl/sqlite), the durable twin of
 * `makeInMemoryServerStore` (./store.ts), held to the same contract (store.test.ts).
 *
 * One row per device, keys in place: `put` overwrites the row (an UPSERT), and with the database's
 * `secure_delete` and rollback journal (impl/sqlite/database.ts) a key rotated out of `retired` is
 * gone from the file, as SECURITY.md's forward-secrecy claim needs. Keys come back as Redacted,
 * each read a fresh copy. `seq` keeps the order devices were first stored, as the in-memory store.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { MigrationError } from "@effect/sql/Migrator"
import { Effect, Layer, Option, Redacted } from "effect"
import type { ConfigError } from "effect/ConfigError"
import { bytesOf, bytesOrNull, layerDatabase, migrate, orDieSql } from "../sqlite/database.ts"
import { StepTransaction } from "../sqlite/step.ts"
import { type ServerDeviceRecord, type ServerStore, ServerStoreService, type StoredKey } from "./store.ts"

const MIGRATIONS = [
  [
    `CREATE TABLE rolling_key_devices (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      device_id BLOB NOT NULL UNIQUE,
      username TEXT NOT NULL,
      current_key BLOB NOT NULL,
      current_epoch INTEGER NOT NULL,
      previous_key BLOB,
      previous_epoch INTEGER,
      retired_key BLOB,
      retired_epoch INTEGER,
      challenge BLOB,
      client_nonce BLOB,
      CHECK ((previous_key IS NULL) = (previous_epoch IS NULL)),
      CHECK ((retired_key IS NULL) = (retired_epoch IS NULL)),
      CHECK ((challenge IS NULL) = (client_nonce IS NULL))
    )`
  ]
] as const

interface DeviceRow {
  readonly device_id: Uint8Array
  readonly username: string
  readonly current_key: Uint8Array
  readonly current_epoch: number
  readonly previous_key: Uint8Array | null
  readonly previous_epoch: number | null
  readonly retired_key: Uint8Array | null
  readonly retired_epoch: number | null
  readonly challenge: Uint8Array | null
  readonly client_nonce: Uint8Array | null
}

const keyOf = (key: Uint8Array | null, epoch: number | null): Option.Option<StoredKey> =>
  key === null || epoch === null ? Option.none() : Option.some({ key: Redacted.make(bytesOf(key)), epoch })

const recordOf = (row: DeviceRow): ServerDeviceRecord => {
  const challenge = bytesOrNull(row.challenge)
  const clientNonce = bytesOrNull(row.client_nonce)
  return {
    deviceId: bytesOf(row.device_id),
    username: row.username,
    current: { key: Redacted.make(bytesOf(row.current_key)), epoch: row.current_epoch },
    previous: keyOf(row.previous_key, row.previous_epoch),
    retired: keyOf(row.retired_key, row.retired_epoch),
    challenge: challenge === null || clientNonce === null ? Option.none() : Option.some({ challenge, clientNonce })
  }
}

const keyBytes = (k: Option.Option<StoredKey>) => Option.getOrNull(Option.map(k, (x) => Redacted.value(x.key)))
const keyEpoch = (k: Option.Option<StoredKey>) => Option.getOrNull(Option.map(k, (x) => x.epoch))

/** A server store over the database in context, its table created or brought up to date. */
export const makeSqliteServerStore: Effect.Effect<ServerStore, SqlError | MigrationError, SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient
  yield* migrate("rolling_key", MIGRATIONS)
  const columns = sql.literal("device_id, username, current_key, current_epoch, previous_key, previous_epoch, retired_key, retired_epoch, challenge, client_nonce")
  return {
    get: (deviceId) =>
      orDieSql(sql<DeviceRow>`SELECT ${columns} FROM rolling_key_devices WHERE device_id = ${deviceId}`).pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), recordOf))
      ),
    put: (r) =>
      orDieSql(sql`
        INSERT INTO rolling_key_devices (${columns})
        VALUES (${r.deviceId}, ${r.username}, ${Redacted.value(r.current.key)}, ${r.current.epoch},
                ${keyBytes(r.previous)}, ${keyEpoch(r.previous)}, ${keyBytes(r.retired)}, ${keyEpoch(r.retired)},
                ${Option.getOrNull(Option.map(r.challenge, (c) => c.challenge))},
                ${Option.getOrNull(Option.map(r.challenge, (c) => c.clientNonce))})
        ON CONFLICT (device_id) DO UPDATE SET
          username = excluded.username,
          current_key = excluded.current_key, current_epoch = excluded.current_epoch,
          previous_key = excluded.previous_key, previous_epoch = excluded.previous_epoch,
          retired_key = excluded.retired_key, retired_epoch = excluded.retired_epoch,
          challenge = excluded.challenge, client_nonce = excluded.client_nonce`).pipe(Effect.asVoid),
    all: orDieSql(sql<DeviceRow>`SELECT ${columns} FROM rolling_key_devices ORDER BY seq`).pipe(Effect.map((rows) => rows.map(recordOf)))
  } satisfies ServerStore
})

/** The server store over the database in context, and the step boundary of that database. */
export const layerSqliteStore: Layer.Layer<ServerStoreService | StepTransaction, SqlError | MigrationError, SqlClient> = Layer.merge(
  Layer.effect(ServerStoreService, makeSqliteServerStore),
  StepTransaction.layerSqlite
)

/**
 * The server store in the SQLite file `filename` (created if absent), with its step boundary:
 * run every `RollingKeyServer` step through `transactional(server, tx, ["receive", "observe"])`.
 */
export const layerSqlite = (filename: string): Layer.Layer<ServerStoreService | StepTransaction, SqlError | MigrationError | ConfigError> =>
  layerSqliteStore.pipe(Layer.provide(layerDatabase(filename)))
