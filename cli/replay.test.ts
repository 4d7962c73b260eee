/**
 * Every replay command a real report prints is accepted by the CLI and reproduces its finding:
 * an audit of P5 claimed (its findings include one at the start state, depth 0), then each
 * printed command run as printed — same check, same world, the property fails again.
 */
import { Effect } from "effect"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expect, it } from "vitest"
import type { AuditReport } from "../properties/audit/report.ts"
import { suites } from "./protocols.ts"
import { runCli, shellWords } from "./testing/run-cli.ts"

it("accepts every replay command of a real report, and each reproduces its finding", async () => {
  const dir = mkdtempSync(join(tmpdir(), "authlab-replay-"))
  const first = await Effect.runPromise(runCli(suites, ["audit", "--protocol", "rolling-key", "--variant", "claimed", "--depth", "4", "--runs", "20", "--out", dir]))
  expect(first.exitCode).toBe(0)
  const report = JSON.parse(readFileSync(join(dir, "audit.json"), "utf8")) as AuditReport
  const replays = report.checks.flatMap((c) => [c.model.counterexample, c.impl.counterexample].flatMap((cx) => (cx === undefined ? [] : [{ check: c, cx }])))
  expect(replays.length).toBeGreaterThanOrEqual(6)
  expect(replays.some(({ cx }) => cx.world === "model" && cx.depth === 0)).toBe(true)
  for (const { check, cx } of replays) {
    const words = shellWords(cx.replay)
    expect(words.slice(0, 3)).toEqual(["npx", "authlab", "audit"])
    const again = await Effect.runPromise(runCli(suites, words.slice(2)))
    expect(again.exitCode, `${cx.replay}\n${again.stderr}`).not.toBe(2)
    const out = JSON.parse(readFileSync(join(words[words.indexOf("--out") + 1]!, "audit.json"), "utf8")) as AuditReport
    const replayed = out.checks.find((c) => c.property === check.property)!
    expect(replayed[cx.world].verdict, cx.replay).toBe("fails")
    expect(replayed[cx.world].counterexample?.violation.reason).toBe(cx.violation.reason)
  }
}, 600_000)

it("replays a mutant's unshrunk implementation finding (its path is the failing run's index) to the same violation", async () => {
  const dir = mkdtempSync(join(tmpdir(), "authlab-replay-"))
  const first = await Effect.runPromise(runCli(suites, ["audit", "--protocol", "rolling-key", "--mutant", "mac-prefix", "--no-model", "--runs", "50", "--out", dir]))
  expect(first.exitCode).toBe(0)
  const report = JSON.parse(readFileSync(join(dir, "audit.json"), "utf8")) as AuditReport
  const found = report.mutants[0]!.checks.flatMap((c) => (c.impl.counterexample === undefined ? [] : [{ check: c, cx: c.impl.counterexample }]))
  expect(found.length).toBeGreaterThan(0)
  for (const { check, cx } of found) {
    const words = shellWords(cx.replay)
    expect(words).toContain("--mutant")
    const again = await Effect.runPromise(runCli(suites, words.slice(2)))
    expect(again.exitCode, `${cx.replay}\n${again.stderr}`).not.toBe(2)
    const out = JSON.parse(readFileSync(join(words[words.indexOf("--out") + 1]!, "audit.json"), "utf8")) as AuditReport
    const replayed = out.mutants[0]!.checks.find((c) => c.property === check.property)!
    expect(replayed.impl.verdict, cx.replay).toBe("fails")
    expect(replayed.impl.counterexample?.trace, cx.replay).toEqual(cx.trace)
  }
}, 600_000)
