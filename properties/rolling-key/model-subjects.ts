/**
 * What the P5 model tests explore: both variants and every mutant with a model side, each as a
 * policy and a model flaw for `rollingKey.model.system`, and the properties the model judges.
 */
import { rollingKey } from "./definition.ts"

export const modelSubjects = [
  { name: "claimed", policy: rollingKey.policies.claimed, flaw: undefined },
  { name: "hardened", policy: rollingKey.policies.hardened, flaw: undefined },
  ...rollingKey.mutants.filter((m) => m.model !== undefined).map((m) => ({ name: `mutant ${m.name}`, policy: rollingKey.policies.hardened, flaw: m.model }))
]

export const modelProperties = rollingKey.properties.filter((p) => p.judgedIn.includes("model"))
