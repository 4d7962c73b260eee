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
 * the one forged message that matters.
 */
export const moveKind = (m: Move): string => (m._tag === "Inject" ? `Inject:${m.forge.split(":")[0]}` : m._tag)

/**
 * Pick a move with a choice number: first the kind of move, then one of that kind. Deliveries far
 * outnumber the rest (every message ever sent can be replayed), so a flat pick would almost never
 * compromise a device or complete a login; picking the kind first keeps rare moves likely.
 */
export const pickMove = (enabled: ReadonlyArray<Move>, choice: number): Move => {
  const kinds = [...new Set(enabled.map(moveKind))]
  const kind = kinds[choice % kinds.length]!
  const ofKind = enabled.filter((m) => moveKind(m) === kind)
  return ofKind[Math.floor(choice / kinds.length) % ofKind.length]!
}

/** The choice that makes `pickMove(enabled, ·)` return `move`, if it is enabled. */
export const choiceOf = (enabled: ReadonlyArray<Move>, move: Move): number | undefined => {
  const kinds = [...new Set(enabled.map(moveKind))]
  const wanted = encodeMove(move)
  const index = enabled.filter((m) => moveKind(m) === moveKind(move)).findIndex((m) => encodeMove(m) === wanted)
  return index < 0 ? undefined : kinds.indexOf(moveKind(move)) + index * kinds.length
}

/** Resolve each choice against the moves enabled at that point and apply it. */
export const runChoices = <O>(world: World<O>, choices: ReadonlyArray<number>, options: { readonly continuation: boolean }): Run => {
  const moves: Array<Move> = []
  const trace: Array<TraceEvent> = [...world.initialTrace]
  for (const choice of choices) {
    const enabled = world.moves()
    if (enabled.length === 0) break
    const move = pickMove(enabled, choice)
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
