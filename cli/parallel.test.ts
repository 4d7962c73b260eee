/**
 * The audit judges in worker threads what it would judge in its own thread — the same verdicts,
 * counterexamples and replay commands, whatever the number of workers — and a sharded audit
 * (`--shard 1/2`, `--shard 2/2`, then `merge`) writes the report an unsharded one writes, apart
 * from timings. A deep exploration runs as a unit of its own, and the subject's answers come from
 * both of its units.
 */
import { Effect } from "effect"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expect, it } from "vitest"
import { runAudit } from "../properties/audit/run.ts"
import { subjectName } from "../properties/suite.ts"
import { answeringFrom, unitsOf } from "./parallel/pool.ts"
import type { UnitResult } from "./parallel/protocol.ts"
import { suites } from "./protocols.ts"
import { renderJson } from "./report/json.ts"
import { runCli } from "./testing/run-cli.ts"

// Two properties, so a mutant killed by one has the other left out: the workers must leave out the same checks.
const SELECTION = ["--protocol", "rolling-key", "--property", "P5.key-secrecy", "--property", "P5.single-use-challenge", "--property", "conformance", "--depth", "3", "--runs", "10"]

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
    runAudit(suites, { protocols: ["rolling-key"], properties: ["P5.key-secrecy", "P5.single-use-challenge", "conformance"], depth: 3, runs: 10, seed: 42, mutants: true, replayOut: join(dir, "replay") })
  )
  const parallel = await cliAudit(["audit", ...SELECTION, "--workers", "2"])
  expect(parallel.r.exitCode).toBe(0)
  const seq = withoutTimings(renderJson(sequential, { tool: { name: "authlab", version: "x" }, command: "x" }), dir) as { checks: unknown; mutants: unknown; conformance: unknown }
  const par = parallel.json() as typeof seq
  expect(par.checks).toEqual(seq.checks)
  expect(par.mutants).toEqual(seq.mutants)
  expect(par.conformance).toEqual(seq.conformance)
  // the selection does leave some out
  expect(JSON.stringify(par.mutants)).toContain("already killed the mutant")
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

it("runs an exploration deeper than its checks' guidance as a unit of its own, first, and answers a subject from both of its units", () => {
  const hardened = { kind: "variant", variant: "hardened" } as const
  const units = Effect.runSync(unitsOf(suites, { protocols: ["rolling-key"], variants: ["claimed", "hardened"], depth: 8, runs: 1, seed: 1, mutants: false }))
  // P5 hardened is explored to 8, its checks are guided by depth 6: two units, the exploration first
  expect(units.map((u) => [subjectName(u.subject), u.model, u.impl.length > 0, u.conformance])).toEqual([
    ["hardened", true, false, false],
    ["claimed", true, true, true],
    ["hardened", false, true, true]
  ])
  // at the guide depth there is nothing to split
  expect(Effect.runSync(unitsOf(suites, { protocols: ["rolling-key"], variants: ["hardened"], depth: 6, runs: 1, seed: 1, mutants: false }))).toHaveLength(1)

  const outcome = { judgements: [["P5.no-replay", { verdict: "holds", states: 7, depth: 8 }]] as const, states: 7, transitions: 9, depth: 8, exhaustive: true, statesPerSecond: 1, millis: 1 }
  const judgement = { verdict: "holds", runs: 3, seed: 1, guidance: "all", millis: 1 } as const
  const results = new Map<number, UnitResult>([
    [0, { id: 0, outcome, impl: [], millis: 1 }],
    [2, { id: 2, impl: [{ property: "P5.key-secrecy", judgement }], millis: 1 }]
  ])
  const suite = answeringFrom(suites, units, results).find((s) => s.protocol === "rolling-key")!
  expect(suite.explore(hardened, { depth: 8 }).states).toBe(7)
  const keySecrecy = suite.properties.find((p) => p.id === "P5.key-secrecy")!
  expect(Effect.runSync(suite.checkImpl(hardened, keySecrecy, { runs: 3, seed: 1 }))).toEqual(judgement)
})

it("a protocol's depth is a default, not a cap: --depth takes the hardened variant as deep as it asks, never claimed or a mutant past the default", () => {
  const p5 = suites.find((s) => s.protocol === "rolling-key")!
  const hardened = { kind: "variant", variant: "hardened" } as const
  const claimed = { kind: "variant", variant: "claimed" } as const
  const mutant = { kind: "mutant", mutant: p5.mutants[0]!.name } as const
  expect([p5.depthOf(hardened, undefined), p5.depthOf(hardened, 10), p5.depthOf(hardened, 3)]).toEqual([9, 10, 3])
  expect([p5.depthOf(claimed, undefined), p5.depthOf(claimed, 10), p5.depthOf(mutant, 10), p5.depthOf(mutant, 4)]).toEqual([6, 6, 6, 4])
  // P2a's default (3) is below the guide depth: claimed and the mutants stay at it, whatever --depth says
  const p2a = suites.find((s) => s.protocol === "se-channel")!
  expect([p2a.depthOf(hardened, undefined), p2a.depthOf(hardened, 5), p2a.depthOf(claimed, 10)]).toEqual([3, 5, 3])
  // and the deep default exploration of P5 hardened is a unit of its own
  const units = Effect.runSync(unitsOf(suites, { protocols: ["rolling-key"], variants: ["hardened"], runs: 1, seed: 1, mutants: false }))
  expect(units.map((u) => u.depth)).toEqual([undefined, undefined])
  expect(units).toHaveLength(2)
})
