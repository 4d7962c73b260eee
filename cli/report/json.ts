/**
 * `audit.json`: the audit for machines. The report object as is (it holds only plain data: trace
 * events are plain objects), plus what produced it, pretty-printed so a diff between two audits reads.
 */
import type { AuditReport } from "../../properties/audit/report.ts"

export interface JsonOptions {
  /** The `authlab` version and the command line, so a reader can re-run it. */
  readonly tool?: { readonly name: string; readonly version: string }
  readonly command?: string
}

export const renderJson = (report: AuditReport, options: JsonOptions = {}): string =>
  JSON.stringify({ ...(options.tool ? { tool: options.tool } : {}), ...(options.command ? { command: options.command } : {}), ...report }, null, 2) + "\n"
