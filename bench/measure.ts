/**
 * A tiny measuring helper for authlab's benchmarks, in the spirit of noble's `micro-bmark`:
 * warm up, calibrate a batch size, then time batches until a budget is spent, and report the
 * throughput with its relative margin (95 % confidence, Student's t over the batches). The
 * implementations of one operation are timed in interleaved batches, so a figure and its
 * baseline are measured over the same period.
 *
 * What it does not do: it builds no fixtures (callers build them before calling `measure`, so
 * key generation or encoding never lands in the timed loop), and it makes no claim about
 * latency distributions — a batch is many calls, and the margin describes batch-to-batch spread.
 *
 * No dependency: `process.hrtime.bigint()` is a monotonic nanosecond clock.
 */

/**
 * Default time budget per figure, in ms; `AUTHLAB_BENCH_MS` overrides it. 1 s gives a figure
 * ~500 rounds of 2 ms (`ROUNDS`). At 300 ms and 100 rounds (3 ms batches) two runs of 2026-12-04
 * put our noble ChaCha20-Poly1305 sealing at 0.78× (0.68–0.87×) and 1.20× (0.95–1.54×) of raw
 * noble; at 1 s, 0.96–0.99× over four runs. A whole run takes ~3 min instead of ~1.5.
 */
export const DEFAULT_MS = 1000

/** The budget per figure: the explicit option, else `AUTHLAB_BENCH_MS`, else `DEFAULT_MS`. */
export const budgetMs = (ms?: number): number => {
  if (ms !== undefined) return requireBudget(ms, "ms option")
  const fromEnv = process.env["AUTHLAB_BENCH_MS"]
  if (fromEnv === undefined || fromEnv === "") return DEFAULT_MS
  return requireBudget(Number(fromEnv), "AUTHLAB_BENCH_MS")
}

const requireBudget = (ms: number, label: string): number => {
  if (!Number.isFinite(ms) || ms <= 0) throw new RangeError(`expected a positive ${label} in ms, got ${ms}`)
  return ms
}

// --- the sink -----------------------------------------------------------------------------
// Every result is written to a module-level array the optimiser cannot see the end of, so V8 may
// not treat the measured call as dead code. Reading `sinkSize()` at the end keeps it observable.
const SINK_SLOTS = 16
const sinkSlots: Array<unknown> = new Array(SINK_SLOTS).fill(undefined)
let sinkWrites = 0

/** Keep `value` alive: the JIT cannot drop a computation whose result lands here. */
export const consume = (value: unknown): void => {
  sinkSlots[sinkWrites++ & (SINK_SLOTS - 1)] = value
}

/** How many results went into the sink (and something observable for the JIT to respect). */
export const sinkSize = (): number => sinkWrites + (sinkSlots[0] === sinkSlots ? 1 : 0)

// --- timing -------------------------------------------------------------------------------

export interface Measurement {
  /** Mean throughput, operations per second: total calls / total timed seconds. */
  readonly opsPerSec: number
  /** Relative margin of the per-batch throughput at 95 % confidence, in percent. */
  readonly marginPct: number
  /** Timed batches. */
  readonly batches: number
  /** Calls per batch at the end (calibrated, and doubled while a batch ran far under its target). */
  readonly batchSize: number
  /** Calls timed in all (warm-up excluded). */
  readonly iterations: number
  /** Timed milliseconds (warm-up excluded; with `measureManual`, only the part counted). */
  readonly elapsedMs: number
  /** Throughput of each timed batch, in the order taken (round i of an interleaved run is index i). */
  readonly batchRates: ReadonlyArray<number>
}

export interface MeasureOptions {
  /** Time budget for the timed batches, in ms (default: `budgetMs()`). */
  readonly ms?: number
  /** Minimum number of timed batches, so a margin can be computed (default 8). */
  readonly minBatches?: number
}

const now = (): bigint => process.hrtime.bigint()
const msSince = (start: bigint): number => Number(now() - start) / 1e6

/** Two-sided 95 % Student's t critical values by degrees of freedom (1…30); ≈1.96 beyond. */
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042
]
const t95 = (df: number): number => (df >= 1 && df <= T95.length ? T95[df - 1]! : 1.96)

/** Run `n` calls and return how many ms they took (by the wall clock, or as the calls report). */
export type Batch = (n: number) => number

