/**
 * P4 durable state, each behind a store with an in-memory layer. Every input is handled as one
 * atomic read-check-write (`transact`), so a check and the write it licenses cannot be split.
 *
 * Backend: the nonce registry (`hardened`: every (payer, subdomain, nonce) it ever accepted,
 * online or at settlement) and the ledger of credits. Payee: its open offers (`hardened`) and
 * the payments it accepted offline, awaiting settlement.
 */
import { Context, Layer } from "effect"
import { fingerprint as stateFingerprint, inMemoryStore, type Store } from "../store.ts"

export { inMemoryStore, type Store }

export interface Credit {
  readonly kind: "online" | "settle"
  readonly payer: string
  readonly payee: string
  readonly amount: string
  readonly currency: string
  readonly subdomain: string
  readonly nonce: string
}

export interface BackendState {
  /** `payer|subdomain|nonce-hex` of every accepted payment. */
  readonly used: ReadonlySet<string>
  readonly ledger: ReadonlyArray<Credit>
}

export type BackendStore = Store<BackendState>

export interface OpenOffer {
  readonly amount: string
  readonly currency: string
}

export interface HeldPayment {
  readonly bytes: Uint8Array
  readonly payer: string
  readonly nonce: string
  readonly submitted: boolean
}

export interface PayeeState {
  /** Open offers by nonce (hex). */
  readonly offers: ReadonlyMap<string, OpenOffer>
  readonly payments: ReadonlyArray<HeldPayment>
}

export type PayeeStore = Store<PayeeState>

export const emptyBackend: BackendState = { used: new Set(), ledger: [] }
export const emptyPayee: PayeeState = { offers: new Map(), payments: [] }

/** The backend's store as a service; the SQLite layer is `layerSqliteBackend` of ./store-sqlite.ts. */
export class BackendStoreService extends Context.Tag("authlab/cpk-payment/BackendStore")<BackendStoreService, BackendStore>() {
  static readonly layerInMemory: Layer.Layer<BackendStoreService> = Layer.effect(BackendStoreService, inMemoryStore(emptyBackend))
}

/** The payee's store as a service; the SQLite layer is `layerSqlitePayee` of ./store-sqlite.ts. */
export class PayeeStoreService extends Context.Tag("authlab/cpk-payment/PayeeStore")<PayeeStoreService, PayeeStore>() {
  static readonly layerInMemory: Layer.Layer<PayeeStoreService> = Layer.effect(PayeeStoreService, inMemoryStore(emptyPayee))
}

/** A comparable rendering of a state, for "a refusal changed nothing" checks. */
export const fingerprint = (state: BackendState | PayeeState): string => stateFingerprint(state)
