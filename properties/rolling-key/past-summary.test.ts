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
 *
 * The summary's incremental form (`pastSummary.broken`, which the explorer judges every step with)
 * is checked against each property's own check of the whole trace: on random walks of every
 * subject, at every point of the walk where a property's check of the past finds nothing,
 * `broken(summary of the past, rest of the walk + continuation)` names it exactly when its check
 * of the whole trace is broken. (The exploration comparison above also catches it: a version that
 * judged a start's set-up trace as a clean past missed claimed's key-secrecy at depth 0.) The walks
 * reach few of the pasts that matter (a request accepted after a later one is 5+ moves off), so
 * the same agreement is also required on arbitrary traces over P5's event vocabulary, split
 * anywhere: a property of the scans and the summary, whatever produced the trace.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { defaultHistoryKey, explore } from "../../model/explore/explorer.ts"
import { pastSummary, usesCopiedKey } from "../../spec/rolling-key/properties.ts"
import type { Trace, TraceEvent } from "../../spec/trace.ts"
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

/** Random walks per subject, and their length in moves. */
const WALKS = 60
const WALK_MOVES = 10

describe("P5 path summary: its incremental form agrees with each property's check of the whole trace", () => {
  it.each(modelSubjects)("$name", ({ policy, flaw }) => {
    const system = rollingKey.model.system(policy, flaw as never)
    fc.assert(
      fc.property(fc.nat(system.initial.length - 1), fc.array(fc.nat(), { maxLength: WALK_MOVES }), (start, choices) => {
        const init = system.initial[start]!
        // the walk: the set-up trace, then each move's events, then the continuation of where it ends
        const steps: Array<Trace> = [init.trace]
        let state = init.state
        for (const choice of choices) {
          const moves = system.moves(state)
          if (moves.length === 0) break
          const next = system.step(state, moves[choice % moves.length]!)
          if (next === undefined) continue
          steps.push(next.events)
          state = next.state
        }
        const whole = [...steps.flat(), ...system.continuation(state)]
        // split after the set-up trace's empty past, and after every step
        let summary = pastSummary.initial([])
        let past: Array<TraceEvent> = []
        for (let i = 0; i < steps.length; i++) {
          const future = whole.slice(past.length)
          const broken = pastSummary.broken(summary, future)
          for (const p of modelProperties) {
            if (p.check(past) !== undefined) continue
            expect({ property: p.id, split: i, broken: broken.includes(p.id) }).toEqual({ property: p.id, split: i, broken: p.check(whole) !== undefined })
          }
          summary = pastSummary.next(summary, steps[i]!)
          past = [...past, ...steps[i]!]
        }
      }),
      { numRuns: WALKS }
    )
  })
})

/** A P5-shaped event: request names of few senders, numbers and epochs, so that they collide. */
const anyEvent: fc.Arbitrary<TraceEvent> = (() => {
  const name = fc.oneof(
    fc.tuple(fc.constantFrom("req", "clone", "attacker"), fc.nat(1), fc.nat(1)).map(([s, n, e]) => `${s}${n}@k${e}`),
    fc.constant("forged#3")
  )
  const actor = fc.constantFrom("server", "server", "client")
  return fc.oneof(
    name.map((data): TraceEvent => ({ _tag: "Commit", actor: "server", peer: "client", data })),
    fc.tuple(fc.constantFrom("client", "clone"), name).map(([a, data]): TraceEvent => ({ _tag: "Running", actor: a, peer: "server", data })),
    fc.tuple(fc.nat(1), fc.constantFrom("wire" as const, "compromise" as const, "compromise" as const)).map(([e, via]): TraceEvent => ({ _tag: "Reveal", name: `k${e}`, via })),
    fc.tuple(actor, fc.option(name, { nil: undefined })).map(([to, data]): TraceEvent => ({ _tag: "Deliver", to, ref: 0, label: "m", how: "first", ...(data === undefined ? {} : { data }) })),
    fc.nat(2).map((n): TraceEvent => ({ _tag: "Accept", actor: "client", data: `req${n}` })),
    fc.constantFrom("stale-challenge", "bad-code").map((reason): TraceEvent => ({ _tag: "Reject", actor: "server", reason })),
    fc.constant<TraceEvent>({ _tag: "Signal", actor: "server", signal: "clone-suspected" })
  )
})()

describe("P5 path summary: its incremental form agrees with each check on any trace, split anywhere", () => {
  it("for every covered property with a clean past", () => {
    const covered = modelProperties.filter((p) => pastSummary.covers.includes(p.id))
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 14 }), fc.array(anyEvent, { maxLength: 14 }), fc.boolean(), (past, rest, faultsEnd) => {
        // a continuation starts with FaultsEnd; a past never holds one
        const future: Trace = faultsEnd ? [...rest.slice(0, 3), { _tag: "FaultsEnd" }, ...rest.slice(3)] : rest
        const broken = pastSummary.broken(pastSummary.initial(past), future)
        for (const p of covered) {
          if (p.check(past) !== undefined) continue
          expect({ property: p.id, broken: broken.includes(p.id) }).toEqual({ property: p.id, broken: p.check([...past, ...future]) !== undefined })
        }
      }),
      { numRuns: 5000 }
    )
  })
})
