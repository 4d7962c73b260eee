/** The attacker acting on its own: copying a participant's storage (a clone), or injecting a forgery. */
import type { Move } from "../../../spec/attacker.ts"
import { describeMove, enabledAs, MoveCommand } from "./move-command.ts"

export class AttackerCommand<O> extends MoveCommand<O> {
  constructor(readonly move: Extract<Move, { _tag: "Compromise" | "Inject" }>) {
    super()
  }
  protected resolve(enabled: ReadonlyArray<Move>) {
    return enabledAs(enabled, this.move)
  }
  toString() {
    return describeMove(this.move)
  }
}
