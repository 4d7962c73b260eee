/**
 * The measuring helper works: it returns a positive throughput for a trivial function on a short
 * budget, and ratios are taken against the named baseline. Speed itself is never asserted here —
 * a test that fails on a busy machine tests the machine.
 */
import { assert, describe, it } from "@effect/vitest"
import { attachRatios, budgetMs, DEFAULT_MS, type Figure, measure, measureCases, measureManual, pairedRatio, pairedRatioInterval, withRatio } from "./measure.ts"

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

  it("draws each round's order afresh, so no implementation always follows the same one", () => {
    // who ran just before each batch of "a", recorded over the rounds
    let last = ""
    const before = new Set<string>()
    const named = (name: string) => () => {
      if (name === "a") before.add(last)
      last = name
      return name
    }
    measureCases(["a", "b", "c", "d"].map((name) => ({ group: "g", operation: "order", implementation: name, fn: named(name) })), { ms: 20, minBatches: 60 })
    // with a rotation (a b c d, b c d a, …) "a" would follow only "d" and "c"; in ≥ 60 random rounds it
    // misses one of b, c, d with probability 3 × (3/4)^60 < 10^-7
    assert.isTrue(["b", "c", "d"].every((x) => before.has(x)), `a followed only ${[...before].join(", ")}`)
  })

  it("measures each family in rounds of its own, one family after the other, and says which", () => {
    const calls: Array<string> = []
    const named = (name: string) => () => calls.push(name)
    const figures = measureCases(
      [
        { group: "g", operation: "op", implementation: "x1", family: "x", fn: named("x") },
        { group: "g", operation: "op", implementation: "y1", family: "y", fn: named("y") },
        { group: "g", operation: "op", implementation: "x2", family: "x", fn: named("x") }
      ],
      { ms: 10 }
    )
    // in the given order, each with its family
    assert.deepStrictEqual(figures.map((f) => [f.implementation, f.family]), [["x1", "x"], ["y1", "y"], ["x2", "x"]])
    // family x first (it appears first), then y: no x call after the first y call
    assert.strictEqual(calls.lastIndexOf("x"), calls.indexOf("y") - 1)
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

  it("brackets the median with the order statistics at n/2 ∓ 1.96·√n/2, and needs 10 rounds", () => {
    // 100 rounds whose ratios are 0.01, 0.02, …, 1.00 (given out of order): ranks 40 and 61
    const base = Array.from({ length: 100 }, () => 1)
    const rates = Array.from({ length: 100 }, (_, i) => ((i * 37) % 100) / 100 + 0.01)
    const [low, high] = pairedRatioInterval(rates, base)!
    assert.closeTo(low, 0.4, 1e-12)
    assert.closeTo(high, 0.61, 1e-12)
    const median = pairedRatio(rates, base)!
    assert.isTrue(low <= median && median <= high)
    // equal rounds: a point
    assert.deepStrictEqual(pairedRatioInterval(Array(25).fill(3), Array(25).fill(4)), [0.75, 0.75])
    assert.isUndefined(pairedRatioInterval(Array(9).fill(1), Array(9).fill(1)))
  })

  it("attaches the interval with the ratio", () => {
    const ours = figure("ours", 50, "op", Array(20).fill(50))
    const raw = figure("raw", 100, "op", Array(20).fill(100))
    assert.deepStrictEqual(withRatio([ours, raw], ours, "raw").ratioInterval, [0.5, 0.5])
    assert.isUndefined(withRatio([ours, raw], figure("few", 50, "op", [50, 50, 50]), "raw").ratioInterval)
  })

  it("pairs rounds only within a family: across families it takes the ratio of means, with no interval", () => {
    const rates = (r: number) => Array(20).fill(r)
    const ours = { ...figure("ours", 50, "op", rates(50)), family: "a" }
    const sameFamily = { ...figure("raw", 100, "op", rates(100)), family: "a" }
    const otherFamily = { ...figure("raw", 80, "op", rates(100)), family: "b" }
    const paired = withRatio([ours, sameFamily], ours, "raw")
    assert.strictEqual(paired.ratio, 0.5)
    assert.deepStrictEqual(paired.ratioInterval, [0.5, 0.5])
    // rates of 100 a round, but measured at another time: only the means compare
    const across = withRatio([ours, otherFamily], ours, "raw")
    assert.strictEqual(across.ratio, 50 / 80)
    assert.isUndefined(across.ratioInterval)
  })

  it("leaves a baseline without a ratio and refuses a baseline that was not measured", () => {
    const figures = [figure("ours", 250), figure("raw", 1000)]
    const [ours, raw] = attachRatios(figures, { ours: "raw" })
    assert.strictEqual(ours!.ratio, 0.25)
    assert.isUndefined(raw!.ratio)
    assert.throws(() => withRatio(figures, figures[0]!, "missing"), /no baseline "missing"/)
  })
})
