/**
 * `authlab serve` and `authlab conform` as a user runs them: real processes on 127.0.0.1, started
 * and stopped by the test. For every protocol with served participants: conform passes the
 * hardened server (exit 0), reports the claimed server's findings (exit 1, only properties the
 * protocol says fail on claimed, and a replay command that finds the same violation again), and
 * catches a served mutant (exit 1, by a property expected to kill it). Plus the binding's edges
 * (health, size limit, media type, status codes) and a graceful SIGTERM.
 *
 * Sizes are small on purpose (runs and moves per run): the point is the plumbing and the verdicts
 * it carries, which the audit's own tests judge at full size in process.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { definitions } from "../protocols.ts"
import { runCli, shellWords } from "../testing/run-cli.ts"
import { LISTENING } from "../commands/serve.ts"
import type { ConformReport } from "../commands/conform.ts"
import { headers, MAX_BODY_BYTES, OCTETS, routes } from "./binding.ts"

const root = join(import.meta.dirname, "..", "..")
/**
 * Per test: a serve process and one conform (in this process, through the command tree; the
 * replay command alone runs as a process, as a user would paste it). A few seconds each on a
 * quiet 2-core machine; the limit is for a shared, loaded one. A timeout is not a verdict, so it
 * is generous.
 */
const LONG = 600_000
const RUNS = "8"
/**
 * Moves per run: short runs keep shrinking (the costly part on a claimed server: hundreds of runs,
 * each a reset and its requests) cheap. Only the first protocol's claimed server is judged with
 * shrinking (its replay command is run again); the others' findings are taken as found
 * (`--no-shrink`), which judges the same properties at a fraction of the requests.
 */
const STEPS = "8"

const started: Array<ChildProcess> = []
afterAll(() => {
  for (const child of started) if (child.exitCode === null) child.kill("SIGKILL")
})

const authlab = (args: ReadonlyArray<string>) => spawn(process.execPath, ["--import", "tsx", "cli/main.ts", ...args], { cwd: root, env: { ...process.env, NO_COLOR: "1" } })

/** Start `authlab serve … --port 0` and resolve with its URL once it prints it. */
const serve = (args: ReadonlyArray<string>): Promise<{ readonly url: string; readonly child: ChildProcess }> =>
  new Promise((resolve, reject) => {
    const child = authlab(["serve", "--port", "0", ...args])
    started.push(child)
    let out = ""
    let err = ""
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString()
      const m = new RegExp(`${LISTENING}(http://127\\.0\\.0\\.1:\\d+)`).exec(out)
      if (m !== null) resolve({ url: m[1]!, child })
    })
    child.stderr!.on("data", (d: Buffer) => void (err += d.toString()))
    child.on("exit", (code) => reject(new Error(`serve exited ${code} before listening: ${err}`)))
  })

const exited = (child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    let stdout = ""
    let stderr = ""
    child.stdout?.on("data", (d: Buffer) => void (stdout += d.toString()))
    child.stderr?.on("data", (d: Buffer) => void (stderr += d.toString()))
    child.on("exit", (code) => resolve({ code, stdout, stderr }))
  })

const reportIn = (out: string, code: number | null | undefined) => (code === 0 || code === 1 ? (JSON.parse(readFileSync(join(out, "conform.json"), "utf8")) as ConformReport) : undefined)

/** `authlab conform ARGS --runs 8 --steps 8` through the command tree, and the report it wrote. */
const conform = async (args: ReadonlyArray<string>) => {
  const out = mkdtempSync(join(tmpdir(), "authlab-conform-"))
  const r = await runCli([], ["conform", "--runs", RUNS, "--steps", STEPS, "--out", out, ...args]).pipe(Effect.scoped, Effect.runPromise)
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr, report: reportIn(out, r.exitCode) }
}

/** A printed replay command run as a process, its own --out swapped for a fresh directory. */
const replayProcess = async (line: string) => {
  const words = shellWords(line)
  const args = words.slice(words.indexOf("conform") + 1)
  const out = mkdtempSync(join(tmpdir(), "authlab-replay-"))
  const r = await exited(authlab(["conform", ...args.slice(0, args.indexOf("--out")), "--out", out]))
  return { ...r, report: reportIn(out, r.code) }
}

const failing = (report: ConformReport | undefined) => (report?.checks ?? []).filter((c) => c.verdict === "fails" || c.verdict === "error").map((c) => c.property)

