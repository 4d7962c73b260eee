/**
 * `npm run bench` / `authlab bench`: every benchmark in one run, a Markdown table on stdout
 * (each figure with its ratio to the raw baseline measured in the same run), and the same data
 * in `bench/results/latest.json`. The header names the machine and Node version, because a
 * figure without them means nothing.
 *
 * Usage: `npm run bench [-- --ms 300] [-- --only hmac]` (the `authlab bench` command, which passes
 * each protocol's benchmarks from the registry); `AUTHLAB_BENCH_MS` also sets the budget.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { cpus, loadavg, arch, platform, release, totalmem } from "node:os"
import { dirname } from "node:path"
import { fileURLToPath } from "node:url"
import { bench as batchVerify } from "./batch-verify.ts"
import { cryptoBaselines, cryptoCases } from "./crypto.ts"
import { effectBaselines, effectCases } from "./effect.ts"
import { attachRatios, type Baselines, budgetMs, type Case, type Clock, clockFromEnv, type Figure, measureCases, sinkSize } from "./measure.ts"

export interface BenchOptions {
  /** Time budget per figure in ms (default `AUTHLAB_BENCH_MS`, else `DEFAULT_MS`: 1000). */
  readonly ms?: number
  /** What figures are timed by (default `AUTHLAB_BENCH_CLOCK`, else `wall`; see `Clock` in measure.ts). */
  readonly clock?: Clock
  /** Run only the figures whose group or operation contains this (case-insensitive), e.g. `hmac`, `rolling-key`. */
  readonly only?: string
  /** Where to write the JSON; `null` writes nothing. Default `bench/results/latest.json`. */
  readonly outFile?: string | null
  /** Progress and the table go here; default `console.log` / `console.error`. */
  readonly log?: (line: string) => void
  readonly progress?: (line: string) => void
  /** Each protocol's benchmarks, after the primitives' (from the registry, cli/protocols.ts). */
  readonly protocols?: ReadonlyArray<BenchSuite>
}

export interface Machine {
  readonly cpu: string
  readonly cores: number
  readonly memoryBytes: number
  readonly os: string
  /** 1-, 5- and 15-minute load averages when the run started: other work on the machine skews figures. */
  readonly loadAverage: ReadonlyArray<number>
}

export interface BenchResult {
  readonly date: string
  readonly node: string
  readonly machine: Machine
  readonly msPerFigure: number
  /** The clock asked for; each figure says which it was timed by. */
  readonly clock: Clock
  readonly only: string | null
  readonly elapsedMs: number
  readonly figures: ReadonlyArray<Figure>
  readonly markdown: string
}

export const DEFAULT_OUT_FILE = fileURLToPath(new URL("./results/latest.json", import.meta.url))

const machine = (): Machine => {
  const cpuList = cpus()
  return {
    cpu: cpuList[0]?.model.trim() ?? "unknown",
    cores: cpuList.length,
    memoryBytes: totalmem(),
    os: `${platform()} ${release()} ${arch()}`,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100)
  }
}

// --- formatting ---------------------------------------------------------------------------

const formatOps = (ops: number): string =>
  ops >= 100 ? Math.round(ops).toLocaleString("en-US") : ops.toLocaleString("en-US", { maximumFractionDigits: 1 })
const formatRatio = (r: number): string => (r >= 10 ? r.toFixed(1) : r >= 0.1 ? r.toFixed(2) : r.toFixed(3)) + "×"
const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(1)
/** Pipes inside a cell would break the table. */
const cell = (s: string) => s.replaceAll("|", "\\|")

