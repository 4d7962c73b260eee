/**
 * A toy protocol suite for testing the audit and the `authlab` command without the real suites:
 * a client sends a request, the server commits and grants it. The `claimed` server accepts a
 * replayed request; the `hardened` one refuses it. Switches make the suite misbehave on purpose
 * (a hardened property that fails, a mutant nothing kills, a model/implementation disagreement)
 * so the tests can check that the audit notices.
 *
 * The "explorer" and the "implementation" here just judge a fixed list of traces; the point is
 * the shape of what they return, not the search.
 */
import { Effect } from "effect"
import { setup } from "xstate"
import type { SecurityProperty, Variant, Violation } from "../../spec/property.ts"
import type { Trace, TraceEvent } from "../../spec/trace.ts"
import type { ConformanceJudgement, Counterexample, ImplJudgement, ModelJudgement, ModelOutcome, Mutant, ProtocolSuite, Subject } from "../suite.ts"

export interface FakeSuiteSwitches {
  /** `F.progress` fails on hardened (a bug in "our work"): the audit must exit non-zero. */
  readonly breakHardened?: boolean
  /** Add a mutant that no property kills: the audit must exit non-zero. */
  readonly survivor?: boolean
  /** The implementation misses the claimed replay the model finds: a disagreement. */
  readonly implMissesReplay?: boolean
  /** The implementation check dies (a defect in the suite): reported, not fatal to the audit. */
  readonly implDies?: boolean
}

export interface FakeSuite extends ProtocolSuite {
  /** Every call the audit made, as `explore <subject> <depth>` / `impl <subject> <property> …`. */
  readonly calls: Array<string>
}

/** The fake protocol's own bound, when the audit asks for none. */
const FAKE_DEFAULT_DEPTH = 5

const subjectKey = (s: Subject): string => (s.kind === "variant" ? s.variant : `mutant:${s.mutant}`)

/** Does this subject's server accept a replayed request? */
const acceptsReplay = (s: Subject): boolean =>
  s.kind === "variant" ? s.variant === "claimed" : s.mutant === "accepts-replay"

const honest: Trace = [
  { _tag: "Running", actor: "client", peer: "server", data: "req1" },
  { _tag: "Send", from: "client", to: "server", ref: 0, label: "request", data: "req1" },
  { _tag: "Deliver", to: "server", ref: 0, label: "request", how: "first", data: "req1" },
  { _tag: "Commit", actor: "server", peer: "client", data: "req1" },
  { _tag: "Send", from: "server", to: "client", ref: 1, label: "grant", data: "req1" },
  { _tag: "Deliver", to: "client", ref: 1, label: "grant", how: "first", data: "req1" },
  { _tag: "Accept", actor: "client", data: "req1" }
]

const replayed = (s: Subject): Trace => [
  ...honest,
  { _tag: "Deliver", to: "server", ref: 0, label: "request", how: "replay", data: "req1" },
  acceptsReplay(s)
    ? { _tag: "Commit", actor: "server", peer: "client", data: "req1" }
    : { _tag: "Reject", actor: "server", reason: "stale-challenge" }
]

/** A crash, then the server refuses the honest retry (only when `breakHardened`). */
const stuck: Trace = [
  { _tag: "Crash", actor: "server" },
  { _tag: "FaultsEnd" },
  { _tag: "Running", actor: "client", peer: "server", data: "req2" },
  { _tag: "Send", from: "client", to: "server", ref: 0, label: "request", data: "req2" },
  { _tag: "Deliver", to: "server", ref: 0, label: "request", how: "first", data: "req2" },
  { _tag: "Reject", actor: "server", reason: "unknown-device" }
]

const noReplay: SecurityProperty = {
  id: "F.no-replay",
  protocol: "soft-token",
  kind: "freshness",
  statement: "The server commits to each request at most once; a replayed request is refused.",
  expected: { claimed: "fails", hardened: "holds" },
  weakness: "The claimed server keeps no record of the requests it accepted.",
  judgedIn: ["model", "impl"],
  check: (trace) => {
    const seen = new Set<string>()
    for (let at = 0; at < trace.length; at++) {
      const e = trace[at]!
      if (e._tag !== "Commit" || e.actor !== "server") continue
      if (seen.has(e.data)) return { at, reason: `request ${e.data}: accepted a second time` }
      seen.add(e.data)
    }
    return undefined
  }
}

const progress: SecurityProperty = {
  id: "F.progress",
  protocol: "soft-token",
  kind: "liveness",
  statement: "Once faults stop, the client's next request is accepted.",
  expected: { claimed: "holds", hardened: "holds" },
  judgedIn: ["model", "impl"],
  check: (trace) => {
    const end = trace.findIndex((e) => e._tag === "FaultsEnd")
    if (end < 0) return undefined
    const accepted = trace.slice(end).some((e) => e._tag === "Commit" && e.actor === "server")
    return accepted ? undefined : { at: trace.length - 1, reason: "no request accepted after faults ended" }
  }
}

const rejectsMalformed: SecurityProperty = {
  id: "F.rejects-malformed",
  protocol: "soft-token",
  kind: "robustness",
  statement: "Malformed bytes are refused and change no state.",
  expected: { claimed: "holds", hardened: "holds" },
  judgedIn: ["impl"],
  check: () => undefined
}

