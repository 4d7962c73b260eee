/**
 * `exclusively` runs one effect at a time whether the permit is free (the fast path) or held (the
 * wait), and gives the permit back however the effect ends. Each check would fail with the
 * identity in its place: the read-yield-write below then loses updates.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Option, Ref } from "effect"
import { exclusively } from "./exclusive.ts"

/** Read, let every other fiber run, write back one more: two of these unserialised lose one update. */
const increment = (counter: Ref.Ref<number>) =>
  Effect.gen(function*() {
    const seen = yield* Ref.get(counter)
    yield* Effect.yieldNow()
    yield* Ref.set(counter, seen + 1)
  })

describe("exclusively", () => {
  it.effect("serialises concurrent effects (no lost update)", () =>
    Effect.gen(function*() {
      const oneAtATime = exclusively(yield* Effect.makeSemaphore(1))
      const counter = yield* Ref.make(0)
      yield* Effect.all(Array.from({ length: 20 }, () => oneAtATime(increment(counter))), { concurrency: "unbounded" })
      assert.strictEqual(yield* Ref.get(counter), 20)
      // The control: the same effects without it do lose updates.
      const unguarded = yield* Ref.make(0)
      yield* Effect.all(Array.from({ length: 20 }, () => increment(unguarded)), { concurrency: "unbounded" })
      assert.isBelow(yield* Ref.get(unguarded), 20)
    }))

  it.effect("makes a caller wait while another holds the permit, then runs it", () =>
    Effect.gen(function*() {
      const oneAtATime = exclusively(yield* Effect.makeSemaphore(1))
      const release = yield* Deferred.make<void>()
      const order: Array<string> = []
      const holder = yield* Effect.fork(oneAtATime(Effect.zipRight(Deferred.await(release), Effect.sync(() => order.push("holder")))))
      yield* Effect.yieldNow()
      const waiter = yield* Effect.fork(oneAtATime(Effect.sync(() => order.push("waiter"))))
      yield* Effect.yieldNow()
      assert.deepStrictEqual(order, [])
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      yield* Fiber.join(waiter)
      assert.deepStrictEqual(order, ["holder", "waiter"])
    }))

  it.effect("gives the permit back after a failure, a defect and an interruption", () =>
    Effect.gen(function*() {
      const lock = yield* Effect.makeSemaphore(1)
      const oneAtATime = exclusively(lock)
      assert.isTrue(Exit.isFailure(yield* Effect.exit(oneAtATime(Effect.fail("refused")))))
      assert.isTrue(Exit.isFailure(yield* Effect.exit(oneAtATime(Effect.die("bug")))))
      const stuck = yield* Effect.fork(oneAtATime(Effect.never))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(stuck)
      assert.deepStrictEqual(yield* Effect.exit(oneAtATime(Effect.succeed(7))), Exit.succeed(7))
      assert.isTrue(Option.isSome(yield* lock.withPermitsIfAvailable(1)(Effect.void)), "the permit is free again")
    }))
})
