/**
 * The parallel audit judges in worker threads what the sequential one judges in its own thread:
 * the same verdicts, counterexamples and replay commands, whatever the number of workers.
 */
import { Effect } from "effect"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expect, it } from "vitest"
import { suites } from "./protocols.ts"
import { runCli } from "./testing/run-cli.ts"

/** The checks of an audit, without their timings. */
const audit = async (workers: number) => {
  const dir = mkdtempSync(join(tmpdir(), "authlab-parallel-"))
  const args = ["audit", "--protocol", "rolling-key", "--property", "P5.key-secrecy", "--no-mutants", "--depth", "3", "--runs", "20"]
  await Effect.runPromise(runCli(suites, [...args, "--workers", String(workers), "--out", dir]))
  // The replay commands name the output directory, which differs between the two runs.
  const report = JSON.parse(readFileSync(join(dir, "audit.json"), "utf8").replaceAll(dir, "OUT")) as { checks: Array<{ millis: number; impl: { millis: number } }> }
  return report.checks.map(({ millis: _, impl, ...check }) => ({ ...check, impl: { ...impl, millis: 0 } }))
}

it("gives the same checks with 2 workers as with 1", async () => {
  const one = await audit(1)
  const two = await audit(2)
  expect(two.length).toBe(2)
  expect(two).toEqual(one)
}, 300_000)
