/**
 * Helpers for the P5 test files: judge a subject in one world and say, on failure, what replays
 * it (seed, path and the one-line `authlab` command), so a red test is a reproducible finding.
 */
import { formatEvent } from "../../spec/trace.ts"
import { replayCommand } from "../audit.ts"
import * as config from "../harness/config.ts"
import type { Counterexample, Subject } from "../suite.ts"

export const explain = (property: string, subject: Subject, cx: Counterexample | undefined): string => {
  if (cx === undefined) return `${property} held`
  const replay = replayCommand({
    protocol: "rolling-key",
    subject,
    property,
    world: cx.world,
    depth: cx.depth ?? config.depth,
    runs: config.runs,
    seed: cx.seed ?? 42,
    ...(cx.path === undefined || cx.world === "model" ? {} : { path: cx.path }),
    out: "report/replay"
  })
  return [
    `${property} failed in the ${cx.world}: ${cx.violation.reason}`,
    ...(cx.world === "impl" ? [`seed ${cx.seed} path ${cx.path}`] : [`path ${cx.path}`]),
    "moves:",
    ...cx.steps.map((s, i) => `  ${i + 1}. ${s}`),
    "trace:",
    ...cx.trace.map((e, i) => `  ${i}${i === cx.violation.at ? " ✗" : ""} ${formatEvent(e)}`),
    `replay: ${replay}`
  ].join("\n")
}