/** Calls `fn` `n` times by the wall clock, every result into the sink. */
const wallClock = (fn: () => unknown): Batch => (n) => {
  const start = now()
  for (let i = 0; i < n; i++) consume(fn())
  return msSince(start)
}

/**
 * What a figure's time is read from. `wall`: elapsed time, the default. `cpu`: the process's
 * CPU time (user + system, `process.cpuUsage`, µs resolution), for a shared machine: there,
 * elapsed time includes other people's work, which lands on a figure and its baseline unevenly,
 * while CPU time counts only the calls (both still pay for contended caches). CPU time counts
 * every thread of the process, so a multi-threaded case (worker threads) is always timed by the
 * wall clock, as is any operation with a `manual` case (it reads its own clock).
 */
export type Clock = "wall" | "cpu"

/** `AUTHLAB_BENCH_CLOCK` (`wall` or `cpu`), default `wall`. */
export const clockFromEnv = (): Clock => {
  const raw = process.env["AUTHLAB_BENCH_CLOCK"]
  if (raw === undefined || raw === "" || raw === "wall") return "wall"
  if (raw === "cpu") return "cpu"
  throw new RangeError(`expected AUTHLAB_BENCH_CLOCK wall or cpu, got ${JSON.stringify(raw)}`)
}

const cpuMicros = (): number => {
  const u = process.cpuUsage()
  return u.user + u.system
}

/** Calls `fn` `n` times by the process's CPU time, every result into the sink. */
const cpuClock = (fn: () => unknown): Batch => (n) => {
  const start = cpuMicros()
  for (let i = 0; i < n; i++) consume(fn())
  return (cpuMicros() - start) / 1000
}

/** Calls `fn` `n` times and adds up the nanoseconds each call reports (see `measureManual`). */
const reported = (fn: () => number): Batch => (n) => {
  let ns = 0
  for (let i = 0; i < n; i++) ns += fn()
  consume(ns)
  return ns / 1e6
}

/**
 * Warm up, then find the batch size. Warm-up: calls for `warmupMs` of wall time (at least 5
 * calls), so V8 has optimised the code before the counting starts. Calibration: grow the batch until one
 * takes ≥ `targetMs`, so clock resolution and loop overhead are negligible and a figure gets
 * ~`ROUNDS` batches. Each size is judged on the faster of two samples: on a busy machine a single
 * sample can include a preemption, which would stop the growth far too early.
 */
const prepare = (batch: Batch, warmupMs: number, targetMs: number): number => {
  const warmStart = now()
  for (let calls = 0; calls < 5 || msSince(warmStart) < warmupMs; calls++) batch(1)

  let batchSize = 1
  for (;;) {
    const took = Math.min(batch(batchSize), batch(batchSize))
    if (took >= targetMs || batchSize >= 2 ** 24) return batchSize
    // aim at the target from this sample, but grow at least ×2 and at most ×4 per step, so one
    // disturbed sample cannot make the batches far too long either
    const aimed = Math.ceil((batchSize * targetMs) / Math.max(took, 1e-3))
    batchSize = Math.min(batchSize * 4, Math.max(batchSize * 2, aimed))
  }
}

/** A batch to measure; `warmupMs` raises the warm-up above its default (a fifth of the budget). */
export interface Timed {
  readonly batch: Batch
  readonly warmupMs?: number
}

interface Runner {
  readonly batch: Batch
  batchSize: number
  readonly rates: Array<number>
  iterations: number
  elapsedMs: number
}

const summarize = (r: Runner): Measurement => {
  const mean = r.rates.reduce((a, b) => a + b, 0) / r.rates.length
  const variance = r.rates.reduce((a, x) => a + (x - mean) ** 2, 0) / (r.rates.length - 1)
  const sem = Math.sqrt(variance / r.rates.length)
  return {
    opsPerSec: r.iterations / (r.elapsedMs / 1000),
    marginPct: (100 * t95(r.rates.length - 1) * sem) / mean,
    batches: r.rates.length,
    batchSize: r.batchSize,
    iterations: r.iterations,
    elapsedMs: r.elapsedMs,
    batchRates: r.rates
  }
}

