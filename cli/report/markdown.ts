/**
 * `audit.md`: the audit for people. It opens with the findings (errors, then the expected
 * weaknesses of `claimed`, then warnings), each with the property's statement, the shortest
 * counterexample as a numbered event sequence and a sequence diagram, and the one-line command
 * that replays it; then the summary table and the explorations; then a state diagram of every
 * participant machine, generated from the machine; it ends with the mutant kill matrix.
 */
import type { AuditCheck, AuditReport, CounterexampleReport, Finding, MutantResult, Severity } from "../../properties/audit/report.ts"
import type { ProtocolSuite } from "../../properties/suite.ts"
import { formatEvent, type Trace } from "../../spec/trace.ts"
import { checkStatus, count, duration, findingTitle, headline, otherCounterexample, statusText, subjectOf, verdictText } from "./format.ts"
import { type SequenceOptions, sequenceDiagrams, stateDiagram, stateRows } from "./mermaid.ts"

/** Prose from a suite (statements, reasons): angle brackets would be read as HTML and vanish. */
const text = (s: string): string => s.replaceAll("<", "&lt;").replaceAll(">", "&gt;")

/** Text inside a table cell: a pipe would end the cell, a newline the row. */
const cell = (s: string): string => text(s).replace(/\r?\n/g, " ").replaceAll("|", "\\|")

/** Inline code that survives backticks in the text. */
const code = (s: string): string => {
  const fence = s.includes("`") ? "``" : "`"
  return `${fence}${fence.length > 1 ? " " : ""}${s}${fence.length > 1 ? " " : ""}${fence}`
}

const fenced = (lang: string, body: string): string => {
  const fence = body.includes("```") ? "````" : "```"
  return `${fence}${lang}\n${body}\n${fence}`
}

const worldName = (w: "model" | "impl") => (w === "model" ? "model (bounded exploration)" : "implementation (fast-check)")

/**
 * A trace's sequence diagram as fenced Mermaid; a trace among more actors than one diagram can
 * hold at 980 px is drawn in parts, each captioned with the events it shows.
 */
export const sequenceMarkdown = (trace: Trace, options: SequenceOptions = {}): string => {
  const parts = sequenceDiagrams(trace, options)
  if (parts.length === 1) return fenced("mermaid", parts[0]!.diagram)
  return parts.map((p, i) => `*Part ${i + 1} of ${parts.length}: events ${p.from + 1}–${p.to + 1}*\n\n${fenced("mermaid", p.diagram)}`).join("\n\n")
}

/**
 * Counterexamples already written in this document, by their events and violation, with where:
 * a claimed weakness and the mutant that reintroduces it often share one run, and it is drawn once.
 */
export type ShownCounterexamples = Map<string, string>

/** Where the run was found: the exploration depth, or the fast-check seed and path. */
const foundAt = (cx: CounterexampleReport): string => (cx.world === "model" ? `depth ${cx.depth ?? "?"}` : `seed ${cx.seed ?? "?"}${cx.path !== undefined ? `, path ${code(cx.path)}` : ""}`)

const counterexampleKey = (cx: CounterexampleReport): string => JSON.stringify([cx.trace, cx.violation])

/** The counterexample: numbered events (the violating one marked), the diagram, the replay. */
export const counterexampleMarkdown = (cx: CounterexampleReport, shown?: { readonly seen: ShownCounterexamples; readonly here: string }): string => {
  const earlier = shown?.seen.get(counterexampleKey(cx))
  if (earlier !== undefined) {
    return [
      `**Counterexample** — ${worldName(cx.world)}, ${foundAt(cx)}: the same ${cx.trace.length} events as ${earlier} above, broken at event ${cx.violation.at + 1} (events and diagram not repeated).`,
      "",
      "Replay exactly this finding:",
      "",
      fenced("sh", cx.replay)
    ].join("\n")
  }
  if (shown) shown.seen.set(counterexampleKey(cx), shown.here)
  const events = cx.trace.map((e, i) => `${i + 1}. ${code(formatEvent(e))}${i === cx.violation.at ? ` — **✗ ${text(cx.violation.reason)}**` : ""}`)
  const out = [
    `**Counterexample** — ${worldName(cx.world)}, ${foundAt(cx)}: ${cx.trace.length} events, broken at event ${cx.violation.at + 1}.`,
    "",
    ...events,
    ""
  ]
  if (cx.steps.length > 0)
    out.push("<details><summary>The moves that produce it</summary>", "", ...cx.steps.map((s, i) => `${i + 1}. ${code(s)}`), "", "</details>", "")
  out.push(sequenceMarkdown(cx.trace, { violation: cx.violation }), "", "Replay exactly this finding:", "", fenced("sh", cx.replay))
  return out.join("\n")
}

