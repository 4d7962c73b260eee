/**
 * A protocol, once: everything that is truly the protocol's own, as one typed value. Everything
 * else — the audit's suite (explorations, implementation checks, conformance), the standard test
 * files, the audit's units of work, the CLI's protocol list — is derived from it generically
 * (properties/harness/suite-kit.ts, properties/harness/suite-tests.ts, cli/protocols.ts).
 *
 * Variants and mutants are kept apart. A variant is a policy: only what differs between the
 * `claimed` reading and the `hardened` protocol (spec/<p>/variants.ts). A mutant is a deliberate
 * flaw applied from outside the shipped code: on the model side as machine overrides or a wrapped
 * step, on the implementation side as a decorator of the real services; both live under
 * properties/<p>/mutants/, and no code path in impl/ exists only for a mutant.
 */
import type { Effect, Scope } from "effect"
import type { AnyStateMachine } from "xstate"
import type { BenchSuite } from "../bench/run.ts"
import type { MessageCodec } from "../spec/codec.ts"
import type { Move } from "../spec/attacker.ts"
import type { ProtocolName, SecurityProperty, Variant } from "../spec/property.ts"
import type { Trace } from "../spec/trace.ts"
import type { ExplorableSystem, PathSummary } from "../model/explore/explorer.ts"
import type { CommandVocabulary } from "./harness/commands/index.ts"
import type { World } from "./harness/world.ts"

/** A named starting point of both worlds (e.g. `fresh`, `registered`), with a phrase for reports. */
export interface Start {
  readonly name: string
  readonly description: string
}

/** What every protocol's `model/<p>/system.ts` exports under the same names. */
export interface SystemModule<State, Observation> {
  /** The enabled moves (a module whose `moves` takes options is given its own `moves` below). */
  readonly moves: (s: State, ...options: ReadonlyArray<never>) => ReadonlyArray<Move>
  readonly step: ExplorableSystem<State>["step"]
  readonly stateKey: (s: State) => string
  readonly continuation: (s: State) => Trace
  readonly observe: (s: State) => Observation
}

/** A protocol's composed system from its module and its named starting states. */
export const composedSystem = <State, Observation>(
  module: SystemModule<State, Observation>,
  initial: ExplorableSystem<State>["initial"],
  moves: (s: State) => ReadonlyArray<Move> = module.moves
): ExplorableSystem<State> & { readonly observe: (s: State) => Observation } => ({
  initial,
  moves,
  step: module.step,
  key: module.stateKey,
  continuation: module.continuation,
  observe: module.observe
})

/** The symbolic side: the composed system of participant machines, network and attacker. */
export interface ModelSide<Policy, State, Observation, ModelFlaw> {
  /**
   * The composed system under `policy`, with `flaw` (a mutant's model-side change) applied; its
   * `initial` states are named as `ProtocolDefinition.starts`.
   */
  readonly system: (policy: Policy, flaw: ModelFlaw | undefined) => ExplorableSystem<State> & { readonly observe: (s: State) => Observation }
  /**
   * How deep its hardened variant is explored when `--depth` (`AUTHLAB_DEPTH`) does not say:
   * chosen so that the cheapest attack we know fits, within the audit's time budget. A `--depth`
   * goes as deep as it asks (`maxStates` and the explorer's memory guard end a search too large,
   * reported as not exhaustive); claimed and the mutants go to `guideDepth` (never deeper than this
   * default, nor than a `--depth` below it).
   */
  readonly defaultDepth?: number
  /** A cap on states kept, so a large `--depth` cannot exhaust memory (reported as not exhaustive). */
  readonly maxStates?: number
  /** The history the properties read beyond the state (default: agreement, secrecy, signal facts). */
  readonly historyKey?: (events: Trace) => string
  /** Instead of `historyKey`: the properties' summary of a path's past (model/explore/explorer.ts `PathSummary`). */
  readonly summary?: PathSummary
  /**
   * Depth of the exploration whose counterexamples seed implementation checks, and the depth
   * claimed and the mutants are explored to (default 6).
   */
  readonly guideDepth?: number
  /** The participant machines (hardened), for state diagrams. */
  readonly machines: ReadonlyArray<{ readonly participant: string; readonly machine: AnyStateMachine }>
  /** The trace of one fault-free honest run, for the sequence diagram. */
  readonly honestRun: (policy: Policy) => Trace
}

