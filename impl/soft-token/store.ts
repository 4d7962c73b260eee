/**
 * The P1 service's durable state (SPEC.md §1, ServiceComputer): one issuance record per C1, the
 * proof-of-possession nonce per C1, and the pending ID-token read per C2. A store is a service
 * of its own so a deployment can keep it elsewhere (a database) and a test can read it directly;
 * this file is the in-memory one.
 *
 * Every write says what it is for (`close` names why an OTP stops being valid), so a store can
 * log it and an auditor can read it back.
 */
import { Context, Effect, Layer } from "effect"
import { constantTimeEqual } from "../crypto/bytes.ts"

/** One issuance session, keyed by its C1: the OTP is "recorded as an identifier of the first connection". */
export interface IssuanceRecord {
  readonly publicKey: Uint8Array
  readonly deviceName: string
  /** Null once no longer valid (matched under single use, expired, revoked). */
  readonly otp: string | null
  readonly issuedAtMillis: number
  /** Wrong OTPs evaluated while this one was valid. */
  readonly wrong: number
}

export interface PendingRead {
  /** The C1 whose record the read will complete. */
  readonly session: string
  readonly nonce: Uint8Array
}

export type CloseReason = "used" | "expired" | "revoked"

export interface IssuanceStore {
  /** Every record, in creation order. */
  readonly records: Effect.Effect<ReadonlyArray<readonly [string, IssuanceRecord]>>
  readonly record: (session: string) => Effect.Effect<IssuanceRecord | undefined>
  readonly create: (session: string, record: IssuanceRecord) => Effect.Effect<void>
  /**
   * The first session (in creation order) whose valid OTP equals `otp`. Compared in constant
   * time with every valid record, without early exit: the timing says nothing about which.
   */
  readonly findValid: (otp: string) => Effect.Effect<string | undefined>
  /** One more wrong OTP counted against `session`; returns the new count. */
  readonly countWrong: (session: string) => Effect.Effect<number>
  /** The OTP of `session` stops being valid. */
  readonly close: (session: string, why: CloseReason) => Effect.Effect<void>
  readonly putNonce: (conn: string, nonce: Uint8Array) => Effect.Effect<void>
  /** The nonce issued on `conn`, removed: a nonce is good for one request. */
  readonly takeNonce: (conn: string) => Effect.Effect<Uint8Array | undefined>
  readonly openRead: (conn: string, read: PendingRead) => Effect.Effect<void>
  readonly pendingRead: (conn: string) => Effect.Effect<PendingRead | undefined>
  readonly closeRead: (conn: string) => Effect.Effect<void>
  /** Everything, for a reader of the store (an auditor, the test harness). */
  readonly snapshot: Effect.Effect<{
    readonly records: ReadonlyArray<readonly [string, IssuanceRecord]>
    readonly nonces: ReadonlyArray<readonly [string, Uint8Array]>
    readonly reads: ReadonlyArray<readonly [string, PendingRead]>
  }>
}

const utf8 = new TextEncoder()

/**
 * The first session, in the order given, whose valid OTP equals `otp`: compared in constant time
 * with every valid record, without early exit, so the timing says nothing about which matched.
 */
export const firstValid = (records: Iterable<readonly [string, { readonly otp: string | null }]>, otp: string): string | undefined => {
  const submitted = utf8.encode(otp)
  let found: string | undefined
  for (const [session, r] of records) {
    const equal = r.otp !== null && constantTimeEqual(utf8.encode(r.otp), submitted)
    if (equal && found === undefined) found = session
  }
  return found
}

export const makeMemoryStore = (): IssuanceStore => {
  const records = new Map<string, IssuanceRecord>()
  const nonces = new Map<string, Uint8Array>()
  const reads = new Map<string, PendingRead>()
  const update = (session: string, f: (r: IssuanceRecord) => IssuanceRecord) => {
    const r = records.get(session)
    if (r !== undefined) records.set(session, f(r))
  }
  return {
    records: Effect.sync(() => [...records]),
    record: (session) => Effect.sync(() => records.get(session)),
    create: (session, record) => Effect.sync(() => void records.set(session, record)),
    findValid: (otp) => Effect.sync(() => firstValid(records, otp)),
    countWrong: (session) =>
      Effect.sync(() => {
        update(session, (r) => ({ ...r, wrong: r.wrong + 1 }))
        return records.get(session)?.wrong ?? 0
      }),
    close: (session, _why) => Effect.sync(() => update(session, (r) => ({ ...r, otp: null }))),
    putNonce: (conn, nonce) => Effect.sync(() => void nonces.set(conn, nonce)),
    takeNonce: (conn) =>
      Effect.sync(() => {
        const n = nonces.get(conn)
        nonces.delete(conn)
        return n
      }),
    openRead: (conn, read) => Effect.sync(() => void reads.set(conn, read)),
    pendingRead: (conn) => Effect.sync(() => reads.get(conn)),
    closeRead: (conn) => Effect.sync(() => void reads.delete(conn)),
    snapshot: Effect.sync(() => ({ records: [...records], nonces: [...nonces], reads: [...reads] }))
  }
}

/** The service's store as a service; the SQLite layer is `layerSqlite` of ./store-sqlite.ts. */
export class IssuanceStoreService extends Context.Tag("authlab/soft-token/IssuanceStore")<IssuanceStoreService, IssuanceStore>() {
  static readonly layerInMemory: Layer.Layer<IssuanceStoreService> = Layer.sync(IssuanceStoreService, makeMemoryStore)
}
