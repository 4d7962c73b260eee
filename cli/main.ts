/**
 * Entry point of `authlab` (bin/authlab.mjs, `npm run authlab --`, `npm run audit`).
 * The exit status is set through `process.exitCode` by the commands; `runMain` only exits early
 * (status 1) when the command line itself does not parse.
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { makeCli } from "./app.ts"
import { Output } from "./output.ts"
import { suites } from "./protocols.ts"

makeCli(suites)(process.argv).pipe(Effect.provide(Layer.merge(NodeContext.layer, Output.live)), NodeRuntime.runMain({ disableErrorReporting: true }))
