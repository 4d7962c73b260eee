/**
 * P5 server store contract, one body run against the in-memory store and the SQLite store: what
 * the server relies on (get after put, overwrite in place, first-stored order, the challenge gone
 * once put as none), copies in and out, Redacted keys, and records that survive a reopen. The
 * SQLite store also leaves no rotated-out key in its file (SECURITY.md, forward secrecy).
 */
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { type Backend, memoryBackend, sqliteBackend } from "../sqlite/testing.ts"
import { containsBytes } from "./test-support.ts"
import { makeSqliteServerStore } from "./store-sqlite.ts"
import { makeInMemoryServerStore, type ServerDeviceRecord, type ServerStore, snapshotServerStore, type StoredKey } from "./store.ts"

const backends: ReadonlyArray<Backend<ServerStore>> = [
  memoryBackend(Effect.sync(makeInMemoryServerStore)),
  sqliteBackend(makeSqliteServerStore)
]

const key = (fill: number, epoch: number): StoredKey => ({ key: Redacted.make(new Uint8Array(32).fill(fill)), epoch })

const device = (id: number, fill = id): ServerDeviceRecord => ({
  deviceId: new Uint8Array(16).fill(id),
  username: `user-${id}`,
  current: key(fill, 0),
  previous: Option.none(),
  retired: Option.none(),
  challenge: Option.none()
})

/** A device after two rolls under `detect`, with a challenge outstanding. */
const rolled = (id: number): ServerDeviceRecord => ({
  ...device(id),
  current: key(0xc0 + id, 2),
  previous: Option.some(key(0xb0 + id, 1)),
  retired: Option.some(key(0xa0 + id, 0)),
  challenge: Option.some({ challenge: new Uint8Array(16).fill(0x11), clientNonce: new Uint8Array(16).fill(0x22) })
})

for (const backend of backends) {
  describe(`rolling-key server store contract: ${backend.name}`, () => {
    it.scoped("get of an unknown device is none; get after put gives the record back, every field", () =>
      Effect.gen(function*() {
        const { store } = yield* backend.open
        assert.isTrue(Option.isNone(yield* store.get(new Uint8Array(16))))
        yield* store.put(rolled(1))
        const [snapshot] = yield* snapshotServerStore(store)
        assert.deepStrictEqual(snapshot, {
          deviceId: "01".repeat(16),
          username: "user-1",
          current: { key: "c1".repeat(32), epoch: 2 },
          previous: { key: "b1".repeat(32), epoch: 1 },
          retired: { key: "a1".repeat(32), epoch: 0 },
          challenge: `${"22".repeat(16)}:${"11".repeat(16)}`
        })
      }))

    it.scoped("put overwrites a device's record; `all` keeps the order devices were first stored", () =>
      Effect.gen(function*() {
        const { store } = yield* backend.open
        for (const id of [3, 1, 2]) yield* store.put(device(id))
        yield* store.put(rolled(3))
        const all = yield* store.all
        assert.deepStrictEqual(all.map((r) => r.username), ["user-3", "user-1", "user-2"])
        assert.strictEqual(all[0]!.current.epoch, 2)
      }))

    it.scoped("a challenge put back as none is gone: it cannot be read, so it cannot be checked twice", () =>
      Effect.gen(function*() {
        const { store } = yield* backend.open
        yield* store.put(rolled(1))
        yield* store.put({ ...rolled(1), challenge: Option.none() })
        const r = Option.getOrThrow(yield* store.get(rolled(1).deviceId))
        assert.isTrue(Option.isNone(r.challenge))
      }))

    it.scoped("copies in and out: changing the arrays given to put, or read back, changes nothing stored", () =>
      Effect.gen(function*() {
        const { store } = yield* backend.open
        const record = rolled(1)
        yield* store.put(record)
        const before = yield* snapshotServerStore(store)
        Redacted.value(record.current.key).fill(0)
        record.deviceId.fill(9)
        const read = Option.getOrThrow(yield* store.get(rolled(1).deviceId))
        Redacted.value(read.current.key).fill(0)
        Option.getOrThrow(read.challenge).challenge.fill(0)
        assert.deepStrictEqual(yield* snapshotServerStore(store), before)
      }))

    it.scoped("keys come back Redacted: printing a record shows no key bytes", () =>
      Effect.gen(function*() {
        const { store } = yield* backend.open
        yield* store.put(rolled(1))
        const read = Option.getOrThrow(yield* store.get(rolled(1).deviceId))
        assert.isTrue(Redacted.isRedacted(read.current.key))
        const printed = `${JSON.stringify(read)} ${String(read.current.key)}`
        assert.notInclude(printed, "193") // 0xc1 as a JSON number
        assert.notInclude(printed.toLowerCase(), "c1c1")
      }))

    it.scoped("records survive a reopen (a restart): the same snapshot", () =>
      Effect.gen(function*() {
        const opened = yield* backend.open
        for (const id of [2, 1]) yield* opened.store.put(rolled(id))
        const before = yield* snapshotServerStore(opened.store)
        const after = yield* snapshotServerStore(yield* opened.reopen)
        assert.deepStrictEqual(after, before)
        assert.strictEqual(after.length, 2)
      }))
  })
}

/** Whether any of the database's files (the database, a journal or WAL beside it) holds `bytes`. */
const onDisk = (file: string, bytes: Uint8Array) =>
  readdirSync(dirname(file)).some((name) => containsBytes(readFileSync(join(dirname(file), name)), bytes))

describe("rolling-key server store: SQLite files", () => {
  it.scoped("a key rotated out of `retired` is not left anywhere in the database's files", () =>
    Effect.gen(function*() {
      const opened = yield* backends[1]!.open
      const oldest = new Uint8Array(32).fill(0xa1)
      yield* opened.store.put(rolled(1))
      assert.isTrue(onDisk(opened.file!, oldest), "the key is on disk while it is stored")
      // Roll once more: a1 (retired) is dropped, b1 becomes retired.
      yield* opened.store.put({ ...rolled(1), current: key(0xd1, 3), previous: Option.some(key(0xc1, 2)), retired: Option.some(key(0xb1, 1)) })
      assert.isFalse(onDisk(opened.file!, oldest))
    }))
})
