/**
 * What a test prints when a property check fails, or when it shows an expected finding: the
 * violation, the moves, the trace with the breaking event marked, and what replays it (seed and
 * path, and the one-line `authlab` command) — so a red test is a reproducible finding.
 */
import { formatEvent } from "../../spec/trace.ts"
import { replayCommand } from "./replay.ts"
import type { Counterexample, Subject } from "../suite.ts"
import * as config from "./config.ts"

export const explain = (protocol: string, property: string, subject: Subject, cx: Counterexample | undefined): string => {
  if (cx === undefined) return `${property} held`
  const replay = replayCommand({
    protocol,
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
