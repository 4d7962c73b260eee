/**
 * Conformance as fast-check model-based testing: the symbolic model is fast-check's "model", the
 * implementation is the "real" system, and each command is one attacker move. `check` asks the
 * model whether the move is enabled; `run` applies it to both and requires the same observation
 * and the same verdicts afterwards. One class per kind of move (this folder); this is their base.
 */
import type fc from "fast-check"
import { expect } from "vitest"
import { encodeMove, formatMove, type Move } from "../../../spec/attacker.ts"
import type { Trace } from "../../../spec/trace.ts"
import type { World } from "../world.ts"

export interface ConformanceModel<O> {
  readonly world: World<O>
  /** The verdict events both worlds must agree on (a protocol may word some refusals differently). */
  readonly verdicts: (trace: Trace) => ReadonlyArray<string>
  /** Moves applied so far, in replayable form, for the failure message. */
  readonly done: Array<string>
}

export abstract class MoveCommand<O> implements fc.Command<ConformanceModel<O>, World<O>> {
  /** The concrete move this command stands for, among those the model enables now (if any). */
  protected abstract resolve(enabled: ReadonlyArray<Move>): Move | undefined

  check(m: Readonly<ConformanceModel<O>>): boolean {
    return this.resolve(m.world.moves()) !== undefined
  }

  run(m: ConformanceModel<O>, real: World<O>): void {
    const move = this.resolve(m.world.moves())!
    m.done.push(encodeMove(move))
    const expected = m.world.step(move)
    const actual = real.step(move)
    const where = `after ${m.done.join(" ")}`
    expect(real.observe(), where).toEqual(m.world.observe())
    expect(m.verdicts(actual), where).toEqual(m.verdicts(expected))
  }

  abstract toString(): string
}

/** The enabled move equal to `wanted`, if it is enabled. */
export const enabledAs = (enabled: ReadonlyArray<Move>, wanted: Move): Move | undefined =>
  enabled.find((m) => encodeMove(m) === encodeMove(wanted))

export const describeMove = (m: Move): string => formatMove(m)