const findingMarkdown = (f: Finding, n: number, report: AuditReport, seen: ShownCounterexamples): string => {
  const facts = [
    `protocol ${code(f.protocol)}`,
    f.variant ? `variant **${f.variant}**` : undefined,
    f.mutant ? `mutant ${code(f.mutant)}` : undefined,
    f.property ? `property ${code(f.property)}` : undefined,
    f.world ? `world: ${worldName(f.world)}` : undefined
  ].filter((x): x is string => x !== undefined)
  const out = [`#### ${n}. ${text(findingTitle(f))}`, ""]
  if (f.statement) out.push(`> ${text(f.statement)}`, "")
  out.push(facts.join(" · "), "", text(f.message), "")
  const weakness = f.kind === "weakness" ? report.protocols.find((p) => p.protocol === f.protocol)?.properties.find((p) => p.id === f.property)?.weakness : undefined
  if (weakness) out.push(`*Why the claim fails:* ${text(weakness)}`, "")
  const mutant = f.mutant ? report.mutants.find((m) => m.protocol === f.protocol && m.name === f.mutant) : undefined
  if (mutant && f.kind === "mutant-missed") out.push(`*The flaw:* ${text(mutant.flaw)}`, "")
  if (f.counterexample) {
    out.push(counterexampleMarkdown(f.counterexample, { seen, here: `finding ${n}` }), "")
    const other = otherCounterexample(report, f)
    if (other)
      out.push(`The ${worldName(other.world)} finds it too (${other.trace.length} events, broken at event ${other.violation.at + 1}: ${text(other.violation.reason)}); replay that one with ${code(other.replay)}`, "")
  }
  return out.join("\n")
}

const sections: ReadonlyArray<{ readonly severity: Severity; readonly title: string; readonly blurb: string }> = [
  { severity: "error", title: "Errors", blurb: "These make the audit fail: a `hardened` property that fails, a disagreement between model and implementation, a mutant no property kills, or a check that could not run." },
  { severity: "expected", title: "Weaknesses of the claimed protocol — expected", blurb: "The properties the `claimed` variant is expected to fail, with the attack that breaks each. Not errors: they are what the audit exists to show." },
  { severity: "warning", title: "Warnings", blurb: "Worth a look; they do not fail the audit." }
]

const summaryTable = (report: AuditReport, checks: ReadonlyArray<AuditCheck>): string => {
  const rows = checks.map((c) => {
    const model = c.model.verdict === "n/a" ? "n/a" : `${verdictText(c.model.verdict)} (${count(c.model.states)} states)`
    const impl = c.impl.verdict === "n/a" ? "n/a" : `${verdictText(c.impl.verdict)} (${count(c.impl.runs)} runs${c.impl.foundBy ? `, found ${c.impl.foundBy}` : ""})`
    return `| ${c.protocol} | ${subjectOf(c)} | ${code(c.property)} | ${c.expected ?? "—"} | ${model} | ${impl} | ${c.impl.verdict === "n/a" ? "—" : duration(c.millis)} | ${statusText[checkStatus(report, c)]} |`
  })
  return ["| protocol | variant | property | expected | model | implementation | time | status |", "|---|---|---|---|---|---|--:|---|", ...rows].join("\n")
}

