/**
 * Concurrency at a store boundary, for the implementation worlds' race moves. The worlds are
 * synchronous, so two requests "at once" are staged: while a race is armed, the participant's
 * `at`-th access to its store first runs another delivery to completion — so that delivery lands
 * between the first one's reads and its write (a check-then-act race), or between its
 * pre-transaction work and its transaction. The harness reads the inner store directly, outside
 * the hook.
 */
import { Effect } from "effect"
import type { Store } from "../../impl/store.ts"

export interface RacingStore<S> {
  /** The store to hand the participant. */
  readonly store: Store<S>
  /**
   * Run `first`; at its `at`-th store access, run `second` to completion first. `ranInside` says
   * whether it did (an atomic path may never reach that access: then `second` has not run).
   */
  readonly during: <A>(at: number, first: () => A, second: () => void) => { readonly result: A; readonly ranInside: boolean }
}

export const racingStore = <S>(inner: Store<S>): RacingStore<S> => {
  let armed: { readonly at: number; calls: number; readonly run: () => void } | undefined
  const fire = () => {
    if (armed === undefined) return
    armed.calls++
    if (armed.calls !== armed.at) return
    const run = armed.run
    // disarmed before it runs: the second delivery's own store accesses do not fire again
    armed = undefined
    run()
  }
  return {
    store: {
      snapshot: Effect.suspend(() => {
        fire()
        return inner.snapshot
      }),
      transact: (f) =>
        Effect.suspend(() => {
          fire()
          return inner.transact(f)
        })
    },
    during: (at, first, second) => {
      armed = { at, calls: 0, run: second }
      try {
        const result = first()
        return { result, ranInside: armed === undefined }
      } finally {
        armed = undefined
      }
    }
  }
}
