/**
 * An independent mutation trial: source-level single-fault mutants of `impl/` (not the
 * definitions' mutant decorators), each applied to the tree, judged by `trial.ts` in a fresh
 * process, and undone. A mutant is `{ name, file, old, new }`; `old` must occur exactly once.
 *
 *   node --import tsx tools/mutation-trial/run.ts P5 tools/mutation-trial/p5.json
 *
 * It edits the sources it is run on: run it in a worktree of its own (`MUT_ROOT`, default the
 * current directory), never next to a test run.
 */
import { execFileSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"

interface Mutant {
  readonly name: string
  readonly file: string
  readonly old: string
  readonly new: string
}

const [code, list] = process.argv.slice(2)
if (code === undefined || list === undefined) {
  console.error("usage: run.ts <protocol code> <mutants.json>")
  process.exit(2)
}
const root = process.env.MUT_ROOT ?? process.cwd()
const mutants = JSON.parse(readFileSync(list, "utf8")) as ReadonlyArray<Mutant>
let restore: (() => void) | undefined
process.on("SIGINT", () => {
  restore?.()
  process.exit(130)
})
let survived = 0
for (const m of mutants) {
  const path = join(root, m.file)
  const original = readFileSync(path, "utf8")
  const at = original.indexOf(m.old)
  if (at < 0 || original.indexOf(m.old, at + 1) >= 0) {
    console.log(`${m.name}: SKIP (the text to replace occurs ${at < 0 ? "nowhere" : "more than once"})`)
    continue
  }
  restore = () => writeFileSync(path, original)
  writeFileSync(path, original.slice(0, at) + m.new + original.slice(at + m.old.length))
  let out: string
  try {
    out = execFileSync("node", ["--import", "tsx", join(root, "tools/mutation-trial/trial.ts"), code], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
  } catch (e) {
    out = `crashed: ${String((e as { stderr?: string }).stderr ?? e).split("\n").slice(0, 3).join(" ")}\nKILLED`
  } finally {
    restore()
    restore = undefined
  }
  const lines = out.trim().split("\n")
  const verdict = lines.at(-1)
  if (verdict === "SURVIVED") survived++
  console.log(`${m.name}: ${verdict}${verdict === "KILLED" ? ` — ${lines[0]?.slice(0, 200)}` : ""}`)
}
console.log(`${survived} of ${mutants.length} survived`)