const explorationTable = (report: AuditReport): string =>
  [
    "| protocol | subject | states | transitions | depth | exhaustive | states/s | time |",
    "|---|---|--:|--:|--:|---|--:|--:|",
    ...report.explorations.map(
      (e) =>
        `| ${e.protocol} | ${e.subject} | ${count(e.states)} | ${count(e.transitions)} | ${e.depth} | ${e.error ? `⚠ ${cell(e.error)}` : e.exhaustive ? "yes" : "no (cap hit)"} | ${count(e.statesPerSecond)} | ${duration(e.millis)} |`
    )
  ].join("\n")

const conformanceTable = (report: AuditReport): string =>
  [
    "| protocol | subject | verdict | runs | moves compared | time | first difference |",
    "|---|---|---|--:|--:|--:|---|",
    ...report.conformance.map(
      (c) =>
        `| ${c.protocol} | ${c.subject} | ${c.error ? "error" : c.verdict} | ${count(c.runs)} | ${count(c.steps)} | ${duration(c.millis)} | ${c.error ? cell(c.error) : c.disagreement ? `${cell(c.disagreement.what)} after ${code(c.disagreement.moves.join(" ") || "(set-up)")} — replay ${code(c.disagreement.replay)}` : "—"} |`
    )
  ].join("\n")

const killMatrix = (report: AuditReport, protocol: string, mutants: ReadonlyArray<MutantResult>): string => {
  const ids = report.protocols.find((p) => p.protocol === protocol)?.properties.map((p) => p.id) ?? []
  const judged = ids.filter((id) => mutants.some((m) => m.checks.some((c) => c.property === id)))
  // M: killed in the model (exploration); I: killed on the implementation by unguided runs alone.
  const mark = (m: MutantResult, id: string) => {
    const worlds = [m.killedIn.model.includes(id) ? "M" : "", m.killedIn.impl.includes(id) ? "I" : ""].join("")
    const check = m.checks.find((c) => c.property === id)
    return worlds !== "" ? `✔ ${worlds}` : check === undefined ? "—" : m.expectedKilledBy.includes(id) ? "✘ expected" : check.impl.skipped !== undefined ? "not run" : ""
  }
  const rows = mutants.map(
    (m) =>
      `| ${code(m.name)} | ${cell(m.flaw)} | ${m.worlds.includes("model") ? "both" : "impl only"} | ${judged.map((id) => mark(m, id)).join(" | ")} | ${m.killedIn.conformance ? "✔" : !m.worlds.includes("model") && !report.conformance.some((c) => c.protocol === m.protocol && c.subject === `mutant:${m.name}`) ? "not run" : ""} | ${m.killed ? "killed" : "**SURVIVES**"} |`
  )
  const out = [
    `| mutant | flaw | flaw in | ${judged.map(code).join(" | ")} | conformance | verdict |`,
    `|---|---|---|${judged.map(() => ":-:|").join("")}:-:|---|`,
    ...rows
  ]
  const ran = (id: string) => mutants.some((m) => m.checks.some((c) => c.property === id && (c.model.verdict !== "n/a" || c.impl.verdict !== "n/a")))
  const neverKills = judged.filter((id) => ran(id) && !mutants.some((m) => m.killedBy.includes(id)))
  if (neverKills.length > 0)
    out.push("", `Properties no mutant breaks where they were run (a property no mutant can break is suspect, or the mutants are too few): ${neverKills.map(code).join(", ")}.`)
  return out.join("\n")
}

export interface MarkdownOptions {
  /** The command line that produced the report, shown so a reader can re-run it. */
  readonly command?: string
}

