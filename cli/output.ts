/**
 * Where the command writes: stdout for results (the table, the findings, the diagrams), stderr for
 * progress and errors, and the process's exit status. A service, so tests swap it for a capture
 * (cli/testing/output.ts) instead of patching `process`.
 */
import { Context, Layer } from "effect"

export interface OutputShape {
  /** Results, written as is (include the newline). */
  readonly out: (text: string) => void
  /** Progress and errors. */
  readonly err: (text: string) => void
  /** Whether stderr is a terminal: a live progress line then, plain lines otherwise. */
  readonly isTTY: boolean
  /** Terminal width, to keep the live line on one row. */
  readonly columns: number
  /** Set the exit status; never `process.exit` inside an Effect. */
  readonly setExitCode: (code: number) => void
}

export class Output extends Context.Tag("authlab/Output")<Output, OutputShape>() {
  static readonly live = Layer.sync(Output, () => ({
    out: (text: string) => void process.stdout.write(text),
    err: (text: string) => void process.stderr.write(text),
    isTTY: process.stderr.isTTY === true,
    columns: process.stderr.columns || 100,
    setExitCode: (code: number) => {
      process.exitCode = code
    }
  }))
}
