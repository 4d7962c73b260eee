/** A fault: crash-restart of a participant, or its timer firing. */
import { enabledAs, MoveCommand } from "./move-command.ts"
import type { Move } from "../../../spec/attacker.ts"

export class FaultCommand<O> extends MoveCommand<O> {
  constructor(
    readonly kind: "Crash" | "Timeout",
    readonly actor: string
  ) {
    super()
  }
  protected resolve(enabled: ReadonlyArray<Move>) {
    return enabledAs(enabled, { _tag: this.kind, actor: this.actor })
  }
  toString() {
    return `${this.actor} ${this.kind === "Crash" ? "crashes and restarts" : "times out"}`
  }
}
