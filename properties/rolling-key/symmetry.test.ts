/**
 * P5's state key merges states up to a renaming of fresh names and the order of the messages no
 * step reads in order (model/rolling-key/system.ts `stateKey`). Sound only if merged states have
 * the same futures up to that renaming. Checked two ways on every P5 model subject (both variants
 * and every model mutant):
 * - directly: every concrete state the exploration reaches (concrete key, names and order
 *   included) is compared with the first one that shares its symmetric key. Both must have the
 *   same continuation and the same successors: the same multiset of (successor key's shapes,
 *   step events with what no property reads blotted out: message numbers, fresh names, first or
 *   replay). A key without the server's snapshot fails here (tried); one without the marks of the
 *   latest challenge and requests does not at this depth (tried), so those rest on the argument
 *   in model/explore/README.md;
 * - the names: every number the key masks is below the fresh counter, and the names on the wire
 *   are exactly the names used (what makes the next fresh name fresh in both merged states);
 * - by the verdicts: explored with either key, the same properties break at the same (shortest)
 *   depth and the same participant observations are covered, the symmetric one in fewer states.
 */
import { describe, expect, it } from "vitest"
import { explore } from "../../model/explore/explorer.ts"
import { keyShapes, namedPart, snapshotPart } from "../../model/explore/keys.ts"
import { concreteStateKey, type SystemState } from "../../model/rolling-key/system.ts"
import { pastSummary } from "../../spec/rolling-key/properties.ts"
import type { Trace } from "../../spec/trace.ts"
import { canonicalJson } from "../harness/conformance.ts"
import { rollingKey } from "./definition.ts"
import { modelProperties, modelSubjects } from "./model-subjects.ts"

/** Merged states are compared this deep (each one's successors: a step further); verdicts one deeper. */
const DEPTH = 4

/**
 * Events as the properties can read them: no message numbers, every fresh name alike, and no
 * first-or-replay mark on a delivery (the concrete key does not keep it either outside TLS).
 */
const blotted = (events: Trace): string =>
  JSON.stringify(events.map((e) => (e._tag === "Deliver" ? { ...e, ref: 0, how: "" } : e._tag === "Send" ? { ...e, ref: 0 } : e))).replace(/\bn\d+(?=[a-z]?\b)/g, "n")


describe("P5 symmetric state key", () => {
  it.each(modelSubjects)("$name: merged states have the same futures", ({ policy, flaw }) => {
    const system = rollingKey.model.system(policy, flaw as never)
    const futures = (s: SystemState) => ({
      successors: system.moves(s).flatMap((m) => {
        const next = system.step(s, m)
        // By shape (`keyShapes`): two isomorphic successors can get different keys when
        // equal-shaped parts tie (two requests of the device that nothing else names: the key keeps
        // them in the order they came, which can miss a merge but never makes a wrong one), so
        // successors are compared by their parts' shapes here, and their events in full.
        return next === undefined ? [] : [`${keyShapes(system.key(next.state))} ${blotted(next.events)}`]
      }).sort(),
      continuation: blotted(system.continuation(s))
    })
    const firstOf = new Map<string, SystemState>()
    let compared = 0
    explore({ ...system, key: (s: SystemState) => {
      const symmetric = system.key(s)
      const first = firstOf.get(symmetric)
      if (first === undefined) firstOf.set(symmetric, s)
      else if (first !== s) {
        compared++
        expect(futures(s), keyShapes(symmetric)).toEqual(futures(first))
      }
      return concreteStateKey(s)
    } }, [], { depth: DEPTH })
    expect(compared).toBeGreaterThan(0)
  })

  // What the soundness argument assumes of the names (model/explore/README.md): the key masks
  // only fresh names, and the fresh counter counts the names used, each still on the wire.
  it.each(modelSubjects)("$name: the key masks only fresh names, and every name used is on the wire", ({ policy, flaw }) => {
    const system = rollingKey.model.system(policy, flaw as never)
    let states = 0
    explore({ ...system, key: (s: SystemState) => {
      states++
      const held = [snapshotPart(s.client), ...(s.clone === null ? [] : [snapshotPart(s.clone)]), snapshotPart(s.server), namedPart(s.attackerKeys)]
      const onWire = new Set(s.network.flatMap((m) => namedPart({ m }, () => m.content).names))
      for (const name of [...held.flatMap((p) => p.names), ...onWire]) expect(name).toBeLessThan(s.fresh)
      expect(onWire.size).toBe(s.fresh)
      return system.key(s)
    } }, [], { depth: DEPTH })
    expect(states).toBeGreaterThan(100)
  })

  it.each(modelSubjects)("$name: same verdicts and observations as the concrete key", ({ policy, flaw }) => {
    const system = rollingKey.model.system(policy, flaw as never)
    const withCover = { ...system, cover: (s: SystemState) => canonicalJson(system.observe(s)) }
    const verdicts = (r: ReturnType<typeof explore>) => [...r.violations].map(([id, v]) => `${id}@${v.depth}`).sort()
    const symmetric = explore(withCover, modelProperties, { depth: DEPTH + 1, summary: pastSummary })
    const concrete = explore({ ...withCover, key: concreteStateKey }, modelProperties, { depth: DEPTH + 1, summary: pastSummary })
    expect(verdicts(symmetric)).toEqual(verdicts(concrete))
    expect(symmetric.covering.length).toBe(concrete.covering.length)
    expect(symmetric.states).toBeLessThan(concrete.states)
  })
})
