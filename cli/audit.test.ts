/**
 * `authlab audit` end to end on the toy suite: exit status, audit.json's shape, audit.md's
 * content, progress, and that a printed replay command judges exactly its one check again.
 */
import { assert, describe, it } from "@effect/vitest"
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { Effect } from "effect"
import type { AuditCheck, AuditReport } from "../properties/audit/report.ts"
import { makeFakeSuite, type FakeSuiteSwitches } from "../properties/testing/fake-suite.ts"
import { SEQUENCE_LAYOUT } from "./report/mermaid.ts"
import { runCli, shellWords } from "./testing/run-cli.ts"

/** Run `authlab audit` into a fresh temp dir; return the captured output and the parsed audit.json. */
const audit = (switches: FakeSuiteSwitches, args: ReadonlyArray<string> = [], options: { readonly isTTY?: boolean; readonly sizes?: boolean } = {}) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "authlab-audit-" })
    const suite = makeFakeSuite(switches)
    const sizes = options.sizes === false ? [] : ["--runs", "20", "--depth", "4"]
    const out = yield* runCli([suite], ["audit", "--out", dir, ...sizes, ...args], options)
    const exists = yield* fs.exists(path.join(dir, "audit.json"))
    const json = exists ? (JSON.parse(yield* fs.readFileString(path.join(dir, "audit.json"))) as AuditReport) : undefined
    const markdown = exists ? yield* fs.readFileString(path.join(dir, "audit.md")) : undefined
    return { ...out, json, markdown, dir, suite }
  }).pipe(Effect.provide(NodeContext.layer))

describe("authlab audit: exit status", () => {
  it.scoped("is 0 when every hardened property holds and every mutant is killed (claimed findings expected)", () =>
    Effect.gen(function* () {
      const r = yield* audit({})
      assert.strictEqual(r.exitCode, 0)
      assert.include(r.stdout, "PASS (exit 0)")
    }))

  it.scoped("is 1 when a hardened property fails", () =>
    Effect.gen(function* () {
      const r = yield* audit({ breakHardened: true })
      assert.strictEqual(r.exitCode, 1)
      assert.include(r.stdout, "F.progress fails on hardened")
    }))

  it.scoped("is 1 when a mutant survives", () =>
    Effect.gen(function* () {
      const r = yield* audit({ survivor: true })
      assert.strictEqual(r.exitCode, 1)
      assert.include(r.stdout, "mutant soft-token logs-secrets: SURVIVES")
    }))

  it.scoped("is 1 when model and implementation disagree", () =>
    Effect.gen(function* () {
      const r = yield* audit({ implMissesReplay: true })
      assert.strictEqual(r.exitCode, 1)
      assert.include(r.stdout, "model and implementation disagree")
    }))

  it.scoped("is 2, with the known names and no report, when the selection names an unknown protocol", () =>
    Effect.gen(function* () {
      const r = yield* audit({}, ["--protocol", "rolling-kee"])
      assert.strictEqual(r.exitCode, 2)
      assert.include(r.stderr, "unknown protocol rolling-kee; known: soft-token")
      assert.isUndefined(r.json)
    }))

  it.scoped("is 2 on a command line that does not parse", () =>
    Effect.gen(function* () {
      const r = yield* audit({}, ["--runs", "many"])
      assert.strictEqual(r.exitCode, 2)
    }))
})

describe("authlab audit: audit.json", () => {
  it.scoped("has the checks and mutants in the documented shape", () =>
    Effect.gen(function* () {
      const { json } = yield* audit({})
      assert.isDefined(json)
      const report = json!
      assert.strictEqual(report.ok, true)
      assert.strictEqual(report.exitCode, 0)
      assert.strictEqual(report.seed, 42)
      assert.strictEqual(report.runs, 20)
      assert.strictEqual(report.depth, 4)
      assert.match(report.node, /^v\d+/)
      assert.strictEqual(report.checks.length, 6)
      for (const check of report.checks) {
        assert.includeMembers(["claimed", "hardened"], [check.variant])
        assert.includeMembers(["holds", "fails", "n/a"], [check.model.verdict, check.impl.verdict])
        assert.isNumber(check.model.states)
        assert.isNumber(check.model.depth)
        assert.isNumber(check.impl.runs)
      }
      const replayed = report.checks.find((c) => c.variant === "claimed" && c.property === "F.no-replay")!
      assert.deepStrictEqual(Object.keys(replayed.counterexample!).sort(), ["depth", "replay", "steps", "trace", "violation", "world"])
      assert.isAbove(replayed.counterexample!.steps.length, 0)
      assert.deepStrictEqual(report.mutants.map((m) => ({ protocol: m.protocol, name: m.name, killedBy: m.killedBy })), [
        { protocol: "soft-token", name: "accepts-replay", killedBy: ["F.no-replay"] }
      ])
      assert.strictEqual(report.explorations.length, 3)
      assert.isBoolean(report.explorations[0]!.exhaustive)
      assert.isNumber(report.explorations[0]!.statesPerSecond)
    }))
})

