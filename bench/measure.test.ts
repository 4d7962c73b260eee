/**
 * The measuring helper works: it returns a positive throughput for a trivial function on a short
 * budget, and ratios are taken against the named baseline. Speed itself is never asserted here —
 * a test that fails on a busy machine tests the machine.
 */
import { assert, describe, it } from "@effect/vitest"
import { attachRatios, budgetMs, DEFAULT_MS, type Figure, measure, measureCases, measureManual, pairedRatio, withRatio } from "./measure.ts"

const figure = (implementation: string, opsPerSec: number, operation = "op", batchRates: ReadonlyArray<number> = []): Figure => ({
  group: "test",
  operation,
  implementation,
  opsPerSec,
  marginPct: 0,
  batches: 8,
  batchSize: 1,
  iterations: 8,
  elapsedMs: 1,
  batchRates
})

describe("measure", () => {
  it("returns a positive ops/s and a finite margin for a trivial function", () => {
    let calls = 0
    const m = measure(() => ++calls, { ms: 20 })
    assert.isAbove(m.opsPerSec, 0)
    assert.isTrue(Number.isFinite(m.marginPct) && m.marginPct >= 0)
    assert.isAtLeast(m.batches, 8)
    // every timed call happened (warm-up and calibration come on top)
    assert.isAtLeast(calls, m.iterations)
    assert.isAtLeast(m.iterations, m.batches)
  })

  it("counts only the reported part of each call with measureManual", () => {
    const m = measureManual(() => 1_000, { ms: 5 })
    assert.isAbove(m.opsPerSec, 0)
    // every call reports 1 µs, so the counted time is exactly iterations µs
    assert.closeTo(m.elapsedMs, m.iterations / 1000, 1e-6)
  })

  it("measures the implementations of one operation side by side, in order", () => {
    const figures = measureCases(
      [
        { group: "g", operation: "sum", implementation: "loop", fn: () => [1, 2, 3].reduce((a, b) => a + b, 0) },
        { group: "g", operation: "sum", implementation: "constant", fn: () => 6 }
      ],
      { ms: 10 }
    )
    assert.deepStrictEqual(figures.map((f) => f.implementation), ["loop", "constant"])
    for (const f of figures) assert.isAbove(f.opsPerSec, 0)
    // interleaved: every figure gets at least the minimum number of batches
    for (const f of figures) assert.isAtLeast(f.batches, 8)
  })

  it("takes the budget from the option, else AUTHLAB_BENCH_MS, else the default", () => {
    const saved = process.env["AUTHLAB_BENCH_MS"]
    try {
      delete process.env["AUTHLAB_BENCH_MS"]
      assert.strictEqual(budgetMs(), DEFAULT_MS)
      process.env["AUTHLAB_BENCH_MS"] = "42"
      assert.strictEqual(budgetMs(), 42)
      assert.strictEqual(budgetMs(7), 7)
      process.env["AUTHLAB_BENCH_MS"] = "soon"
      assert.throws(() => budgetMs(), /AUTHLAB_BENCH_MS/)
    } finally {
      if (saved === undefined) delete process.env["AUTHLAB_BENCH_MS"]
      else process.env["AUTHLAB_BENCH_MS"] = saved
    }
  })
})

describe("ratios", () => {
  it("divides by the named baseline of the same operation", () => {
    const figures = [figure("ours", 250), figure("raw", 1000), figure("raw", 10, "other op")]
    const r = withRatio(figures, figures[0]!, "raw")
    assert.strictEqual(r.baseline, "raw")
    assert.strictEqual(r.ratio, 0.25)
  })

  it("takes the median of the per-round ratios when both figures have batch rates", () => {
    // round 2 of "ours" was preempted: a ratio of means would say 0.7, the rounds say 0.5
    const ours = figure("ours", 350, "op", [50, 50, 350, 50, 50])
    const raw = figure("raw", 500, "op", [100, 100, 100, 100, 100])
    const r = withRatio([ours, raw], ours, "raw")
    assert.strictEqual(r.ratio, 0.5)
    assert.closeTo(r.ratioOfMeans!, 0.7, 1e-12)
  })

  it("pairs rounds by index, over the rounds both took, and needs at least 3", () => {
    assert.strictEqual(pairedRatio([2, 4, 6, 8], [1, 1, 1, 1]), 5)
    assert.strictEqual(pairedRatio([3, 3, 3, 99], [1, 1, 1]), 3)
    assert.isUndefined(pairedRatio([1, 2], [1, 2, 3]))
  })

  it("leaves a baseline without a ratio and refuses a baseline that was not measured", () => {
    const figures = [figure("ours", 250), figure("raw", 1000)]
    const [ours, raw] = attachRatios(figures, { ours: "raw" })
    assert.strictEqual(ours!.ratio, 0.25)
    assert.isUndefined(raw!.ratio)
    assert.throws(() => withRatio(figures, figures[0]!, "missing"), /no baseline "missing"/)
  })
})
