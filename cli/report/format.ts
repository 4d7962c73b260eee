/**
 * Small formatting helpers shared by the Markdown report and the terminal output.
 */
import type { AuditCheck, AuditReport, Finding, Severity, WorldVerdict } from "../../properties/audit/report.ts"

export const duration = (millis: number): string =>
  millis < 1 ? "<1 ms" : millis < 1000 ? `${Math.round(millis)} ms` : millis < 60_000 ? `${(millis / 1000).toFixed(1)} s` : `${Math.floor(Math.round(millis / 1000) / 60)} min ${Math.round(millis / 1000) % 60} s`

export const count = (n: number): string => Math.round(n).toLocaleString("en-US")

export const verdictText = (v: WorldVerdict | "error"): string =>
  v === "holds" ? "✔ holds" : v === "fails" ? "✘ fails" : v === "error" ? "⚠ error" : "n/a"

export const subjectOf = (c: Pick<AuditCheck, "variant" | "mutant">): string => c.variant ?? `mutant:${c.mutant}`

/** The most severe finding about one check, if any: what the check means for the audit. */
export const checkStatus = (report: AuditReport, check: AuditCheck): Severity | "ok" => {
  const subject = subjectOf(check)
  const severities = report.findings
    .filter((f) => f.protocol === check.protocol && f.subject === subject)
    // A dead explorer is one finding for the whole subject, without a property.
    .filter((f) => f.property === check.property || (f.kind === "check-error" && f.property === undefined && check.model.verdict === "error"))
    .map((f) => f.severity)
  return severities.includes("error") ? "error" : severities.includes("warning") ? "warning" : severities.includes("expected") ? "expected" : "ok"
}

export const statusText: Record<Severity | "ok", string> = { ok: "ok", expected: "expected finding", warning: "warning", error: "ERROR" }

export const findingTitle = (f: Finding): string => {
  const where = f.property ? `${f.property} on ${f.subject}` : f.subject
  const world = f.world ? ` (${f.world === "impl" ? "implementation" : "model"})` : ""
  switch (f.kind) {
    case "hardened-fails":
      return `${f.property} fails on hardened${world}`
    case "weakness":
      return `${f.property} fails on claimed${world}`
    case "unexpected-failure":
      return `${f.property} fails on claimed, unexpectedly${world}`
    case "unexpected-hold":
      return `${where}: holds, expected to fail`
    case "disagreement":
      return `model and implementation disagree: ${where}`
    case "mutant-survived":
      return `mutant ${f.mutant} survives`
    case "mutant-missed":
      return `mutant ${f.mutant}: not killed by its expected properties`
    case "not-exhaustive":
      return `exploration of ${f.subject} not exhaustive`
    case "check-error":
      return `check could not run: ${where}${world}`
  }
}

export const headline = (report: AuditReport): string => {
  const s = report.summary
  const parts = [
    `${s.checks} check${s.checks === 1 ? "" : "s"}${s.implNotRun > 0 ? ` (${s.implNotRun} implementation checks of killed mutants left out)` : ""}`,
    `${s.errors} error${s.errors === 1 ? "" : "s"}`,
    `${s.expected} expected finding${s.expected === 1 ? "" : "s"} on claimed`,
    `${s.warnings} warning${s.warnings === 1 ? "" : "s"}`,
    ...(s.mutants > 0 ? [`${s.mutantsKilled}/${s.mutants} mutants killed`] : [])
  ]
  return `${report.ok ? "PASS" : "FAIL"} (exit ${report.exitCode}) — ${parts.join(", ")}; ${duration(s.millis)}`
}

/** The check a finding is about, when it is about one. */
export const checkOf = (report: AuditReport, f: Finding): AuditCheck | undefined => {
  if (f.property === undefined) return undefined
  const pool = f.mutant !== undefined ? (report.mutants.find((m) => m.protocol === f.protocol && m.name === f.mutant)?.checks ?? []) : report.checks
  return pool.find((c) => c.protocol === f.protocol && c.property === f.property && subjectOf(c) === f.subject)
}

/** The other world's counterexample for the same check, when both worlds found one. */
export const otherCounterexample = (report: AuditReport, f: Finding) => {
  const check = checkOf(report, f)
  if (check === undefined || f.counterexample === undefined) return undefined
  return f.counterexample.world === "model" ? check.impl.counterexample : check.model.counterexample
}
