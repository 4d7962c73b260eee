/**
 * `authlab --completions bash|sh`: @effect/cli's bash script, with each choice offered as its own
 * word. @effect/cli (0.77) writes a choice option's values as `compgen -W "claimed,hardened"`,
 * and `compgen -W` splits its word list on white space, not commas, so `--variant <TAB>` offered
 * the single word `claimed,hardened`. Its zsh (`(claimed hardened)`) and fish
 * (`{claimed'',hardened''}`, a brace expansion) scripts are right and are left to it.
 */
import { Command } from "@effect/cli"
import { Effect } from "effect"
import { Output } from "./output.ts"

/** The shells whose script needs the fix, as the built-in `--completions` option names them. */
const BASH = new Set(["bash", "sh"])

/** The shell asked for with `--completions SHELL` or `--completions=SHELL`, if it is bash. */
export const bashCompletionsAsked = (args: ReadonlyArray<string>): boolean =>
  args.some((a, i) => (a === "--completions" && BASH.has(args[i + 1] ?? "")) || (a.startsWith("--completions=") && BASH.has(a.slice("--completions=".length))))

/**
 * A literal `compgen -W` word list is a choice's values (the option lists go through `${opts}`):
 * separate them with spaces.
 */
export const separateChoices = (script: string): string =>
  script.replace(/compgen -W "([^"$]*)"/g, (_, words: string) => `compgen -W "${words.split(",").join(" ")}"`)

/** Print the bash completion script of `root`, the way the built-in option prints it, fixed. */
export const printBashCompletions = <Name extends string, R, E, A>(root: Command.Command<Name, R, E, A>, programName: string) =>
  Effect.gen(function* () {
    const io = yield* Output
    const lines = yield* Command.getBashCompletions(root, programName)
    io.out(`${separateChoices(lines.join("\n"))}\n`)
  })
