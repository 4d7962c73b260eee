/**
 * One input at a time, as `Semaphore.withPermits(1)` — minus its cost when nobody holds the
 * permit. Effect 3's `take` always goes through an asynchronous step, even when the permit is
 * free: ~2 µs of a P5 server's ~40 µs around its crypto (bench/rolling-key.ts). The permit is
 * tried first with `withPermitsIfAvailable` (a synchronous check and take); only when another
 * fiber holds it does the call wait, with `withPermits`. Either way the effect runs holding the
 * permit and releases it however it ends, as with `withPermits` alone (which lets a caller that
 * finds the permit free go first too: neither queues behind waiters).
 */
import { Effect, Option } from "effect"

export const exclusively =
  (lock: Effect.Semaphore) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.flatMap(lock.withPermitsIfAvailable(1)(self), (ran) => (Option.isSome(ran) ? Effect.succeed(ran.value) : lock.withPermits(1)(self)))
