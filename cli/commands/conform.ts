/**
 * `authlab conform`: judge a protocol's properties on a server someone else runs, from outside.
 *
 * The implementation world of the protocol (properties/<p>/impl-world.ts) runs with its
 * server-side participants swapped for proxies of the target (cli/http/remote.ts): the honest
 * participants (device, wallet, …) and the attacker stay local and make the same moves as in the
 * audit — replay, reorder, drop, duplicate, redirect, byte edits, forgeries, garbage, concurrent
 * requests where the world has them — so the target sees what our own server sees in the audit,
 * and every property is judged on the trace the world observes. Each run starts with `POST /reset`
 * (a fresh, seeded server state), so the fast-check seed and path replay a finding exactly on a
 * server that honours the fixture (ours does).
 *
 * What it cannot judge from outside is said in the report: no crash of the remote server, no look
 * into its store (state changed by a refusal, a single-use value left stored), no decorated code.
 *
 * Exit status: 0 every property holds on the target · 1 a finding, or the target failed to
 * answer as the binding says mid-run · 2 the command cannot run as asked (a bad flag, an unknown
 * protocol or property, a target that does not answer its health check or serves another protocol).
 */
import { Command, Options } from "@effect/cli"
import { FileSystem, HttpClient, HttpClientResponse, Path } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Option } from "effect"
import type { ProtocolDefinition } from "../../properties/definition.ts"
import type { CounterexampleReport } from "../../properties/audit/report.ts"
import * as config from "../../properties/harness/config.ts"
import type { PropertyKind, Verdict } from "../../spec/property.ts"
import { formatEvent } from "../../spec/trace.ts"
import { Worker } from "node:worker_threads"
import type { JudgeMessage, JudgeRequest, Judged } from "../http/conform-worker.ts"
import { type Health, routes } from "../http/binding.ts"
import { Output } from "../output.ts"
import { counterexampleMarkdown } from "../report/markdown.ts"
import { probeDirectory, writeWhole } from "./report-files.ts"
import { DEFAULT_SEED } from "./audit.ts"

export const DEFAULT_CONFORM_OUT = "report/conform"

/** What no world can judge through the binding, whatever the protocol. */
export const OUTSIDE_VIEW: ReadonlyArray<string> = [
  "every property is judged on the trace the local participants and the attacker observe: the target's wire answers, read with the binding's outcome and refusal headers",
  "the target is never crashed or restarted, and its store is never read: trace facts that need either are absent from the runs",
  "mutants and code decorators do not apply: the target is whatever it is"
]

export interface ConformCheck {
  readonly property: string
  readonly statement: string
  readonly kind: PropertyKind
  /** `n/a`: the property needs what cannot be seen from outside (`ServeSide.unjudged`). */
  readonly verdict: Verdict | "error" | "n/a"
  readonly runs: number
  readonly millis: number
  readonly counterexample?: CounterexampleReport
  readonly error?: string
}

export interface ConformReport {
  readonly protocol: string
  readonly target: string
  readonly served: Health
  readonly seed: number
  readonly runs: number
  /** Attacker moves per run (--steps, else AUTHLAB_STEPS). */
  readonly steps: number
  /** Whether failing runs were shrunk by fast-check (false under `--no-shrink`). */
  readonly shrunk: boolean
  /** HTTP requests made to the target, resets included. */
  readonly requests: number
  readonly millis: number
  readonly checks: ReadonlyArray<ConformCheck>
  /** What could not be judged from outside: the generic limits, then the protocol's own. */
  readonly unobservable: ReadonlyArray<string>
  readonly exitCode: 0 | 1
}

const options = {
  protocol: Options.text("protocol").pipe(Options.withDescription("The protocol the target serves, e.g. rolling-key.")),
  target: Options.text("target").pipe(Options.withDescription("Base URL of the server, e.g. http://127.0.0.1:8470 (see spec/HTTP-BINDING.md).")),
  property: Options.text("property").pipe(Options.repeated, Options.withDescription("Judge only this property id (repeatable); all by default.")),
  runs: Options.integer("runs").pipe(Options.withDefault(config.runs), Options.withDescription(`fast-check runs per property (default ${config.runs}: AUTHLAB_RUNS, else 100).`)),
  steps: Options.integer("steps").pipe(Options.withDefault(config.steps), Options.withDescription(`Attacker moves per run (default ${config.steps}: AUTHLAB_STEPS, else ${config.DEFAULT_STEPS}).`)),
  seed: Options.integer("seed").pipe(Options.withDefault(DEFAULT_SEED), Options.withDescription(`fast-check seed (default ${DEFAULT_SEED}).`)),
  path: Options.text("path").pipe(Options.optional, Options.withDescription("fast-check replay path of one failing run (with exactly one --property).")),
  noShrink: Options.boolean("no-shrink").pipe(
    Options.withDescription("Report each failing run as found, cut to its shortest failing prefix, without fast-check's shrinking (hundreds of runs against the target); its replay command says --no-shrink too.")
  ),
  out: Options.text("out").pipe(Options.withDefault(DEFAULT_CONFORM_OUT), Options.withDescription(`Directory for conform.json and conform.md (default ${DEFAULT_CONFORM_OUT}).`)),
  verbose: Options.boolean("verbose").pipe(Options.withDescription("Print every finding's trace on the terminal too."))
}