const servedDefinitions = definitions.filter((d) => d.serve !== undefined)

for (const definition of servedDefinitions) {
  const protocol = definition.protocol
  // Process start-ups are most of these tests' cost: the first protocol alone is served over SQLite
  // and has its replay command run again.
  const first = definition === servedDefinitions[0]
  const claimedFailures = definition.properties.filter((p) => p.expected.claimed === "fails").map((p) => p.id)
  const mutant = definition.mutants.find((m) => m.name === definition.serve!.testMutant) ?? definition.mutants.find((m) => definition.serve!.serves(m.impl))!

  // Three processes pairs at once: the two cores are kept busy while one side waits for the other.
  describe(`${protocol} served over HTTP`, { concurrent: true }, () => {
    it(`hardened${first ? ", over --store FILE.sqlite" : ""}: every property holds from outside (exit 0)`, async () => {
      const file = join(mkdtempSync(join(tmpdir(), "authlab-store-")), "served.sqlite")
      const server = await serve(["--protocol", protocol, "--variant", "hardened", ...(first ? ["--store", file] : [])])
      const r = await conform(["--protocol", protocol, "--target", server.url])
      server.child.kill("SIGTERM")
      assert.strictEqual(r.code, 0, r.stdout + r.stderr)
      assert.deepStrictEqual(failing(r.report), [])
      assert.isAbove(r.report!.requests, 0)
      // Each run on an emptied file, the state in it.
      if (first) assert.strictEqual(r.report!.served.store, "sqlite")
      if (first) assert.isAbove(statSync(file).size, 0)
    }, LONG)

    it(`claimed: the findings are the claimed weaknesses${first ? ", and a replay command finds its violation again" : ""} (exit 1)`, async () => {
      const server = await serve(["--protocol", protocol, "--variant", "claimed"])
      const r = await conform(["--protocol", protocol, "--target", server.url, ...(first ? [] : ["--no-shrink"])])
      assert.strictEqual(r.code, 1, r.stdout + r.stderr)
      const found = failing(r.report)
      assert.isNotEmpty(found)
      for (const id of found) assert.include(claimedFailures, id, `${id} fails on the claimed server but the protocol does not say it should: ${JSON.stringify(r.report!.checks.find((c) => c.property === id)?.error ?? r.report!.checks.find((c) => c.property === id)?.counterexample?.violation)}`)
      if (!first) return void server.child.kill("SIGTERM")
      const finding = r.report!.checks.find((c) => c.counterexample !== undefined)!
      // As printed: `npx authlab conform … --steps 8 …`, the length the path was found with.
      assert.include(finding.counterexample!.replay, `--steps ${STEPS}`)
      const replay = await replayProcess(finding.counterexample!.replay)
      server.child.kill("SIGTERM")
      assert.strictEqual(replay.code, 1, replay.stdout + replay.stderr)
      assert.strictEqual(replay.report!.checks[0]!.counterexample?.violation.reason, finding.counterexample!.violation.reason)
    }, LONG)

    it(`a served mutant (${mutant.name}) is caught (exit 1)`, async () => {
      const server = await serve(["--protocol", protocol, "--mutant", mutant.name])
      const r = await conform(["--protocol", protocol, "--target", server.url, "--no-shrink"])
      server.child.kill("SIGTERM")
      assert.strictEqual(r.code, 1, r.stdout + r.stderr)
      assert.isTrue(failing(r.report).some((id) => mutant.expectedKilledBy.includes(id)), `killed by ${failing(r.report).join(", ")}; expected one of ${mutant.expectedKilledBy.join(", ")}`)
    }, LONG)
  })
}

