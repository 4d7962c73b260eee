/** The P1 symbolic model as a `World` (see properties/harness/model-world.ts). */
import type { Policy } from "../../spec/soft-token/variants.ts"
import { continuation, initialState, moves, type Observation, observe, step } from "../../model/soft-token/system.ts"
import { modelWorld } from "../harness/model-world.ts"
import type { World } from "../harness/world.ts"

export const makeModelWorld = (options: { readonly policy: Policy }): World<Observation> =>
  modelWorld({ moves, step, observe, continuation }, { state: initialState(options.policy), trace: [] })
