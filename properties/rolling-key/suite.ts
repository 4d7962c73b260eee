/**
 * The P5 rolling-key suite: what the audit and the tests run. The model side explores both
 * starting points (nobody registered; device registered) with the compromise move enabled; the
 * implementation side runs fast-check schedules on the real services, seeded first with the
 * model's shortest counterexamples for that subject (model-guided), then with random schedules.
 */
import { Effect } from "effect"
import { decodeMove, encodeMove, type Move } from "../../spec/attacker.ts"
import type { SecurityProperty, Variant } from "../../spec/property.ts"
import { properties } from "../../spec/rolling-key/properties.ts"
import { policies, type Policy } from "../../spec/rolling-key/variants.ts"
import { formatMove } from "../../spec/attacker.ts"
import { explore, type ExploreResult } from "../../model/explore/explorer.ts"
import { clientMachine } from "../../model/rolling-key/client.machine.ts"
import { serverMachine } from "../../model/rolling-key/server.machine.ts"
import * as system from "../../model/rolling-key/system.ts"
import { checkOnImpl } from "../harness/check.ts"
import { steps as defaultSteps } from "../harness/config.ts"
import { pickMove, type World } from "../harness/world.ts"
import type { ImplJudgement, ModelOutcome, ProtocolSuite, Subject } from "../suite.ts"
import { makeImplWorld } from "./impl-world.ts"
import { mutantNamed, mutants } from "./mutants/index.ts"

export const STARTS = ["fresh", "registered"] as const
export type Start = (typeof STARTS)[number]

/** About 2 GB of explorer nodes at depth 7–8; beyond it the audit says the search was cut short. */
const MAX_STATES = 400_000

/** The depth the model is explored to when it guides the implementation's check. */
const GUIDE_DEPTH = 6

const resolve = (subject: Subject) =>
  subject.kind === "variant"
    ? { policy: policies[subject.variant] as Policy, decode: undefined }
    : { policy: mutantNamed(subject.mutant).policy, decode: mutantNamed(subject.mutant).decode }

export const exploreRollingKey = (policy: Policy, depth: number): ExploreResult =>
  explore(
    {
      initial: [
        { name: "fresh", state: system.initialState(policy), trace: [] },
        { name: "registered", ...system.registeredState(policy) }
      ],
      moves: (s) => system.moves(s, { clone: true }),
      step: system.step,
      key: system.stateKey,
      continuation: system.continuation
    },
    properties.filter((p) => p.judgedIn.includes("model")),
    // A cap keeps a large --depth from exhausting memory; hitting it is reported (not exhaustive).
    { depth, maxStates: MAX_STATES }
  )

const implWorld = (subject: Subject) => (seed: number, start: number) => {
  const { policy, decode } = resolve(subject)
  return makeImplWorld({ policy, seed, clone: true, malformed: true, start: STARTS[start]!, ...(decode === undefined ? {} : { decode }) })
}

/** The choice numbers that make `pickMove` replay `path` on `world` (a model path, run on the implementation). */
const choicesFor = <O>(world: World<O>, path: ReadonlyArray<Move>): Array<number> | undefined => {
  const choices: Array<number> = []
  for (const move of path) {
    const enabled = world.moves()
    const kinds = [...new Set(enabled.map((m) => m._tag))]
    const ofKind = enabled.filter((m) => m._tag === move._tag)
    const index = ofKind.findIndex((m) => encodeMove(m) === encodeMove(move))
    if (index < 0) return undefined
    const choice = kinds.indexOf(move._tag) + index * kinds.length
    if (encodeMove(pickMove(enabled, choice)) !== encodeMove(move)) return undefined
    choices.push(choice)
    world.step(move)
  }
  return choices
}

