/**
 * P1 service store in SQLite (impl/sqlite), the durable twin of `makeMemoryStore` (./store.ts),
 * held to the same contract (store.test.ts): issuance records in creation order (`seq`), the
 * proof-of-possession nonce per C1 (taken once: read and deleted in the step's transaction), and
 * the pending ID-token read per C2. A closed OTP is overwritten with NULL, not kept: the file
 * holds only OTPs that are still valid.
 */
import type { MigrationError } from "@effect/sql/Migrator"
import { SqlClient } from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Layer } from "effect"
import type { ConfigError } from "effect/ConfigError"
import { bytesOf, layerDatabase, migrate, orDieSql } from "../sqlite/database.ts"
import { StepTransaction } from "../sqlite/step.ts"
import { firstValid, type IssuanceRecord, type IssuanceStore, IssuanceStoreService, type PendingRead } from "./store.ts"

const MIGRATIONS = [
  [
    `CREATE TABLE soft_token_records (seq INTEGER PRIMARY KEY AUTOINCREMENT, session TEXT NOT NULL UNIQUE, public_key BLOB NOT NULL,
       device_name TEXT NOT NULL, otp TEXT, issued_at INTEGER NOT NULL, wrong INTEGER NOT NULL)`,
    `CREATE TABLE soft_token_nonces (seq INTEGER PRIMARY KEY AUTOINCREMENT, conn TEXT NOT NULL UNIQUE, nonce BLOB NOT NULL)`,
    `CREATE TABLE soft_token_reads (seq INTEGER PRIMARY KEY AUTOINCREMENT, conn TEXT NOT NULL UNIQUE, session TEXT NOT NULL, nonce BLOB NOT NULL)`
  ]
] as const

interface RecordRow {
  readonly session: string
  readonly public_key: Uint8Array
  readonly device_name: string
  readonly otp: string | null
  readonly issued_at: number
  readonly wrong: number
}

const recordOf = (r: RecordRow): readonly [string, IssuanceRecord] => [
  r.session,
  { publicKey: bytesOf(r.public_key), deviceName: r.device_name, otp: r.otp, issuedAtMillis: r.issued_at, wrong: r.wrong }
]

const readOf = (r: { readonly conn: string; readonly session: string; readonly nonce: Uint8Array }): readonly [string, PendingRead] => [
  r.conn,
  { session: r.session, nonce: bytesOf(r.nonce) }
]

/** The service's store over the database in context. */
export const makeSqliteIssuanceStore: Effect.Effect<IssuanceStore, SqlError | MigrationError, SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient
  yield* migrate("soft_token", MIGRATIONS)
  const records = orDieSql(sql<RecordRow>`SELECT session, public_key, device_name, otp, issued_at, wrong FROM soft_token_records ORDER BY seq`).pipe(
    Effect.map((rows) => rows.map(recordOf))
  )
  const nonceOf = (conn: string) =>
    orDieSql(sql<{ nonce: Uint8Array }>`SELECT nonce FROM soft_token_nonces WHERE conn = ${conn}`).pipe(Effect.map((rows) => rows[0] && bytesOf(rows[0].nonce)))
  const store: IssuanceStore = {
    records,
    record: (session) =>
      orDieSql(sql<RecordRow>`SELECT session, public_key, device_name, otp, issued_at, wrong FROM soft_token_records WHERE session = ${session}`).pipe(
        Effect.map((rows) => rows[0] && recordOf(rows[0])[1])
      ),
    create: (session, r) =>
      orDieSql(sql`INSERT INTO soft_token_records (session, public_key, device_name, otp, issued_at, wrong)
        VALUES (${session}, ${r.publicKey}, ${r.deviceName}, ${r.otp}, ${r.issuedAtMillis}, ${r.wrong})
        ON CONFLICT (session) DO UPDATE SET public_key = excluded.public_key, device_name = excluded.device_name, otp = excluded.otp,
          issued_at = excluded.issued_at, wrong = excluded.wrong`).pipe(Effect.asVoid),
    // Every record is read and compared in JavaScript (constant time, `firstValid`), not by SQL
    // equality, which would stop at the first differing byte.
    findValid: (otp) => Effect.map(records, (all) => firstValid(all, otp)),
    countWrong: (session) =>
      orDieSql(sql<{ wrong: number }>`UPDATE soft_token_records SET wrong = wrong + 1 WHERE session = ${session} RETURNING wrong`).pipe(
        Effect.map((rows) => rows[0]?.wrong ?? 0)
      ),
    close: (session, _why) => orDieSql(sql`UPDATE soft_token_records SET otp = NULL WHERE session = ${session}`).pipe(Effect.asVoid),
    putNonce: (conn, nonce) =>
      orDieSql(sql`INSERT INTO soft_token_nonces (conn, nonce) VALUES (${conn}, ${nonce}) ON CONFLICT (conn) DO UPDATE SET nonce = excluded.nonce`).pipe(
        Effect.asVoid
      ),
    takeNonce: (conn) => Effect.zipLeft(nonceOf(conn), orDieSql(sql`DELETE FROM soft_token_nonces WHERE conn = ${conn}`)),
    openRead: (conn, read) =>
      orDieSql(sql`INSERT INTO soft_token_reads (conn, session, nonce) VALUES (${conn}, ${read.session}, ${read.nonce})
        ON CONFLICT (conn) DO UPDATE SET session = excluded.session, nonce = excluded.nonce`).pipe(Effect.asVoid),
    pendingRead: (conn) =>
      orDieSql(sql<{ conn: string; session: string; nonce: Uint8Array }>`SELECT conn, session, nonce FROM soft_token_reads WHERE conn = ${conn}`).pipe(
        Effect.map((rows) => rows[0] && readOf(rows[0])[1])
      ),
    closeRead: (conn) => orDieSql(sql`DELETE FROM soft_token_reads WHERE conn = ${conn}`).pipe(Effect.asVoid),
    snapshot: orDieSql(
      sql.withTransaction(
        Effect.all({
          records,
          nonces: Effect.map(sql<{ conn: string; nonce: Uint8Array }>`SELECT conn, nonce FROM soft_token_nonces ORDER BY seq`, (rows) =>
            rows.map((r) => [r.conn, bytesOf(r.nonce)] as const)
          ),
          reads: Effect.map(sql<{ conn: string; session: string; nonce: Uint8Array }>`SELECT conn, session, nonce FROM soft_token_reads ORDER BY seq`, (rows) =>
            rows.map(readOf)
          )
        })
      )
    )
  }
  return store
})

/** The service's store in the SQLite file `filename` (created if absent), and its step boundary. */
export const layerSqlite = (filename: string): Layer.Layer<IssuanceStoreService | StepTransaction, SqlError | MigrationError | ConfigError> =>
  Layer.merge(Layer.effect(IssuanceStoreService, makeSqliteIssuanceStore), StepTransaction.layerSqlite).pipe(Layer.provide(layerDatabase(filename)))
