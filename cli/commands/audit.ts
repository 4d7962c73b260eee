/**
 * `authlab audit`: judge every selected protocol × subject × property on the model and the
 * implementation, print the summary and the findings, write `audit.json` and `audit.md`, and exit
 * 0 iff every hardened property holds, model and implementation agree, and every mutant is killed.
 *
 * Exit status: 0 pass · 1 the audit found an error · 2 the command could not run as asked
 * (unknown name, impossible selection, report not writable).
 */
import { Command, Options } from "@effect/cli"
import { FileSystem, Path } from "@effect/platform"
import { Effect, Option } from "effect"
import { availableParallelism } from "node:os"
import type { AuditProgress } from "../../properties/audit/plan.ts"
import { runAudit } from "../../properties/audit/run.ts"
import * as config from "../../properties/harness/config.ts"
import { type ProtocolSuite, subjectName } from "../../properties/suite.ts"
import { Output } from "../output.ts"
import { answeringFrom, judgeInWorkers, unitsOf } from "../parallel/pool.ts"
import { suites as registeredSuites } from "../protocols.ts"
import { renderJson } from "../report/json.ts"
import { renderMarkdown } from "../report/markdown.ts"
import { progressLine, reportText } from "../report/text.ts"
import { toolVersion } from "../version.ts"

/** Fixed, so two audits of the same code give the same verdicts and counterexamples. */
export const DEFAULT_SEED = 42
export const DEFAULT_OUT = "report"
export const DEFAULT_WORKERS = Math.max(1, Number(process.env.AUTHLAB_WORKERS ?? availableParallelism()) || 1)

const options = {
  protocol: Options.text("protocol").pipe(
    Options.repeated,
    Options.withDescription("Audit only this protocol (repeatable); all by default.")
  ),
  variant: Options.choice("variant", ["claimed", "hardened"] as const).pipe(
    Options.repeated,
    Options.withDescription("Judge only this variant (repeatable). Naming a variant or a mutant selects only what is named.")
  ),
  mutant: Options.text("mutant").pipe(Options.repeated, Options.withDescription("Judge only this mutant (repeatable).")),
  property: Options.text("property").pipe(Options.repeated, Options.withDescription("Judge only this property id, e.g. P5.no-replay (repeatable).")),
  runs: Options.integer("runs").pipe(
    Options.withDefault(config.runs),
    Options.withDescription(`fast-check runs per implementation check (default ${config.runs}: AUTHLAB_RUNS, else 100).`)
  ),
  seed: Options.integer("seed").pipe(Options.withDefault(DEFAULT_SEED), Options.withDescription(`fast-check seed (default ${DEFAULT_SEED}: fixed, so the audit is reproducible).`)),
  path: Options.text("path").pipe(
    Options.optional,
    Options.withDescription("fast-check replay path of one failing run (needs exactly one check selected).")
  ),
  depth: Options.integer("depth").pipe(
    Options.withDefault(config.depth),
    Options.withDescription(`Bound of the model exploration, in attacker moves (default ${config.depth}: AUTHLAB_DEPTH, else 6). The length of random implementation runs is AUTHLAB_STEPS (now ${config.steps}).`)
  ),
  out: Options.text("out").pipe(Options.withDefault(DEFAULT_OUT), Options.withDescription(`Directory for audit.json and audit.md (default ${DEFAULT_OUT}).`)),
  noMutants: Options.boolean("no-mutants").pipe(Options.withDescription("Skip the mutants (faster; a partial audit).")),
  noImpl: Options.boolean("no-impl").pipe(Options.withDescription("Judge on the model only (a partial audit).")),
  noModel: Options.boolean("no-model").pipe(Options.withDescription("Judge on the implementation only (a partial audit).")),
  workers: Options.integer("workers").pipe(
    Options.withDefault(DEFAULT_WORKERS),
    Options.withDescription(
      `Worker threads judging protocol × subject units in parallel (default ${DEFAULT_WORKERS}: AUTHLAB_WORKERS, else one per core); 1 runs everything in this thread. Results do not depend on it.`
    )
  )
}