describe("the binding's edges", () => {
  const definition = definitions.find((d) => d.serve !== undefined)!
  const participant = definition.serve!.participants[0]!
  const post = (url: string, body: Uint8Array, type = OCTETS) => fetch(url, { method: "POST", body, headers: { "content-type": type } })

  it("health names what is served; malformed bytes are 400 with the reason; wrong type 415; too large 413; unknown route 404; a second server on its port is refused (exit 2); SIGTERM stops it", async () => {
    const server = await serve(["--protocol", definition.protocol])
    const second = await exited(authlab(["serve", "--protocol", definition.protocol, "--port", new URL(server.url).port]))
    assert.strictEqual(second.code, 2, second.stderr)
    assert.match(second.stderr, /cannot listen on 127\.0\.0\.1:\d+/)
    const health = (await (await fetch(`${server.url}${routes.health}`)).json()) as { protocol: string; variant: string; participants: Array<string> }
    assert.strictEqual(health.protocol, definition.protocol)
    assert.strictEqual(health.variant, "hardened")
    assert.deepStrictEqual(health.participants, definition.serve!.participants)
    const garbage = await post(`${server.url}${routes.participant(participant)}`, new Uint8Array([0xff, 0x00, 0x01]))
    assert.strictEqual(garbage.status, 400)
    assert.strictEqual(garbage.headers.get(headers.refusal), "malformed")
    assert.strictEqual((await post(`${server.url}${routes.participant(participant)}`, new Uint8Array(4), "text/plain")).status, 415)
    assert.strictEqual((await post(`${server.url}${routes.participant(participant)}`, new Uint8Array(MAX_BODY_BYTES + 1))).status, 413)
    assert.strictEqual((await post(`${server.url}${routes.participant("nobody")}`, new Uint8Array(4))).status, 404)
    const stopped = exited(server.child)
    const t0 = performance.now()
    server.child.kill("SIGTERM")
    const r = await stopped
    assert.strictEqual(r.code, 143)
    assert.isBelow(performance.now() - t0, 2500)
    await fetch(`${server.url}${routes.health}`).then(
      () => assert.fail("still answering after SIGTERM"),
      () => undefined
    )
  })

  it("conform refuses a target that is not there (exit 2)", () =>
    Effect.gen(function* () {
      const r = yield* runCli([], ["conform", "--protocol", definition.protocol, "--target", "http://127.0.0.1:9", "--out", mkdtempSync(join(tmpdir(), "authlab-usage-"))])
      assert.strictEqual(r.exitCode, 2)
      assert.match(r.stderr, /does not answer its health check/)
    }).pipe(Effect.scoped, Effect.runPromise), LONG)
})

describe("usage errors are refused before any work (exit 2)", () => {
  const served = definitions.find((d) => d.serve !== undefined)!
  const unserved = definitions.find((d) => d.serve === undefined)
  const deviceMutant = definitions.flatMap((d) => d.mutants.filter((m) => d.serve !== undefined && !d.serve.serves(m.impl)).map((m) => ({ protocol: d.protocol, mutant: m.name })))[0]
  const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>, RegExp]> = [
    ["serve: an unknown protocol", ["serve", "--protocol", "nope"], /unknown protocol "nope"/],
    ["serve: a port out of range", ["serve", "--protocol", served.protocol, "--port", "70000"], /--port must be an integer from 0 to 65535/],
    ["serve: a mutant with --variant claimed", ["serve", "--protocol", served.protocol, "--variant", "claimed", "--mutant", served.mutants[0]!.name], /a mutant is a flaw of the hardened protocol/],
    ["serve: an unknown mutant", ["serve", "--protocol", served.protocol, "--mutant", "nope"], /unknown .* mutant nope/],
    ...(unserved === undefined ? [] : [["serve: a protocol with nothing served", ["serve", "--protocol", unserved.protocol], /has no server-side participants/] as const]),
    ...(deviceMutant === undefined ? [] : [["serve: a mutant of a participant that is not served", ["serve", "--protocol", deviceMutant.protocol, "--mutant", deviceMutant.mutant], /is a flaw of a participant that is not served/] as const]),
    ["conform: a target that is not a URL", ["conform", "--protocol", served.protocol, "--target", "ftp://x"], /--target must be an http/],
    ["conform: --runs 0", ["conform", "--protocol", served.protocol, "--target", "http://127.0.0.1:9", "--runs", "0"], /--runs must be an integer from 1/],
    ["conform: an unknown property", ["conform", "--protocol", served.protocol, "--target", "http://127.0.0.1:9", "--property", "P0.nope"], /unknown .* property P0.nope/],
    ["conform: --path without one property", ["conform", "--protocol", served.protocol, "--target", "http://127.0.0.1:9", "--path", "1:2"], /give exactly one --property/]
  ]
  it.each(cases)("%s", (_name, args, message) =>
    Effect.gen(function* () {
      const r = yield* runCli([], [...args, ...(args[0] === "conform" ? ["--out", mkdtempSync(join(tmpdir(), "authlab-usage-"))] : [])])
      assert.strictEqual(r.exitCode, 2, r.stderr)
      assert.match(r.stderr, message)
    }).pipe(Effect.scoped, Effect.runPromise)
  )
})
