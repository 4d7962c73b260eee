/**
 * The explorer's shortcut for steps that change nothing (model/explore/explorer.ts `sameFields`: a
 * next state whose fields are the current state's own values takes its key without computing it)
 * must change no result. Here every P5 model subject is explored twice to depth 5: as shipped, and
 * with each state wrapped in an object of its own carrying a step number, which no two states
 * share, so the shortcut never applies and every key is computed. The two explorations must reach
 * the same states by the same transitions, break the same properties at the same depths with the
 * same paths, and cover the same observations.
 */
import { describe, expect, it } from "vitest"
import { type ExplorableSystem, explore, type ExploreResult } from "../../model/explore/explorer.ts"
import { pastSummary } from "../../spec/rolling-key/properties.ts"
import { rollingKey } from "./definition.ts"
import { modelProperties, modelSubjects } from "./model-subjects.ts"

const DEPTH = 5

/** The same system, each state in a fresh wrapper: no two states ever have the same fields. */
const withoutShortcut = <S>(system: ExplorableSystem<S>): ExplorableSystem<{ readonly inner: S; readonly step: number }> => {
  let steps = 0
  const wrap = (inner: S) => ({ inner, step: steps++ })
  return {
    initial: system.initial.map((i) => ({ ...i, state: wrap(i.state) })),
    moves: (w) => system.moves(w.inner),
    step: (w, move) => {
      const next = system.step(w.inner, move)
      return next === undefined ? undefined : { state: wrap(next.state), events: next.events }
    },
    key: (w) => system.key(w.inner),
    continuation: (w) => system.continuation(w.inner),
    ...(system.cover === undefined ? {} : { cover: (w: { readonly inner: S }) => system.cover!(w.inner) })
  }
}

const outcome = (r: ExploreResult) => ({
  states: r.states,
  transitions: r.transitions,
  violations: [...r.violations].map(([id, v]) => [id, v.depth, v.start, JSON.stringify(v.path)]),
  covering: r.covering.map((c) => `${c.start} ${JSON.stringify(c.moves)}`)
})

describe(`P5 explorer: skipping the key of an unchanged state changes nothing (depth ${DEPTH})`, () => {
  it.each(modelSubjects)("$name", ({ policy, flaw }) => {
    const system = rollingKey.model.system(policy, flaw as never)
    const cover = (s: Parameters<typeof system.observe>[0]) => JSON.stringify(system.observe(s))
    const shipped = explore({ ...system, cover }, modelProperties, { depth: DEPTH, summary: pastSummary })
    const computed = explore(withoutShortcut({ ...system, cover }), modelProperties, { depth: DEPTH, summary: pastSummary })
    expect(shipped.states).toBeGreaterThan(100)
    expect(outcome(computed)).toEqual(outcome(shipped))
  })
})
