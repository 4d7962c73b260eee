/**
 * The `authlab` command tree (@effect/cli), built over a list of suites so tests can run it on a
 * fixture. `cli/main.ts` runs it on the real suites.
 */
import { Command, ValidationError } from "@effect/cli"
import { Effect } from "effect"
import type { ProtocolSuite } from "../properties/suite.ts"
import { auditCommand } from "./commands/audit.ts"
import { benchCommand } from "./commands/bench.ts"
import { diagramCommand } from "./commands/diagram.ts"
import { mergeCommand } from "./commands/merge.ts"
import { conformCommand } from "./commands/conform.ts"
import { serveCommand } from "./commands/serve.ts"
import { definitions } from "./protocols.ts"
import { bashCompletionsAsked, printBashCompletions } from "./completions.ts"
import { Output } from "./output.ts"
import { toolVersion } from "./version.ts"

/** `argv` as `process.argv`: the executable and script first, then the arguments. */
export const makeCli = (suites: ReadonlyArray<ProtocolSuite>) => (argv: ReadonlyArray<string>) => {
  const invocation = ["npx authlab", ...argv.slice(2)].join(" ")
  const root = Command.make("authlab", {}, () =>
    Effect.gen(function* () {
      const io = yield* Output
      io.err("authlab: give a command — audit, merge, diagram, bench, serve or conform (authlab --help; authlab audit --help)\n")
      io.setExitCode(2)
    })
  ).pipe(
    Command.withDescription("Audit the authentication protocols' model and implementation against their security properties."),
    Command.withSubcommands([auditCommand(suites, invocation), mergeCommand(suites, invocation), diagramCommand(suites), benchCommand, serveCommand(definitions), conformCommand(definitions, invocation)])
  )
  // @effect/cli's bash script runs a choice's values together (cli/completions.ts); zsh and fish are its own.
  if (bashCompletionsAsked(argv.slice(2))) return printBashCompletions(root, "authlab")
  return Command.run(root, { name: "authlab", version: toolVersion(), executable: "authlab" })(argv).pipe(
    // @effect/cli has already printed what was wrong with the command line: usage error, status 2.
    Effect.catchIf(ValidationError.isValidationError, () => Effect.flatMap(Output, (io) => Effect.sync(() => io.setExitCode(2))))
  )
}