/**
 * Batches per figure the calibration aims at: the budget over this is a batch's length (2 ms at
 * 1 s a figure). Many short rounds rather than a few long ones, because the ratio is a median over
 * rounds (`pairedRatio`), whose interval narrows as 1/√rounds, and because a young-generation
 * collection then lands in few of them: noble's hashes make ~3 KB of garbage a call, a collection
 * every ~36 ms, which slows the batch that meets it and the next. With 10 ms batches that was
 * half the rounds, and our noble HMAC's median against raw noble came out anywhere in 0.84–1.00×
 * (intervals up to 0.77–1.08×); with 2 ms batches, 0.99–1.00× in six runs of 2026-12-04, every
 * interval within 0.97–1.01×. With 25 rounds the fast primitives scattered over 0.77–1.10×.
 */
const ROUNDS = 500

/** The indices 0 … n-1 in a random order (Fisher–Yates). */
const shuffled = (n: number): Array<number> => {
  const order = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  return order
}

/**
 * Measure several batches side by side: each is warmed up and calibrated, then their timed
 * batches are taken in rounds, one batch of each per round, each until it has spent the budget
 * and done at least `minBatches`. Interleaving is what makes a ratio fair on a shared machine: a
 * load change (another process, thermal or frequency drift) hits a figure and its baseline alike
 * instead of landing on whichever happened to run at that moment.
 */
export const measureBatches = (batches: ReadonlyArray<Timed>, options: MeasureOptions = {}): Array<Measurement> => {
  const ms = budgetMs(options.ms)
  const minBatches = Math.max(2, options.minBatches ?? 8)
  const targetMs = ms / ROUNDS
  const runners: Array<Runner> = batches.map(({ batch, warmupMs }) => ({
    batch,
    batchSize: prepare(batch, Math.max(ms / 5, warmupMs ?? 0), targetMs),
    rates: [],
    iterations: 0,
    elapsedMs: 0
  }))
  const pending = (r: Runner) => r.elapsedMs < ms || r.rates.length < minBatches
  for (let active = runners.filter(pending); active.length > 0; active = active.filter(pending)) {
    // each takes its turn until it has its own budget; the ones done drop out, so the whole
    // costs about (number of runners × budget) whatever the batch sizes. The order is drawn
    // afresh each round: a batch pays for the garbage the batch before it left (a collection
    // lands in whichever batch runs next), so no implementation may always follow the same other
    // one. Rotating the order (A B C D, B C D A, …), as this did until 2026-12-04, does not do
    // that: it keeps the cyclic order, and A follows D in three rounds of four. Measured on
    // ChaCha20-Poly1305 sealing in 4 ms batches: our noble layer ran at half speed in every
    // fourth round (one place in the rotation), and its median ratio to raw noble came out at
    // 0.78× against a ratio of means of 1.03×.
    for (const k of shuffled(active.length)) {
      const r = active[k]!
      // a zero reading (clock granularity, or a manual part that took no time) must not divide by zero
      const took = Math.max(r.batch(r.batchSize), 1e-6)
      r.rates.push(r.batchSize / (took / 1000))
      r.iterations += r.batchSize
      r.elapsedMs += took
      // calibration can still come out short on a busy machine: a batch far under the target
      // grows (rates are per call, so batches of different sizes average fairly)
      if (took < targetMs / 4 && r.batchSize < 2 ** 24) r.batchSize *= 2
    }
  }
  return runners.map(summarize)
}

/**
 * Measure `fn` alone: warm-up, calibration (see `prepare`), then timed batches until the budget
 * is spent and at least `minBatches` (8) are done. Every result goes to the sink.
 */
export const measure = (fn: () => unknown, options: MeasureOptions = {}): Measurement =>
  measureBatches([{ batch: wallClock(fn) }], options)[0]!

/**
 * Measure only part of each call: `fn` does a whole unit of work and returns the nanoseconds of
 * the part to count (taken with `process.hrtime.bigint()` around that part). For work whose
 * inputs cannot be made in advance — a P5 request is valid only after the previous login — the
 * rest of the unit runs in the loop but off the clock. The reading costs ~0.1 µs per interval,
 * which is counted; it is noise next to anything worth timing this way. `fn` consumes its own
 * results (`consume`).
 */
export const measureManual = (fn: () => number, options: MeasureOptions = {}): Measurement =>
  measureBatches([{ batch: reported(fn) }], options)[0]!

// --- figures and ratios -------------------------------------------------------------------

