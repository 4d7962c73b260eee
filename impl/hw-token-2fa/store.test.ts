/**
 * P3 AuthStore contract, run against the in-memory store and the SQLite store: the whole-state
 * store contract (impl/sqlite/state-store-contract.ts) with refresh tokens as the single-use
 * value — two refreshes racing on one token: exactly one finds it active — and, particular to
 * this state, enrolment order kept and the HOTP secret back as Redacted.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { stateStoreContract } from "../sqlite/state-store-contract.ts"
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

stateStoreContract("hw-token-2fa AuthStore", backends, {
  fingerprint,
  // A login's refresh token for alice, as the next serial of family 1.
  record: (hash) => (s) => {
    const serial = s.serials.get(1) ?? 0
    return [undefined, {
      ...s,
      families: Math.max(s.families, 1),
      refresh: new Map([...s.refresh, [hash, { username: "alice", family: 1, serial, status: "active" } satisfies RefreshRecord]]),
      serials: new Map([...s.serials, [1, serial + 1]])
    }]
  },
  // A refresh: the presented token must be active, and becomes used.
  spend: (hash) => (s) => {
    const r = s.refresh.get(hash)
    if (r === undefined || r.status !== "active") return [false, s]
    return [true, { ...s, refresh: new Map([...s.refresh, [hash, { ...r, status: "used" } satisfies RefreshRecord]]) }]
  }
})

for (const backend of backends) {
  describe(`hw-token-2fa AuthStore: ${backend.name}`, () => {
    it.scoped("a new store holds the initial state, users in enrolment order; a reopen does not enrol again", () =>
      Effect.gen(function*() {
        const opened = yield* backend.open
        const s = yield* opened.store.snapshot
        assert.strictEqual(fingerprint(s), fingerprint(enrolled))
        assert.deepStrictEqual([...s.users.keys()], ["bob", "alice"])
        assert.strictEqual(fingerprint(yield* (yield* opened.reopen).snapshot), fingerprint(enrolled))
      }))

    it.scoped("the HOTP secret comes back Redacted, with its bytes", () =>
      Effect.gen(function*() {
        const { store } = yield* backend.open
        const token = (yield* store.snapshot).tokens.get("key-alice")!
        assert.isTrue(Redacted.isRedacted(token.secret))
        assert.deepStrictEqual(Redacted.value(token.secret), SECRET)
        assert.notInclude(`${JSON.stringify(token)} ${String(token.secret)}`, "90") // 0x5a
      }))
  })
}
