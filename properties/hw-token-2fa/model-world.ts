/** The P3 symbolic model as a `World` (see properties/harness/model-world.ts). */
import type { Policy } from "../../spec/hw-token-2fa/variants.ts"
import { continuation, loggedInState, moves, type Observation, observe, step } from "../../model/hw-token-2fa/system.ts"
import { modelWorld } from "../harness/model-world.ts"
import type { World } from "../harness/world.ts"

export const makeModelWorld = (options: { readonly policy: Policy }): World<Observation> =>
  modelWorld({ moves, step, observe, continuation }, loggedInState(options.policy))