export const renderMarkdown = (report: AuditReport, suites: ReadonlyArray<ProtocolSuite>, options: MarkdownOptions = {}): string => {
  const m = report.machine
  const out: Array<string> = [
    "# authlab audit",
    "",
    `**${headline(report)}**`,
    "",
    `Seed ${report.seed} · ${count(report.runs)} implementation runs per check · model's hardened variants explored ${report.depth === undefined ? "to each protocol's own bound" : `to depth ${report.depth}`} (claimed and the mutants to the protocol's guide depth: see the explorations)${report.path !== undefined ? ` · replay path ${code(report.path)}` : ""} · ` +
      `Node ${report.node} · ${m.cpu} (${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform} ${m.arch}) · ${report.generatedAt}`,
    "",
    "The implementation checks run on the node:crypto layer of `impl/crypto`; the differential and Wycheproof tests (`npm test`) hold it to the same outputs and refusals as the noble layer.",
    ""
  ]
  if (options.command) out.push(`Produced by ${code(options.command)}.`, "")
  if (report.selection.partial)
    out.push(
      `> **Partial audit**: ${report.selection.properties ? `properties ${report.selection.properties.map(code).join(", ")}` : "all properties"}, worlds ${report.selection.worlds.join(" and ")}. A mutant that survives is only a warning here.`,
      ""
    )

  out.push("## Findings", "")
  if (report.findings.length === 0) out.push("No findings: every property holds where it is expected to, and every mutant is killed.", "")
  let n = 0
  const seen: ShownCounterexamples = new Map()
  for (const section of sections) {
    const findings = report.findings.filter((f) => f.severity === section.severity)
    if (findings.length === 0) continue
    out.push(`### ${section.title} (${findings.length})`, "", section.blurb, "")
    for (const f of findings) out.push(findingMarkdown(f, ++n, report, seen))
  }

  out.push("## Summary", "", summaryTable(report, report.checks), "")
  if (report.explorations.length > 0) out.push("### Model explorations", "", "One bounded exploration per subject judges every model-judged property at once.", "", explorationTable(report), "")
  if (report.conformance.length > 0) out.push("### Conformance", "", "The same attacker schedules on the model and the implementation, observations and verdicts compared after every move.", "", conformanceTable(report), "")

  const shown = suites.filter((s) => report.selection.protocols.includes(s.protocol))
  if (shown.some((s) => s.machines.length > 0)) {
    out.push("## Participant machines", "", "Generated from the XState machines of the model (hardened); a label reads `event [guard] / actions` (UML).", "")
    for (const suite of shown) {
      for (const { participant, machine } of suite.machines) {
        out.push(`### ${suite.protocol} — ${participant}`, "")
        if (machine.root.description) out.push(text(machine.root.description), "")
        out.push(fenced("mermaid", stateDiagram(machine)), "")
        const rows = stateRows(machine).filter((r) => r.description || r.spec)
        if (rows.length > 0)
          out.push("| state | description | spec |", "|---|---|---|", ...rows.map((r) => `| ${code(r.state)} | ${cell(r.description ?? "")} | ${cell(r.spec ?? "")} |`), "")
      }
    }
  }

  out.push("## Mutant kill matrix", "")
  if (report.mutants.length === 0) out.push("No mutants were judged in this run.", "")
  else {
    out.push(
      "Each mutant is the hardened protocol with one deliberate flaw, applied from outside the shipped code. ✔ M: the property fails in the model (bounded exploration); ✔ I: it fails on the implementation with unguided runs alone (no model counterexample); ✘ expected: it was expected to and did not; —: not judged. not run: left out on the implementation because it had already killed the mutant (a mutant's implementation checks run the properties expected to kill it and those the model breaks first, then the others until one kills it; conformance runs on an implementation-only mutant only if none did). Conformance ✔: the implementation departs from the model step by step (a flaw only the implementation has).",
      ""
    )
    for (const protocol of report.selection.protocols) {
      const mutants = report.mutants.filter((m) => m.protocol === protocol)
      if (mutants.length === 0) continue
      out.push(`### ${protocol}`, "", killMatrix(report, protocol, mutants), "")
      for (const m of mutants) {
        const kills = m.checks.flatMap((c) => [c.model.counterexample, c.impl.counterexample].flatMap((cx) => (cx ? [{ property: c.property, cx }] : [])))
        const shortest = kills.reduce<(typeof kills)[number] | undefined>((a, b) => (a === undefined || b.cx.trace.length < a.cx.trace.length ? b : a), undefined)
        if (shortest)
          out.push(`<details><summary>How <code>${text(shortest.property)}</code> kills <code>${text(m.name)}</code></summary>`, "", counterexampleMarkdown(shortest.cx, { seen, here: `the kill of ${code(m.name)}` }), "", "</details>", "")
      }
    }
  }
  return out.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd() + "\n"
}