/** One row of the results: an operation measured through one implementation. */
export interface Figure extends Measurement {
  /** Which family of figures (`crypto`, `rolling-key`). */
  readonly group: string
  /** What is done per call (`HMAC-SHA256 (64-byte message)`). */
  readonly operation: string
  /** Through what (`our noble`, `raw noble`, …). */
  readonly implementation: string
  /** What its time was read from (see `Clock`); ops/s by `cpu` are calls per CPU-second. */
  readonly clock?: Clock
  /** The family whose rounds it was measured in (`CaseName.family`), when it had one. */
  readonly family?: string
  /** The implementation this figure is compared against, for the same operation; absent for a baseline itself. */
  readonly baseline?: string
  /**
   * This figure against its baseline, measured in the same run (< 1: slower than the baseline):
   * the median, over the rounds of interleaved batches, of this figure's batch rate ÷ the
   * baseline's batch rate in the same round (see `pairedRatio`); the ratio of means when the two
   * were measured in different families' rounds, which cannot be paired.
   */
  readonly ratio?: number
  /**
   * A 95 % confidence interval for `ratio`, free of any assumption on the rounds' distribution
   * (see `pairedRatioInterval`); absent with too few rounds.
   */
  readonly ratioInterval?: readonly [number, number]
  /** opsPerSec / baseline's opsPerSec: the ratio of the means, which a preempted batch skews. */
  readonly ratioOfMeans?: number
}

interface CaseName {
  readonly group: string
  readonly operation: string
  readonly implementation: string
  /**
   * Warm-up in ms of wall time, when a fifth of the budget is not enough: a large Effect program
   * (a protocol round) needs ~1 s and ~1000 calls before V8's optimising tiers settle.
   */
  readonly warmupMs?: number
  /** `true` when the case runs work on other threads: it is timed by the wall clock whatever the clock asked. */
  readonly multiThreaded?: boolean
  /**
   * The cases of one operation that share their rounds (`measureCases`): the same family, the
   * same rounds; the families one after the other. Give the cases built on one library one family
   * when another library's garbage would be collected in their batches: with node:crypto's cases
   * in the rounds, young-generation collections took 9–31 ms, 8–26 ms of it node's callbacks
   * (`--trace-gc`), against 0.3–1 ms in noble's rounds alone, and landed on whichever batch
   * allocated next. Measured 2026-12-04 on the crypto figures at 1 s each: in shared rounds the
   * intervals of our noble layer's ratios were ±5–30 % on the fast primitives; in rounds of their
   * own, ±1–3 % on ten of the twelve. Default: one family for all.
   */
  readonly family?: string
}

/** One unit of work, timed whole; or, with `manual`, returning the nanoseconds to count (see `measureManual`). */
export type Case =
  | (CaseName & { readonly manual?: false; readonly fn: () => unknown })
  | (CaseName & { readonly manual: true; readonly fn: () => number })

const timedOf = (c: Case, clock: Clock): Timed => ({
  batch: c.manual === true ? reported(c.fn) : clock === "cpu" ? cpuClock(c.fn) : wallClock(c.fn),
  ...(c.warmupMs === undefined ? {} : { warmupMs: c.warmupMs })
})

/** The clock for cases measured together: `cpu` only if asked and every case can be timed by it (see `Clock`). */
export const clockFor = (cases: ReadonlyArray<Case>, asked: Clock): Clock =>
  asked === "cpu" && cases.every((c) => c.manual !== true && c.multiThreaded !== true) ? "cpu" : "wall"

/**
 * Measure cases side by side (`measureBatches`) into figures, in the given order; give it every
 * implementation of one operation so their ratios are taken over the same period, on one clock.
 * Cases of different `family` values are measured family after family, each family in rounds of
 * its own (in order of first appearance), and their figures say which family they were in.
 */
export const measureCases = (cases: ReadonlyArray<Case>, options: MeasureOptions & { readonly clock?: Clock } = {}): Array<Figure> => {
  const clock = clockFor(cases, options.clock ?? "wall")
  const figures: Array<Figure | undefined> = cases.map(() => undefined)
  for (const family of new Set(cases.map((c) => c.family))) {
    const members = cases.flatMap((c, i) => (c.family === family ? [i] : []))
    const measured = measureBatches(members.map((i) => timedOf(cases[i]!, clock)), options)
    members.forEach((i, k) => {
      const c = cases[i]!
      figures[i] = { group: c.group, operation: c.operation, implementation: c.implementation, clock, ...(family === undefined ? {} : { family }), ...measured[k]! }
    })
  }
  return figures.map((f) => f!)
}

