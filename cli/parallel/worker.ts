/** An audit worker thread: judges the units it is sent with the same suites as the main thread. */
import { Effect } from "effect"
import { parentPort } from "node:worker_threads"
import { conformsAfterChecks, implCheckOrder } from "../../properties/audit/plan.ts"
import { suites } from "../protocols.ts"
import type { UnitProgress, UnitRequest, UnitResult } from "./protocol.ts"

const message = (e: unknown) => (e instanceof Error ? e.message : String(e))

const judge = (req: UnitRequest): UnitResult => {
  const started = performance.now()
  const suite = suites.find((s) => s.protocol === req.protocol)
  if (suite === undefined) return { id: req.id, exploreError: `no suite ${req.protocol}`, impl: [], millis: 0 }
  let outcome: UnitResult["outcome"]
  let exploreError: string | undefined
  if (req.model) {
    try {
      const o = suite.explore(req.subject, {
        depth: req.depth,
        onProgress: (p) => parentPort!.postMessage({ _tag: "ExploreProgress", id: req.id, ...p } satisfies UnitProgress)
      })
      outcome = { ...o, judgements: [...o.judgements.entries()] }
    } catch (e) {
      exploreError = message(e)
    }
  }
  const checkImpl = (id: string): UnitResult["impl"][number] => {
    const property = suite.properties.find((p) => p.id === id)!
    const guidance = req.subject.kind === "mutant" ? "unguided" : "all"
    const result = Effect.runSync(Effect.either(Effect.sandbox(suite.checkImpl(req.subject, property, { runs: req.runs, seed: req.seed, guidance, ...(req.path === undefined ? {} : { path: req.path }) }))))
    return result._tag === "Right" ? { property: id, judgement: result.right } : { property: id, error: message(result.left) }
  }
  // The same order and the same rule as the sequential audit (properties/audit/run.ts), so the
  // checks it leaves out are exactly the ones asked of no worker.
  const expectedKilledBy = req.subject.kind === "mutant" ? (suite.mutants.find((m) => m.name === (req.subject as { mutant: string }).mutant)?.expectedKilledBy ?? []) : []
  const modelBroken = outcome === undefined ? [] : outcome.judgements.filter(([, j]) => j.verdict === "fails").map(([id]) => id)
  const order = implCheckOrder(req.subject, req.impl, expectedKilledBy, modelBroken)
  const impl = order.first.map(checkImpl)
  for (const id of order.unlessKilled) {
    if (impl.some((c) => c.judgement?.verdict === "fails")) break
    impl.push(checkImpl(id))
  }
  let conformance: UnitResult["conformance"]
  if (req.conformance && conformsAfterChecks(req.subject, impl.some((c) => c.judgement?.verdict === "fails"))) {
    const result = Effect.runSync(Effect.either(Effect.sandbox(suite.conform(req.subject, { runs: req.runs, seed: req.seed, ...(req.path === undefined ? {} : { path: req.path }) }))))
    conformance = result._tag === "Right" ? { judgement: result.right } : { error: message(result.left) }
  }
  return { id: req.id, ...(outcome ? { outcome } : {}), ...(exploreError ? { exploreError } : {}), impl, ...(conformance ? { conformance } : {}), millis: performance.now() - started }
}

parentPort!.on("message", (req: UnitRequest) => parentPort!.postMessage(judge(req)))
