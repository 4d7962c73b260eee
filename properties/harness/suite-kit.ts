/**
 * A protocol's audit suite, derived from its definition (properties/definition.ts) once for every
 * protocol: explorations cached per subject and depth; implementation checks; step-wise
 * conformance; the explorer's result as the audit's `ModelOutcome`.
 *
 * How an implementation check looks for a counterexample (each verdict says which found it):
 * - `model-replay`: the model's shortest counterexample for this subject, run on the real services;
 * - `seeded`: every recorded schedule of the protocol (its properties' regression paths — attacks
 *   deeper than the guide — and its conformance regressions), for every property;
 * - `covering`: one path to every distinct observation of the explored model, so every state the
 *   design can reach is tried on the real code, each followed by AUTHLAB_STEPS random moves (a
 *   fixed pseudo-random tail per path, so a replay is exact): a flaw that shows only a few moves
 *   past a state the model reaches is found from there, not only by luck from the start;
 * - `unguided`: random runs of up to AUTHLAB_STEPS moves, each kind of move picked with equal
 *   weight, including the implementation world's own byte-level attacks that the model lacks.
 * A mutant is judged unguided only: it must be caught by the implementation on its own, without
 * the model's counterexample (the model catches it — or not — in its own exploration).
 */
import { Effect } from "effect"
import { decodeMove, encodeMove, formatMove, type Move } from "../../spec/attacker.ts"
import type { SecurityProperty } from "../../spec/property.ts"
import { explore as exploreSystem, type ExploreResult } from "../../model/explore/explorer.ts"
import type { MutantDefinition, ProtocolDefinition } from "../definition.ts"
import type { ConformanceJudgement, ExploreRequest, Guidance, ImplJudgement, ModelJudgement, ModelOutcome, ProtocolSuite, Subject } from "../suite.ts"
import { checkOnImpl, type ImplExample, rememberingRuns } from "./check.ts"
import { canonicalJson, checkConformance } from "./conformance.ts"
import { steps as defaultSteps } from "./config.ts"
import { choiceOf, type World } from "./world.ts"

/** The depth the model is explored to when it guides an implementation check: fixed, so a printed replay path stays valid whatever the audit's `--depth`. */
export const GUIDE_DEPTH = 6

/** At most this many covering paths per check (the shortest first): enough for every observation our models reach at the guide depth. */
const MAX_COVERING = 64

export interface Suite extends ProtocolSuite {
  /** `checkImpl` without the Effect wrapper, for tests. */
  readonly checkImplNow: (subject: Subject, property: SecurityProperty, options: { readonly runs: number; readonly seed: number; readonly path?: string; readonly guidance?: "all" | "unguided" }) => ImplJudgement
  /** A model world and an implementation world for `subject` (conformance tests drive both). */
  readonly worlds: (subject: Subject, start: string, seed: number, malformed: boolean) => { readonly model: World<unknown>; readonly impl: World<unknown> }
}

/** The choice numbers that make `pickMove` (every kind of move) replay `path` on `world` (a model path, run on the implementation). */
export const choicesFor = <O>(world: World<O>, path: ReadonlyArray<Move>): Array<number> | undefined => {
  const choices: Array<number> = []
  for (const move of path) {
    const choice = choiceOf(world.moves(), move)
    if (choice === undefined) return undefined
    choices.push(choice)
    world.step(move)
  }
  return choices
}

/** `count` choice numbers from a fixed xorshift32 stream: the same `seed` gives the same tail in every run and replay. */
export const randomChoices = (seed: number, count: number): Array<number> => {
  let x = seed >>> 0 || 0x9e3779b9
  const out: Array<number> = []
  for (let i = 0; i < count; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    out.push(x & 0xffff)
  }
  return out
}

