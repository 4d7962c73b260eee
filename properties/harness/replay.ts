/**
 * The one-line `authlab` command that replays a check, as the audit prints it with every
 * counterexample and as a failing test prints it.
 */
import type { WorldName } from "../../spec/property.ts"
import type { Subject } from "../suite.ts"
import * as config from "./config.ts"

export const REPLAY_COMMAND = "npx authlab audit"

const shellWord = (s: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`)

const subjectFlags = (s: Subject): ReadonlyArray<string> => (s.kind === "variant" ? ["--variant", s.variant] : ["--mutant", s.mutant])

/**
 * The command that judges one check in one world again, and nothing else: the subject and the
 * property select the check, `--no-model` / `--no-impl` the world (neither for conformance, `--property conformance`, which needs both); the model's exploration is
 * deterministic (depth reproduces it), the implementation's run replays from seed and path.
 * It writes to its own `--out` so replaying never overwrites the report it came from.
 */
export const replayCommand = (args: {
  readonly protocol: string
  readonly subject: Subject
  readonly property: string
  /** `both` for conformance, which runs the two worlds side by side. */
  readonly world: WorldName | "both"
  /** The model's bound; absent: the protocol's default (a model counterexample always has its depth). */
  readonly depth?: number
  readonly runs: number
  readonly seed: number
  readonly path?: string
  readonly out: string
}): string => {
  const words = ["--protocol", args.protocol, ...subjectFlags(args.subject), "--property", args.property]
  // A violation of the start state is found at depth 0; exploring to depth 1 judges the start first.
  if (args.world === "model") words.push(...(args.depth === undefined ? [] : ["--depth", String(Math.max(1, args.depth))]), "--no-impl")
  else {
    words.push("--seed", String(args.seed))
    if (args.path !== undefined) words.push("--path", args.path)
    words.push("--runs", String(args.runs))
    if (args.world === "impl") words.push("--no-model")
  }
  words.push("--out", args.out)
  // The length of a random run is part of what the seed and path index into.
  const env = args.world !== "model" && config.steps !== config.DEFAULT_STEPS ? `AUTHLAB_STEPS=${config.steps} ` : ""
  return `${env}${REPLAY_COMMAND} ${words.map(shellWord).join(" ")}`
}

