/**
 * The audit judges in worker threads what it would judge in its own thread — the same verdicts,
 * counterexamples and replay commands, whatever the number of workers — and a sharded audit
 * (`--shard 1/2`, `--shard 2/2`, then `merge`) writes the report an unsharded one writes, apart
 * from timings.
 */
import { Effect } from "effect"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expect, it } from "vitest"
import { runAudit } from "../properties/audit/run.ts"
import { suites } from "./protocols.ts"
import { renderJson } from "./report/json.ts"
import { runCli } from "./testing/run-cli.ts"

const SELECTION = ["--protocol", "rolling-key", "--property", "P5.key-secrecy", "--property", "conformance", "--depth", "3", "--runs", "10"]

/** Everything in a report but its timings, the time it was made and where it was written. */
const withoutTimings = (json: string, dir: string): unknown =>
  JSON.parse(json.replaceAll(dir, "OUT"), (key, value: unknown) => (key === "millis" || key === "statesPerSecond" || key === "generatedAt" || key === "command" ? 0 : value))

const cliAudit = async (args: ReadonlyArray<string>) => {
  const dir = mkdtempSync(join(tmpdir(), "authlab-parallel-"))
  const r = await Effect.runPromise(runCli(suites, [...args, "--out", dir]))
  return { dir, r, json: () => withoutTimings(readFileSync(join(dir, "audit.json"), "utf8"), dir) }
}

it("gives the same report on 2 workers as judged in this thread", async () => {
  const dir = mkdtempSync(join(tmpdir(), "authlab-sequential-"))
  const sequential = Effect.runSync(
    runAudit(suites, { protocols: ["rolling-key"], properties: ["P5.key-secrecy", "conformance"], depth: 3, runs: 10, seed: 42, mutants: true, replayOut: join(dir, "replay") })
  )
  const parallel = await cliAudit(["audit", ...SELECTION, "--workers", "2"])
  expect(parallel.r.exitCode).toBe(0)
  const seq = withoutTimings(renderJson(sequential, { tool: { name: "authlab", version: "x" }, command: "x" }), dir) as { checks: unknown; mutants: unknown; conformance: unknown }
  const par = parallel.json() as typeof seq
  expect(par.checks).toEqual(seq.checks)
  expect(par.mutants).toEqual(seq.mutants)
  expect(par.conformance).toEqual(seq.conformance)
}, 300_000)

it("merges --shard 1/2 and --shard 2/2 into the unsharded report", async () => {
  const whole = await cliAudit(["audit", ...SELECTION])
  const first = await cliAudit(["audit", ...SELECTION, "--shard", "1/2"])
  const second = await cliAudit(["audit", ...SELECTION, "--shard", "2/2"])
  const merged = mkdtempSync(join(tmpdir(), "authlab-merged-"))
  const r = await Effect.runPromise(runCli(suites, ["merge", "--out", merged, first.dir, second.dir]))
  expect(r.exitCode).toBe(whole.r.exitCode)
  const mergedJson = withoutTimings(readFileSync(join(merged, "audit.json"), "utf8"), merged)
  expect(mergedJson).toEqual(whole.json())
}, 300_000)

it("refuses to merge when a shard is missing", async () => {
  const first = await cliAudit(["audit", ...SELECTION, "--shard", "1/2"])
  const merged = mkdtempSync(join(tmpdir(), "authlab-merged-"))
  const r = await Effect.runPromise(runCli(suites, ["merge", "--out", merged, first.dir]))
  expect(r.exitCode).toBe(2)
  expect(r.stderr).toMatch(/judged by no shard/)
}, 300_000)
