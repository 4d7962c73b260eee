/**
 * A clock someone else moves: the harness, a test or a benchmark sets the time, the participants
 * read it through Effect's `Clock` (so no participant ever reads the wall clock, and a seeded run
 * replays exactly). `sleep` returns at once: nothing in our services waits.
 */
import { Clock, Effect } from "effect"

export const steppedClock = (nowMillis: () => number): Clock.Clock => ({
  [Clock.ClockTypeId]: Clock.ClockTypeId,
  unsafeCurrentTimeMillis: nowMillis,
  unsafeCurrentTimeNanos: () => BigInt(nowMillis()) * 1_000_000n,
  currentTimeMillis: Effect.sync(nowMillis),
  currentTimeNanos: Effect.sync(() => BigInt(nowMillis()) * 1_000_000n),
  sleep: () => Effect.void
})
