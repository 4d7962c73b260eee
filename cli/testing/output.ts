/** An `Output` that records what the command wrote and the exit status it set, for tests. */
import { Layer } from "effect"
import { Output } from "../output.ts"

export const captureOutput = (options: { readonly isTTY?: boolean } = {}) => {
  const state = { stdout: "", stderr: "", exitCode: undefined as number | undefined }
  const layer = Layer.succeed(Output, {
    out: (text) => void (state.stdout += text),
    err: (text) => void (state.stderr += text),
    isTTY: options.isTTY ?? false,
    columns: 120,
    setExitCode: (code) => void (state.exitCode = code)
  })
  return { layer, state }
}
