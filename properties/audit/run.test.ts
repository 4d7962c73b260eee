/**
 * The audit's judgement, on the toy suite: what counts as an error, an expected finding, a
 * warning; one exploration per subject; what a replay command selects.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeFakeSuite } from "../testing/fake-suite.ts"
import type { AuditOptions } from "./plan.ts"
import { runAudit } from "./run.ts"

const base: AuditOptions = { runs: 20, seed: 7, depth: 4, mutants: true }

describe("runAudit", () => {
  it.effect("passes when every hardened property holds and every mutant is killed, and reports the claimed weakness", () =>
    Effect.gen(function* () {
      const report = yield* runAudit([makeFakeSuite()], base)
      assert.strictEqual(report.ok, true)
      assert.strictEqual(report.exitCode, 0)
      const weakness = report.findings.find((f) => f.kind === "weakness")
      assert.strictEqual(weakness?.severity, "expected")
      assert.strictEqual(weakness?.property, "F.no-replay")
      assert.strictEqual(weakness?.variant, "claimed")
      assert.deepStrictEqual(report.mutants.map((m) => [m.name, m.killedBy]), [["accepts-replay", ["F.no-replay"]]])
    }))

  it.effect("fails when a hardened property fails", () =>
    Effect.gen(function* () {
      const report = yield* runAudit([makeFakeSuite({ breakHardened: true })], base)
      assert.strictEqual(report.exitCode, 1)
      const finding = report.findings[0]
      assert.strictEqual(finding?.kind, "hardened-fails")
      assert.strictEqual(finding?.severity, "error")
      assert.strictEqual(finding?.property, "F.progress")
    }))

  it.effect("fails when a mutant survives, and names it", () =>
    Effect.gen(function* () {
      const report = yield* runAudit([makeFakeSuite({ survivor: true })], base)
      assert.strictEqual(report.exitCode, 1)
      const survivor = report.mutants.find((m) => m.name === "logs-secrets")
      assert.deepStrictEqual(survivor?.killedBy, [])
      assert.strictEqual(survivor?.killed, false)
      assert.isTrue(report.findings.some((f) => f.kind === "mutant-survived" && f.mutant === "logs-secrets" && f.severity === "error"))
    }))

  it.effect("only warns about a surviving mutant when the audit judged a subset of the properties", () =>
    Effect.gen(function* () {
      const report = yield* runAudit([makeFakeSuite()], { ...base, properties: ["F.progress"] })
      assert.strictEqual(report.exitCode, 0)
      assert.strictEqual(report.selection.partial, true)
      assert.isTrue(report.findings.some((f) => f.kind === "mutant-survived" && f.severity === "warning"))
    }))

  it.effect("treats a model/implementation disagreement on a variant as an error of its own kind", () =>
    Effect.gen(function* () {
      const report = yield* runAudit([makeFakeSuite({ implMissesReplay: true })], base)
      assert.strictEqual(report.exitCode, 1)
      const disagreement = report.findings.filter((f) => f.kind === "disagreement")
      assert.strictEqual(disagreement.length, 1)
      assert.strictEqual(disagreement[0]?.severity, "error")
      assert.strictEqual(disagreement[0]?.variant, "claimed")
      assert.strictEqual(disagreement[0]?.counterexample?.world, "model")
    }))

  it.effect("reports a check that dies as an error and goes on with the others", () =>
    Effect.gen(function* () {
      const report = yield* runAudit([makeFakeSuite({ implDies: true })], base)
      assert.strictEqual(report.exitCode, 1)
      assert.isTrue(report.findings.some((f) => f.kind === "check-error" && f.message.includes("fell over")))
      assert.strictEqual(report.checks.length, 6)
      assert.strictEqual(report.checks.find((c) => c.variant === "claimed" && c.property === "F.no-replay")?.model.verdict, "fails")
    }))

  it.effect("flags a claimed property that holds against its expectation", () =>
    Effect.gen(function* () {
      const suite = makeFakeSuite()
      const lenient = { ...suite, properties: suite.properties.map((p) => (p.id === "F.progress" ? { ...p, expected: { claimed: "fails", hardened: "holds" } as const } : p)) }
      const report = yield* runAudit([lenient], base)
      assert.strictEqual(report.exitCode, 0)
      assert.isTrue(report.findings.some((f) => f.kind === "unexpected-hold" && f.property === "F.progress" && f.severity === "warning"))
    }))

  it.effect("explores each subject once and runs the implementation once per impl-judged property of a variant", () =>
    Effect.gen(function* () {
      const suite = makeFakeSuite()
      yield* runAudit([suite], base)
      assert.deepStrictEqual(
        suite.calls.filter((c) => c.startsWith("explore")),
        ["explore claimed 4", "explore hardened 4", "explore mutant:accepts-replay 4"]
      )
      // 3 per variant; the mutant's expected killer kills it, so its other two are not run
      assert.strictEqual(suite.calls.filter((c) => c.startsWith("impl")).length, 3 + 3 + 1)
    }))

  it.effect("stops a mutant's implementation checks once one has killed it, and says so in the report", () =>
    Effect.gen(function* () {
      const suite = makeFakeSuite()
      const report = yield* runAudit([suite], base)
      assert.deepStrictEqual(suite.calls.filter((c) => c.startsWith("impl mutant")).map((c) => c.split(" ")[2]), ["F.no-replay"])
      const mutant = report.mutants.find((m) => m.name === "accepts-replay")!
      assert.deepStrictEqual(mutant.killedIn.impl, ["F.no-replay"])
      // listed in property order, the ones left out with the reason and no verdict
      assert.deepStrictEqual(mutant.checks.map((c) => [c.property, c.impl.verdict, c.impl.skipped]), [
        ["F.no-replay", "fails", undefined],
        ["F.progress", "n/a", "not run: the implementation already killed the mutant with F.no-replay"],
        ["F.rejects-malformed", "n/a", "not run: the implementation already killed the mutant with F.no-replay"]
      ])
      // the model still judged them all
      assert.strictEqual(mutant.checks.find((c) => c.property === "F.progress")?.model.verdict, "holds")
      // the summary counts what was left out, and not the mutant's F.rejects-malformed (judged on
      // the implementation only, and left out there): 3 × 3 checks, one judged in neither world
      assert.strictEqual(report.summary.implNotRun, 2)
      assert.strictEqual(report.summary.checks, 8)
    }))

  it.effect("runs every property expected to kill a mutant and every one the model breaks, killed or not", () =>
    Effect.gen(function* () {
      const fake = makeFakeSuite()
      const suite = { ...fake, mutants: fake.mutants.map((m) => ({ ...m, expectedKilledBy: ["F.progress"] })) }
      const report = yield* runAudit([suite], base)
      // F.progress (expected) and F.no-replay (the model breaks it) run; F.rejects-malformed does not
      assert.deepStrictEqual(fake.calls.filter((c) => c.startsWith("impl mutant")).map((c) => c.split(" ")[2]).sort(), ["F.no-replay", "F.progress"])
      const mutant = report.mutants.find((m) => m.name === "accepts-replay")!
      assert.deepStrictEqual(mutant.missedBy, ["F.progress"])
      assert.isTrue(report.findings.some((f) => f.kind === "mutant-missed" && f.mutant === "accepts-replay"))
    }))

  it.effect("runs step-wise conformance on an implementation-only mutant only when no implementation check killed it", () =>
    Effect.gen(function* () {
      const fake = makeFakeSuite({ survivor: true })
      const suite = { ...fake, mutants: fake.mutants.map((m) => ({ ...m, worlds: ["impl"] as const })) }
      const report = yield* runAudit([suite], base)
      const conformed = fake.calls.filter((c) => c.startsWith("conform")).map((c) => c.split(" ")[1])
      // accepts-replay is killed by F.no-replay on the implementation; logs-secrets is not
      assert.deepStrictEqual(conformed, ["claimed", "hardened", "mutant:logs-secrets"])
      assert.deepStrictEqual(report.conformance.map((c) => c.subject), ["claimed", "hardened", "mutant:logs-secrets"])
    }))

  it.effect("runs all of a surviving mutant's implementation checks", () =>
    Effect.gen(function* () {
      const suite = makeFakeSuite({ survivor: true })
      yield* runAudit([suite], base)
      assert.strictEqual(suite.calls.filter((c) => c.startsWith("impl mutant:logs-secrets")).length, 3)
    }))

  it.effect("gives a property judged in one world the verdict n/a in the other", () =>
    Effect.gen(function* () {
      const report = yield* runAudit([makeFakeSuite()], base)
      const malformed = report.checks.find((c) => c.property === "F.rejects-malformed")
      assert.strictEqual(malformed?.model.verdict, "n/a")
      assert.strictEqual(malformed?.impl.verdict, "holds")
    }))

  it.effect("selects only the named subject kind", () =>
    Effect.gen(function* () {
      const byVariant = yield* runAudit([makeFakeSuite()], { ...base, variants: ["hardened"] })
      assert.deepStrictEqual(byVariant.selection.subjects, ["hardened"])
      const byMutant = yield* runAudit([makeFakeSuite()], { ...base, mutantNames: ["accepts-replay"] })
      assert.deepStrictEqual(byMutant.selection.subjects, ["mutant:accepts-replay"])
      assert.strictEqual(byMutant.checks.length, 0)
    }))

  it.effect("refuses a selection that names nothing known, instead of auditing nothing", () =>
    Effect.gen(function* () {
      for (const options of [
        { ...base, protocols: ["no-such-protocol"] },
        { ...base, properties: ["F.nope"] },
        { ...base, mutantNames: ["nope"] },
        { ...base, path: "1:2" }, // --path needs exactly one check
        { ...base, worlds: [] }
      ]) {
        const error = yield* Effect.flip(runAudit([makeFakeSuite()], options))
        assert.strictEqual(error._tag, "AuditSelectionError")
      }
      const none = yield* Effect.flip(runAudit([], base))
      assert.include(none.message, "no protocol suites")
    }))

  it.effect("prints a replay command per world that names the subject, the property and the world", () =>
    Effect.gen(function* () {
      const report = yield* runAudit([makeFakeSuite()], base)
      const check = report.checks.find((c) => c.variant === "claimed" && c.property === "F.no-replay")!
      assert.strictEqual(
        check.model.counterexample?.replay,
        "npx authlab audit --protocol soft-token --variant claimed --property F.no-replay --depth 4 --no-impl --out report/replay"
      )
      assert.strictEqual(
        check.impl.counterexample?.replay,
        "npx authlab audit --protocol soft-token --variant claimed --property F.no-replay --seed 7 --path 2:0 --runs 20 --no-model --out report/replay"
      )
      const mutantCheck = report.mutants[0]!.checks.find((c) => c.property === "F.no-replay")!
      assert.include(mutantCheck.impl.counterexample?.replay ?? "", "--mutant accepts-replay --property F.no-replay")
    }))
})
