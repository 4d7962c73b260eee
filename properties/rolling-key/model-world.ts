/** The P5 symbolic model as a `World` (see properties/harness/model-world.ts). */
import type { Policy } from "../../spec/rolling-key/variants.ts"
import { continuation, initialState, moves, type Observation, observe, registeredState, step } from "../../model/rolling-key/system.ts"
import { modelWorld } from "../harness/model-world.ts"
import type { World } from "../harness/world.ts"

export const makeModelWorld = (options: { readonly policy: Policy; readonly clone: boolean; readonly start: "fresh" | "registered" }): World<Observation> =>
  modelWorld(
    { moves: (s) => moves(s, { clone: options.clone }), step, observe, continuation },
    options.start === "registered" ? registeredState(options.policy) : { state: initialState(options.policy), trace: [] }
  )