/** The concrete side: the real Effect services with real crypto, as a world of attacker moves. */
export interface ImplSide<Policy, Observation, ImplFlaw> {
  readonly world: (args: {
    readonly policy: Policy
    /** Seeds every random byte the participants and the attacker draw. */
    readonly seed: number
    /** One of `ProtocolDefinition.starts`. */
    readonly start: string
    /** Whether the attacker also throws malformed bytes (off for conformance: the model has no bytes). */
    readonly malformed: boolean
    /** A mutant's implementation-side change (a decorator of the real services). */
    readonly flaw: ImplFlaw | undefined
    /**
     * The server-side participants (`ServeSide.participants`) live elsewhere, behind these
     * proxies (`authlab conform`): the world drives them by their wire bytes only, cannot crash
     * them or read their stores, and provisions them at construction with `remote.reset`.
     */
    readonly remote?: RemoteParticipants
  }) => World<Observation>
}

/** One message a step sends, and the connection it goes on (spec/HTTP-BINDING.md §Connections and deliveries). */
export interface Delivery {
  readonly to: string
  readonly bytes: Uint8Array
}

/**
 * What a served participant answers to one message: its step's outcome, or its refusal, each with
 * the reply bytes if any. A step that also sends on other connections than the sender's (P1's
 * service hands the token to the device's C1 when the PC completes on C2) lists every message it
 * sends in `deliveries`, in order, the sender's own among them; `reply` is then the first of
 * those addressed to the sender.
 */
export type ServedAnswer =
  | { readonly _tag: "Step"; readonly outcome: string; readonly reply?: Uint8Array; readonly deliveries?: ReadonlyArray<Delivery> }
  | { readonly _tag: "Refusal"; readonly reason: string; readonly reply?: Uint8Array; readonly deliveries?: ReadonlyArray<Delivery> }

/**
 * The server-side participants of a protocol, each a handler of the wire bytes of
 * spec/<p>/messages.ts; `connection` names the connection the bytes arrived on (the
 * `authlab-connection` header), for a participant that tells its connections apart.
 */
export type ServedParticipants = Readonly<Record<string, (bytes: Uint8Array, connection?: string) => Effect.Effect<ServedAnswer>>>

/** Served participants seen from the implementation world: synchronous, as worlds are. */
export interface RemoteParticipants {
  /** Forget all state and provision `fixture` (the protocol's out-of-band set-up: accounts, keys, seeds). */
  readonly reset: (fixture: Uint8Array) => void
  /**
   * One message to one participant, and its answer; `nowMillis` is the world's time, for a
   * protocol with a clock; `connection` the connection it goes on, for a participant that tells
   * them apart (its answer's `deliveries` then name connections the same way).
   */
  readonly send: (participant: string, bytes: Uint8Array, nowMillis?: number, connection?: string) => ServedAnswer
  /** Several messages at once (concurrent requests), the answers in the same order. */
  readonly sendAll: (messages: ReadonlyArray<{ readonly participant: string; readonly bytes: Uint8Array; readonly connection?: string }>, nowMillis?: number) => ReadonlyArray<ServedAnswer>
}

/**
 * How the protocol's server-side participants are served (`authlab serve`) and what a world
 * driving them from outside cannot see (`authlab conform`). The HTTP binding is generic
 * (spec/HTTP-BINDING.md): one route per participant, the bytes of spec/<p>/messages.ts.
 */
