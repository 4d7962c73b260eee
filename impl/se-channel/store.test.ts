/**
 * P2a server store contract, run against the in-memory store and the SQLite store: the
 * whole-state store contract (impl/sqlite/state-store-contract.ts) with a pending channel as the
 * single-use value (opened once: of racing SeFinishes for one channel, one opens it), then what is
 * particular to this state — every key and public value comes back byte for byte, channels keep
 * the order they were first stored, `latest` is kept and cleared — and, on SQLite, a channel's keys
 * are gone from the database's files once the channel is.
 */
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { containsBytes } from "../rolling-key/test-support.ts"
import { stateStoreContract } from "../sqlite/state-store-contract.ts"
import { type Backend, memoryBackend, sqliteBackend } from "../sqlite/testing.ts"
import { makeSqliteServerStore } from "./store-sqlite.ts"
import { emptyChannels, fingerprint, hex, inMemoryStore, putSession, type ServerSession, type ServerState, type Store } from "./store.ts"

const backends: ReadonlyArray<Backend<Store<ServerState>>> = [memoryBackend(inMemoryStore(emptyChannels<ServerSession>())), sqliteBackend(makeSqliteServerStore)]

const filled = (n: number, byte: number) => new Uint8Array(n).fill(byte)
const channelOf = (name: string) => Uint8Array.from(Buffer.from(name.padEnd(8, "-").slice(0, 8)))

/** A pending channel whose every byte string is distinct (`b` + a field's offset), so a swapped column shows. */
const session = (name: string, b = 0x10): ServerSession => ({
  channel: channelOf(name),
  seId: "se1",
  seEphemeral: filled(33, b),
  ephemeral: filled(33, b + 1),
  keys: { transcriptHash: filled(32, b + 2), confirmServer: filled(32, b + 3), confirmSe: filled(32, b + 4), seToServer: filled(32, b + 5), serverToSe: filled(32, b + 6) },
  status: "pending",
  sent: 0,
  received: 0
})

const put = (s: ServerState, x: ServerSession, latest = false): ServerState => putSession(s, x, latest)

stateStoreContract("se-channel server store", backends, {
  fingerprint,
  record: (name) => (s) => [undefined, put(s, session(name))],
  // The server's SeFinish check and write: a pending channel opens once, then it is no longer pending.
  spend: (name) => (s) => {
    const pending = s.sessions.get(hex(channelOf(name)))
    if (pending?.status !== "pending") return [false, s]
    return [true, put(s, { ...pending, status: "open" }, true)]
  }
})

for (const backend of backends) {
  describe(`se-channel server store: ${backend.name}`, () => {
    it.scoped("every key and public value comes back byte for byte after a reopen; channels keep their first-stored order", () =>
      Effect.gen(function*() {
        const opened = yield* backend.open
        yield* opened.store.transact((s) => [undefined, put(put(put(s, session("c", 0x30)), session("a", 0x50)), session("b", 0x70), true)] as const)
        // An update in place keeps the channel's position.
        yield* opened.store.transact((s) => [undefined, put(s, { ...s.sessions.get(hex(channelOf("c")))!, status: "open", sent: 2, received: 3 })] as const)
        const state = yield* (yield* opened.reopen).snapshot
        assert.deepStrictEqual([...state.sessions.keys()], ["c", "a", "b"].map((n) => hex(channelOf(n))))
        assert.deepStrictEqual(state.sessions.get(hex(channelOf("c"))), { ...session("c", 0x30), status: "open", sent: 2, received: 3 })
        assert.deepStrictEqual(state.sessions.get(hex(channelOf("a"))), session("a", 0x50))
        assert.strictEqual(state.latest, hex(channelOf("b")))
      }))

    it.scoped("latest moves and is cleared with the channels (a crash-restart's empty store)", () =>
      Effect.gen(function*() {
        const opened = yield* backend.open
        yield* opened.store.transact((s) => [undefined, put(put(s, session("a"), true), session("b"), true)] as const)
        assert.strictEqual((yield* opened.store.snapshot).latest, hex(channelOf("b")))
        yield* opened.store.transact(() => [undefined, emptyChannels<ServerSession>()] as const)
        const state = yield* (yield* opened.reopen).snapshot
        assert.strictEqual(state.sessions.size, 0)
        assert.isUndefined(state.latest)
      }))
  })
}

/** Whether any of the database's files (the database, its journal) holds `bytes`. */
const onDisk = (file: string, bytes: Uint8Array) => readdirSync(dirname(file)).some((name) => containsBytes(readFileSync(join(dirname(file), name)), bytes))

describe("se-channel server store: SQLite files", () => {
  it.scoped("a channel's keys are on disk while it is stored and gone from every file once it is dropped", () =>
    Effect.gen(function*() {
      const opened = yield* backends[1]!.open
      const key = session("a", 0xa0).keys.seToServer
      yield* opened.store.transact((s) => [undefined, put(put(s, session("a", 0xa0)), session("b", 0x20))] as const)
      assert.isTrue(onDisk(opened.file!, key), "the key is in the file while its channel is stored")
      yield* opened.store.transact((s) => {
        const sessions = new Map(s.sessions)
        sessions.delete(hex(channelOf("a")))
        return [undefined, { sessions }] as const
      })
      assert.isFalse(onDisk(opened.file!, key))
    }))
})
