/**
 * The contract every whole-state store (`transact` / `snapshot`: P3's AuthStore, P4's backend and
 * payee stores) keeps, as vitest cases run against each backend. A protocol's store test calls it
 * with two of its own transitions — one that records a single-use value, one that spends it if
 * it is still unspent — and adds what is particular to its state. Not used by the implementation.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import type { StateStore } from "./state-store.ts"
import type { Backend } from "./testing.ts"

export interface StateStoreCase<S> {
  /** A comparable rendering of a state. */
  readonly fingerprint: (s: S) => string
  /** Record the single-use value `name`. */
  readonly record: (name: string) => (s: S) => readonly [void, S]
  /** Spend `name` if it is recorded and unspent: true when this call spent it. */
  readonly spend: (name: string) => (s: S) => readonly [boolean, S]
}

export const stateStoreContract = <S>(title: string, backends: ReadonlyArray<Backend<StateStore<S>>>, c: StateStoreCase<S>) => {
  for (const backend of backends) {
    describe(`${title} contract: ${backend.name}`, () => {
      it.scoped("transact stores what f returns and gives back f's result", () =>
        Effect.gen(function*() {
          const { store } = yield* backend.open
          const empty = c.fingerprint(yield* store.snapshot)
          yield* store.transact(c.record("a"))
          const recorded = c.fingerprint(yield* store.snapshot)
          assert.notStrictEqual(recorded, empty)
          assert.isTrue(yield* store.transact(c.spend("a")))
          assert.isFalse(yield* store.transact(c.spend("a")), "spent once, not twice")
          assert.isFalse(yield* store.transact(c.spend("never-recorded")))
        }))

      it.scoped("a single-use value is spent once: of 8 concurrent spends, exactly one succeeds", () =>
        Effect.gen(function*() {
          const { store } = yield* backend.open
          yield* store.transact(c.record("a"))
          const spent = yield* Effect.all(Array.from({ length: 8 }, () => store.transact(c.spend("a"))), { concurrency: "unbounded" })
          assert.strictEqual(spent.filter((s) => s).length, 1)
        }))

      it.scoped("a throwing f changes nothing", () =>
        Effect.gen(function*() {
          const { store } = yield* backend.open
          yield* store.transact(c.record("a"))
          const before = c.fingerprint(yield* store.snapshot)
          const exit = yield* Effect.exit(
            store.transact((s) => {
              c.record("b")(s)
              throw new Error("bug in f")
            })
          )
          assert.isTrue(Exit.isFailure(exit))
          assert.strictEqual(c.fingerprint(yield* store.snapshot), before)
        }))

      it.scoped("a snapshot already read is not changed by later transactions", () =>
        Effect.gen(function*() {
          const { store } = yield* backend.open
          yield* store.transact(c.record("a"))
          const earlier = yield* store.snapshot
          const printed = c.fingerprint(earlier)
          yield* store.transact(c.spend("a"))
          yield* store.transact(c.record("b"))
          assert.strictEqual(c.fingerprint(earlier), printed)
        }))

      it.scoped("the state survives a reopen (a restart), spent values still spent", () =>
        Effect.gen(function*() {
          const opened = yield* backend.open
          for (const name of ["a", "b", "c"]) yield* opened.store.transact(c.record(name))
          yield* opened.store.transact(c.spend("b"))
          const before = c.fingerprint(yield* opened.store.snapshot)
          const reopened = yield* opened.reopen
          assert.strictEqual(c.fingerprint(yield* reopened.snapshot), before)
          assert.isFalse(yield* reopened.transact(c.spend("b")))
          assert.isTrue(yield* reopened.transact(c.spend("c")))
        }))
    })
  }
}
