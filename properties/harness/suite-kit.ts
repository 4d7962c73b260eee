/**
 * What every protocol suite does the same way, so a suite is only its protocol-specific parts:
 * explorations cached per subject and depth; the model's shortest counterexamples turned into
 * fast-check examples for the implementation check (model-guided: the attack the model found is
 * run on the real services first); the explorer's result as the audit's `ModelOutcome`.
 */
import { Effect } from "effect"
import { decodeMove, encodeMove, formatMove, type Move } from "../../spec/attacker.ts"
import type { SecurityProperty, Variant } from "../../spec/property.ts"
import type { Trace } from "../../spec/trace.ts"
import type { ExploreResult } from "../../model/explore/explorer.ts"
import type { ImplJudgement, ModelJudgement, ModelOutcome, ProtocolSuite, Subject } from "../suite.ts"
import { checkOnImpl } from "./check.ts"
import { steps as defaultSteps } from "./config.ts"
import { pickMove, type World } from "./world.ts"

/** The depth the model is explored to when it guides an implementation check: fixed, so a printed replay path stays valid whatever the audit's `--depth`. */
export const GUIDE_DEPTH = 6

export interface SuiteParts extends Omit<ProtocolSuite, "explore" | "checkImpl" | "honestRun"> {
  /** The explorer's starting points, in the order `makeImplWorld`'s `start` index uses, with a phrase for reports. */
  readonly starts: ReadonlyArray<{ readonly name: string; readonly description: string }>
  readonly explore: (subject: Subject, depth: number) => ExploreResult
  /** A fresh implementation world for `subject`, from a random seed and a start index. */
  readonly implWorld: (subject: Subject) => (seed: number, start: number) => World<unknown>
  readonly honestRun: (variant: Variant) => Trace
  /** Override GUIDE_DEPTH when every counterexample of the protocol is known to be shallower. */
  readonly guideDepth?: number
  /**
   * Model paths (as the audit prints them) that once found a violation deeper than the guide,
   * per property: replayed on the implementation first, as regression examples.
   */
  readonly regressionPaths?: Readonly<Record<string, ReadonlyArray<string>>>
}

export interface Suite extends ProtocolSuite {
  /** `checkImpl` without the Effect wrapper, for tests. */
  readonly checkImplNow: (
    subject: Subject,
    property: SecurityProperty,
    options: { readonly runs: number; readonly seed: number; readonly path?: string }
  ) => ImplJudgement
}

/** The choice numbers that make `pickMove` replay `path` on `world` (a model path, run on the implementation). */
export const choicesFor = <O>(world: World<O>, path: ReadonlyArray<Move>): Array<number> | undefined => {
  const choices: Array<number> = []
  for (const move of path) {
    const enabled = world.moves()
    const kinds = [...new Set(enabled.map((m) => m._tag))]
    const index = enabled.filter((m) => m._tag === move._tag).findIndex((m) => encodeMove(m) === encodeMove(move))
    if (index < 0) return undefined
    const choice = kinds.indexOf(move._tag) + index * kinds.length
    if (encodeMove(pickMove(enabled, choice)) !== encodeMove(move)) return undefined
    choices.push(choice)
    world.step(move)
  }
  return choices
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

export const makeSuite = (parts: SuiteParts): Suite => {
  // Explorations are deterministic and costly: one per subject and depth, shared by the model
  // judgement and the guidance of the implementation checks.
  const explorations = new Map<string, ExploreResult>()
  const explored = (subject: Subject, depth: number): ExploreResult => {
    const key = `${JSON.stringify(subject)}@${depth}`
    let r = explorations.get(key)
    if (r === undefined) {
      r = parts.explore(subject, depth)
      explorations.set(key, r)
    }
    return r
  }
  const startNames = parts.starts.map((s) => s.name)

  /** The model's counterexample for `property` and its regression paths, as fast-check examples: [seed, start, choices]. */
  const examplesFor = (subject: Subject, property: SecurityProperty): Array<[number, number, Array<number>]> => {
    if (!property.judgedIn.includes("model")) return []
    const found = explored(subject, parts.guideDepth ?? GUIDE_DEPTH).violations.get(property.id)
    const paths = [
      ...(found === undefined ? [] : [{ start: found.start, moves: found.path }]),
      ...(parts.regressionPaths?.[property.id] ?? []).map((p) => parseModelPath(p, startNames))
    ]
    return paths.flatMap(({ start, moves }) => {
      const index = startNames.indexOf(start)
      const choices = choicesFor(parts.implWorld(subject)(0, index), moves)
      return choices === undefined ? [] : [[0, index, choices] as [number, number, Array<number>]]
    })
  }

  const checkImplNow: Suite["checkImplNow"] = (subject, property, options) => {
    const started = performance.now()
    const judgement = checkOnImpl(parts.implWorld(subject), property, {
      runs: options.runs,
      seed: options.seed,
      depth: defaultSteps,
      starts: parts.starts.length,
      examples: examplesFor(subject, property),
      ...(options.path === undefined ? {} : { path: options.path })
    })
    // Count the model guidance too: it is part of what this check cost.
    return { ...judgement, millis: performance.now() - started }
  }

  const explore = (subject: Subject, options: { readonly depth: number }): ModelOutcome => {
    const r = explored(subject, options.depth)
    const describeStart = (name: string) => parts.starts.find((s) => s.name === name)?.description ?? name
    return {
      judgements: new Map<string, ModelJudgement>(
        parts.properties
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
      statesPerSecond: r.statesPerSecond,
      millis: r.millis
    }
  }

  return {
    protocol: parts.protocol,
    title: parts.title,
    seed: parts.seed,
    properties: parts.properties,
    mutants: parts.mutants,
    machines: parts.machines,
    honestRun: parts.honestRun,
    explore,
    checkImpl: (subject, property, options) => Effect.sync(() => checkImplNow(subject, property, options)),
    checkImplNow
  }
}