export interface ServeSide<Policy, ImplFlaw> {
  /** The server-side participants, each served on its own route, e.g. `["server"]`. */
  readonly participants: ReadonlyArray<string>
  /** Whether a mutant's flaw is in a served participant (a flaw of the device cannot be served). */
  readonly serves: (flaw: ImplFlaw) => boolean
  /** The policy served under a variant's `policy` and a mutant's `flaw` (a mutant may flip a switch); the local participants follow it too. */
  readonly policy: (policy: Policy, flaw: ImplFlaw | undefined) => Policy
  /**
   * The served participants under `policy` (from `policy` above) with `flaw`, over `store`.
   * With a `fixture` (what the world sends in `reset`, on an emptied store) they are provisioned
   * with it, randomness seeded from it so a run replays; without one (`authlab serve` starting)
   * they take the protocol's standing provisioning, the system's randomness, and whatever state
   * the store already holds.
   */
  readonly build: (args: { readonly policy: Policy; readonly flaw: ImplFlaw | undefined; readonly fixture: Uint8Array | undefined; readonly store: ServedStore }) => Effect.Effect<ServedParticipants, ServeError, Scope.Scope>
  /**
   * Properties that cannot be judged soundly without an unobservable fact (every violation needs
   * one, or the trace would lack a fact that clears a run): reported as not judged, never as
   * holding; `unobservable` says why.
   */
  readonly unjudged?: ReadonlyArray<string>
  /** What the world cannot judge without the server's insides (the trace facts that need its store or a crash), one sentence each. */
  readonly unobservable: ReadonlyArray<string>
  /**
   * The mutant cli/http/serve-conform.test.ts serves (default: the first served one), for a
   * protocol whose first one needs a rarer schedule than the test's few short runs make.
   */
  readonly testMutant?: string
}

/** Where the served participants keep their state. */
export type ServedStore = { readonly _tag: "memory" } | { readonly _tag: "sqlite"; readonly file: string }

/** A server state that could not be built: a fixture that does not decode, a store that does not open. */
export interface ServeError {
  readonly _tag: "ServeError"
  readonly message: string
}

export interface MutantDefinition<ModelFlaw, ImplFlaw> {
  readonly name: string
  /** The one flaw, in a sentence (what a careless implementer might do). */
  readonly flaw: string
  /** The properties we expect to catch it. */
  readonly expectedKilledBy: ReadonlyArray<string>
  /** The flaw in the model; absent for a flaw that only exists in bytes (a lenient decoder). */
  readonly model?: ModelFlaw
  /** The same flaw in the implementation. */
  readonly impl: ImplFlaw
}

export interface ConformanceSide {
  /** The verdict facts both worlds must produce alike after every move (some refusals are worded differently). */
  readonly verdicts: (trace: Trace) => ReadonlyArray<string>
  /** The vocabulary of the fast-check move commands (user actions, actors that fault, attacks). */
  readonly vocabulary: CommandVocabulary
  /**
   * Schedules that once showed a disagreement, replayed move by move as regressions: on every
   * subject, or only on the variants named (a mutant counts as hardened), when the moves exist
   * only there (a claimed registration's RegisterKey, say).
   */
  readonly regressions?: ReadonlyArray<{ readonly why: string; readonly start: string; readonly moves: string; readonly variants?: ReadonlyArray<Variant> }>
}

// The type parameters are the protocol's own; the generic code sees them as opaque.
// biome-ignore lint: `any` here is the existential type of a registry of differently-typed protocols.
export interface ProtocolDefinition<Policy = any, State = any, Observation = any, ModelFlaw = any, ImplFlaw = any> {
  readonly protocol: ProtocolName
  /** The short name used in property ids and test titles (`P5`). */
  readonly code: string
  readonly title: string
  /** The seed patent text, relative to the project root. */
  readonly seed: string
  readonly policies: Readonly<Record<Variant, Policy>>
  /** Every wire message type (spec/<p>/messages.ts), for the canonical-decoding fuzz. */
  // biome-ignore lint: a list of codecs of different message types.
  readonly messages: ReadonlyArray<MessageCodec<any, any>>
  readonly properties: ReadonlyArray<SecurityProperty>
  readonly starts: ReadonlyArray<Start>
  readonly model: ModelSide<Policy, State, Observation, ModelFlaw>
  readonly impl: ImplSide<Policy, Observation, ImplFlaw>
  readonly mutants: ReadonlyArray<MutantDefinition<ModelFlaw, ImplFlaw>>
  readonly conformance: ConformanceSide
  /**
   * Model paths (as the audit prints them) that once found a violation deeper than the guide, per
   * property: replayed on the implementation first, as regression examples.
   */
  readonly regressionPaths?: Readonly<Record<string, ReadonlyArray<string>>>
  /** Its server-side participants over HTTP (`authlab serve`, `authlab conform`); absent when it has none or they are not bound yet. */
  readonly serve?: ServeSide<Policy, ImplFlaw>
  /** The protocol's benchmarks (bench/<p>.ts), loaded only by `authlab bench`. */
  readonly bench?: () => Promise<BenchSuite>
}
