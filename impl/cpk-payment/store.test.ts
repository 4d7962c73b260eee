/**
 * P4 store contracts, run against the in-memory stores and the SQLite stores: the whole-state
 * store contract (impl/sqlite/state-store-contract.ts) for the backend, with a payment nonce as
 * the single-use value (registered once: of racing payments with one nonce, one is credited), and
 * for the payee, with an open offer (answered once). Particular to these states: the ledger and
 * the held payments keep their order, and a held payment's bytes come back as they went in.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { stateStoreContract } from "../sqlite/state-store-contract.ts"
import { type Backend, memoryBackend, sqliteBackend } from "../sqlite/testing.ts"
import { makeSqliteBackendStore, makeSqlitePayeeStore } from "./store-sqlite.ts"
import { type BackendStore, type Credit, emptyBackend, emptyPayee, fingerprint, inMemoryStore, type PayeeStore } from "./store.ts"

const credit = (nonce: string): Credit => ({ kind: "online", payer: "zhang", payee: "shop", amount: "12.50", currency: "CNY", subdomain: "d1", nonce })

const backendStores: ReadonlyArray<Backend<BackendStore>> = [memoryBackend(inMemoryStore(emptyBackend)), sqliteBackend(makeSqliteBackendStore)]
const payeeStores: ReadonlyArray<Backend<PayeeStore>> = [memoryBackend(inMemoryStore(emptyPayee)), sqliteBackend(makeSqlitePayeeStore)]

stateStoreContract("cpk-payment backend store", backendStores, {
  fingerprint,
  // An offered nonce is "recorded" by the payer's wallet, not the backend: here, a credit in the ledger only.
  record: (nonce) => (s) => [undefined, { ...s, ledger: [...s.ledger, credit(nonce)] }],
  // The registry check and write of a hardened payment: the nonce once, then refused.
  spend: (nonce) => (s) => {
    const key = `zhang|d1|${nonce}`
    if (s.used.has(key) || !s.ledger.some((c) => c.nonce === nonce)) return [false, s]
    return [true, { used: new Set([...s.used, key]), ledger: [...s.ledger, { ...credit(nonce), kind: "settle" } satisfies Credit] }]
  }
})

stateStoreContract("cpk-payment payee store", payeeStores, {
  fingerprint,
  record: (nonce) => (s) => [undefined, { ...s, offers: new Map([...s.offers, [nonce, { amount: "3", currency: "CNY" }]]) }],
  // Accepting an offline payment closes its offer and holds the payment for settlement.
  spend: (nonce) => (s) => {
    if (!s.offers.has(nonce)) return [false, s]
    const offers = new Map(s.offers)
    offers.delete(nonce)
    return [true, { offers, payments: [...s.payments, { bytes: new Uint8Array([1, 2, 255]), payer: "zhang", nonce, submitted: false }] }]
  }
})

for (const backend of backendStores) {
  describe(`cpk-payment backend store: ${backend.name}`, () => {
    it.scoped("the ledger keeps its order across a reopen", () =>
      Effect.gen(function*() {
        const opened = yield* backend.open
        for (const n of ["03", "01", "02"]) yield* opened.store.transact((s) => [undefined, { ...s, ledger: [...s.ledger, credit(n)] }] as const)
        const ledger = (yield* (yield* opened.reopen).snapshot).ledger
        assert.deepStrictEqual(ledger.map((c) => c.nonce), ["03", "01", "02"])
        assert.deepStrictEqual(ledger[0], credit("03"))
      }))
  })
}

for (const backend of payeeStores) {
  describe(`cpk-payment payee store: ${backend.name}`, () => {
    it.scoped("held payments keep their order and bytes; settling marks each submitted once", () =>
      Effect.gen(function*() {
        const opened = yield* backend.open
        const held = (n: number) => ({ bytes: new Uint8Array([n, 0, 255]), payer: "zhang", nonce: `${n}`, submitted: false })
        yield* opened.store.transact((s) => [undefined, { ...s, payments: [held(2), held(1)] }] as const)
        const settle = (s: typeof emptyPayee) =>
          [s.payments.filter((p) => !p.submitted).map((p) => p.bytes), { ...s, payments: s.payments.map((p) => ({ ...p, submitted: true })) }] as const
        const store = yield* opened.reopen
        assert.deepStrictEqual(yield* store.transact(settle), [new Uint8Array([2, 0, 255]), new Uint8Array([1, 0, 255])])
        assert.deepStrictEqual(yield* (yield* opened.reopen).transact(settle), [])
      }))
  })
}
