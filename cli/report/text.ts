/**
 * The audit on a terminal: the progress line, the summary table, and the findings with their
 * numbered counterexamples and replay commands (what a replay command prints).
 */
import type { AuditProgress } from "../../properties/audit/plan.ts"
import type { AuditReport, CounterexampleReport, Finding } from "../../properties/audit/report.ts"
import { formatEvent } from "../../spec/trace.ts"
import { checkStatus, count, duration, findingTitle, headline, otherCounterexample, statusText, subjectOf, verdictText } from "./format.ts"

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>, right: ReadonlySet<number> = new Set()): string => {
  const width = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (r: ReadonlyArray<string>) =>
    r.map((c, i) => (right.has(i) ? c.padStart(width[i]!) : c.padEnd(width[i]!))).join("  ").trimEnd()
  return [line(header), width.map((w) => "─".repeat(w)).join("  "), ...rows.map(line)].join("\n")
}

export const summaryText = (report: AuditReport): string => {
  const rows = report.checks.map((c) => [
    c.protocol,
    subjectOf(c),
    c.property,
    verdictText(c.model.verdict),
    c.model.verdict === "n/a" ? "" : count(c.model.states),
    verdictText(c.impl.verdict),
    c.impl.verdict === "n/a" ? "" : count(c.impl.runs),
    c.impl.verdict === "n/a" ? "—" : duration(c.millis),
    statusText[checkStatus(report, c)]
  ])
  const out = [table(["protocol", "variant", "property", "model", "states", "impl", "runs", "time", "status"], rows, new Set([4, 6, 7]))]
  if (report.explorations.length > 0) {
    out.push("")
    for (const e of report.explorations)
      out.push(
        e.error
          ? `model ${e.protocol} ${e.subject}: explorer died: ${e.error}`
          : `model ${e.protocol} ${e.subject}: ${count(e.states)} states, ${count(e.transitions)} transitions to depth ${e.depth}` +
              ` in ${duration(e.millis)} (${count(e.statesPerSecond)} states/s${e.exhaustive ? ", exhaustive" : ", NOT exhaustive: a cap was hit"})`
      )
  }
  if (report.conformance.length > 0) {
    out.push("")
    for (const c of report.conformance)
      out.push(
        `conformance ${c.protocol} ${c.subject}: ${c.error ? `died: ${c.error}` : c.disagreement ? `DISAGREES: ${c.disagreement.what} after ${c.disagreement.moves.join(" ") || "(set-up)"}` : `agrees`} (${count(c.runs)} runs, ${count(c.steps)} moves compared)`
      )
  }
  if (report.mutants.length > 0) {
    out.push("")
    for (const m of report.mutants) {
      const where = `model: ${m.worlds.includes("model") ? m.killedIn.model.join(", ") || "—" : "n/a"}; implementation, unguided: ${m.killedIn.impl.join(", ") || "—"}${m.killedIn.conformance ? "; conformance" : ""}`
      out.push(`mutant ${m.protocol} ${m.name}: ${m.killed ? `killed (${where})` : "SURVIVES"}${m.missedBy.length > 0 ? ` (not by ${m.missedBy.join(", ")}, as expected)` : ""}`)
    }
  }
  return out.join("\n") + "\n"
}

const counterexampleLines = (cx: CounterexampleReport): ReadonlyArray<string> => {
  const pad = String(cx.trace.length).length
  return [
    `   counterexample (${cx.world}, ${cx.trace.length} events):`,
    ...cx.trace.map((e, i) => `   ${String(i + 1).padStart(pad)}. ${formatEvent(e)}${i === cx.violation.at ? `   ✗ ${cx.violation.reason}` : ""}`),
    `   replay: ${cx.replay}`
  ]
}

const counterexampleText = (cx: CounterexampleReport, title: string): string => [title, ...counterexampleLines(cx)].join("\n") + "\n"

