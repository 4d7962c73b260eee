/**
 * `authlab merge --out DIR SHARD_DIR…`: combine the shards of a sharded audit (`authlab audit
 * --shard i/n`, e.g. one per CI job) into the report an unsharded audit writes. The audit's
 * conclusions are recomputed from the shards' unit results by the same code an unsharded run
 * uses, so the merged audit.json equals the unsharded one apart from timings.
 *
 * Exit status as `audit`: 0 pass · 1 the audit found an error · 2 the shards cannot be merged
 * (missing, from different audits, or a unit judged by none).
 */
import { Args, Command, Options } from "@effect/cli"
import { FileSystem, Path } from "@effect/platform"
import { Effect } from "effect"
import { runAudit } from "../../properties/audit/run.ts"
import type { ProtocolSuite } from "../../properties/suite.ts"
import { Output } from "../output.ts"
import { answeringFrom } from "../parallel/pool.ts"
import type { UnitResult } from "../parallel/protocol.ts"
import { reportText } from "../report/text.ts"
import { probeDirectory, type ShardFile, writeReport } from "./report-files.ts"

const SHARD_FILE = /^shard-(\d+)-of-(\d+)\.json$/

export const mergeCommand = (suites: ReadonlyArray<ProtocolSuite>, invocation: string) =>
  Command.make(
    "merge",
    {
      out: Options.text("out").pipe(Options.withDefault("report"), Options.withDescription("Directory for the merged audit.json and audit.md (default report).")),
      verbose: Options.boolean("verbose").pipe(Options.withDescription("Print every finding's counterexample trace on the terminal too.")),
      shards: Args.text({ name: "SHARD_DIR" }).pipe(Args.repeated, Args.withDescription("Directories holding shard-i-of-n.json files (the --out of each sharded audit)."))
    },
    ({ out, shards: dirs, verbose }) =>
      Effect.gen(function* () {
        const io = yield* Output
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const usage = (message: string) =>
          Effect.sync(() => {
            io.err(`authlab merge: ${message}\n`)
            io.setExitCode(2)
          })
        if (dirs.length === 0) return yield* usage("name the directories of the shards (the --out of each `authlab audit --shard i/n`)")
        const files: Array<ShardFile> = []
        for (const dir of dirs) {
          const listed = yield* Effect.either(fs.readDirectory(dir))
          if (listed._tag === "Left") return yield* usage(`cannot read ${dir}: ${listed.left.message}`)
          for (const name of listed.right.filter((n) => SHARD_FILE.test(n)).sort()) {
            const text = yield* Effect.either(fs.readFileString(path.join(dir, name)))
            if (text._tag === "Left") return yield* usage(`cannot read ${path.join(dir, name)}: ${text.left.message}`)
            let parsed: ShardFile
            try {
              parsed = JSON.parse(text.right) as ShardFile
            } catch {
              return yield* usage(`${path.join(dir, name)} is not JSON`)
            }
            if (parsed.format !== "authlab-shard/1") return yield* usage(`${path.join(dir, name)} is not an authlab shard file`)
            files.push(parsed)
          }
        }
        if (files.length === 0) return yield* usage(`no shard-i-of-n.json in ${dirs.join(", ")}`)
        const first = files[0]!
        // Each shard wrote to its own --out; the merged report's replay commands name the merged one.
        const identity = (f: ShardFile) => JSON.stringify([{ ...f.options, replayOut: undefined }, f.units, f.shard.count])
        const same = (f: ShardFile) => identity(f) === identity(first)
        if (!files.every(same)) return yield* usage("the shards come from different audits (options, units or shard count differ)")
        const results = new Map<number, UnitResult>()
        for (const f of files) for (const r of f.results) results.set(r.id, r)
        const missing = first.units.filter((u) => !results.has(u.id))
        if (missing.length > 0) {
          const shards = [...new Set(missing.map((u) => (u.id % first.shard.count) + 1))]
          return yield* usage(`${missing.length} of ${first.units.length} units were judged by no shard given (shards ${shards.join(", ")} of ${first.shard.count} missing)`)
        }
        const probed = yield* Effect.either(probeDirectory(out))
        if (probed._tag === "Left") return yield* usage(`cannot write the report to ${out}: ${probed.left.message}`)
        const started = performance.now()
        const result = yield* Effect.either(runAudit(answeringFrom(suites, first.units, results), { ...first.options, replayOut: path.join(out, "replay") }))
        if (result._tag === "Left") return yield* usage(result.left.message)
        // The time is the shards' work, as the workers measured it.
        const millis = first.units.reduce((n, u) => n + results.get(u.id)!.millis, 0) + (performance.now() - started)
        const report = { ...result.right, summary: { ...result.right.summary, millis } }
        const written = yield* Effect.either(writeReport(out, report, suites, invocation))
        if (written._tag === "Left") return yield* usage(`could not write the report to ${out}: ${written.left.message}`)
        io.out(reportText(report, written.right, { verbose }))
        io.setExitCode(report.exitCode)
      })
  ).pipe(Command.withDescription("Combine the shards of a sharded audit (authlab audit --shard i/n) into one audit.json and audit.md, as an unsharded audit writes them."))
