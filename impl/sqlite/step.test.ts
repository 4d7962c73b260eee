/**
 * The step boundary (step.ts) on a real SQLite file, seen from a second connection as another
 * process would: a step's writes are committed when `run` returns; a typed refusal commits what
 * it wrote (refusals that change state by design); a defect rolls the whole step back; and a
 * P5 server's `observe` running alongside its steps does not deadlock.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import { Data, Effect, ExecutionStrategy, Exit, Layer, Redacted, Scope } from "effect"
import { CryptoNoble } from "../crypto/noble.ts"
import { SecureRandomSeeded } from "../crypto/random.ts"
import { makeClient } from "../rolling-key/client.ts"
import { makeServer } from "../rolling-key/server.ts"
import { makeSqliteServerStore } from "../rolling-key/store-sqlite.ts"
import { makeInMemoryClientStore, type ServerStore } from "../rolling-key/store.ts"
import { hardened } from "../../spec/rolling-key/variants.ts"
import { connect, scopedTempDir } from "./testing.ts"
import { StepTransaction, transactional } from "./step.ts"
import { join } from "node:path"

class Refused extends Data.TaggedError("Refused")<{}> {}

/** A one-table "participant": each step appends a row, then succeeds, refuses or dies. */
const counter = Effect.gen(function*() {
  const sql = yield* SqlClient
  yield* sql`CREATE TABLE IF NOT EXISTS steps (n INTEGER NOT NULL)`
  const tx = yield* Effect.provide(StepTransaction, StepTransaction.layerSqlite)
  const write = (n: number) => Effect.orDie(sql`INSERT INTO steps (n) VALUES (${n})`)
  const count = Effect.orDie(sql<{ readonly c: number }>`SELECT count(*) AS c FROM steps`).pipe(Effect.map((rows) => rows[0]!.c))
  return { tx, write, count }
})

/** Two connections to one file: the participant's, and an observer's (another process). */
const twoConnections = Effect.gen(function*() {
  const file = join(yield* scopedTempDir("authlab-step-"), "db.sqlite")
  const scope = yield* Effect.scope
  const own = yield* connect(file, counter, scope)
  const other = yield* connect(file, counter, scope)
  return { own, other }
})

describe("one step = one transaction", () => {
  it.scoped("a step's write is visible to another connection when run returns", () =>
    Effect.gen(function*() {
      const { own, other } = yield* twoConnections
      yield* own.tx.run(Effect.zipRight(own.write(1), Effect.succeed("reply")))
      assert.strictEqual(yield* other.count, 1)
    }))

  it.scoped("inside the step, before COMMIT, another connection does not see the write", () =>
    Effect.gen(function*() {
      const { own, other } = yield* twoConnections
      // Run on its own runtime: in this fiber every SqlClient would use the step's connection.
      const seenInside = yield* own.tx.run(Effect.zipRight(own.write(1), Effect.promise(() => Effect.runPromise(other.count))))
      assert.strictEqual(seenInside, 0)
      assert.strictEqual(yield* other.count, 1)
    }))

  it.scoped("a typed refusal commits what the step wrote (refusals that change state by design)", () =>
    Effect.gen(function*() {
      const { own, other } = yield* twoConnections
      const refusal = yield* Effect.flip(own.tx.run(Effect.zipRight(own.write(1), new Refused())))
      assert.instanceOf(refusal, Refused)
      assert.strictEqual(yield* other.count, 1)
    }))

  it.scoped("a defect rolls the whole step back: nothing it wrote is stored", () =>
    Effect.gen(function*() {
      const { own, other } = yield* twoConnections
      const exit = yield* Effect.exit(own.tx.run(Effect.zipRight(Effect.zipRight(own.write(1), own.write(2)), Effect.dieMessage("crash mid-step"))))
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(yield* other.count, 0)
    }))

  it.effect("the in-memory boundary is the identity", () =>
    Effect.gen(function*() {
      const tx = yield* Effect.provide(StepTransaction, StepTransaction.layerInMemory)
      assert.strictEqual(yield* tx.run(Effect.succeed(7)), 7)
      assert.deepStrictEqual(yield* Effect.flip(tx.run(new Refused())), new Refused())
    }))
})

describe("transactional(P5 server)", () => {
  it.scoped("observe alongside registrations and logins: no deadlock, every step committed", () =>
    Effect.gen(function*() {
      const file = join(yield* scopedTempDir("authlab-step-"), "db.sqlite")
      const scope = yield* Effect.scope
      const { store, tx } = yield* connect(file, Effect.all({ store: makeSqliteServerStore, tx: Effect.provide(StepTransaction, StepTransaction.layerSqlite) }), scope)
      const password = Redacted.make("pw")
      // Every store call, and the step once its transaction is open, yields first, as an
      // asynchronous driver would: the interleaving where observe holds the server's lock while a
      // step holds the connection then happens (and deadlocks if observe is left out below).
      const yielding: ServerStore = {
        get: (id) => Effect.zipRight(Effect.yieldNow(), store.get(id)),
        put: (r) => Effect.zipRight(Effect.yieldNow(), store.put(r)),
        all: Effect.zipRight(Effect.yieldNow(), store.all)
      }
      const server = transactional(
        yield* makeServer({ policy: hardened, store: yielding, accounts: [{ username: "alice", password }] }),
        { run: (step) => tx.run(Effect.zipRight(Effect.yieldNow(), step)) },
        ["receive", "observe"]
      )
      const client = yield* makeClient({ policy: hardened, store: makeInMemoryClientStore() })
      const deliver = (bytes: Uint8Array) => Effect.flatMap(server.receive(bytes), (step) => client.receive(step.reply!))
      const observer = Effect.forever(Effect.zipRight(server.observe, Effect.yieldNow()))
      const honest = Effect.gen(function*() {
        yield* deliver(yield* client.register("alice", password))
        for (let i = 0; i < 3; i++) {
          const answered = yield* deliver(yield* client.beginAuth)
          yield* deliver(answered.sends[0]!)
        }
      })
      // A deadlock never returns: the test's own timeout below is what fails it.
      yield* Effect.raceFirst(honest, observer)
      const reopened = yield* connect(file, makeSqliteServerStore, yield* Scope.fork(scope, ExecutionStrategy.sequential))
      const [record] = yield* reopened.all
      assert.strictEqual(record!.current.epoch, 3)
    }).pipe(Effect.provide(Layer.merge(CryptoNoble, SecureRandomSeeded(5)))), 15_000)
})
