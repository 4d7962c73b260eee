/**
 * The standard tests of a protocol, written once: each protocol's `suite.test.ts` calls
 * `suiteTests(definition)`. They are the audit's own checks at the test suite's sizes
 * (AUTHLAB_RUNS, AUTHLAB_DEPTH, AUTHLAB_STEPS):
 * - the model, per variant: an exhaustive exploration, every model-judged property as expected;
 * - the implementation, per variant: every property as expected;
 * - the mutants: each killed by the properties it names, in the model (by exploration) and on the
 *   implementation on its own (unguided runs, no model counterexample); every property kills a
 *   mutant or fails on `claimed`;
 * - conformance, per variant and per mutant the model also has: the worlds agree after every move.
 */
import { Effect, Schema } from "effect"
import fc from "fast-check"
import { type FieldCodec, joinAnyFrame } from "../../spec/codec.ts"
import { nonCanonical } from "../../spec/robustness.ts"
import { beforeAll, describe, expect, it } from "vitest"
import { variants } from "../../spec/property.ts"
import type { ProtocolDefinition } from "../definition.ts"
import type { Counterexample, ModelOutcome, Subject } from "../suite.ts"
import * as config from "./config.ts"
import { moveCommands } from "./commands/index.ts"
import { explain as explainFor } from "./explain.ts"
import { GUIDE_DEPTH, makeSuite } from "./suite-kit.ts"

const encoder = new TextEncoder()

