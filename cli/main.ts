/**
 * Entry point of `authlab` (bin/authlab.mjs, `npm run authlab --`, `npm run audit`).
 * The exit status is set through `process.exitCode` by the commands; `runMain` only exits early
 * (status 1) when the command line itself does not parse.
 *
 * Signals: SIGINT and SIGTERM interrupt the command (the audit's worker threads are terminated
 * with it, and a report is only ever renamed into place whole), and the process exits 130 / 143
 * within 2 s whatever is still running. The heavy work runs in worker threads, so this thread is
 * free to hear the signal.
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { defaultTeardown } from "@effect/platform/Runtime"
import { Effect, Layer } from "effect"
import { makeCli } from "./app.ts"
import { Output } from "./output.ts"
import { suites } from "./protocols.ts"
import { plainOutput } from "./terminal.ts"

const SIGNAL_EXIT: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143 }
let signalled: number | undefined
for (const signal of Object.keys(SIGNAL_EXIT)) {
  process.once(signal, () => {
    signalled = SIGNAL_EXIT[signal]!
    process.stderr.write(`\nauthlab: ${signal}: stopping\n`)
    // Whatever does not stop by itself within 2 s is stopped.
    setTimeout(() => process.exit(signalled), 2000).unref()
  })
}

plainOutput(process.stdout)
plainOutput(process.stderr)

const argv = process.argv.map((a, i) => (i >= 2 && a === "-v" ? "--version" : a))
if (argv.includes("--wizard") && process.stdin.isTTY !== true) {
  process.stderr.write("authlab: --wizard asks questions and needs a terminal; give the options on the command line instead\n")
  process.exitCode = 2
} else {
  makeCli(suites)(argv).pipe(
    Effect.provide(Layer.merge(NodeContext.layer, Output.live)),
    NodeRuntime.runMain({
      disableErrorReporting: true,
      teardown: (exit, onExit) => (signalled !== undefined ? onExit(signalled) : defaultTeardown(exit, onExit))
    })
  )
}
