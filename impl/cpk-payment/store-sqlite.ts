/**
 * P4 stores in SQLite (impl/sqlite), the durable twins of `inMemoryStore(emptyBackend)` and
 * `inMemoryStore(emptyPayee)` (./store.ts), held to the same contract (store.test.ts). Each
 * `transact` is one transaction writing only the rows its pure function changed
 * (impl/sqlite/state-store.ts).
 *
 * Backend: the nonce registry (`payer|subdomain|nonce`, primary key: a payment nonce can be
 * registered once) and the ledger, a list kept in order by its position. Payee: open offers by
 * nonce, and the payments held for settlement, in order. Backend and payee can share one file.
 */
import type { MigrationError } from "@effect/sql/Migrator"
import { SqlClient } from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Layer } from "effect"
import type { ConfigError } from "effect/ConfigError"
import { bytesOf, layerDatabase, migrate } from "../sqlite/database.ts"
import { indexed, makeStateStore, members, type StateTables, syncEntries } from "../sqlite/state-store.ts"
import { StepTransaction } from "../sqlite/step.ts"
import {
  type BackendState,
  type BackendStore,
  BackendStoreService,
  type Credit,
  type HeldPayment,
  type OpenOffer,
  type PayeeState,
  type PayeeStore,
  PayeeStoreService
} from "./store.ts"

const BACKEND_MIGRATIONS = [
  [
    `CREATE TABLE cpk_used (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE)`,
    `CREATE TABLE cpk_ledger (position INTEGER PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('online', 'settle')),
       payer TEXT NOT NULL, payee TEXT NOT NULL, amount TEXT NOT NULL, currency TEXT NOT NULL, subdomain TEXT NOT NULL, nonce TEXT NOT NULL)`
  ]
] as const

const PAYEE_MIGRATIONS = [
  [
    `CREATE TABLE cpk_offers (seq INTEGER PRIMARY KEY AUTOINCREMENT, nonce TEXT NOT NULL UNIQUE, amount TEXT NOT NULL, currency TEXT NOT NULL)`,
    `CREATE TABLE cpk_payments (position INTEGER PRIMARY KEY, bytes BLOB NOT NULL, payer TEXT NOT NULL, nonce TEXT NOT NULL, submitted INTEGER NOT NULL)`
  ]
] as const

const backendTables = (sql: SqlClient): StateTables<BackendState> => ({
  load: Effect.gen(function*() {
    const used = yield* sql<{ key: string }>`SELECT key FROM cpk_used ORDER BY seq`
    const ledger = yield* sql<Credit>`SELECT kind, payer, payee, amount, currency, subdomain, nonce FROM cpk_ledger ORDER BY position`
    return { used: new Set(used.map((u) => u.key)), ledger: ledger.map((c): Credit => ({ ...c })) }
  }),
  save: (before, after) =>
    Effect.gen(function*() {
      yield* syncEntries(
        members(before.used),
        members(after.used),
        (key) => sql`INSERT INTO cpk_used (key) VALUES (${key})`,
        (key) => sql`DELETE FROM cpk_used WHERE key = ${key}`
      )
      yield* syncEntries(
        indexed(before.ledger),
        indexed(after.ledger),
        (position, c) => sql`INSERT OR REPLACE INTO cpk_ledger (position, kind, payer, payee, amount, currency, subdomain, nonce)
          VALUES (${position}, ${c.kind}, ${c.payer}, ${c.payee}, ${c.amount}, ${c.currency}, ${c.subdomain}, ${c.nonce})`,
        (position) => sql`DELETE FROM cpk_ledger WHERE position = ${position}`
      )
    })
})

const payeeTables = (sql: SqlClient): StateTables<PayeeState> => ({
  load: Effect.gen(function*() {
    const offers = yield* sql<{ nonce: string; amount: string; currency: string }>`SELECT nonce, amount, currency FROM cpk_offers ORDER BY seq`
    const payments = yield* sql<{ bytes: Uint8Array; payer: string; nonce: string; submitted: number }>`
      SELECT bytes, payer, nonce, submitted FROM cpk_payments ORDER BY position`
    return {
      offers: new Map(offers.map((o): [string, OpenOffer] => [o.nonce, { amount: o.amount, currency: o.currency }])),
      payments: payments.map((p): HeldPayment => ({ bytes: bytesOf(p.bytes), payer: p.payer, nonce: p.nonce, submitted: p.submitted !== 0 }))
    }
  }),
  save: (before, after) =>
    Effect.gen(function*() {
      yield* syncEntries(
        before.offers,
        after.offers,
        (nonce, o) => sql`INSERT INTO cpk_offers (nonce, amount, currency) VALUES (${nonce}, ${o.amount}, ${o.currency})
          ON CONFLICT (nonce) DO UPDATE SET amount = excluded.amount, currency = excluded.currency`,
        (nonce) => sql`DELETE FROM cpk_offers WHERE nonce = ${nonce}`
      )
      yield* syncEntries(
        indexed(before.payments),
        indexed(after.payments),
        (position, p) => sql`INSERT OR REPLACE INTO cpk_payments (position, bytes, payer, nonce, submitted)
          VALUES (${position}, ${p.bytes}, ${p.payer}, ${p.nonce}, ${p.submitted ? 1 : 0})`,
        (position) => sql`DELETE FROM cpk_payments WHERE position = ${position}`
      )
    })
})

/** The backend's store over the database in context. */
export const makeSqliteBackendStore: Effect.Effect<BackendStore, SqlError | MigrationError, SqlClient> = Effect.gen(function*() {
  yield* migrate("cpk_backend", BACKEND_MIGRATIONS)
  return yield* makeStateStore(backendTables(yield* SqlClient))
})

/** The payee's store over the database in context. */
export const makeSqlitePayeeStore: Effect.Effect<PayeeStore, SqlError | MigrationError, SqlClient> = Effect.gen(function*() {
  yield* migrate("cpk_payee", PAYEE_MIGRATIONS)
  return yield* makeStateStore(payeeTables(yield* SqlClient))
})

/** The backend's store in the SQLite file `filename` (created if absent), and its step boundary. */
export const layerSqliteBackend = (filename: string): Layer.Layer<BackendStoreService | StepTransaction, SqlError | MigrationError | ConfigError> =>
  Layer.merge(Layer.effect(BackendStoreService, makeSqliteBackendStore), StepTransaction.layerSqlite).pipe(Layer.provide(layerDatabase(filename)))

/** The payee's store in the SQLite file `filename` (created if absent), and its step boundary. */
export const layerSqlitePayee = (filename: string): Layer.Layer<PayeeStoreService | StepTransaction, SqlError | MigrationError | ConfigError> =>
  Layer.merge(Layer.effect(PayeeStoreService, makeSqlitePayeeStore), StepTransaction.layerSqlite).pipe(Layer.provide(layerDatabase(filename)))
