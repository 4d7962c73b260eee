/**
 * `authlab diagram PROTOCOL`: the Mermaid state diagram of each participant machine and a
 * sequence diagram of the honest run of each variant, generated from the model, as Markdown.
 */
import { Args, Command } from "@effect/cli"
import { Effect } from "effect"
import { variants } from "../../spec/property.ts"
import type { ProtocolSuite } from "../../properties/suite.ts"
import { Output } from "../output.ts"
import { sequenceMarkdown } from "../report/markdown.ts"
import { stateDiagram } from "../report/mermaid.ts"

const mermaid = (body: string) => `\`\`\`mermaid\n${body}\n\`\`\`\n`

export const renderDiagrams = (suite: ProtocolSuite): string => {
  const out = [`# ${suite.protocol} — ${suite.title}\n`]
  for (const { participant, machine } of suite.machines) {
    out.push(`## ${participant} (state machine)\n`, mermaid(stateDiagram(machine)))
  }
  for (const variant of ["hardened", ...variants.filter((v) => v !== "hardened")] as const) {
    out.push(`## Honest run (${variant})\n`, `${sequenceMarkdown(suite.honestRun(variant))}\n`)
  }
  return out.join("\n")
}

export const diagramCommand = (suites: ReadonlyArray<ProtocolSuite>) =>
  Command.make("diagram", { protocol: Args.text({ name: "PROTOCOL" }).pipe(Args.withDescription("The protocol, e.g. rolling-key.")) }, ({ protocol }) =>
    Effect.gen(function* () {
      const io = yield* Output
      const suite = suites.find((s) => s.protocol === protocol)
      if (suite === undefined) {
        io.err(`authlab diagram: unknown protocol ${protocol}; known: ${suites.map((s) => s.protocol).join(", ") || "(none registered)"}\n`)
        io.setExitCode(2)
        return
      }
      const text = yield* Effect.try(() => renderDiagrams(suite)).pipe(Effect.either)
      if (text._tag === "Left") {
        io.err(`authlab diagram: ${text.left.message}\n`)
        io.setExitCode(1)
        return
      }
      io.out(text.right)
    })
  ).pipe(
    Command.withDescription(
      "Print, as Markdown with Mermaid blocks, the state diagram of each participant machine and a sequence diagram of the honest run (hardened, then claimed), generated from the model."
    )
  )