export const suiteTests = (def: ProtocolDefinition): void => {
  const suite = makeSuite(def)
  const explain = (property: string, subject: Subject, cx: Counterexample | undefined) => explainFor(def.protocol, property, subject, cx)
  const modelProperties = def.properties.filter((p) => p.judgedIn.includes("model"))

  describe.each(variants)(`${def.code} model, %s`, (variant) => {
    const subject = { kind: "variant", variant } as const
    // Explore in a hook, not while the file is collected: vitest's worker must get back to its
    // event loop within 60 s (its RPC timeout), and collection does not yield between describes.
    let outcome: ModelOutcome
    // The tests explore both variants to the guide depth (CI's budget); the audit takes hardened
    // to the protocol's default depth (P5: depth 9, 284,775 nodes — a minute beside the other worker).
    beforeAll(() => {
      const guide = def.model.guideDepth ?? GUIDE_DEPTH
      outcome = suite.explore(subject, { depth: Math.min(config.depth ?? guide, guide) })
    })

    it("explores a non-trivial state space exhaustively", () => {
      console.info(`${def.code} ${variant}: ${outcome.states} states, ${outcome.transitions} transitions, depth ${outcome.depth}, ${outcome.statesPerSecond} states/s`)
      expect(outcome.exhaustive).toBe(true)
      expect(outcome.states).toBeGreaterThan(100)
    })

    it.each(modelProperties.map((p) => [p.id, p] as const))("%s", (id, property) => {
      const j = outcome.judgements.get(id)!
      expect(j.verdict, explain(id, subject, j.counterexample)).toBe(property.expected[variant])
    })
  })

  describe.each(variants)(`${def.code} implementation, %s`, (variant) => {
    const subject = { kind: "variant", variant } as const
    it.each(def.properties.map((p) => [p.id, p] as const))("%s", (id, property) => {
      const j = suite.checkImplNow(subject, property, { runs: config.runs, seed: 42 })
      expect(j.verdict, explain(id, subject, j.counterexample)).toBe(property.expected[variant])
    })
  })

  describe(`${def.code} mutants`, () => {
    const cases = def.mutants.flatMap((m) => m.expectedKilledBy.map((p) => [m.name, p] as const))

    it.each(cases)("%s is killed by %s on the implementation, unguided", (mutant, propertyId) => {
      const property = def.properties.find((p) => p.id === propertyId)!
      const j = suite.checkImplNow({ kind: "mutant", mutant }, property, { runs: config.runs, seed: 42, guidance: "unguided" })
      expect(j.verdict, `${mutant} survived ${propertyId} on the implementation`).toBe("fails")
    })

    const modelCases = cases.filter(([mutant, propertyId]) => def.mutants.find((m) => m.name === mutant)!.model !== undefined && modelProperties.some((p) => p.id === propertyId))
    it.each(modelCases)("%s is killed by %s in the model", (mutant, propertyId) => {
      const j = suite.explore({ kind: "mutant", mutant }, config.depth === undefined ? {} : { depth: config.depth }).judgements.get(propertyId)
      expect(j?.verdict, `${mutant} survived ${propertyId} in the model`).toBe("fails")
    })

    it("every property fails on claimed or kills a mutant", () => {
      const catching = new Set([...def.properties.filter((p) => p.expected.claimed === "fails").map((p) => p.id), ...def.mutants.flatMap((m) => m.expectedKilledBy)])
      expect(def.properties.map((p) => p.id).filter((id) => !catching.has(id))).toEqual([])
    })
  })

  describe(`${def.code} wire messages`, () => {
    // Frames of the right code and field count whose fields mostly have the lengths (and, for
    // text, the kind of values) the field accepts — so most get past the length checks — and
    // otherwise anything: random bytes, ASCII digits, text behind a byte-order mark.
    const anyBytes = fc.oneof(
      fc.uint8Array({ maxLength: 80 }),
      fc.stringMatching(/^[0-9]{0,10}$/).map((t) => encoder.encode(t)),
      fc.string({ maxLength: 12 }).map((t) => Uint8Array.from([0xef, 0xbb, 0xbf, ...encoder.encode(t)]))
    )
    const fieldBytes = (field: FieldCodec<unknown>) => {
      const shape = field.shape
      if (shape === undefined) return anyBytes
      const ofLength = fc.constantFrom(...shape.lengths).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))
      const samples = shape.samples === undefined ? [] : [{ arbitrary: fc.constantFrom(...shape.samples).map((t) => encoder.encode(t)), weight: 12 }]
      return fc.oneof(...samples, { arbitrary: ofLength, weight: 6 }, { arbitrary: anyBytes, weight: 1 })
    }
    it.each(def.messages.map((m) => [m.tag, m] as const))("%s decodes canonically (decode succeeds ⇒ encode(decode(b)) = b)", (_tag, codec) => {
      const fields = Object.values(codec.fields as Record<string, FieldCodec<unknown>>)
      const frame = fc.tuple(...fields.map(fieldBytes)).map((parts) => joinAnyFrame(Uint8Array.from([1, codec.code]), parts))
      let decoded = 0
      fc.assert(
        fc.property(frame, (bytes) => {
          if (Schema.decodeUnknownEither(codec.wire)(bytes)._tag === "Right") decoded++
          return nonCanonical(codec.wire, bytes) === undefined
        }),
        { numRuns: config.fuzz, seed: 42 }
      )
      // A fuzz whose inputs never decode could not fail: require that some of them do.
      expect(decoded, `${decoded} of ${config.fuzz} inputs decoded`).toBeGreaterThanOrEqual(Math.min(10, config.fuzz / 100))
    })
  })

  const conformanceSubjects: ReadonlyArray<readonly [string, Subject]> = [
    ...variants.map((variant) => [variant, { kind: "variant", variant }] as const),
    ...def.mutants.filter((m) => m.model !== undefined).map((m) => [`mutant:${m.name}`, { kind: "mutant", mutant: m.name }] as const)
  ]
  describe(`${def.code} conformance`, () => {
    // fast-check's model-based testing, the symbolic model as its model: commands from the
    // protocol's vocabulary, each checked against the model's enabled moves and applied to both.
    it.each(variants)("%s: fast-check model-based runs (move commands) agree", (variant) => {
      const subject = { kind: "variant", variant } as const
      let applied = 0
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 0x7fffffff }), fc.nat({ max: def.starts.length - 1 }), moveCommands<unknown>(def.conformance.vocabulary, config.steps), (seed, start, commands) => {
          const { model, impl } = suite.worlds(subject, def.starts[start]!.name, seed, false)
          const done: Array<string> = []
          fc.modelRun(() => ({ model: { world: model, verdicts: def.conformance.verdicts, done }, real: impl }), commands)
          applied += done.length
        }),
        { numRuns: Math.max(1, Math.round(config.runs / 4)), seed: 42 }
      )
      // Commands whose moves are never enabled would make this pass vacuously.
      expect(applied, "moves the commands applied to both worlds").toBeGreaterThan(0)
    })

    it.each(conformanceSubjects)("%s: model and implementation agree after every move", (_name, subject) => {
      const j = Effect.runSync(suite.conform(subject, { runs: Math.max(1, Math.round(config.runs / 2)), seed: 42 }))
      expect(j.disagreement, JSON.stringify(j.disagreement, null, 2)).toBeUndefined()
      expect(j.steps).toBeGreaterThan(0)
    })
  })
}