const properties: ReadonlyArray<SecurityProperty> = [noReplay, progress, rejectsMalformed]

const clientMachine = setup({
  types: { events: {} as { type: "user.login" } | { type: "msg.grant"; ok: boolean } | { type: "timer.expired" } },
  guards: { grantValid: ({ event }) => event.type === "msg.grant" && event.ok }
}).createMachine({
  id: "client",
  description: "The toy client: asks, then waits for a grant.",
  initial: "idle",
  states: {
    idle: { on: { "user.login": { target: "awaitingGrant", meta: { spec: "§2: send request" } } } },
    awaitingGrant: {
      meta: { spec: "§2.3: \"waiting\" <for> the grant; then roll" },
      on: {
        "msg.grant": [{ target: "done", guard: "grantValid" }, { target: "awaitingGrant" }],
        "timer.expired": { target: "idle" }
      }
    },
    done: { type: "final" }
  }
})

const serverMachine = setup({
  types: { context: {} as { seen: ReadonlyArray<string> }, events: {} as { type: "msg.request"; id: string } },
  guards: { fresh: ({ context, event }) => !context.seen.includes(event.id) }
}).createMachine({
  id: "server",
  initial: "listening",
  context: { seen: [] },
  states: {
    listening: {
      on: { "msg.request": [{ target: "granted", guard: "fresh" }, { description: "refuse a replay" }] }
    },
    granted: { always: { target: "listening" } }
  }
})

const judge = (property: SecurityProperty, traces: ReadonlyArray<Trace>): { trace: Trace; violation: Violation } | undefined => {
  for (const trace of traces) {
    const violation = property.check(trace)
    if (violation !== undefined) return { trace, violation }
  }
  return undefined
}

const describe = (e: TraceEvent): string =>
  e._tag === "Deliver" && e.how !== "first" ? `attacker: ${e.how} message #${e.ref} to ${e.to}` : e._tag

export const makeFakeSuite = (switches: FakeSuiteSwitches = {}): FakeSuite => {
  const calls: Array<string> = []
  const mutants: Array<Mutant> = [
    { name: "accepts-replay", flaw: "The server forgets which requests it accepted.", expectedKilledBy: ["F.no-replay"], worlds: ["model", "impl"] }
  ]
  if (switches.survivor) {
    mutants.push({ name: "logs-secrets", flaw: "The server logs request ids (no property looks at logs).", expectedKilledBy: ["F.progress"], worlds: ["model", "impl"] })
  }
  const traces = (s: Subject): ReadonlyArray<Trace> =>
    s.kind === "variant" && s.variant === "hardened" && switches.breakHardened ? [honest, replayed(s), stuck] : [honest, replayed(s)]

  return {
    protocol: "soft-token",
    title: "Toy protocol (test fixture)",
    seed: "no patent: a fixture",
    properties,
    mutants,
    calls,
    machines: [
      { participant: "client", machine: clientMachine },
      { participant: "server", machine: serverMachine }
    ],
    honestRun: (_variant: Variant) => honest,
    depthOf: (_subject, depth) => depth ?? FAKE_DEFAULT_DEPTH,
    explore: (subject, { depth = FAKE_DEFAULT_DEPTH }): ModelOutcome => {
      calls.push(`explore ${subjectKey(subject)} ${depth}`)
      const judgements = new Map<string, ModelJudgement>()
      const states = 7 * depth
      for (const property of properties) {
        if (!property.judgedIn.includes("model")) continue
        const found = judge(property, traces(subject))
        const counterexample: Counterexample | undefined = found && {
          world: "model",
          steps: found.trace.map(describe),
          trace: found.trace,
          violation: found.violation,
          depth
        }
        judgements.set(property.id, counterexample ? { verdict: "fails", states, depth, counterexample } : { verdict: "holds", states, depth })
      }
      return { judgements, states, transitions: 2 * states, depth, exhaustive: true, statesPerSecond: 1000, millis: states / 1000 }
    },
    checkImpl: (subject, property, options) =>
      Effect.sync((): ImplJudgement => {
        calls.push(`impl ${subjectKey(subject)} ${property.id} runs=${options.runs} seed=${options.seed} path=${options.path ?? "-"}`)
        if (switches.implDies) throw new Error("the fake implementation fell over")
        const missed = switches.implMissesReplay && property.id === noReplay.id && subjectKey(subject) === "claimed"
        const found = missed ? undefined : judge(property, traces(subject))
        const guidance = options.guidance ?? "all"
        if (found === undefined) return { verdict: "holds", runs: options.runs, seed: options.seed, millis: 1, guidance }
        return {
          verdict: "fails",
          guidance,
          foundBy: "unguided",
          runs: options.path === undefined ? 3 : 1,
          seed: options.seed,
          millis: 1,
          counterexample: {
            world: "impl",
            steps: found.trace.map(describe),
            trace: found.trace,
            violation: found.violation,
            seed: options.seed,
            path: options.path ?? "2:0"
          }
        }
      }),
    conform: (subject, options) =>
      Effect.sync((): ConformanceJudgement => {
        calls.push(`conform ${subjectKey(subject)} runs=${options.runs} seed=${options.seed}`)
        return { verdict: "agrees", runs: options.runs, steps: 4 * options.runs, seed: options.seed, millis: 1 }
      })
  }
}
