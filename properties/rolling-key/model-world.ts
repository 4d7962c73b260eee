/**
 * The P5 symbolic model as a `World`, so the conformance driver can run one schedule on the model
 * and on the implementation side by side. A thin adapter over model/rolling-key/system.ts.
 */
import type { Policy } from "../../spec/rolling-key/variants.ts"
import type { Trace } from "../../spec/trace.ts"
import {
  continuation,
  initialState,
  moves,
  type Observation,
  observe,
  registeredState,
  step,
  type SystemState
} from "../../model/rolling-key/system.ts"
import type { World } from "../harness/world.ts"

export const makeModelWorld = (options: { readonly policy: Policy; readonly clone: boolean; readonly start: "fresh" | "registered" }): World<Observation> => {
  const start = options.start === "registered" ? registeredState(options.policy) : { state: initialState(options.policy), trace: [] as Trace }
  let state: SystemState = start.state
  return {
    initialTrace: start.trace,
    moves: () => moves(state, { clone: options.clone }),
    step: (move) => {
      const next = step(state, move)
      if (next === undefined) return []
      state = next.state
      return next.events
    },
    observe: () => observe(state),
    continuation: () => continuation(state)
  }
}
