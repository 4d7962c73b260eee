/**
 * The explorer's merging on a protocol's summary of the past (`PathSummary`), on a system made to
 * need it: two moves reach the same state, one after a fact a property reads later (`Signal x`),
 * one without it, and the one without comes first. A summary that keeps the fact finds the
 * violation one step later; one that drops it merges the two paths and misses it — which is what
 * the protocols' summary tests (properties/rolling-key/past-summary.test.ts) compare against.
 */
import { describe, expect, it } from "vitest"
import type { Move } from "../../spec/attacker.ts"
import type { SecurityProperty } from "../../spec/property.ts"
import type { Trace } from "../../spec/trace.ts"
import { type ExplorableSystem, explore, type PathSummary } from "./explorer.ts"

const user = (action: string): Move => ({ _tag: "User", actor: "client", action })

/** State 0 → 1 by `quiet` (first) or by `signal` (emits Signal x); in 1, `commit` emits a Commit. */
const system: ExplorableSystem<number> = {
  initial: [{ name: "start", state: 0, trace: [] }],
  moves: (s) => (s === 0 ? [user("quiet"), user("signal")] : [user("commit")]),
  step: (s, move) => {
    const action = move._tag === "User" ? move.action : ""
    if (s === 0 && action === "quiet") return { state: 1, events: [] }
    if (s === 0 && action === "signal") return { state: 1, events: [{ _tag: "Signal", actor: "server", signal: "x" }] }
    if (s === 1 && action === "commit") return { state: 1, events: [{ _tag: "Commit", actor: "server", peer: "client", data: "r" }] }
    return undefined
  },
  key: (s) => String(s),
  continuation: () => []
}

/** A Commit after the signal `x` is a violation: it reads the past. */
const commitAfterSignal: SecurityProperty = {
  id: "T.commit-after-signal",
  protocol: "rolling-key",
  statement: "No commit after the signal x.",
  kind: "freshness",
  expected: { claimed: "holds", hardened: "holds" },
  judgedIn: ["model"],
  check: (trace: Trace) => {
    const signalled = trace.findIndex((e) => e._tag === "Signal" && e.signal === "x")
    const at = trace.findIndex((e, i) => i > signalled && signalled >= 0 && e._tag === "Commit")
    return at < 0 ? undefined : { at, reason: "a commit after the signal" }
  }
}

const keeping: PathSummary = {
  covers: [commitAfterSignal.id],
  initial: () => "",
  next: (summary, events) => (events.some((e) => e._tag === "Signal" && e.signal === "x") ? "x" : summary)
}
const dropping: PathSummary = { ...keeping, next: () => "" }

describe("explorer: merging on a summary of the past", () => {
  it("a summary that keeps what the property reads finds the violation at its shortest depth", () => {
    const r = explore(system, [commitAfterSignal], { depth: 2, summary: keeping })
    expect(r.violations.get(commitAfterSignal.id)?.depth).toBe(2)
    // start, 1 without x, 1 with x; the commits land on situations already seen (and are judged there).
    expect(r.states).toBe(3)
  })

  it("one that drops it merges the two paths and misses the violation (so a summary test comparing verdicts can fail)", () => {
    const r = explore(system, [commitAfterSignal], { depth: 2, summary: dropping })
    expect(r.violations.has(commitAfterSignal.id)).toBe(false)
    expect(r.states).toBe(2)
  })

  it("the ordered history (no summary) keeps the two paths apart too", () => {
    expect(explore(system, [commitAfterSignal], { depth: 2 }).violations.get(commitAfterSignal.id)?.depth).toBe(2)
  })
})
