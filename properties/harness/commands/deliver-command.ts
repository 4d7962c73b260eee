/**
 * Deliver the k-th deliverable message (k resolved against what is on the wire when the command
 * runs: fast-check's advice for commands that refer to earlier things), first time or replay;
 * `redirect` prefers delivering it to another participant than its addressee.
 */
import type { Move } from "../../../spec/attacker.ts"
import { MoveCommand } from "./move-command.ts"

export class DeliverCommand<O> extends MoveCommand<O> {
  constructor(
    readonly index: number,
    readonly redirect: boolean
  ) {
    super()
  }
  protected resolve(enabled: ReadonlyArray<Move>) {
    const deliveries = enabled.filter((m) => m._tag === "Deliver" && (m.to !== undefined) === this.redirect)
    return deliveries.length === 0 ? undefined : deliveries[this.index % deliveries.length]
  }
  toString() {
    return `deliver the ${this.index}th deliverable message${this.redirect ? ", redirected" : ""}`
  }
}
