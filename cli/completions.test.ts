/**
 * Shell completions as a user gets them: the bash script `authlab --completions bash` prints is
 * loaded into a real bash, which is asked what `authlab audit --variant <TAB>` offers.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { makeFakeSuite } from "../properties/testing/fake-suite.ts"
import { bashCompletionsAsked, separateChoices } from "./completions.ts"
import { recordingConsole } from "./testing/console.ts"
import { runCli } from "./testing/run-cli.ts"

/** The words bash's completion function offers for the command line `words` (the last one is being typed). */
const scripts = mkdtempSync(join(tmpdir(), "authlab-completions-"))
afterAll(() => rmSync(scripts, { recursive: true, force: true }))

const bashOffers = (script: string, words: ReadonlyArray<string>): ReadonlyArray<string> => {
  const file = join(scripts, "authlab.bash")
  writeFileSync(file, script)
  const quoted = words.map((w) => `'${w}'`).join(" ")
  const probe = `source '${file}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _authlab_bash_completions authlab; printf '%s\\n' "\${COMPREPLY[@]}"`
  const r = spawnSync("bash", ["--norc", "--noprofile", "-c", probe], { encoding: "utf8" })
  assert.strictEqual(r.status, 0, r.stderr)
  return r.stdout.split("\n").filter((w) => w !== "")
}

describe("authlab --completions bash", () => {
  let script: string
  beforeAll(async () => {
    const r = await Effect.runPromise(runCli([makeFakeSuite()], ["--completions", "bash"]))
    assert.strictEqual(r.exitCode, undefined, r.stderr)
    script = r.stdout
  })

  it("offers each variant as its own word", () => {
    assert.deepStrictEqual(bashOffers(script, ["authlab", "audit", "--variant", ""]), ["claimed", "hardened"])
    assert.deepStrictEqual(bashOffers(script, ["authlab", "audit", "--variant", "h"]), ["hardened"])
  })

  it("still offers the commands and the audit's options", () => {
    assert.includeMembers([...bashOffers(script, ["authlab", ""])], ["audit", "merge", "diagram", "bench"])
    assert.includeMembers([...bashOffers(script, ["authlab", "audit", "--v"])], ["--variant", "--verbose", "--version"])
  })

  it("is asked for by --completions bash, sh or =bash, not by other shells", () => {
    assert.isTrue(bashCompletionsAsked(["--completions", "bash"]))
    assert.isTrue(bashCompletionsAsked(["--completions", "sh"]))
    assert.isTrue(bashCompletionsAsked(["--completions=bash"]))
    assert.isFalse(bashCompletionsAsked(["--completions", "zsh"]))
    assert.isFalse(bashCompletionsAsked(["audit", "--variant", "bash"]))
  })

  it("rewrites only literal word lists, never the ${opts} ones", () => {
    assert.strictEqual(separateChoices(`compgen -W "a,b,c" -- "\${cur}"; compgen -W "\${opts}" -- "\${cur}"`), `compgen -W "a b c" -- "\${cur}"; compgen -W "\${opts}" -- "\${cur}"`)
  })
})

describe("authlab --completions zsh and fish (@effect/cli's own scripts)", () => {
  it.effect.each([
    ["zsh", ":CHOICE:(claimed hardened)"],
    ["fish", `-l variant -r -f -a "{claimed'',hardened''}"`]
  ] as const)("%s lists the variants as separate words", ([shell, expected]) =>
    Effect.gen(function* () {
      const recording = recordingConsole()
      const r = yield* runCli([makeFakeSuite()], ["--completions", shell]).pipe(Effect.withConsole(recording.console))
      assert.strictEqual(r.exitCode, undefined)
      assert.include(recording.text(), expected)
    }))
})
