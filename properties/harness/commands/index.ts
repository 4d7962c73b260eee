/**
 * The arbitrary of conformance command sequences for a protocol: which user actions, actors and
 * forgeries it has is the protocol's to say; the commands themselves are generic.
 */
import fc from "fast-check"
import type { Move } from "../../../spec/attacker.ts"
import { AttackerCommand } from "./attacker-command.ts"
import { DeliverCommand } from "./deliver-command.ts"
import { FaultCommand } from "./fault-command.ts"
import type { ConformanceModel, MoveCommand } from "./move-command.ts"
import type { World } from "../world.ts"
import { UserCommand } from "./user-command.ts"

export { type ConformanceModel, MoveCommand } from "./move-command.ts"

export interface CommandVocabulary {
  /** `[actor, action]` user actions, e.g. `["client", "login"]`. */
  readonly users: ReadonlyArray<readonly [string, string]>
  /** Participants that can crash or time out. */
  readonly actors: ReadonlyArray<string>
  readonly attacks: ReadonlyArray<Extract<Move, { _tag: "Compromise" | "Inject" }>>
}

export const moveCommands = <O>(vocabulary: CommandVocabulary, maxCommands: number) =>
  fc.commands<ConformanceModel<O>, World<O>>(
    [
      fc.constantFrom(...vocabulary.users).chain(([actor, action]) => fc.boolean().map((honest) => new UserCommand<O>(actor, action, honest))),
      fc.tuple(fc.nat({ max: 64 }), fc.boolean()).map(([index, redirect]) => new DeliverCommand<O>(index, redirect)),
      fc.tuple(fc.constantFrom("Crash" as const, "Timeout" as const), fc.constantFrom(...vocabulary.actors)).map(([kind, actor]) => new FaultCommand<O>(kind, actor)),
      ...(vocabulary.attacks.length === 0 ? [] : [fc.constantFrom(...vocabulary.attacks).map((move) => new AttackerCommand<O>(move))])
    ] as Array<fc.Arbitrary<MoveCommand<O>>>,
    { maxCommands }
  )
