/** A participant's user action (`client: login`), or the whole exchange it starts when `honest`. */
import type { Move } from "../../../spec/attacker.ts"
import { describeMove, enabledAs, MoveCommand } from "./move-command.ts"

export class UserCommand<O> extends MoveCommand<O> {
  constructor(
    readonly actor: string,
    readonly action: string,
    readonly honest: boolean
  ) {
    super()
  }
  private get move(): Move {
    return { _tag: this.honest ? "Honest" : "User", actor: this.actor, action: this.action }
  }
  protected resolve(enabled: ReadonlyArray<Move>) {
    return enabledAs(enabled, this.move)
  }
  toString() {
    return describeMove(this.move)
  }
}
