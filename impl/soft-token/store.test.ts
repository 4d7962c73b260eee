/**
 * P1 service store contract, one body run against the in-memory store and the SQLite store:
 * records in creation order, `findValid` the first valid match, a closed OTP no longer found
 * (single use), wrong-OTP counts, a nonce taken once, pending reads opened and closed, and all of
 * it surviving a reopen.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { type Backend, memoryBackend, sqliteBackend } from "../sqlite/testing.ts"
import { makeSqliteIssuanceStore } from "./store-sqlite.ts"
import { type IssuanceRecord, type IssuanceStore, makeMemoryStore } from "./store.ts"

const backends: ReadonlyArray<Backend<IssuanceStore>> = [memoryBackend(Effect.sync(makeMemoryStore)), sqliteBackend(makeSqliteIssuanceStore)]

const record = (otp: string, key = 1): IssuanceRecord => ({ publicKey: new Uint8Array(65).fill(key), deviceName: `phone ${key}`, otp, issuedAtMillis: 1000 * key, wrong: 0 })

for (const backend of backends) {
  describe(`soft-token issuance store contract: ${backend.name}`, () => {
    it.scoped("records come back as created, in creation order; findValid gives the first valid match", () =>
      Effect.gen(function*() {
        const { store } = yield* backend.open
        yield* store.create("c1-b", record("123456", 2))
        yield* store.create("c1-a", record("123456", 1))
        yield* store.create("c1-c", record("654321", 3))
        assert.deepStrictEqual((yield* store.records).map(([s]) => s), ["c1-b", "c1-a", "c1-c"])
        assert.deepStrictEqual(yield* store.record("c1-a"), record("123456", 1))
        assert.strictEqual(yield* store.findValid("123456"), "c1-b")
        assert.strictEqual(yield* store.findValid("000000"), undefined)
        assert.strictEqual(yield* store.record("nope"), undefined)
      }))

    it.scoped("a closed OTP is not found again: single use", () =>
      Effect.gen(function*() {
        const { store } = yield* backend.open
        yield* store.create("c1", record("123456"))
        yield* store.close("c1", "used")
        assert.strictEqual(yield* store.findValid("123456"), undefined)
        assert.strictEqual((yield* store.record("c1"))?.otp, null)
      }))

    it.scoped("countWrong counts per session and returns the new count", () =>
      Effect.gen(function*() {
        const { store } = yield* backend.open
        yield* store.create("c1", record("123456"))
        assert.deepStrictEqual([yield* store.countWrong("c1"), yield* store.countWrong("c1")], [1, 2])
        assert.strictEqual((yield* store.record("c1"))?.wrong, 2)
      }))

    it.scoped("a nonce is taken once; a new one replaces the last", () =>
      Effect.gen(function*() {
        const { store } = yield* backend.open
        yield* store.putNonce("c1", new Uint8Array([1]))
        yield* store.putNonce("c1", new Uint8Array([2]))
        assert.deepStrictEqual(yield* store.takeNonce("c1"), new Uint8Array([2]))
        assert.strictEqual(yield* store.takeNonce("c1"), undefined)
      }))

    it.scoped("a pending read is there until closed", () =>
      Effect.gen(function*() {
        const { store } = yield* backend.open
        yield* store.openRead("c2", { session: "c1", nonce: new Uint8Array([7]) })
        assert.deepStrictEqual(yield* store.pendingRead("c2"), { session: "c1", nonce: new Uint8Array([7]) })
        yield* store.closeRead("c2")
        assert.strictEqual(yield* store.pendingRead("c2"), undefined)
      }))

    it.scoped("everything survives a reopen (a restart)", () =>
      Effect.gen(function*() {
        const opened = yield* backend.open
        yield* opened.store.create("c1", record("123456"))
        yield* opened.store.create("c1-x", record("999999", 2))
        yield* opened.store.close("c1-x", "revoked")
        yield* opened.store.countWrong("c1")
        yield* opened.store.putNonce("c1-y", new Uint8Array([3]))
        yield* opened.store.openRead("c2", { session: "c1", nonce: new Uint8Array([4]) })
        const before = yield* opened.store.snapshot
        const after = yield* (yield* opened.reopen).snapshot
        assert.deepStrictEqual(after, before)
        assert.deepStrictEqual([after.records.length, after.nonces.length, after.reads.length], [2, 1, 1])
      }))
  })
}
