/**
 * P2b server store contract, run against the in-memory store and the SQLite store: the
 * whole-state store contract (impl/sqlite/state-store-contract.ts) with an SID as the single-use
 * value (logged in once: of racing logins for one SID, one completes), then what is particular to
 * this state — every field of a session comes back as it went in, the pending OPAQUE challenge is
 * kept and cleared, sessions keep the order they were opened in — and, on SQLite, a released
 * token is kept by its SHA-256 only and a cleared challenge's server state is gone from the files.
 * Last, the server itself over each store: a whole hardened login, and a second login of its SID
 * refused (the server's own read-check-write, on records a durable store reads anew each time).
 */
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { hardened, PASSWORD, USERNAME } from "../../spec/split-login/variants.ts"
import { CryptoNode } from "../crypto/node.ts"
import { SecureRandomSeeded } from "../crypto/random.ts"
import { containsBytes } from "../rolling-key/test-support.ts"
import { stateStoreContract } from "../sqlite/state-store-contract.ts"
import { type Backend, memoryBackend, sqliteBackend } from "../sqlite/testing.ts"
import { hex, tokenDigest } from "./credentials.ts"
import { makeDevice } from "./device.ts"
import { makeMachine } from "./machine.ts"
import { KeyStretching, makeOpaque, OpaqueLayer } from "./opaque.ts"
import { makeServer } from "./server.ts"
import { makeSqliteServerStore } from "./store-sqlite.ts"
import { emptyServer, fingerprint, inMemoryStore, type ServerState, type ServerStore, type SessionRecord } from "./store.ts"

const backends: ReadonlyArray<Backend<ServerStore>> = [memoryBackend(inMemoryStore(emptyServer)), sqliteBackend(makeSqliteServerStore)]

const sidOf = (name: string) => hex(Uint8Array.from(Buffer.from(name.padEnd(16, "-").slice(0, 16))))

const opened = (n: number): SessionRecord => ({ username: "alice", opener: n % 2 === 0 ? "device" : "evil", deviceKey: new Uint8Array(32).fill(n), openedAt: 1_767_225_600_000 + n, logins: 0, releases: 0 })

const challenged = (n: number, state = `server-login-state-${n}`): SessionRecord => ({ ...opened(n), challenge: { state: { username: "alice", encoded: state }, fingerprint: new Uint8Array(8).fill(0x40 + n) } })

const withSession = (s: ServerState, name: string, r: SessionRecord): ServerState => ({ ...s, sessions: new Map([...s.sessions, [sidOf(name), r]]) })

stateStoreContract("split-login server store", backends, {
  fingerprint,
  record: (name) => (s) => [undefined, withSession(s, name, challenged(1))],
  // The server's KE3 check and write: one login per SID, its challenge spent with it.
  spend: (name) => (s) => {
    const r = s.sessions.get(sidOf(name))
    if (r === undefined || r.logins > 0) return [false, s]
    const { challenge: _, ...rest } = r
    return [true, withSession(s, name, { ...rest, logins: 1 })]
  }
})

