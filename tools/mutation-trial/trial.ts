/**
 * One protocol's hardened implementation judged by every implementation property and by
 * step-wise conformance, as the audit judges it (all guidance, AUTHLAB_RUNS runs, seed 42). Prints
 * one line per check that fails; `run.ts` calls it once per mutant in a fresh process, so the
 * mutated source is what gets loaded.
 *
 *   node --import tsx tools/mutation-trial/trial.ts P5
 */
import { Effect } from "effect"
import { definitions } from "../../cli/protocols.ts"
import { runs } from "../../properties/harness/config.ts"
import { makeSuite } from "../../properties/harness/suite-kit.ts"

const code = process.argv[2]
const def = definitions.find((d) => d.code === code)
if (def === undefined) {
  console.error(`usage: trial.ts <${definitions.map((d) => d.code).join("|")}>`)
  process.exit(2)
}
const suite = makeSuite(def)
const subject = { kind: "variant", variant: "hardened" } as const
const failures: Array<string> = []
for (const property of def.properties.filter((p) => p.judgedIn.includes("impl"))) {
  try {
    const j = suite.checkImplNow(subject, property, { runs, seed: 42 })
    if (j.verdict !== property.expected.hardened) failures.push(`${property.id} ${j.verdict} (found by ${j.verdict === "fails" ? j.foundBy : "-"}): ${j.counterexample?.steps.join(" ") ?? ""}`)
  } catch (e) {
    failures.push(`${property.id} threw: ${String(e).split("\n")[0]}`)
  }
}
try {
  const c = Effect.runSync(suite.conform(subject, { runs, seed: 42 }))
  if (c.verdict !== "agrees") failures.push(`conformance disagrees: ${c.disagreement?.what} after ${c.disagreement?.moves.join(" ")}`)
} catch (e) {
  failures.push(`conformance threw: ${String(e).split("\n")[0]}`)
}
for (const f of failures) console.log(f)
console.log(failures.length === 0 ? "SURVIVED" : "KILLED")