const quote = (word: string) => (/^[\w./:@%+=,-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`)

const replayCommand = (o: { protocol: string; target: string; out: string; noShrink: boolean; steps: number }, property: string, seed: number, path: string, runs: number, join: (...p: Array<string>) => string, basename: (p: string) => string) =>
  // A replay takes the same path only with runs of the same length and the same shrinking (an
  // unshrunk finding's path is its run's index alone).
  ["npx authlab conform", "--protocol", o.protocol, "--target", o.target, "--property", property, "--seed", String(seed), "--path", path, "--runs", String(runs), "--steps", String(o.steps), ...(o.noShrink ? ["--no-shrink"] : []), "--out", basename(o.out) === "replay" ? o.out : join(o.out, "replay")]
    .map((w, i) => (i === 0 ? w : quote(w)))
    .join(" ")

/**
 * `GET /health` of the target, or why it did not answer (a message for the user). Asynchronous:
 * only the judging thread blocks on its requests (cli/http/remote.ts).
 */
const healthOf = (target: string) =>
  HttpClient.get(`${target.replace(/\/+$/, "")}${routes.health}`).pipe(
    Effect.flatMap(HttpClientResponse.filterStatusOk),
    Effect.flatMap((r) => r.json),
    Effect.map((body) => body as Health),
    Effect.scoped,
    Effect.timeout("20 seconds"),
    Effect.provide(NodeHttpClient.layer),
    Effect.mapError((e) => (e._tag === "TimeoutException" ? "no answer within 20 s" : e.message))
  )

/**
 * Judge `request` in a worker thread (cli/http/conform-worker.ts): the worlds block the thread
 * they run on while the target answers, and this one must stay free to hear an interrupt, which
 * ends the worker at once. `onJudged` hears each property as it is done.
 */
const judgeInWorker = (request: JudgeRequest, onJudged: (check: Judged) => void) =>
  Effect.async<{ readonly checks: ReadonlyArray<Judged>; readonly requests: number }, Error>((resume) => {
    const worker = new Worker(new URL("../http/conform-worker.mjs", import.meta.url), { workerData: request })
    const checks: Array<Judged> = []
    worker.on("message", (m: JudgeMessage) => {
      if (m._tag === "Judged") {
        checks.push(m.check)
        onJudged(m.check)
      } else resume(Effect.succeed({ checks, requests: m.requests }))
    })
    worker.on("error", (e) => resume(Effect.fail(e)))
    worker.on("exit", (code) => resume(Effect.fail(new Error(`the judging thread stopped (${code}) before it was done`))))
    return Effect.promise(() => worker.terminate())
  })

export const conformText = (report: ConformReport, files: ReadonlyArray<string>, verbose: boolean): string => {
  const out = [`conform ${report.protocol} at ${report.target} (served: ${report.served.variant}${report.served.mutant === undefined ? "" : `, mutant ${report.served.mutant}`}) — ${report.runs} runs of ${report.steps} moves per property, seed ${report.seed}${report.shrunk ? "" : ", findings not shrunk"}, ${report.requests} requests, ${(report.millis / 1000).toFixed(1)} s`, ""]
  const label = { holds: "holds ", fails: "FAILS ", error: "ERROR ", "n/a": "n/a   " } as const
  for (const c of report.checks) out.push(`  ${label[c.verdict]} ${c.property}${c.error === undefined ? "" : ` — ${c.error}`}`)
  const findings = report.checks.filter((c) => c.counterexample !== undefined)
  if (findings.length > 0) out.push("", "Findings:")
  findings.forEach((c, n) => {
    const cx = c.counterexample!
    out.push(`${n + 1}. ${c.property} fails on the target: ${cx.violation.reason}`, `   "${c.statement}"`)
    if (verbose) cx.trace.forEach((e, i) => out.push(`   ${String(i + 1).padStart(3)}. ${formatEvent(e)}${i === cx.violation.at ? `   ✗ ${cx.violation.reason}` : ""}`))
    else out.push(`   counterexample: ${cx.trace.length} events, broken at event ${cx.violation.at + 1} (in the report; --verbose prints it here)`)
    out.push(`   replay: ${cx.replay}`)
  })
  out.push("", "Not judged from outside:", ...report.unobservable.map((u) => `  - ${u}`))
  if (files.length > 0) out.push("", `wrote ${files.join(", ")}`)
  const judged = report.checks.filter((c) => c.verdict !== "n/a").length
  const failing = report.checks.filter((c) => c.verdict === "fails" || c.verdict === "error").length
  out.push(report.exitCode === 0 ? `\nPASS: every property judged holds on the target (${judged} of ${report.checks.length} judged)` : `\nFAIL: ${failing} of ${judged} properties judged do not hold on the target`)
  return out.join("\n") + "\n"
}

export const conformMarkdown = (report: ConformReport): string => {
  const out = [
    `# Conformance of ${report.target} (${report.protocol})`,
    "",
    `Served: variant **${report.served.variant}**${report.served.mutant === undefined ? "" : `, mutant \`${report.served.mutant}\``}, store ${report.served.store}. ` +
      `${report.runs} fast-check runs of ${report.steps} attacker moves per property, seed ${report.seed}${report.shrunk ? "" : " (findings not shrunk: --no-shrink)"}; ${report.requests} HTTP requests in ${(report.millis / 1000).toFixed(1)} s.`,
    "",
    "| property | verdict | runs |",
    "|---|---|---|",
    ...report.checks.map((c) => `| \`${c.property}\` | ${c.verdict}${c.error === undefined ? "" : ` (${c.error.replaceAll("|", "\\|")})`} | ${c.runs} |`),
    ""
  ]
  const findings = report.checks.filter((c) => c.counterexample !== undefined)
  if (findings.length > 0) out.push("## Findings", "")
  findings.forEach((c, n) => out.push(`### ${n + 1}. ${c.property} fails on the target`, "", `> ${c.statement}`, "", counterexampleMarkdown(c.counterexample!), ""))
  out.push("## What conform cannot judge from outside", "", ...report.unobservable.map((u) => `- ${u}`), "")
  return out.join("\n")
}

