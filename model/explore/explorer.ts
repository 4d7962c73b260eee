/**
 * Bounded exhaustive exploration of a composed protocol system (participants + adversarial
 * network + faults), judging trace-predicate properties on every path.
 *
 * Breadth-first with state hashing: every reachable state within `depth` attacker moves is
 * expanded once, so the first violation found for a property is a shortest counterexample. A
 * plain BFS over `ExplorableSystem.step` (rather than xstate/graph's path generators) because the
 * system state is the product of several machines plus the network, and because the dedup key
 * must include the history the properties read (see `historyKey`, or a protocol's `summary` of
 * the past): two paths that end in the same participant state but differ in what the properties
 * have seen must not be merged.
 *
 * Cost (measured, ./README.md): the systems' keys are lists of interned part ids (./keys.ts) and
 * participant transitions are memoised by content (./transition.ts), so a step mostly reuses
 * earlier work; a node keeps its state only until it is expanded, and its history as one interned
 * id. With P5's summary of the past its nodes are exactly its distinct states (601,757 at depth 8
 * with the concrete key, 699,935 with the ordered history; 67,524 with its key up to a renaming of
 * fresh names and message order): what makes the search large is the number of situations.
 *
 * Liveness: at every state the system supplies its fault-free continuation (`FaultsEnd`, then
 * the honest party completes one attempt); properties are judged on path + continuation.
 */
import { getHeapStatistics } from "node:v8"
import type { Move } from "../../spec/attacker.ts"
import type { SecurityProperty, Violation } from "../../spec/property.ts"
import type { Trace, TraceEvent } from "../../spec/trace.ts"
import { flatten, keyOf, newKeySpace, pushFields } from "./keys.ts"

export interface ExplorableSystem<S> {
  /** Named starting states (e.g. `fresh`: nobody registered; `registered`: after an honest setup). */
  readonly initial: ReadonlyArray<{ readonly name: string; readonly state: S; readonly trace: Trace }>
  /** The attacker's and users' enabled moves in `s`, in a fixed order (exploration is deterministic). */
  readonly moves: (s: S) => ReadonlyArray<Move>
  /** Apply one move; `undefined` if it is not enabled. */
  readonly step: (s: S, move: Move) => { readonly state: S; readonly events: Trace } | undefined
  /**
   * A canonical string for the participants' and network's state: a function of the state's own
   * fields (a state whose fields are the very values of another's has its key, which the explorer
   * uses without calling this: see `sameFields`).
   */
  readonly key: (s: S) => string
  /** `FaultsEnd` and the events of the honest continuation from `s`. */
  readonly continuation: (s: S) => Trace
  /**
   * What the participants hold in `s`, as a string (their observation): the explorer keeps one
   * shortest path to each distinct value, so the implementation can be driven to every situation
   * the model reaches (state covering).
   */
  readonly cover?: (s: S) => string
}

export interface ExploreOptions {
  readonly depth: number
  /**
   * Stop (with `exhaustive: false` and `stopped` saying why) once the heap holds more than this many
   * bytes; default: 3/4 of the heap limit, so a deep `--depth` ends with a report, not an
   * out-of-memory crash.
   */
  readonly maxHeapBytes?: number
  /** Hears how far the exploration is, every few thousand states. */
  readonly onProgress?: (p: { readonly depth: number; readonly states: number; readonly statesPerSecond: number }) => void
  /** Stop expanding after this many states (the result then says `exhaustive: false`). */
  readonly maxStates?: number
  /**
   * The part of a step's events the properties depend on beyond the current state (default:
   * agreement, secrecy and signal facts). Concatenated along a path, it is part of the dedup key.
   */
  readonly historyKey?: (events: Trace) => string
  /**
   * Instead of `historyKey`: a summary of the path's past that is all the properties read of it,
   * folded step by step (see `PathSummary`). Paths that reach the same state with equal summaries
   * merge, whatever order their facts came in.
   */
  readonly summary?: PathSummary
}

/**
 * What the properties read of a path's past, as a small value folded over its steps — the
 * properties' monitor state. Sound for merging iff, for every property explored that has not
 * failed yet, its verdict on path + any future depends on the past only through the summary
 * (a violation inside the past itself is found when that step is judged: every step is). The
 * protocol states this next to its properties, property by property, and names them in `covers`:
 * a property it does not name makes the exploration refuse to start.
 */
