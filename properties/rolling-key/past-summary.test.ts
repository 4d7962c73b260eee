/**
 * P5's path summary (spec/rolling-key/properties.ts `pastSummary`) lets the explorer merge paths
 * that saw the same facts in another order. Merging is sound only if no verdict changes: here
 * every P5 model subject (both variants and every model mutant) is explored with the summary and
 * with the full ordered history (every agreement, secrecy and signal fact in order, and every
 * delivery made with a copied key), and both must find the same properties broken at the same
 * (shortest) depth, and cover the same participant observations. And a summary that does not say
 * what a property reads of the past is refused.
 *
 * What it can and cannot catch: in the P5 system explored so far the state itself determines
 * the summary (depth 8: 599,988 state keys, none reached with two summaries), so today even a
 * summary that dropped a field would pass here (tried: one without the accepted requests does);
 * the test guards the day a change to the system lets two pasts meet in one state.
 * model/explore/explorer.test.ts shows, on a system built for it, that a summary dropping what a
 * property reads does change the verdict.
 */
import { describe, expect, it } from "vitest"
import { defaultHistoryKey, explore } from "../../model/explore/explorer.ts"
import { pastSummary, usesCopiedKey } from "../../spec/rolling-key/properties.ts"
import type { Trace } from "../../spec/trace.ts"
import { canonicalJson } from "../harness/conformance.ts"
import { rollingKey } from "./definition.ts"
import { modelProperties, modelSubjects } from "./model-subjects.ts"

const DEPTH = 5

/** The whole ordered history, as before the summary: what the summary must never judge differently from. */
const fullHistory = (events: Trace): string => {
  let out = defaultHistoryKey(events)
  for (const e of events) if (e._tag === "Deliver" && usesCopiedKey(e.data)) out += `used:${e.data};`
  return out
}

describe(`P5 path summary: same verdicts as the full history (depth ${DEPTH})`, () => {
  it.each(modelSubjects)("$name", ({ policy, flaw }) => {
    const system = rollingKey.model.system(policy, flaw as never)
    const withCover = { ...system, cover: (s: Parameters<typeof system.observe>[0]) => canonicalJson(system.observe(s)) }
    const verdicts = (r: ReturnType<typeof explore>) => [...r.violations].map(([id, v]) => `${id}@${v.depth}`).sort()
    const summarised = explore(withCover, modelProperties, { depth: DEPTH, summary: pastSummary })
    const full = explore(withCover, modelProperties, { depth: DEPTH, historyKey: fullHistory })
    expect(verdicts(summarised)).toEqual(verdicts(full))
    expect(summarised.covering.length).toBe(full.covering.length)
    expect(summarised.states).toBeLessThanOrEqual(full.states)
  })

  it("refuses a summary that does not cover every explored property", () => {
    const system = rollingKey.model.system(rollingKey.policies.hardened, undefined)
    expect(() => explore(system, modelProperties, { depth: 1, summary: { ...pastSummary, covers: pastSummary.covers.filter((id) => id !== "P5.no-replay") } })).toThrow(/P5\.no-replay/)
  })
})