describe("authlab audit: audit.md", () => {
  it.scoped("opens with the findings, each with its statement, numbered counterexample, sequence diagram and replay", () =>
    Effect.gen(function* () {
      const { markdown } = yield* audit({ breakHardened: true })
      const md = markdown!
      const findings = md.indexOf("## Findings")
      assert.isAbove(findings, -1)
      assert.isBelow(findings, md.indexOf("## Summary"))
      assert.isBelow(md.indexOf("F.progress fails on hardened"), md.indexOf("F.no-replay fails on claimed"))
      assert.include(md, "> Once faults stop, the client's next request is accepted.")
      assert.include(md, "1. `Crash(server)`")
      assert.include(md, `\`\`\`mermaid\n${SEQUENCE_LAYOUT}\nsequenceDiagram`)
      assert.include(md, "npx authlab audit --protocol soft-token --variant hardened --property F.progress --depth 4 --no-impl")
    }))

  it.scoped("then the summary, the state diagrams generated from the machines, and ends with the kill matrix", () =>
    Effect.gen(function* () {
      const { markdown } = yield* audit({ survivor: true })
      const md = markdown!
      const order = ["## Findings", "## Summary", "## Participant machines", "## Mutant kill matrix"].map((h) => md.indexOf(h))
      assert.deepStrictEqual([...order].sort((a, b) => a - b), order)
      assert.notInclude(order, -1)
      assert.include(md, "```mermaid\nstateDiagram-v2")
      assert.include(md, "awaitingGrant --> done : msg.grant [grantValid]")
      assert.include(md, "| `accepts-replay` | The server forgets which requests it accepted. | both | ✔ MI |")
      assert.include(md, "**SURVIVES**")
    }))

  it.scoped("draws each diagram once: a run already shown is referred to, not repeated", () =>
    Effect.gen(function* () {
      let referred = 0
      for (const switches of [{}, { survivor: true }, { breakHardened: true }]) {
        const md = (yield* audit(switches)).markdown!
        const blocks = [...md.matchAll(/```mermaid\n([\s\S]*?)\n```/g)].map((m) => m[1]!)
        assert.strictEqual(new Set(blocks).size, blocks.length)
        referred += md.split("(events and diagram not repeated)").length - 1
      }
      // In the toy suite some mutant is killed by a run already shown as a finding.
      assert.isAbove(referred, 0)
    }))
})

describe("authlab audit: progress", () => {
  it.scoped("is one live line rewritten with \\r on a terminal", () =>
    Effect.gen(function* () {
      const r = yield* audit({}, [], { isTTY: true })
      assert.include(r.stderr, "\r\x1b[2K")
      assert.notInclude(r.stderr, "\n")
    }))

  it.scoped("is plain lines, one per check, when not a terminal", () =>
    Effect.gen(function* () {
      const r = yield* audit({}, [], { isTTY: false })
      assert.notInclude(r.stderr, "\r")
      const lines = r.stderr.trim().split("\n")
      // 2 variants × (1 exploration + 3 checks + conformance) + 1 mutant the model has too × (1 exploration + 3 checks)
      assert.strictEqual(lines.length, 14)
      assert.match(lines[1]!, /^\[ 2\/14\] soft-token claimed F\.no-replay: model ✘ fails/)
      assert.match(lines[4]!, /^\[ 5\/14\] soft-token claimed conformance: agrees/)
      assert.notMatch(r.stderr, /mutant:\S+ conformance/)
    }))
})

describe("authlab audit: replay", () => {
  const all = (r: AuditReport): ReadonlyArray<AuditCheck> => [...r.checks, ...r.mutants.flatMap((m) => m.checks)]

  it.scoped("each printed replay command judges exactly its one check, in its one world, and finds the same counterexample", () =>
    Effect.gen(function* () {
      const first = yield* audit({ breakHardened: true })
      const counterexamples = all(first.json!).flatMap((c) => [c.model.counterexample, c.impl.counterexample].flatMap((cx) => (cx ? [{ check: c, cx }] : [])))
      assert.isAtLeast(counterexamples.length, 6) // claimed, hardened and mutant, in both worlds
      for (const { check, cx } of counterexamples) {
        const words = shellWords(cx.replay)
        assert.deepStrictEqual(words.slice(0, 3), ["npx", "authlab", "audit"])
        const outAt = words.indexOf("--out")
        const args = [...words.slice(3, outAt), ...words.slice(outAt + 2)] // our own temp --out instead
        const again = yield* audit({ breakHardened: true }, args, { sizes: false })
        const checks = all(again.json!)
        assert.strictEqual(checks.length, 1, cx.replay)
        const only = checks[0]!
        assert.strictEqual(only.property, check.property)
        assert.strictEqual(only.variant, check.variant)
        assert.strictEqual(only.mutant, check.mutant)
        const other = cx.world === "model" ? only.impl : only.model
        assert.strictEqual(other.verdict, "n/a")
        const same = cx.world === "model" ? only.model.counterexample : only.impl.counterexample
        assert.deepStrictEqual(same?.trace, cx.trace)
        assert.deepStrictEqual(same?.violation, cx.violation)
        assert.strictEqual(same?.replay.replace(/--out \S+/, ""), cx.replay.replace(/--out \S+/, ""))
        assert.include(again.stdout, cx.violation.reason) // it prints the finding
      }
    }))
})