export interface PathSummary {
  /** The property ids whose reading of the past the summary holds. */
  readonly covers: ReadonlyArray<string>
  /** The summary of a start's set-up trace. */
  readonly initial: (trace: Trace) => string
  /** The summary after one more step's events. */
  readonly next: (summary: string, events: Trace) => string
  /**
   * The properties' incremental form, when the protocol gives one: which covered properties a
   * path breaks whose past has this summary and whose rest is `future`, for a past in which none
   * of them was broken — for each, what its `check` of past ++ future says. The explorer then
   * judges a step from its parent's summary, the step's events and the continuation, without the
   * path's trace; a property it names broken is checked on the whole trace for the violation it
   * reports, and must agree (it throws otherwise). Sound because the explorer judges every step
   * while a property is unbroken, so a path's past is clean for each property still judged.
   */
  readonly broken?: (summary: string, future: Trace) => ReadonlyArray<string>
}

export interface FoundViolation {
  readonly start: string
  readonly path: ReadonlyArray<Move>
  readonly trace: Trace
  readonly violation: Violation
  /** Depth (number of moves) at which it was found. */
  readonly depth: number
}

export interface ExploreResult {
  readonly states: number
  readonly transitions: number
  readonly depth: number
  readonly exhaustive: boolean
  readonly millis: number
  readonly statesPerSecond: number
  readonly violations: ReadonlyMap<string, FoundViolation>
  /** One shortest path to each distinct `cover` value, in the order found (shortest first). */
  readonly covering: ReadonlyArray<{ readonly start: string; readonly moves: ReadonlyArray<Move> }>
  /** Why the exploration stopped before its bound, when it did. */
  readonly stopped?: string
}

/** Continuations kept per generation (see `continuationOf`): a few hundred bytes each. */
const CONTINUATIONS_PER_GENERATION = 100_000

/** Judged (summary, events) pairs remembered at most (`judgeSeen`); then forgotten, to bound memory. */
const PASSED_PAIRS = 500_000

/** History ids per state in a packed situation id (`situation`). */
const HISTORY_IDS = 2 ** 24

/** How often (in states) the memory guard and the progress report run. */
const CHECK_EVERY = 4096

const HISTORY_TAGS: ReadonlySet<TraceEvent["_tag"]> = new Set(["Running", "Commit", "Accept", "Signal", "Reveal"])

/** Default history: the ordered agreement, secrecy and signal facts (what our predicates read). */
export const defaultHistoryKey = (events: Trace): string => {
  let out = ""
  for (const e of events) if (HISTORY_TAGS.has(e._tag)) out += JSON.stringify(e) + ";"
  return out
}

interface Node<S> {
  /** Dropped once the node is expanded: only the frontier needs its state (memory). */
  state: S | undefined
  readonly parent: number
  readonly move: Move | undefined
  readonly events: Trace
  readonly depth: number
  readonly start: string
  /** The id of the path's history: `historyKey` of every step so far as a chain of ids, or the `summary`'s id. */
  readonly history: number
  /** The id of the state's key (`ExplorableSystem.key`), in this exploration. */
  readonly stateId: number
}

/**
 * Whether two states hold the very same values in every field (or are one value): then they have
 * one key, since a key is a function of the fields. Most moves change nothing — P5 at depth 7:
 * 57% of its transitions (a crash with nothing in memory, a replay refused with a refusal already
 * on the wire, a redirect) — and the systems build the next state from the same parts, so this
 * shallow comparison spares computing the key of a state the explorer is expanding already.
 */
const sameFields = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null || Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false
  const fields = Object.keys(a)
  if (fields.length !== Object.keys(b).length) return false
  for (const f of fields) if ((a as Record<string, unknown>)[f] !== (b as Record<string, unknown>)[f] || !Object.hasOwn(b, f)) return false
  return true
}

/** Ids for strings, 0, 1, 2… in order of first sight, in a table of its own; `onNew` hears of each new one. */
const denseIds = (onNew?: (text: string, id: number) => void) => {
  const ids = new Map<string, number>()
  return (built: string): number => {
    const text = flatten(built)
    let id = ids.get(text)
    if (id === undefined) {
      id = ids.size
      ids.set(text, id)
      onNew?.(text, id)
    }
    return id
  }
}

