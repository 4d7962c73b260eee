/**
 * A `World` is one running instance of a protocol — the symbolic model or the real
 * implementation — seen through the attacker's moves (spec/attacker.ts). A run is a sequence of
 * choices; at each step the choice indexes the moves enabled then ("replay message #k" is an
 * index resolved at run time, as fast-check's model-based testing advises), so the same choice
 * list replays the same run and shrinks towards shorter, simpler ones.
 *
 * Worlds are synchronous: our noble layer and in-memory stores never suspend, which keeps a
 * property run cheap and its replay exact.
 */
import { type Move, encodeMove, formatMove } from "../../spec/attacker.ts"
import type { Trace, TraceEvent } from "../../spec/trace.ts"

export interface World<Observation> {
  /** The events of the world's set-up (e.g. an honest registration), before any attacker move. */
  readonly initialTrace: Trace
  /** The moves enabled now, in a fixed order. */
  readonly moves: () => ReadonlyArray<Move>
  /** Apply one enabled move; returns the trace events it produced. */
  readonly step: (move: Move) => Trace
  /** What the conformance driver compares between worlds. */
  readonly observe: () => Observation
  /** Faults stop: `FaultsEnd` and the honest party's fault-free attempt. */
  readonly continuation: () => Trace
}

export interface Run {
  readonly moves: ReadonlyArray<Move>
  readonly trace: Trace
}

/**
 * The kind of a move, for picking: the move's tag, and for injections the recipe's family
 * (`Inject:grant`, `Inject:malformed`, `Inject:tamper`), so a dozen kinds of garbage do not drown
 * the one forged message that matters. A race (two deliveries at once, properties/harness/race.ts)
 * is a delivery: as a kind of its own it made every other attack rarer (P2b's mutants took 11.7 →
 * 15.2 runs to a kill on average, 4 seeds); among the deliveries P3's took 8.1 → 6.8. Telling
 * first deliveries from replays as two kinds was measured and left out: over every definition
 * mutant it made kills slower (10.0 → 12.5 runs on average) and let 6 of 237 mutant × property
 * pairs survive 100 runs where 1 did.
 */
export const moveKind = (m: Move): string =>
  m._tag !== "Inject" ? m._tag : m.forge.startsWith("race:") ? "Deliver" : `Inject:${m.forge.split(":")[0]}`

/** FNV-1a of a kind's name, to one of 16 swarm bits: a kind's bit does not depend on which others are enabled. */
const swarmBit = (kind: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < kind.length; i++) h = Math.imul(h ^ kind.charCodeAt(i), 0x01000193)
  return 1 << ((h >>> 0) % 16)
}

/**
 * The kinds a run picks from, in a fixed order. `swarm` is a swarm-testing mask (Groce et al.,
 * "Swarm testing", ISSTA 2012): a run leaves out every kind whose bit is clear, so some runs
 * never crash anyone, or never inject garbage, and go deeper into what the other kinds reach.
 * 0 keeps every kind; a mask that would leave no enabled move keeps every kind too.
 */
const kindsOf = (enabled: ReadonlyArray<Move>, swarm: number): Array<string> => {
  const kinds = [...new Set(enabled.map(moveKind))]
  if (swarm === 0) return kinds
  const kept = kinds.filter((k) => (swarmBit(k) & swarm) !== 0)
  return kept.length > 0 ? kept : kinds
}

/**
 * Pick a move with a choice number: first the kind of move, then one of that kind. Deliveries far
 * outnumber the rest (every message ever sent can be replayed), so a flat pick would almost never
 * compromise a device or complete a login; picking the kind first keeps rare moves likely.
 */
export const pickMove = (enabled: ReadonlyArray<Move>, choice: number, swarm = 0): Move => {
  const kinds = kindsOf(enabled, swarm)
  const kind = kinds[choice % kinds.length]!
  const ofKind = enabled.filter((m) => moveKind(m) === kind)
  return ofKind[Math.floor(choice / kinds.length) % ofKind.length]!
}

/** The choice that makes `pickMove(enabled, ·)` (every kind) return `move`, if it is enabled. */
export const choiceOf = (enabled: ReadonlyArray<Move>, move: Move): number | undefined => {
  const kinds = kindsOf(enabled, 0)
  const wanted = encodeMove(move)
  const index = enabled.filter((m) => moveKind(m) === moveKind(move)).findIndex((m) => encodeMove(m) === wanted)
  return index < 0 ? undefined : kinds.indexOf(moveKind(move)) + index * kinds.length
}

/** Resolve each choice against the moves enabled at that point and apply it. */
export const runChoices = <O>(world: World<O>, choices: ReadonlyArray<number>, options: { readonly continuation: boolean; readonly swarm?: number }): Run => {
  const moves: Array<Move> = []
  const trace: Array<TraceEvent> = [...world.initialTrace]
  for (const choice of choices) {
    const enabled = world.moves()
    if (enabled.length === 0) break
    const move = pickMove(enabled, choice, options.swarm)
    moves.push(move)
    trace.push(...world.step(move))
  }
  if (options.continuation) trace.push(...world.continuation())
  return { moves, trace }
}

/** Apply explicit moves (a replayed path); a move not enabled any more is an error, not a skip. */
export const runMoves = <O>(world: World<O>, moves: ReadonlyArray<Move>, options: { readonly continuation: boolean }): Run => {
  const trace: Array<TraceEvent> = [...world.initialTrace]
  for (const move of moves) {
    const enabled = world.moves().map(encodeMove)
    if (!enabled.includes(encodeMove(move))) throw new Error(`move not enabled: ${formatMove(move)} (enabled: ${enabled.join(" ")})`)
    trace.push(...world.step(move))
  }
  if (options.continuation) trace.push(...world.continuation())
  return { moves, trace }
}
