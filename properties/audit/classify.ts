/** What one check means for the audit, as findings (none when all is as expected). */
import type { AuditCheck, CounterexampleReport, Finding } from "./report.ts"

export const classify = (check: AuditCheck, subject: string): ReadonlyArray<Finding> => {
  if (check.verdict === "error") return [] // reported where the check died
  const base = {
    protocol: check.protocol,
    subject,
    ...(check.variant !== undefined ? { variant: check.variant } : {}),
    ...(check.mutant !== undefined ? { mutant: check.mutant } : {}),
    property: check.property,
    statement: check.statement
  }
  const withCx = (cx: CounterexampleReport | undefined) => (cx ? { world: cx.world, counterexample: cx } : {})
  const { model, impl } = check
  const judgedBoth = model.verdict !== "n/a" && impl.verdict !== "n/a"
  if (judgedBoth && model.verdict !== impl.verdict) {
    // On a mutant the two worlds may reach the flaw at different bounds; worth a look, not a failure.
    return [
      {
        kind: "disagreement",
        severity: check.variant !== undefined ? "error" : "warning",
        ...base,
        message: `model and implementation disagree on ${check.property} (${subject}): the model says ${model.verdict} (${model.states} states, depth ${model.depth}), the implementation says ${impl.verdict} (${impl.runs} runs)`,
        ...withCx(model.counterexample ?? impl.counterexample)
      }
    ]
  }
  if (check.variant === undefined) return [] // a mutant's verdicts feed the kill matrix
  const cx = check.counterexample
  if (check.verdict === "fails") {
    if (check.variant === "hardened")
      return [{ kind: "hardened-fails", severity: "error", ...base, message: `${check.property} fails on hardened: ${cx?.violation.reason ?? "no counterexample given"}`, ...withCx(cx) }]
    if (check.expected === "fails")
      return [{ kind: "weakness", severity: "expected", ...base, message: `${check.property} fails on claimed, as expected: ${cx?.violation.reason ?? "no counterexample given"}`, ...withCx(cx) }]
    return [{ kind: "unexpected-failure", severity: "warning", ...base, message: `${check.property} fails on claimed, where it was expected to hold: ${cx?.violation.reason ?? "no counterexample given"}`, ...withCx(cx) }]
  }
  if (check.expected === "fails") {
    const searched = [
      ...(model.verdict !== "n/a" ? [`${model.states} model states to depth ${model.depth}`] : []),
      ...(impl.verdict !== "n/a" ? [`${impl.runs} implementation runs`] : [])
    ].join(" and ")
    return [
      {
        kind: "unexpected-hold",
        severity: "warning",
        ...base,
        message: `${check.property} holds on ${check.variant}, where it was expected to fail: no attack found in ${searched}`
      }
    ]
  }
  return []
}