for (const backend of backends) {
  describe(`split-login server store: ${backend.name}`, () => {
    it.scoped("every field of a session comes back after a reopen, with and without a pending challenge; sessions keep their order", () =>
      Effect.gen(function*() {
        const first = yield* backend.open
        yield* first.store.transact((s) => [undefined, withSession(withSession(withSession(s, "c", challenged(3)), "a", opened(2)), "b", { ...opened(5), logins: 1, releases: 1 })] as const)
        const state = yield* (yield* first.reopen).snapshot
        assert.deepStrictEqual([...state.sessions.keys()], ["c", "a", "b"].map(sidOf))
        assert.deepStrictEqual(state.sessions.get(sidOf("c")), challenged(3))
        assert.deepStrictEqual(state.sessions.get(sidOf("a")), opened(2))
        assert.deepStrictEqual(state.sessions.get(sidOf("b")), { ...opened(5), logins: 1, releases: 1 })
        assert.notProperty(state.sessions.get(sidOf("a"))!, "challenge")
      }))

    it.scoped("released tokens are kept by digest, and survive a reopen", () =>
      Effect.gen(function*() {
        const first = yield* backend.open
        const digests = [new Uint8Array(32).fill(7), new Uint8Array(32).fill(8)].map((t) => hex(tokenDigest(t)))
        yield* first.store.transact((s) => [undefined, { ...s, tokens: new Map(digests.map((d, i) => [d, { username: "alice", sid: sidOf(`s${i}`) }])) }] as const)
        const state = yield* (yield* first.reopen).snapshot
        assert.deepStrictEqual([...state.tokens.entries()], digests.map((d, i) => [d, { username: "alice", sid: sidOf(`s${i}`) }]))
      }))
  })
}

/** Whether any of the database's files (the database, its journal) holds `bytes`. */
const onDisk = (file: string, bytes: Uint8Array) => readdirSync(dirname(file)).some((name) => containsBytes(readFileSync(join(dirname(file), name)), bytes))

describe("split-login server store: SQLite files", () => {
  it.scoped("a login's OPAQUE server state is in the file while pending and gone once the login spends it", () =>
    Effect.gen(function*() {
      const first = yield* backends[1]!.open
      const state = "opaque-server-login-state-that-must-not-linger"
      yield* first.store.transact((s) => [undefined, withSession(s, "a", challenged(1, state))] as const)
      assert.isTrue(onDisk(first.file!, new TextEncoder().encode(state)))
      yield* first.store.transact((s) => [undefined, withSession(s, "a", { ...opened(1), logins: 1 })] as const)
      assert.isFalse(onDisk(first.file!, new TextEncoder().encode(state)))
    }))
})

const services = Layer.mergeAll(CryptoNode, OpaqueLayer(KeyStretching.light).pipe(Layer.provideMerge(SecureRandomSeeded(0x51))))

for (const backend of backends) {
  describe(`split-login server over the ${backend.name} store`, () => {
    it.scoped("a hardened login runs to the token; the SID's login is not taken twice", () =>
      Effect.gen(function*() {
        const { store } = yield* backend.open
        const opaque = yield* makeOpaque(KeyStretching.light)
        const setup = yield* opaque.createSetup()
        const server = makeServer({ policy: hardened, accounts: new Map([[USERNAME, { record: yield* opaque.register(setup, USERNAME, PASSWORD) }]]), setup, store })
        const device = yield* makeDevice(hardened)
        const machine = yield* makeMachine(hardened, USERNAME)
        const opened = yield* server.receive("device", yield* device.open(USERNAME))
        assert.strictEqual(opened._tag, "opened")
        const { screen } = (yield* device.receive(opened._tag === "opened" ? opened.reply : new Uint8Array())) as { screen: { sid: Uint8Array; fingerprint: Uint8Array } }
        const challenge = yield* server.receive("machine", yield* machine.scan(screen.sid, PASSWORD))
        assert.strictEqual(challenge._tag, "challenged")
        const finish = yield* machine.receive(challenge._tag === "challenged" ? challenge.reply : new Uint8Array(), { password: PASSWORD, approves: (shown) => hex(shown) === hex(screen.fingerprint) })
        assert.strictEqual((yield* server.receive("machine", finish.reply))._tag, "logged-in")
        assert.strictEqual((yield* Effect.flip(server.receive("machine", finish.reply))).reason, "sid-used")
        const released = yield* server.receive("device", yield* device.poll)
        assert.strictEqual(released._tag, "released")
        assert.deepInclude(yield* device.receive(released._tag === "released" ? released.reply : new Uint8Array()), { _tag: "session" })
        assert.strictEqual((yield* store.snapshot).tokens.size, 1)
      }).pipe(Effect.provide(services)))
  })
}