// Explorations are deterministic and costly: one per subject and depth, shared by the model
// judgement and the guidance of the implementation check.
const explorations = new Map<string, ExploreResult>()
const explored = (subject: Subject, depth: number): ExploreResult => {
  const key = `${JSON.stringify(subject)}@${depth}`
  let r = explorations.get(key)
  if (r === undefined) {
    r = exploreRollingKey(resolve(subject).policy, depth)
    explorations.set(key, r)
  }
  return r
}
/** Always the same bound, whatever the audit's `--depth`, so a printed replay path stays valid. */
const guide = (subject: Subject): ExploreResult => explored(subject, GUIDE_DEPTH)

/** Model counterexamples for `property` as fast-check examples: [seed, start, choices]. */
const examplesFor = (subject: Subject, property: SecurityProperty): Array<[number, number, Array<number>]> => {
  const found = guide(subject).violations.get(property.id)
  if (found === undefined) return []
  const start = STARTS.indexOf(found.start as Start)
  const choices = choicesFor(implWorld(subject)(0, start), found.path)
  return choices === undefined ? [] : [[0, start, choices]]
}

export const checkRollingKeyImpl = (
  subject: Subject,
  property: SecurityProperty,
  options: { readonly runs: number; readonly seed: number; readonly path?: string; readonly steps?: number }
): ImplJudgement => {
  const started = performance.now()
  const judgement = checkOnImpl(implWorld(subject), property, {
    runs: options.runs,
    seed: options.seed,
    depth: options.steps ?? defaultSteps,
    starts: STARTS.length,
    examples: property.judgedIn.includes("model") ? examplesFor(subject, property) : [],
    ...(options.path === undefined ? {} : { path: options.path })
  })
  // Count the model guidance too: it is part of what this check cost.
  return { ...judgement, millis: performance.now() - started }
}

export const rollingKeySuite: ProtocolSuite = {
  protocol: "rolling-key",
  title: "P5 Rolling-key device authentication (NZ624154)",
  seed: "../shared/seeds/004_6d246013b9752547.txt",
  properties,
  mutants,
  explore: (subject, options): ModelOutcome => {
    const r = explored(subject, options.depth)
    const judged = properties.filter((p) => p.judgedIn.includes("model"))
    return {
      judgements: new Map(
        judged.map((p) => {
          const v = r.violations.get(p.id)
          return [
            p.id,
            v === undefined
              ? { verdict: "holds" as const, states: r.states, depth: r.depth }
              : {
                  verdict: "fails" as const,
                  states: r.states,
                  depth: r.depth,
                  counterexample: {
                    world: "model" as const,
                    steps: [`start: ${v.start === "fresh" ? "nobody registered" : "device registered honestly"}`, ...v.path.map(formatMove)],
                    trace: v.trace,
                    violation: v.violation,
                    depth: v.depth,
                    path: [v.start, ...v.path.map(encodeMove)].join(" ")
                  }
                }
          ]
        })
      ),
      states: r.states,
      transitions: r.transitions,
      depth: r.depth,
      exhaustive: r.exhaustive,
      statesPerSecond: r.statesPerSecond,
      millis: r.millis
    }
  },
  checkImpl: (subject, property, options) => Effect.sync(() => checkRollingKeyImpl(subject, property, options)),
  machines: [
    { participant: "client", machine: clientMachine },
    { participant: "server", machine: serverMachine }
  ],
  honestRun: (variant: Variant) => {
    const policy = policies[variant]
    const registered = system.registeredState(policy)
    const login = system.step(registered.state, { _tag: "Honest", actor: "client", action: "login" })!
    return [...registered.trace, ...login.events]
  }
}

/** Parse a model path printed by the audit (`registered H:client:login D3 …`). */
export const parseModelPath = (path: string): { start: Start; moves: Array<Move> } => {
  const [start, ...rest] = path.trim().split(/\s+/)
  if (!STARTS.includes(start as Start)) throw new Error(`a model path starts with ${STARTS.join(" or ")}, got ${start}`)
  return {
    start: start as Start,
    moves: rest.map((s) => {
      const m = decodeMove(s)
      if (m === undefined) throw new Error(`not a move: ${s}`)
      return m
    })
  }
}