/**
 * A step's events as a short key: their count, then each event's fields (`pushFields`), written as
 * bytes (`keyOf`). Exact, like the JSON it replaces, and a third of its cost: the events' strings
 * are a few dozen names met again and again. (A field holding `undefined` counts here and not in
 * JSON: a finer key, which can only judge more.)
 */
const eventsKey = (events: Trace): string => {
  const ids: Array<number> = [events.length]
  for (const e of events) pushFields(ids, e)
  return keyOf(ids)
}

const traceOf = <S>(nodes: ReadonlyArray<Node<S>>, index: number, initial: ReadonlyMap<string, Trace>): Array<TraceEvent> => {
  const parts: Array<Trace> = []
  let i = index
  while (i >= 0) {
    parts.push(nodes[i]!.events)
    if (nodes[i]!.parent < 0) parts.push(initial.get(nodes[i]!.start) ?? [])
    i = nodes[i]!.parent
  }
  return parts.reverse().flat()
}

const pathOf = <S>(nodes: ReadonlyArray<Node<S>>, index: number): Array<Move> => {
  const path: Array<Move> = []
  for (let i = index; i >= 0 && nodes[i]!.move !== undefined; i = nodes[i]!.parent) path.push(nodes[i]!.move!)
  return path.reverse()
}

