/**
 * Any protocol's symbolic model as a `World`: a mutable cursor over its pure step function, so the
 * conformance driver can run one schedule on the model and on the implementation side by side.
 */
import type { Move } from "../../spec/attacker.ts"
import type { Trace } from "../../spec/trace.ts"
import type { World } from "./world.ts"

export interface PureSystem<S, O> {
  readonly moves: (s: S) => ReadonlyArray<Move>
  readonly step: (s: S, move: Move) => { readonly state: S; readonly events: Trace } | undefined
  readonly observe: (s: S) => O
  readonly continuation: (s: S) => Trace
}

export const modelWorld = <S, O>(system: PureSystem<S, O>, start: { readonly state: S; readonly trace: Trace }): World<O> => {
  let state = start.state
  return {
    initialTrace: start.trace,
    moves: () => system.moves(state),
    step: (move) => {
      const next = system.step(state, move)
      if (next === undefined) return []
      state = next.state
      return next.events
    },
    observe: () => system.observe(state),
    continuation: () => system.continuation(state)
  }
}