export const conformCommand = (definitions: ReadonlyArray<ProtocolDefinition>, invocation: string) =>
  Command.make("conform", options, (o) =>
    Effect.gen(function* () {
      const io = yield* Output
      const path = yield* Path.Path
      const usage = (message: string) =>
        Effect.sync(() => {
          io.err(`authlab conform: ${message}\n`)
          io.setExitCode(2)
        })
      const problems = [...config.configProblems]
      if (!Number.isSafeInteger(o.runs) || o.runs < 1 || o.runs > config.LIMITS.runs) problems.push(`--runs must be an integer from 1 to ${config.LIMITS.runs}, got ${o.runs}`)
      if (!Number.isSafeInteger(o.steps) || o.steps < 1 || o.steps > config.LIMITS.steps) problems.push(`--steps must be an integer from 1 to ${config.LIMITS.steps}, got ${o.steps}`)
      if (!Number.isSafeInteger(o.seed)) problems.push(`--seed must be an integer, got ${o.seed}`)
      if (Option.isSome(o.path) && !/^\d+(?::\d+)*$/.test(o.path.value)) problems.push(`--path must be a fast-check replay path such as 3:0:1, got ${JSON.stringify(o.path.value)}`)
      if (!/^https?:\/\/[^/\s]+/.test(o.target)) problems.push(`--target must be an http:// or https:// URL, got ${JSON.stringify(o.target)}`)
      if (problems.length > 0) return yield* usage(problems.join("\nauthlab conform: "))

      const definition = definitions.find((d) => d.protocol === o.protocol)
      if (definition === undefined) return yield* usage(`unknown protocol ${JSON.stringify(o.protocol)}; known: ${definitions.map((d) => d.protocol).join(", ")}`)
      const serve = definition.serve
      if (serve === undefined) return yield* usage(`${definition.protocol} has no server-side participants bound to HTTP`)
      const onImpl = definition.properties.filter((p) => p.judgedIn.includes("impl"))
      const unknown = o.property.filter((id) => !onImpl.some((p) => p.id === id))
      if (unknown.length > 0) return yield* usage(`unknown ${definition.code} property ${unknown.join(", ")}; known: ${onImpl.map((p) => p.id).join(", ")}`)
      const selected = o.property.length === 0 ? onImpl : onImpl.filter((p) => o.property.includes(p.id))
      if (Option.isSome(o.path) && selected.length !== 1) return yield* usage("--path replays one run of one property: give exactly one --property")
      const probed = yield* Effect.either(probeDirectory(o.out))
      if (probed._tag === "Left") return yield* usage(`cannot write the report to ${o.out}: ${probed.left.message}`)

      const health = yield* Effect.either(healthOf(o.target))
      if (health._tag === "Left") return yield* usage(`the target does not answer its health check: ${health.left}`)
      const served = health.right
      if (served.protocol !== definition.protocol) return yield* usage(`the target serves ${JSON.stringify(served.protocol)}, not ${definition.protocol}`)
      const missing = serve.participants.filter((p) => !(served.participants ?? []).includes(p))
      if (missing.length > 0) return yield* usage(`the target does not serve ${missing.join(", ")} (it serves ${(served.participants ?? []).join(", ") || "nothing"})`)
      // The local participants follow the policy the target says it serves (its variant's, when it names only that).
      const policy = served.policy ?? (served.variant === "claimed" || served.variant === "hardened" ? definition.policies[served.variant] : undefined)
      if (policy === undefined) return yield* usage(`the target names neither a policy nor a variant (claimed or hardened) in its health answer`)

      const started = performance.now()
      io.err(`conform: judging ${selected.length} ${definition.code} properties on ${o.target}, ${o.runs} runs each…\n`)
      const judged = yield* Effect.either(
        judgeInWorker(
          { protocol: definition.protocol, target: o.target, policy, properties: selected.map((p) => p.id), runs: o.runs, steps: o.steps, seed: o.seed, shrink: !o.noShrink, ...(Option.isSome(o.path) ? { path: o.path.value } : {}) },
          (c) => io.err(`  ${c.property}: ${c.verdict} (${(c.millis / 1000).toFixed(1)} s)\n`)
        )
      )
      if (judged._tag === "Left") {
        io.err(`authlab conform: ${judged.left.message}\n`)
        return io.setExitCode(1)
      }
      const checks = judged.right.checks.map((j): ConformCheck => {
        const property = selected.find((p) => p.id === j.property)!
        const { counterexample, ...rest } = j
        return {
          ...rest,
          statement: property.statement,
          kind: property.kind,
          ...(counterexample === undefined ? {} : { counterexample: { ...counterexample, replay: replayCommand(o, j.property, o.seed, counterexample.path ?? "", o.runs, path.join, path.basename) } })
        }
      })
      const report: ConformReport = {
        protocol: definition.protocol,
        target: o.target,
        served,
        seed: o.seed,
        runs: o.runs,
        steps: o.steps,
        shrunk: !o.noShrink,
        requests: judged.right.requests,
        millis: performance.now() - started,
        checks,
        unobservable: [...OUTSIDE_VIEW, ...serve.unobservable],
        exitCode: checks.every((c) => c.verdict === "holds" || c.verdict === "n/a") ? 0 : 1
      }
      const fs = yield* FileSystem.FileSystem
      const files = [path.join(o.out, "conform.json"), path.join(o.out, "conform.md")]
      const written = yield* Effect.either(
        Effect.gen(function* () {
          yield* fs.makeDirectory(o.out, { recursive: true })
          yield* writeWhole(files[0]!, JSON.stringify({ tool: "authlab", command: invocation, ...report }, null, 2))
          yield* writeWhole(files[1]!, conformMarkdown(report))
        })
      )
      io.out(conformText(report, written._tag === "Right" ? files : [], o.verbose))
      if (written._tag === "Left") {
        io.err(`authlab conform: could not write the report to ${o.out}: ${written.left.message}\n`)
        return io.setExitCode(2)
      }
      io.setExitCode(report.exitCode)
    }).pipe(Effect.scoped)
  ).pipe(
    Command.withDescription(
      "Judge a protocol's properties on a server at --target (spec/HTTP-BINDING.md) with the honest participants and the audit's attacker moves run locally; " +
        "write DIR/conform.json and DIR/conform.md with each finding's counterexample and replay command. Exit 0 iff every property holds on the target; 1 on a finding; 2 when it cannot run as asked."
    )
  )
