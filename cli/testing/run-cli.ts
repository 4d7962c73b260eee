/** Run the `authlab` command tree on given suites and arguments, capturing its output and exit status. */
import { NodeContext } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import type { ProtocolSuite } from "../../properties/suite.ts"
import { makeCli } from "../app.ts"
import { captureOutput } from "./output.ts"

export const runCli = (suites: ReadonlyArray<ProtocolSuite>, args: ReadonlyArray<string>, options: { readonly isTTY?: boolean } = {}) =>
  Effect.gen(function* () {
    const capture = captureOutput(options)
    yield* makeCli(suites)(["node", "authlab", ...args]).pipe(Effect.provide(Layer.merge(NodeContext.layer, capture.layer)))
    return capture.state
  })

/** Split a printed command line into words (plain words and '…' quoting, as the replay commands use). */
export const shellWords = (line: string): ReadonlyArray<string> =>
  [...line.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replaceAll("'\\''", "'") : m[2]!))
