/**
 * A `Console` that records what is logged, for tests of what @effect/cli prints itself (help,
 * zsh and fish completions) through the Console service rather than through `Output`.
 */
import { Console, Effect } from "effect"

export const recordingConsole = () => {
  const logs: Array<string> = []
  // Record `log`; every other method (error, group, …) does nothing.
  const console = new Proxy({} as Console.Console, {
    get: (_, key) =>
      key === Console.TypeId ? Console.TypeId : key === "log" ? (...args: ReadonlyArray<unknown>) => Effect.sync(() => void logs.push(args.join(" "))) : () => Effect.void
  })
  return { console, text: () => logs.join("\n") }
}