/** Parse a model path as the audit prints it (`registered H:client:login D3 …`). */
export const parseModelPath = (path: string, starts: ReadonlyArray<string>): { start: string; moves: Array<Move> } => {
  const [start, ...rest] = path.trim().split(/\s+/)
  if (start === undefined || !starts.includes(start)) throw new Error(`a model path starts with ${starts.join(" or ")}, got ${start}`)
  return {
    start,
    moves: rest.map((s) => {
      const m = decodeMove(s)
      if (m === undefined) throw new Error(`not a move: ${s}`)
      return m
    })
  }
}

export const makeSuite = (def: ProtocolDefinition): Suite => {
  const startNames = def.starts.map((s) => s.name)
  const mutantNamed = (name: string): MutantDefinition<unknown, unknown> => {
    const m = def.mutants.find((x) => x.name === name)
    if (m === undefined) throw new Error(`unknown ${def.protocol} mutant ${name}; known: ${def.mutants.map((x) => x.name).join(", ")}`)
    return m
  }
  /** A mutant is the hardened protocol with one flaw applied from outside. */
  const resolve = (subject: Subject) => {
    if (subject.kind === "variant") return { policy: def.policies[subject.variant], modelFlaw: undefined, implFlaw: undefined }
    const m = mutantNamed(subject.mutant)
    return { policy: def.policies.hardened, modelFlaw: m.model, implFlaw: m.impl }
  }
  const systemOf = (subject: Subject) => {
    const r = resolve(subject)
    return def.model.system(r.policy, r.modelFlaw)
  }
  const implWorld = (subject: Subject, options: { readonly malformed: boolean }) => (seed: number, start: number) => {
    const r = resolve(subject)
    return def.impl.world({ policy: r.policy, seed, start: startNames[start]!, malformed: options.malformed, flaw: r.implFlaw })
  }
  const modelWorld = (subject: Subject, start: string): World<unknown> => {
    const system = systemOf(subject)
    const init = system.initial.find((i) => i.name === start)
    if (init === undefined) throw new Error(`${def.protocol} has no start ${start}`)
    let state = init.state
    return {
      initialTrace: init.trace,
      moves: () => system.moves(state),
      step: (move) => {
        const next = system.step(state, move)
        if (next === undefined) return []
        state = next.state
        return next.events
      },
      observe: () => system.observe(state),
      continuation: () => system.continuation(state)
    }
  }

  // A system that hands out the same observation object for equal observations (P5) gets its
  // cover string made once per object.
  const covers = new WeakMap<object, string>()
  const coverOf = (observation: unknown): string => {
    if (observation === null || typeof observation !== "object") return canonicalJson(observation)
    let c = covers.get(observation)
    if (c === undefined) covers.set(observation, (c = canonicalJson(observation)))
    return c
  }

  // Explorations are deterministic and costly: one per subject and depth, shared by the model
  // judgement and the guidance of the implementation checks.
  const explorations = new Map<string, ExploreResult>()
  const guideDepth = def.model.guideDepth ?? GUIDE_DEPTH
  // The hardened variant goes to the protocol's bound: a hardened verdict is only as deep as its
  // search. A mutant needs one property broken and claimed's findings are shortest
  // counterexamples, both found within the guide depth, which is what they are explored to.
  const depthUsed = (subject: Subject, depth: number | undefined): number => {
    const defaultDepth = def.model.defaultDepth ?? guideDepth
    const bound = depth ?? defaultDepth
    return subject.kind === "variant" && subject.variant === "hardened" ? bound : Math.min(bound, guideDepth, defaultDepth)
  }
  const explored = (subject: Subject, depth: number | undefined, onProgress?: ExploreRequest["onProgress"]): ExploreResult => {
    const used = depthUsed(subject, depth)
    const key = `${JSON.stringify(subject)}@${used}`
    let r = explorations.get(key)
    if (r === undefined) {
      const system = systemOf(subject)
      r = exploreSystem(
        { ...system, cover: (s) => coverOf(system.observe(s)) },
        def.properties.filter((p) => p.judgedIn.includes("model")),
        { depth: used, ...(onProgress === undefined ? {} : { onProgress }), ...(def.model.maxStates === undefined ? {} : { maxStates: def.model.maxStates }), ...(def.model.historyKey === undefined ? {} : { historyKey: def.model.historyKey }), ...(def.model.summary === undefined ? {} : { summary: def.model.summary }) }
      )
      explorations.set(key, r)
    }
    return r
  }

  const asExamples = (
    subject: Subject,
    origin: ImplExample["origin"],
    paths: ReadonlyArray<{ start: string; moves: ReadonlyArray<Move> }>,
    tail: (k: number) => Array<number> = () => []
  ): Array<ImplExample> =>
    paths.flatMap(({ start, moves }, k) => {
      const index = startNames.indexOf(start)
      const choices = choicesFor(implWorld(subject, { malformed: true })(0, index), moves)
      return choices === undefined ? [] : [{ origin, value: [0, index, [...choices, ...tail(k)], 0] as ImplExample["value"] }]
    })

  // The covering paths are the same for every property of a subject: translate them once.
  const coveringExamples = new Map<string, Array<ImplExample>>()
  const coveringFor = (subject: Subject): Array<ImplExample> => {
    const key = JSON.stringify(subject)
    let found = coveringExamples.get(key)
    if (found === undefined) {
      found = asExamples(subject, "covering", explored(subject, guideDepth).covering.slice(0, MAX_COVERING), (k) => randomChoices(k + 1, defaultSteps))
      coveringExamples.set(key, found)
    }
    return found
  }

  /** The conformance regressions that apply to `subject` (a mutant is a flaw of hardened). */
  const conformanceRegressions = (subject: Subject) =>
    (def.conformance.regressions ?? []).filter((r) => r.variants === undefined || r.variants.includes(subject.kind === "variant" ? subject.variant : "hardened"))

  /**
   * Every recorded schedule, the property's own regression paths first: each once showed a flaw
   * (a finding, a disagreement), and a schedule that broke one property is a likely place for a
   * new flaw to break another — so each property's check runs all of them. The runs are shared
   * between a subject's checks (`rememberingRuns`), so each costs one run per subject.
   */
  const seededPaths = (subject: Subject, propertyId: string): Array<{ start: string; moves: Array<Move> }> => {
    const own = def.regressionPaths?.[propertyId] ?? []
    const others = Object.entries(def.regressionPaths ?? {}).flatMap(([id, paths]) => (id === propertyId ? [] : paths))
    const conformance = conformanceRegressions(subject).map((r) => `${r.start} ${r.moves}`)
    return [...new Set([...own, ...others, ...conformance])].map((p) => parseModelPath(p, startNames))
  }

  /** The model's counterexample for `property`, the recorded schedules, and the covering paths, as fast-check examples. */
  const examplesFor = (subject: Subject, property: SecurityProperty): Array<ImplExample> => {
    const exploration = explored(subject, guideDepth)
    const found = property.judgedIn.includes("model") ? exploration.violations.get(property.id) : undefined
    return [
      ...asExamples(subject, "model-replay", found === undefined ? [] : [{ start: found.start, moves: found.path }]),
      ...asExamples(subject, "seeded", seededPaths(subject, property.id)),
      // State covering is what a hardened verdict rests on; on claimed the model's attack is enough.
      ...(subject.kind === "variant" && subject.variant === "hardened" ? coveringFor(subject) : [])
    ]
  }

  // One memory of runs per subject (the last one asked for: the audit judges a subject's
  // properties one after the other).
  let remembered: { readonly key: string; readonly runOf: ReturnType<typeof rememberingRuns> } | undefined
  const runsOf = (subject: Subject) => {
    const key = JSON.stringify(subject)
    if (remembered?.key !== key) remembered = { key, runOf: rememberingRuns(implWorld(subject, { malformed: true })) }
    return remembered.runOf
  }

  const checkImplNow: Suite["checkImplNow"] = (subject, property, options) => {
    const started = performance.now()
    const guidance = options.guidance ?? (subject.kind === "mutant" ? "unguided" : "all")
    const judgement = checkOnImpl(runsOf(subject), property, {
      runs: options.runs,
      seed: options.seed,
      depth: defaultSteps,
      starts: def.starts.length,
      examples: guidance === "unguided" ? [] : examplesFor(subject, property),
      // A mutant's question is whether it is caught, and by which properties: its failing runs are
      // cut to their shortest failing prefix but not shrunk, which was 60 % of the mutants' cost
      // (P5: 68.6 → 28.1 CPU-s, counterexamples of about the same length). Variants' findings,
      // the ones people read, are shrunk.
      shrink: subject.kind !== "mutant",
      ...(options.path === undefined ? {} : { path: options.path })
    })
    // Count the model guidance too: it is part of what this check cost.
    return { ...judgement, guidance, millis: performance.now() - started }
  }

  const conform = (subject: Subject, options: { readonly runs: number; readonly seed: number; readonly path?: string }): ConformanceJudgement => {
    const j = checkConformance({
      model: (start) => modelWorld(subject, startNames[start]!),
      impl: (seed, start) => implWorld(subject, { malformed: false })(seed, start),
      verdicts: def.conformance.verdicts,
      starts: def.starts.length,
      steps: defaultSteps,
      runs: options.runs,
      seed: options.seed,
      ...(options.path === undefined ? {} : { path: options.path }),
      regressions: conformanceRegressions(subject)
        .map((r) => parseModelPath(`${r.start} ${r.moves}`, startNames))
        .map((p) => ({ start: startNames.indexOf(p.start), moves: p.moves }))
    })
    return j.disagreement === undefined ? j : { ...j, disagreement: { ...j.disagreement, start: startNames[Number(j.disagreement.start)] ?? j.disagreement.start } }
  }

  const explore = (subject: Subject, options: ExploreRequest): ModelOutcome => {
    const r = explored(subject, options.depth, options.onProgress)
    const describeStart = (name: string) => def.starts.find((s) => s.name === name)?.description ?? name
    return {
      judgements: new Map<string, ModelJudgement>(
        def.properties
          .filter((p) => p.judgedIn.includes("model"))
          .map((p): [string, ModelJudgement] => {
            const v = r.violations.get(p.id)
            const base = { states: r.states, depth: r.depth }
            if (v === undefined) return [p.id, { verdict: "holds" as const, ...base }]
            const counterexample = {
              world: "model" as const,
              steps: [`start: ${describeStart(v.start)}`, ...v.path.map(formatMove)],
              trace: v.trace,
              violation: v.violation,
              depth: v.depth,
              path: [v.start, ...v.path.map(encodeMove)].join(" ")
            }
            return [p.id, { verdict: "fails" as const, ...base, counterexample }]
          })
      ),
      states: r.states,
      transitions: r.transitions,
      depth: r.depth,
      exhaustive: r.exhaustive,
      ...(r.stopped === undefined ? {} : { stopped: r.stopped }),
      statesPerSecond: r.statesPerSecond,
      millis: r.millis
    }
  }

  const honestRun: ProtocolSuite["honestRun"] = (variant) => def.model.honestRun(def.policies[variant])

  return {
    protocol: def.protocol,
    title: def.title,
    seed: def.seed,
    properties: def.properties,
    mutants: def.mutants.map((m) => ({ name: m.name, flaw: m.flaw, expectedKilledBy: m.expectedKilledBy, worlds: m.model === undefined ? ["impl"] : ["model", "impl"] })),
    machines: def.model.machines,
    honestRun,
    explore,
    exploresBeyondGuidance: (subject, depth) => depthUsed(subject, depth) > depthUsed(subject, guideDepth),
    depthOf: depthUsed,
    checkImpl: (subject, property, options) => Effect.sync(() => checkImplNow(subject, property, options)),
    checkImplNow,
    conform: (subject, options) => Effect.sync(() => conform(subject, options)),
    worlds: (subject, start, seed, malformed) => ({ model: modelWorld(subject, start), impl: implWorld(subject, { malformed })(seed, startNames.indexOf(start)) })
  }
}