export const toMarkdown = (r: Omit<BenchResult, "markdown">): string => {
  const m = r.machine
  const lines = [
    `### authlab bench — ${r.date}`,
    "",
    `Machine: ${m.cpu}, ${m.cores} cores, ${gib(m.memoryBytes)} GiB RAM, ${m.os}; load average at start ` +
      `${m.loadAverage.join(" / ")}. Node ${r.node}. ${r.msPerFigure} ms per figure` +
      (r.only === null ? "" : `, only "${r.only}"`) +
      `; whole run ${(r.elapsedMs / 1000).toFixed(1)} s. Clock: ${r.clock}` +
      (r.clock === "cpu" ? " (CPU time of the process; multi-threaded and manually timed figures by the wall clock, see the clock column)." : "."),
    "",
    "Ratio = the median, over the rounds of interleaved batches of this run (each round in a random order), of this figure's batch rate ÷ " +
      "its baseline's in the same round (< 1: slower than the baseline), with its 95 % confidence interval from the rounds' order statistics; " +
      "ratio of means = ops/s ÷ the baseline's ops/s, which a preempted batch skews on a loaded machine.",
    "",
    "| operation | implementation | ops/s | ± % | ratio to baseline | 95 % interval | ratio of means | baseline | clock |",
    "|---|---|--:|--:|--:|--:|--:|---|---|"
  ]
  for (const f of r.figures) {
    lines.push(
      `| ${cell(f.operation)} | ${cell(f.implementation)} | ${formatOps(f.opsPerSec)} | ${f.marginPct.toFixed(1)} | ` +
        `${f.ratio === undefined ? "—" : formatRatio(f.ratio)} | ${f.ratioInterval === undefined ? "—" : f.ratioInterval.map(formatRatio).join(" – ")} | ` +
        `${f.ratioOfMeans === undefined ? "—" : formatRatio(f.ratioOfMeans)} | ` +
        `${f.baseline === undefined ? "—" : cell(f.baseline)} | ${f.clock ?? "wall"} |`
    )
  }
  return lines.join("\n")
}

// --- the run ------------------------------------------------------------------------------

/** One group of figures: a protocol's module exports one (see properties/definition.ts `bench`). */
export interface BenchSuite {
  readonly group: string
  /** Builds (and checks) the fixtures; called only when the suite is selected, before any timing. */
  readonly cases: () => Array<Case> | Promise<Array<Case>>
  readonly baselines: Baselines
  /** Frees what `cases` holds (worker threads), once the suite's figures are measured. */
  readonly release?: () => Promise<void>
}

const primitives: ReadonlyArray<BenchSuite> = [
  { group: "crypto", cases: cryptoCases, baselines: cryptoBaselines },
  { group: "effect", cases: effectCases, baselines: effectBaselines },
  batchVerify
]

const selects = (only: string | undefined, c: Case) =>
  only === undefined ||
  c.group.toLowerCase().includes(only.toLowerCase()) ||
  c.operation.toLowerCase().includes(only.toLowerCase())

export const runBench = async (options: BenchOptions = {}): Promise<BenchResult> => {
  const ms = budgetMs(options.ms)
  const clock = options.clock ?? clockFromEnv()
  const log = options.log ?? ((line: string) => console.log(line))
  const progress = options.progress ?? ((line: string) => console.error(line))
  const date = new Date().toISOString()
  const host = machine()
  const started = process.hrtime.bigint()

  const figures: Array<Figure> = []
  for (const suite of [...primitives, ...(options.protocols ?? [])]) {
    try {
      const selected = (await suite.cases()).filter((c) => selects(options.only, c))
      if (selected.length === 0) continue
      // every implementation of an operation is measured side by side (interleaved batches)
      const operations = [...new Set(selected.map((c) => c.operation))]
      const measured: Array<Figure> = []
      for (const operation of operations) {
        const figs = measureCases(selected.filter((c) => c.operation === operation), { ms, clock })
        for (const f of figs) {
          progress(`  ${f.operation} — ${f.implementation}: ${formatOps(f.opsPerSec)} ops/s ±${f.marginPct.toFixed(1)}%`)
        }
        measured.push(...figs)
      }
      figures.push(...attachRatios(measured, suite.baselines))
    } finally {
      await suite.release?.()
    }
  }
  if (figures.length === 0) throw new Error(`no benchmark matches --only "${options.only}"`)

  const base = {
    date,
    node: process.version,
    machine: host,
    msPerFigure: ms,
    clock,
    only: options.only ?? null,
    elapsedMs: Number(process.hrtime.bigint() - started) / 1e6,
    figures
  }
  const result: BenchResult = { ...base, markdown: toMarkdown(base) }
  log(result.markdown)
  // touch the sink once more, so its contents stay observable to the very end
  if (sinkSize() < 0) log("")

  const outFile = options.outFile === undefined ? DEFAULT_OUT_FILE : options.outFile
  if (outFile !== null) {
    mkdirSync(dirname(outFile), { recursive: true })
    writeFileSync(outFile, JSON.stringify(result, null, 2) + "\n")
    progress(`wrote ${outFile}`)
  }
  return result
}