export const explore = <S>(
  system: ExplorableSystem<S>,
  properties: ReadonlyArray<SecurityProperty>,
  options: ExploreOptions
): ExploreResult => {
  const started = performance.now()
  newKeySpace()
  const historyKey = options.historyKey ?? defaultHistoryKey
  const summary = options.summary
  const uncovered = summary === undefined ? [] : properties.filter((p) => !summary.covers.includes(p.id)).map((p) => p.id)
  if (uncovered.length > 0) throw new Error(`the path summary does not say what ${uncovered.join(", ")} read(s) of the past: merging on it would be unsound`)
  // Histories and state keys get ids of their own (small, dense), so that a node's dedup key is
  // one number: the long state key is hashed once, when its id is looked up.
  /** The summaries (or history texts) by id: a summary is folded from its parent's. */
  const summaries: Array<string> = []
  const historyId = denseIds((text, id) => {
    summaries[id] = text
  })
  /** The history id after `events`, from the parent's. */
  const historyAfter = (parent: number, events: Trace): number => {
    if (summary !== undefined) return historyId(summary.next(summaries[parent]!, events))
    const part = historyKey(events)
    // Equal histories get equal ids: a history is its parent's id and this step's part.
    return part === "" ? parent : historyId(`${parent};${part}`)
  }
  const stateIdOf = denseIds()
  const startIndex = new Map(system.initial.map((init, i) => [init.name, i]))
  /**
   * A node's dedup key: its start, state id and history id packed into one exact integer (below
   * 2^53 while there are fewer than 2^24 histories and 2^29 / starts states, far beyond what fits
   * in memory; checked, so a packing can never merge two situations).
   */
  const situation = (start: string, stateId: number, history: number): number => {
    if (history >= HISTORY_IDS || stateId * startIndex.size >= 2 ** 53 / HISTORY_IDS) throw new Error("explorer: too many states or histories for a situation id")
    return (stateId * startIndex.size + startIndex.get(start)!) * HISTORY_IDS + history
  }
  const maxStates = options.maxStates ?? Number.POSITIVE_INFINITY
  const initialTraces = new Map(system.initial.map((i) => [i.name, i.trace]))
  const nodes: Array<Node<S>> = []
  const seen = new Set<number>()
  const violations = new Map<string, FoundViolation>()
  let transitions = 0
  let exhaustive = true
  const covered = new Set<string>()
  const covering: Array<{ start: string; moves: ReadonlyArray<Move> }> = []

  // Many nodes share a system state and differ only in history: compute each continuation once.
  // Bounded in two generations: when the young one is full it becomes the old one, and a hit
  // there moves back, so the states the frontier keeps meeting stay (a clear-all cache thrashed
  // at depth 8 of P5, where the distinct states are several times the bound).
  let young = new Map<number, Trace>()
  let old = new Map<number, Trace>()
  const continuationOf = (stateId: number, state: S): Trace => {
    let c = young.get(stateId)
    if (c !== undefined) return c
    c = old.get(stateId) ?? system.continuation(state)
    if (young.size >= CONTINUATIONS_PER_GENERATION) {
      old = young
      young = new Map()
    }
    young.set(stateId, c)
    return c
  }

  type Step = Omit<Node<S>, "history" | "stateId" | "state">

  /**
   * Judge every step, also one that ends where an earlier path already was: the two paths agree on
   * the state and on the history the properties read, but this step's own events (a refusal, a
   * delivery) can break a property at this very step. With a `summary`, such a step is judged
   * without the continuation (`future: undefined`): the summary states that what the properties
   * conclude from any future depends on the past only through it, the earlier path shares it and
   * was judged with the continuation, so only a violation at this step's own events can be new.
   * The default history claims less (it is the facts the properties read, not all they read), and
   * there judging the continuation again is what keeps counterexamples shortest: without it,
   * P3.reuse-revokes-family's shortest counterexample on claimed grew from 2 moves to 4.
   */
  // The steps out of one node are judged one after the other (BFS expands a node's moves
  // together): its trace is built once for all of them.
  let tracedParent = -1
  let parentTrace: ReadonlyArray<TraceEvent> = []
  const traceBefore = (step: Step): ReadonlyArray<TraceEvent> => {
    if (step.parent < 0) parentTrace = initialTraces.get(step.start) ?? []
    else if (step.parent !== tracedParent) parentTrace = traceOf(nodes, step.parent, initialTraces)
    tracedParent = step.parent
    return parentTrace
  }
  const found = (step: Step, p: SecurityProperty, full: Trace, continuation: Trace, future: { readonly state: S } | undefined, v: Violation) => {
    const path = step.parent < 0 ? [] : [...pathOf(nodes, step.parent), step.move!]
    violations.set(p.id, { start: step.start, path, ...reported(p, full.slice(0, full.length - continuation.length), future, v), depth: step.depth })
  }
  /** `parentHistory`: the history id of the path before the step (for a start, its set-up trace's). */
  const judge = (step: Step, parentHistory: number, future: { readonly stateId: number; readonly state: S } | undefined) => {
    if (violations.size === properties.length) return
    const continuation = future === undefined ? [] : continuationOf(future.stateId, future.state)
    if (summary?.broken !== undefined) {
      // A start's set-up trace was never judged: it is part of the future of the empty past.
      const broken =
        step.parent < 0
          ? summary.broken(summary.initial([]), [...(initialTraces.get(step.start) ?? []), ...step.events, ...continuation])
          : summary.broken(summaries[parentHistory]!, continuation.length === 0 ? step.events : step.events.concat(continuation))
      for (const id of broken) {
        const p = properties.find((q) => q.id === id)
        if (p === undefined || violations.has(id)) continue
        const full = traceBefore(step).concat(step.events, continuation)
        const v = p.check(full)
        if (v === undefined) throw new Error(`${id}: the path summary's incremental form says this step breaks it and its check of the whole trace does not`)
        found(step, p, full, continuation, future, v)
      }
      return
    }
    const full = traceBefore(step).concat(step.events, continuation)
    for (const p of properties) {
      if (violations.has(p.id)) continue
      const v = p.check(full)
      if (v !== undefined) found(step, p, full, continuation, future, v)
    }
  }

  /**
   * The memo hands out the continuation of the first state met with this key, which a symmetric
   * key (./keys.ts `symmetricKey`) shares with states that differ by fresh names: the verdict is
   * the same, but the reported trace must be this path's own, so it is computed afresh — and
   * judged again, which checks the symmetry on every counterexample it reports.
   */
  const reported = (p: SecurityProperty, path: Trace, future: { readonly state: S } | undefined, found: Violation): { trace: Trace; violation: Violation } => {
    if (future === undefined) return { trace: path, violation: found }
    const own = [...path, ...system.continuation(future.state)]
    const v = p.check(own)
    if (v === undefined) throw new Error(`${p.id}: the continuation of a state merged with this one breaks it and its own does not: the state key merges states the property tells apart`)
    return { trace: own, violation: v }
  }

  /**
   * With a summary, the verdict on a step into a situation already seen (judged without the
   * continuation, above) is a function of the parent's summary and the step's own events — the
   * summary's contract, with this step as the future. So each such pair is judged once; only
   * "nothing broken" is remembered, since a property found broken is not judged again. Most steps
   * of P5 end in a situation already seen, and most of those repeat a pair. With the summary's
   * incremental form (`broken`) a judgment is a scan of the step's events from the parent's
   * readings, cheaper than the pair's key: P5 depth 9 ran 4 % faster without the memo.
   */
  const passed = new Set<number>()
  /** Ids of the steps' events (`eventsKey`): far fewer than the pairs, so a pair is two small numbers. */
  const eventIds = new Map<string, number>()
  const judgeSeen = (step: Step, parentHistory: number) => {
    if (step.parent < 0 || summary?.broken !== undefined) return judge(step, parentHistory, undefined)
    const key = eventsKey(step.events)
    let events = eventIds.get(key)
    if (events === undefined) eventIds.set(key, (events = eventIds.size))
    const pair = events * HISTORY_IDS + parentHistory
    if (passed.has(pair)) return
    const broken = violations.size
    judge(step, parentHistory, undefined)
    if (violations.size !== broken) return
    if (passed.size >= PASSED_PAIRS) {
      passed.clear()
      eventIds.clear()
    }
    passed.add(pair)
  }

  const admit = (step: Step, state: S, parentHistory: number, parent?: { readonly state: S; readonly stateId: number }): boolean => {
    const stateId = parent !== undefined && sameFields(parent.state, state) ? parent.stateId : stateIdOf(system.key(state))
    const history = historyAfter(parentHistory, step.events)
    const k = situation(step.start, stateId, history)
    if (seen.has(k)) {
      if (summary === undefined) judge(step, parentHistory, { stateId, state })
      else judgeSeen(step, parentHistory)
      return false
    }
    judge(step, parentHistory, { stateId, state })
    seen.add(k)
    // A node at the bound is never expanded: its state is not kept (most nodes are on the last level).
    nodes.push({ parent: step.parent, move: step.move, events: step.events, depth: step.depth, start: step.start, state: step.depth < options.depth ? state : undefined, history, stateId })
    if (system.cover !== undefined) {
      const c = `${step.start}|${system.cover(state)}`
      if (!covered.has(c)) {
        covered.add(c)
        covering.push({ start: step.start, moves: pathOf(nodes, nodes.length - 1) })
      }
    }
    return true
  }

  for (const init of system.initial)
    admit({ parent: -1, move: undefined, events: [], depth: 0, start: init.name }, init.state, historyId(summary === undefined ? historyKey(init.trace) : summary.initial(init.trace)))

  // BFS: nodes[] doubles as the queue; `head` walks it.
  const maxHeap = options.maxHeapBytes ?? Math.floor(getHeapStatistics().heap_size_limit * 0.75)
  let stopped: string | undefined
  let nextCheck = CHECK_EVERY
  for (let head = 0; head < nodes.length; head++) {
    const node = nodes[head]!
    if (node.depth >= options.depth) continue
    const state = node.state!
    node.state = undefined
    if (nodes.length >= maxStates) {
      exhaustive = false
      stopped = `state cap of ${maxStates} states reached at depth ${node.depth}`
      break
    }
    if (nodes.length >= nextCheck) {
      nextCheck = nodes.length + CHECK_EVERY
      const heap = process.memoryUsage().heapUsed
      if (heap > maxHeap) {
        exhaustive = false
        stopped = `memory guard: the heap reached ${Math.round(heap / 2 ** 20)} MiB (limit ${Math.round(maxHeap / 2 ** 20)} MiB) at depth ${node.depth}, ${nodes.length} states`
        break
      }
      const millis = performance.now() - started
      options.onProgress?.({ depth: node.depth, states: nodes.length, statesPerSecond: millis > 0 ? Math.round((nodes.length / millis) * 1000) : 0 })
    }
    for (const move of system.moves(state)) {
      const next = system.step(state, move)
      if (next === undefined) continue
      transitions++
      admit({ parent: head, move, events: next.events, depth: node.depth + 1, start: node.start }, next.state, node.history, { state, stateId: node.stateId })
    }
  }

  const millis = performance.now() - started
  return {
    states: nodes.length,
    transitions,
    depth: options.depth,
    exhaustive,
    millis,
    statesPerSecond: millis > 0 ? Math.round((nodes.length / millis) * 1000) : nodes.length,
    violations,
    covering,
    ...(stopped === undefined ? {} : { stopped })
  }
}