/** The live line on a terminal (rewritten with \r), plain lines otherwise. */
const progressReporter = (io: Output["Type"]) => {
  let live = false
  const clear = () => {
    if (live) io.err("\r\x1b[2K")
    live = false
  }
  const onProgress = (e: AuditProgress) => {
    const line = progressLine(e)
    if (line === undefined) return
    if (io.isTTY) {
      const width = Math.max(20, io.columns - 1)
      io.err(`\r\x1b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`)
      live = true
    } else if (e._tag === "ExploreDone" || e._tag === "CheckDone" || e._tag === "ConformanceDone") io.err(`${line}\n`)
  }
  return { onProgress, clear }
}

export const auditCommand = (suites: ReadonlyArray<ProtocolSuite>, invocation: string) =>
  Command.make("audit", options, (o) =>
    Effect.gen(function* () {
      const io = yield* Output
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const progress = progressReporter(io)
      const out = o.out
      const started = performance.now()
      const auditOptions = {
        protocols: o.protocol,
        variants: o.variant,
        mutantNames: o.mutant,
        properties: o.property,
        runs: o.runs,
        seed: o.seed,
        depth: o.depth,
        ...(Option.isSome(o.path) ? { path: o.path.value } : {}),
        mutants: !o.noMutants,
        worlds: [...(o.noModel ? [] : ["model" as const]), ...(o.noImpl ? [] : ["impl" as const])],
        // A replay writes beside the report it came from, never over it.
        replayOut: path.basename(out) === "replay" ? out : path.join(out, "replay")
      }
      // In parallel, the units are judged ahead in worker threads and the audit reads their results;
      // a replay (--path) stays in this thread, where it is one check anyway.
      // Workers load the registered suites (cli/suites.ts), so only an audit of those can use them.
      const units = o.workers > 1 && Option.isNone(o.path) && suites === registeredSuites ? yield* unitsOf(suites, auditOptions) : []
      let judged = suites
      if (units.length > 1) {
        const results = yield* Effect.promise(() =>
          judgeInWorkers(units, o.workers, (d) => {
            const line = `[${String(d.done).padStart(String(d.total).length)}/${d.total}] ${d.request.protocol} ${subjectName(d.request.subject)}: judged in ${(d.result.millis / 1000).toFixed(1)} s`
            if (io.isTTY) io.err(`\r\x1b[2K${line}`)
            else io.err(`${line}\n`)
          })
        )
        if (io.isTTY) io.err("\r\x1b[2K")
        judged = answeringFrom(suites, units, results)
      }
      const result = yield* runAudit(judged, { ...auditOptions, ...(units.length > 1 ? {} : { onProgress: progress.onProgress }) }).pipe(Effect.either)
      progress.clear()
      if (result._tag === "Left") {
        io.err(`authlab audit: ${result.left.message}\n`)
        io.setExitCode(2)
        return
      }
      // The summary's time is the whole command's, workers included.
      const report = { ...result.right, summary: { ...result.right.summary, millis: performance.now() - started } }
      const jsonFile = path.join(out, "audit.json")
      const mdFile = path.join(out, "audit.md")
      const written = yield* Effect.gen(function* () {
        yield* fs.makeDirectory(out, { recursive: true })
        yield* fs.writeFileString(jsonFile, renderJson(report, { tool: { name: "authlab", version: toolVersion() }, command: invocation }))
        yield* fs.writeFileString(mdFile, renderMarkdown(report, suites, { command: invocation }))
      }).pipe(Effect.either)
      if (written._tag === "Left") {
        io.out(reportText(report, []))
        io.err(`authlab audit: could not write the report to ${out}: ${written.left.message}\n`)
        io.setExitCode(2)
        return
      }
      io.out(reportText(report, [jsonFile, mdFile]))
      io.setExitCode(report.exitCode)
    })
  ).pipe(
    Command.withDescription(
      "Judge every protocol × variant × property on the model and the implementation, then the mutants; " +
        "write DIR/audit.json and DIR/audit.md. Exit 0 iff every hardened property holds, model and implementation agree, " +
        "and every mutant is killed (claimed findings are expected); 1 otherwise; 2 when the command cannot run as asked."
    )
  )
