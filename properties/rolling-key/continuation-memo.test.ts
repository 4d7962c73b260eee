/**
 * The P5 continuation (faults stop: the device restarts and logs in once) is memoised on a key
 * much smaller than the state (`continuationKey` in model/rolling-key/system.ts): the
 * participants, counters, the attacker's knowledge, the network's length and its refusals, up to
 * a renaming of fresh names. Here,
 * on every P5 model subject, every state the explorer judges gets its continuation computed
 * afresh too, and every two states that share a key must have the same continuation event for
 * event. The control shows the check can fail: a key without the refusals merges states whose
 * continuations differ (a refusal the device's attempt sends lands on an older identical one).
 */
import { describe, expect, it } from "vitest"
import { explore } from "../../model/explore/explorer.ts"
import { continuationKey, continuationNow, step, type SystemState } from "../../model/rolling-key/system.ts"
import { pastSummary } from "../../spec/rolling-key/properties.ts"
import { rollingKey } from "./definition.ts"
import { modelProperties, modelSubjects } from "./model-subjects.ts"

const DEPTH = 5

/** Every judged state's key (and, for the control, the key without the refusals) with its continuation computed afresh. */
const continuationsByKey = (policy: (typeof modelSubjects)[number]["policy"], flaw: unknown) => {
  const system = rollingKey.model.system(policy, flaw as never)
  const byKey = new Map<string, Set<string>>()
  const byCoarseKey = new Map<string, Set<string>>()
  const record = (map: Map<string, Set<string>>, key: string, trace: string) => {
    let traces = map.get(key)
    if (traces === undefined) map.set(key, (traces = new Set()))
    traces.add(trace)
  }
  let memoised = 0
  const checking = {
    ...system,
    continuation: (s: SystemState) => {
      const used = system.continuation(s)
      const fresh = continuationNow(s)
      if (JSON.stringify(used) !== JSON.stringify(fresh)) memoised++
      const restarted = step(s, { _tag: "Crash", actor: "client" })!.state
      record(byKey, continuationKey(restarted), JSON.stringify(fresh))
      // Participants, counters, attacker's knowledge and network length only.
      record(byCoarseKey, continuationKey(restarted, { refusals: false }), JSON.stringify(fresh))
      return used
    }
  }
  explore(checking, modelProperties, { depth: DEPTH, summary: pastSummary })
  const split = (map: Map<string, Set<string>>) => [...map.values()].filter((t) => t.size > 1).length
  return { keys: byKey.size, differingFromFresh: memoised, keysWithTwoContinuations: split(byKey), coarseKeysWithTwoContinuations: split(byCoarseKey) }
}

describe(`P5 continuation memo: its key determines the continuation (depth ${DEPTH})`, () => {
  it.each(modelSubjects)("$name", ({ policy, flaw }) => {
    const r = continuationsByKey(policy, flaw)
    expect(r.keys).toBeGreaterThan(100)
    expect(r.differingFromFresh).toBe(0)
    expect(r.keysWithTwoContinuations).toBe(0)
  })

  it("control: a key without the network's refusals merges states whose continuations differ", () => {
    const r = continuationsByKey(rollingKey.policies.hardened, undefined)
    expect(r.coarseKeysWithTwoContinuations).toBeGreaterThan(0)
  })
})