/**
 * Attach a ratio to `figure` against the figure of the same operation whose implementation is
 * `baseline`. A missing baseline is a programming error in the bench, not a silent blank.
 */
export const withRatio = (figures: ReadonlyArray<Figure>, figure: Figure, baseline: string): Figure => {
  const base = figures.find((f) => f.operation === figure.operation && f.implementation === baseline)
  if (base === undefined) {
    throw new Error(`no baseline "${baseline}" measured for "${figure.operation}"`)
  }
  const ratioOfMeans = figure.opsPerSec / base.opsPerSec
  // rounds pair only within one family: another family's round i ran at another time
  const paired = figure.family === base.family
  const interval = paired ? pairedRatioInterval(figure.batchRates, base.batchRates) : undefined
  return {
    ...figure,
    baseline,
    ratio: (paired ? pairedRatio(figure.batchRates, base.batchRates) : undefined) ?? ratioOfMeans,
    ...(interval === undefined ? {} : { ratioInterval: interval }),
    ratioOfMeans
  }
}

/**
 * The median over rounds of `rates[i] / baseRates[i]`, or undefined with fewer than 3 rounds in
 * common. The batches of one operation are taken in rounds (`measureBatches`), so index i of each
 * is one round, a few ms apart. On a loaded machine a preemption lands on one batch of a round
 * and skews a ratio of means; the median of the paired ratios sets those rounds aside. On an idle
 * machine the two agree.
 */
export const pairedRatio = (rates: ReadonlyArray<number>, baseRates: ReadonlyArray<number>): number | undefined => {
  const ratios = roundRatios(rates, baseRates)
  if (ratios.length < 3) return undefined
  const mid = ratios.length >> 1
  return ratios.length % 2 === 1 ? ratios[mid]! : (ratios[mid - 1]! + ratios[mid]!) / 2
}

/** The per-round ratios, sorted. */
const roundRatios = (rates: ReadonlyArray<number>, baseRates: ReadonlyArray<number>): Array<number> =>
  Array.from({ length: Math.min(rates.length, baseRates.length) }, (_, i) => rates[i]! / baseRates[i]!).sort((a, b) => a - b)

/**
 * A 95 % confidence interval for the median of the per-round ratios, from their order statistics:
 * with n rounds, the median lies between the sorted ratios at n/2 ∓ 1.96·√n/2 (the normal
 * approximation to the binomial count of ratios below it), whatever the rounds' distribution —
 * which on a shared machine is far from normal (a round that met a collection runs at half
 * speed). Undefined below 10 rounds, where the approximation does not hold. So "ours ≥ 0.95× raw"
 * is shown when the interval's low end is, and disproved when its high end is below — as far as
 * the rounds are independent: collections that come every few rounds tie neighbouring rounds
 * together, and then the interval is too narrow (bench/README.md gives a case).
 */
export const pairedRatioInterval = (rates: ReadonlyArray<number>, baseRates: ReadonlyArray<number>): readonly [number, number] | undefined => {
  const ratios = roundRatios(rates, baseRates)
  const n = ratios.length
  if (n < 10) return undefined
  const half = 0.98 * Math.sqrt(n)
  // ranks j = ⌊n/2 − 1.96·√n/2⌋ and k = ⌈1 + n/2 + 1.96·√n/2⌉, counted from 1
  const low = Math.max(1, Math.floor(n / 2 - half))
  const high = Math.min(n, Math.ceil(1 + n / 2 + half))
  return [ratios[low - 1]!, ratios[high - 1]!]
}

/**
 * Which implementation each figure is divided by: a table implementation → baseline, or a
 * function when the baseline also depends on the operation. `undefined`: a baseline itself.
 */
export type Baselines = Readonly<Record<string, string>> | ((figure: Figure) => string | undefined)

/** Apply `withRatio` to every figure `baselines` gives a baseline for. */
export const attachRatios = (figures: ReadonlyArray<Figure>, baselines: Baselines): Array<Figure> =>
  figures.map((f) => {
    const baseline = typeof baselines === "function" ? baselines(f) : baselines[f.implementation]
    return baseline === undefined ? f : withRatio(figures, f, baseline)
  })