export const findingText = (f: Finding, n: number, report: AuditReport, options: { readonly verbose: boolean } = { verbose: true }): string => {
  const out = [`${n}. [${f.severity}] ${findingTitle(f)}`]
  if (f.statement) out.push(`   "${f.statement}"`)
  out.push(`   ${f.message}`)
  const cx = f.counterexample
  if (cx && !options.verbose) out.push(`   counterexample: ${cx.world}, ${cx.trace.length} events (in the report; --verbose prints it here)`, `   replay: ${cx.replay}`)
  else if (cx) {
    out.push(...counterexampleLines(cx))
    const other = otherCounterexample(report, f)
    if (other) out.push(`   found in the ${other.world === "impl" ? "implementation" : "model"} too (${other.trace.length} events): ${other.replay}`)
  }
  return out.join("\n") + "\n"
}

/**
 * What the terminal shows after an audit: the summary, the findings (their traces only with
 * `verbose`: they are in the report), where the report is, and the headline. A replay (one check)
 * always shows its trace: that is what it was run for.
 */
export const reportText = (report: AuditReport, files: ReadonlyArray<string>, options: { readonly verbose?: boolean } = {}): string => {
  const out = [summaryText(report)]
  const all = [...report.checks, ...report.mutants.flatMap((m) => m.checks)]
  const verbose = options.verbose === true || all.length === 1
  if (report.findings.length > 0) {
    out.push("Findings:\n")
    report.findings.forEach((f, i) => out.push(findingText(f, i + 1, report, { verbose })))
  }
  // A replay of a check that is no finding (a mutant's kill, say) still shows what it replayed.
  if (all.length === 1) {
    const check = all[0]!
    const shown = new Set(report.findings.map((f) => f.counterexample?.replay))
    const rest = [check.model.counterexample, check.impl.counterexample].filter((cx) => cx !== undefined && !shown.has(cx.replay))
    for (const cx of rest) out.push(counterexampleText(cx!, `${check.property} fails on ${subjectOf(check)} (${cx!.world})`))
  }
  if (files.length > 0) out.push(`wrote ${files.join(", ")}\n`)
  out.push(`${headline(report)}\n`)
  return out.join("\n")
}

/** One line per progress event: for the live line on a terminal, or a log line otherwise. */
export const progressLine = (e: AuditProgress): string | undefined => {
  const at = (done: number, total: number) => `[${String(done).padStart(String(total).length)}/${total}]`
  switch (e._tag) {
    case "Start":
      return undefined
    case "ExploreStart":
      return `${at(e.done, e.total)} ${e.protocol} ${e.subject}: exploring the model…`
    case "ExploreDone": {
      const x = e.exploration
      return `${at(e.done, e.total)} ${x.protocol} ${x.subject}: model ${x.error ? `explorer died: ${x.error}` : `${count(x.states)} states to depth ${x.depth} in ${duration(x.millis)}`}`
    }
    case "ImplStart":
      return `${at(e.done, e.total)} ${e.protocol} ${e.subject} ${e.property}: implementation, ${count(e.runs)} runs…`
    case "ConformanceDone": {
      const c = e.conformance
      return `${at(e.done, e.total)} ${c.protocol} ${c.subject} conformance: ${c.error ? "died" : c.verdict} (${count(c.steps)} moves compared)`
    }
    case "CheckDone": {
      const c = e.check
      const model = c.model.verdict === "n/a" ? "" : ` model ${verdictText(c.model.verdict)} (${count(c.model.states)} states)`
      const impl = c.impl.skipped !== undefined ? " impl not run (already killed)" : c.impl.verdict === "n/a" ? "" : ` impl ${verdictText(c.impl.verdict)} (${count(c.impl.runs)} runs, ${duration(c.impl.millis)})`
      return `${at(e.done, e.total)} ${c.protocol} ${subjectOf(c)} ${c.property}:${model}${impl}`
    }
  }
}
