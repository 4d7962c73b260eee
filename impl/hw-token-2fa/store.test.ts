/**
 * P3 AuthStore contract, one body run against the in-memory store and the SQLite store: transact
 * stores what `f` returns and hands back its result, atomically (two refreshes racing on one
 * refresh token: exactly one finds it active), a throwing `f` changes nothing, a snapshot already
 * read is not changed by later transactions, map order is insertion order, the HOTP secret comes
 * back Redacted, and the state survives a reopen.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Redacted } from "effect"
import { type Backend, memoryBackend, sqliteBackend } from "../sqlite/testing.ts"
import { enrol } from "./auth-server.ts"
import { makeSqliteAuthStore } from "./store-sqlite.ts"
import { type AuthState, type AuthStore, emptyAuthState, fingerprint, makeInMemoryAuthStore, type RefreshRecord } from "./store.ts"

const SECRET = new Uint8Array(20).fill(0x5a)

const enrolled: AuthState = ["bob", "alice"].reduce(
  (s, username, i) => enrol(s, { username, apiKey: new Uint8Array(32).fill(i + 1), keyId: `key-${username}`, secret: SECRET }),
  emptyAuthState
)

const backends: ReadonlyArray<Backend<AuthStore>> = [memoryBackend(makeInMemoryAuthStore(enrolled)), sqliteBackend(makeSqliteAuthStore(enrolled))]

/** Issue refresh token `hash` to alice (family 1), as a login does. */
const issue = (hash: string) => (s: AuthState): readonly [void, AuthState] => {
  const refresh = new Map(s.refresh)
  refresh.set(hash, { username: "alice", family: 1, serial: s.serials.get(1) ?? 0, status: "active" })
  const serials = new Map(s.serials)
  serials.set(1, (s.serials.get(1) ?? 0) + 1)
  return [undefined, { ...s, families: Math.max(s.families, 1), refresh, serials }]
}

/** Spend refresh token `hash` if active: true when this call spent it. */
const spend = (hash: string) => (s: AuthState): readonly [boolean, AuthState] => {
  const r = s.refresh.get(hash)
  if (r === undefined || r.status !== "active") return [false, s]
  const refresh = new Map(s.refresh)
  refresh.set(hash, { ...r, status: "used" } satisfies RefreshRecord)
  return [true, { ...s, refresh }]
}

for (const backend of backends) {
  describe(`hw-token-2fa AuthStore contract: ${backend.name}`, () => {
    it.scoped("a new store holds the initial state, users and tokens in enrolment order", () =>
      Effect.gen(function*() {
        const { store } = yield* backend.open
        const s = yield* store.snapshot
        assert.strictEqual(fingerprint(s), fingerprint(enrolled))
        assert.deepStrictEqual([...s.users.keys()], ["bob", "alice"])
      }))

    it.scoped("transact stores what f returns and gives back its result", () =>
      Effect.gen(function*() {
        const { store } = yield* backend.open
        yield* store.transact(issue("h1"))
        yield* store.transact(issue("h2"))
        assert.isTrue(yield* store.transact(spend("h1")))
        const s = yield* store.snapshot
        assert.deepStrictEqual([...s.refresh.entries()], [
          ["h1", { username: "alice", family: 1, serial: 0, status: "used" }],
          ["h2", { username: "alice", family: 1, serial: 1, status: "active" }]
        ])
        assert.deepStrictEqual([s.families, [...s.serials.entries()]], [1, [[1, 2]]])
      }))

    it.scoped("a refresh token is spent once: of concurrent spends, exactly one succeeds", () =>
      Effect.gen(function*() {
        const { store } = yield* backend.open
        yield* store.transact(issue("h1"))
        const results = yield* Effect.all(Array.from({ length: 8 }, () => store.transact(spend("h1"))), { concurrency: "unbounded" })
        assert.strictEqual(results.filter((spent) => spent).length, 1)
      }))

    it.scoped("a throwing f changes nothing", () =>
      Effect.gen(function*() {
        const { store } = yield* backend.open
        const before = fingerprint(yield* store.snapshot)
        const exit = yield* Effect.exit(
          store.transact((s) => {
            issue("h1")(s)
            throw new Error("bug in f")
          })
        )
        assert.isTrue(Exit.isFailure(exit))
        assert.strictEqual(fingerprint(yield* store.snapshot), before)
      }))

    it.scoped("a snapshot already read is not changed by later transactions", () =>
      Effect.gen(function*() {
        const { store } = yield* backend.open
        yield* store.transact(issue("h1"))
        const earlier = yield* store.snapshot
        const printed = fingerprint(earlier)
        yield* store.transact(spend("h1"))
        assert.strictEqual(fingerprint(earlier), printed)
      }))

    it.scoped("the HOTP secret comes back Redacted, with its bytes", () =>
      Effect.gen(function*() {
        const { store } = yield* backend.open
        const token = (yield* store.snapshot).tokens.get("key-alice")!
        assert.isTrue(Redacted.isRedacted(token.secret))
        assert.deepStrictEqual(Redacted.value(token.secret), SECRET)
        assert.notInclude(`${JSON.stringify(token)} ${String(token.secret)}`, "90") // 0x5a
      }))

    it.scoped("the state survives a reopen, which does not enrol again", () =>
      Effect.gen(function*() {
        const opened = yield* backend.open
        yield* opened.store.transact(issue("h1"))
        yield* opened.store.transact(spend("h1"))
        const before = fingerprint(yield* opened.store.snapshot)
        assert.strictEqual(fingerprint(yield* (yield* opened.reopen).snapshot), before)
      }))
  })
}
