/**
 * What `audit` and `merge` share: probing the report directory before any work, writing
 * audit.json and audit.md whole (temporary file, then rename: an interrupt leaves the previous
 * report or the complete new one), and the shard files a sharded audit leaves for `merge`.
 */
import { FileSystem, Path } from "@effect/platform"
import { Effect } from "effect"
import type { AuditOptions } from "../../properties/audit/plan.ts"
import type { AuditReport } from "../../properties/audit/report.ts"
import type { ProtocolSuite } from "../../properties/suite.ts"
import type { UnitRequest, UnitResult } from "../parallel/protocol.ts"
import { renderJson } from "../report/json.ts"
import { renderMarkdown } from "../report/markdown.ts"
import { toolVersion } from "../version.ts"

/** Make `dir` and write a file in it: a bad `--out` is found before the audit, not after. */
export const probeDirectory = (dir: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const probe = path.join(dir, `.authlab-probe-${process.pid}`)
    yield* fs.makeDirectory(dir, { recursive: true })
    yield* fs.writeFileString(probe, "")
    yield* fs.remove(probe)
  }).pipe(Effect.timeout("5 seconds"))

export const writeWhole = (file: string, content: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const temporary = `${file}.${process.pid}.tmp`
    yield* fs.writeFileString(temporary, content)
    yield* fs.rename(temporary, file)
  })

/** Write `dir/audit.json` and `dir/audit.md`; returns their paths. */
export const writeReport = (dir: string, report: AuditReport, suites: ReadonlyArray<ProtocolSuite>, invocation: string) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const jsonFile = path.join(dir, "audit.json")
    const mdFile = path.join(dir, "audit.md")
    yield* writeWhole(jsonFile, renderJson(report, { tool: { name: "authlab", version: toolVersion() }, command: invocation }))
    yield* writeWhole(mdFile, renderMarkdown(report, suites, { command: invocation }))
    return [jsonFile, mdFile] as const
  })

/** One shard's work: the options of the whole audit, which share it judged, and the unit results. */
export interface ShardFile {
  readonly format: "authlab-shard/1"
  readonly tool: string
  readonly options: Omit<AuditOptions, "onProgress">
  readonly shard: { readonly index: number; readonly count: number }
  /** Every unit of the whole audit (so `merge` can check that the shards cover it). */
  readonly units: ReadonlyArray<UnitRequest>
  readonly results: ReadonlyArray<UnitResult>
}

export const shardFileName = (index: number, count: number) => `shard-${index}-of-${count}.json`

/** The units shard `index` of `count` judges: a deterministic share (every count-th unit). */
export const shareOf = <U extends { readonly id: number }>(units: ReadonlyArray<U>, index: number, count: number): ReadonlyArray<U> =>
  units.filter((u) => u.id % count === index - 1)

export const writeShard = (dir: string, shard: Omit<ShardFile, "format" | "tool">) =>
  Effect.gen(function* () {
    const path = yield* Path.Path
    const file = path.join(dir, shardFileName(shard.shard.index, shard.shard.count))
    yield* writeWhole(file, JSON.stringify({ format: "authlab-shard/1", tool: toolVersion(), ...shard } satisfies ShardFile))
    return file
  })
