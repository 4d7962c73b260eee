/**
 * `authlab audit`: judge every selected protocol × subject × property on the model and the
 * implementation, print the summary and the findings, write `audit.json` and `audit.md`, and exit
 * 0 iff every hardened property holds, model and implementation agree, and every mutant is killed.
 *
 * Exit status: 0 pass · 1 the audit found an error · 2 the command could not run as asked
 * (unknown name, impossible selection, report not writable).
 */
import { Command, Options } from "@effect/cli"
import { Path } from "@effect/platform"
import { Effect, Option } from "effect"
import type { AuditProgress } from "../../properties/audit/plan.ts"
import { runAudit } from "../../properties/audit/run.ts"
import * as config from "../../properties/harness/config.ts"
import { type ProtocolSuite, subjectName } from "../../properties/suite.ts"
import { Output } from "../output.ts"
import { answeringFrom, judgeInWorkersInterruptibly, unitsOf } from "../parallel/pool.ts"
import type { UnitProgress, UnitRequest } from "../parallel/protocol.ts"
import { probeDirectory, shareOf, writeReport, writeShard } from "./report-files.ts"
import { suites as registeredSuites } from "../protocols.ts"
import { progressLine, reportText } from "../report/text.ts"

/** Fixed, so two audits of the same code give the same verdicts and counterexamples. */
export const DEFAULT_SEED = 42
export const DEFAULT_OUT = "report"
export const DEFAULT_WORKERS = config.workers

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
    Options.optional,
    Options.withDescription(
      `Bound of the model exploration of the hardened variants, in attacker moves (default ${config.depth ?? "AUTHLAB_DEPTH, else each protocol's own bound: see the report's explorations"}; claimed and the mutants go to the protocol's guide depth, or less). A search too large for memory stops, reported as not exhaustive. The length of random implementation runs is AUTHLAB_STEPS (now ${config.steps}).`
    )
  ),
  out: Options.text("out").pipe(Options.withDefault(DEFAULT_OUT), Options.withDescription(`Directory for audit.json and audit.md (default ${DEFAULT_OUT}).`)),
  noMutants: Options.boolean("no-mutants").pipe(Options.withDescription("Skip the mutants (faster; a partial audit).")),
  noImpl: Options.boolean("no-impl").pipe(Options.withDescription("Judge on the model only (a partial audit).")),
  noModel: Options.boolean("no-model").pipe(Options.withDescription("Judge on the implementation only (a partial audit).")),
  shard: Options.text("shard").pipe(
    Options.optional,
    Options.withDescription("Judge only share i of n of the units (e.g. 1/2) and write DIR/shard-i-of-n.json; `authlab merge` combines the shards into the report an unsharded run writes.")
  ),
  verbose: Options.boolean("verbose").pipe(Options.withDescription("Print every finding's counterexample trace on the terminal too (they are always in the report).")),
  workers: Options.integer("workers").pipe(
    Options.withDefault(DEFAULT_WORKERS),
    Options.withDescription(
      `Worker threads judging protocol × subject units in parallel, 1 to ${config.LIMITS.workers} (default ${DEFAULT_WORKERS}: AUTHLAB_WORKERS, else one per core). Results do not depend on it.`
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

/** `--shard i/n`. */
const SHARD_PATTERN = /^(\d+)\/(\d+)$/

/** `--path` is fast-check's replay path: numbers separated by colons. */
const PATH_PATTERN = /^\d+(?::\d+)*$/

/** Every flag and environment value checked before any work: one line per problem. */
const usageProblems = (o: { readonly runs: number; readonly depth: Option.Option<number>; readonly workers: number; readonly seed: number; readonly path: Option.Option<string> }): Array<string> => {
  const problems = [...config.configProblems]
  const range = (name: string, value: number, max: number) => {
    if (!Number.isSafeInteger(value) || value < 1 || value > max) problems.push(`--${name} must be an integer from 1 to ${max}, got ${value}`)
  }
  range("runs", o.runs, config.LIMITS.runs)
  if (Option.isSome(o.depth)) range("depth", o.depth.value, config.LIMITS.depth)
  range("workers", o.workers, config.LIMITS.workers)
  if (!Number.isSafeInteger(o.seed)) problems.push(`--seed must be an integer, got ${o.seed}`)
  if (Option.isSome(o.path) && !PATH_PATTERN.test(o.path.value)) problems.push(`--path must be a fast-check replay path such as 3:0:1 (numbers and colons), got ${JSON.stringify(o.path.value)}`)
  return problems
}

export const auditCommand = (suites: ReadonlyArray<ProtocolSuite>, invocation: string) =>
  Command.make("audit", options, (o) =>
    Effect.gen(function* () {
      const io = yield* Output
      const path = yield* Path.Path
      const usage = (message: string) =>
        Effect.sync(() => {
          io.err(`authlab audit: ${message}\n`)
          io.setExitCode(2)
        })
      const problems = usageProblems(o)
      if (problems.length > 0) return yield* usage(problems.join("\nauthlab audit: "))

      const shard = Option.map(o.shard, (text) => SHARD_PATTERN.exec(text)).pipe(Option.map((m) => (m === null ? undefined : { index: Number(m[1]), count: Number(m[2]) })))
      if (Option.isSome(shard) && (shard.value === undefined || shard.value.index < 1 || shard.value.index > shard.value.count))
        return yield* usage(`--shard must be i/n with 1 ≤ i ≤ n (e.g. 2/4), got ${JSON.stringify(Option.getOrElse(o.shard, () => ""))}`)
      if (Option.isSome(shard) && Option.isSome(o.path)) return yield* usage("--shard splits a whole audit; a replay (--path) is one check")

      const out = o.out
      const probed = yield* Effect.either(probeDirectory(out))
      if (probed._tag === "Left") return yield* usage(`cannot write the report to ${out}: ${probed.left.message}`)

      const progress = progressReporter(io)
      const started = performance.now()
      const auditOptions = {
        protocols: o.protocol,
        variants: o.variant,
        mutantNames: o.mutant,
        properties: o.property,
        runs: o.runs,
        seed: o.seed,
        ...Option.match(o.depth, { onNone: () => (config.depth === undefined ? {} : { depth: config.depth }), onSome: (depth) => ({ depth }) }),
        ...(Option.isSome(o.path) ? { path: o.path.value } : {}),
        mutants: !o.noMutants,
        worlds: [...(o.noModel ? [] : ["model" as const]), ...(o.noImpl ? [] : ["impl" as const])],
        // A replay writes beside the report it came from, never over it.
        replayOut: path.basename(out) === "replay" ? out : path.join(out, "replay")
      }
      // The units are judged in worker threads and the audit reads their results, so this thread
      // only waits: an interrupt (Ctrl-C, SIGTERM) is heard at once and ends the workers. Workers
      // load the registered suites (cli/protocols.ts); an audit of other suites (the tests'
      // fixtures) runs here.
      const allUnits = suites === registeredSuites ? yield* unitsOf(suites, auditOptions) : []
      const share = Option.getOrUndefined(shard)
      const units = share === undefined ? allUnits : shareOf(allUnits, share.index, share.count)
      let judged = suites
      if (units.length > 0) {
        const threads = Math.min(o.workers, units.length)
        io.err(`judging ${units.length} units (protocol × subject: exploration, implementation checks, conformance) on ${threads} worker thread${threads === 1 ? "" : "s"}…\n`)
        const t0 = performance.now()
        // A terminal also sees how far the running explorations are (depth, states, states/s).
        const exploring = new Map<number, string>()
        const showExploring = () => {
          if (!io.isTTY || exploring.size === 0) return
          const line = `exploring ${[...exploring.values()].join(" · ")}`
          const width = Math.max(20, io.columns - 1)
          io.err(`\r\x1b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`)
        }
        const onExplore = (p: UnitProgress & { readonly request: UnitRequest }) => {
          exploring.set(p.id, `${p.request.protocol} ${subjectName(p.request.subject)}: depth ${p.depth}, ${p.states.toLocaleString("en-US")} states, ${p.statesPerSecond.toLocaleString("en-US")}/s`)
          showExploring()
        }
        const results = yield* judgeInWorkersInterruptibly(units, threads, (d) => {
          exploring.delete(d.request.id)
          const elapsed = (performance.now() - t0) / 1000
          const eta = d.done < d.total ? ` · ~${Math.round((elapsed / d.done) * (d.total - d.done))} s left` : ""
          const running = d.running.length > 0 ? ` · running: ${d.running.map((u) => `${u.protocol} ${subjectName(u.subject)}`).join(", ")}` : ""
          const line = `[${String(d.done).padStart(String(d.total).length)}/${d.total}] ${d.request.protocol} ${subjectName(d.request.subject)} judged in ${(d.result.millis / 1000).toFixed(1)} s · ${Math.round(elapsed)} s elapsed${eta}${running}`
          if (io.isTTY) {
            const width = Math.max(20, io.columns - 1)
            io.err(`\r\x1b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`)
          } else io.err(`${line}\n`)
        }, onExplore)
        if (io.isTTY) io.err("\r\x1b[2K")
        if (share !== undefined) {
          const { onProgress: _, ...options } = auditOptions as typeof auditOptions & { onProgress?: unknown }
          const file = yield* writeShard(out, { options, shard: share, units: allUnits, results: [...results.values()] })
          io.out(`shard ${share.index}/${share.count}: judged ${units.length} of ${allUnits.length} units; wrote ${file}\nmerge the shards with: npx authlab merge --out DIR ${out} …\n`)
          return
        }
        judged = answeringFrom(suites, units, results)
      }
      const result = yield* runAudit(judged, { ...auditOptions, ...(units.length > 0 ? {} : { onProgress: progress.onProgress }) }).pipe(Effect.either)
      progress.clear()
      if (result._tag === "Left") return yield* usage(result.left.message)
      // The summary's time is the whole command's, workers included.
      const report = { ...result.right, summary: { ...result.right.summary, millis: performance.now() - started } }
      const written = yield* Effect.either(writeReport(out, report, suites, invocation))
      if (written._tag === "Left") {
        io.out(reportText(report, [], { verbose: o.verbose }))
        io.err(`authlab audit: could not write the report to ${out}: ${written.left.message}\n`)
        io.setExitCode(2)
        return
      }
      io.out(reportText(report, written.right, { verbose: o.verbose }))
      io.setExitCode(report.exitCode)
    })
  ).pipe(
    Command.withDescription(
      "Judge every protocol × variant × property on the model and the implementation, then the mutants; " +
        "write DIR/audit.json and DIR/audit.md. Exit 0 iff every hardened property holds, model and implementation agree, " +
        "and every mutant is killed (claimed findings are expected); 1 otherwise; 2 when the command cannot run as asked."
    )
  )
