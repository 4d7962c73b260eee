/**
 * The command as a new user meets it, bad input on purpose: every bad flag and environment
 * value is refused before any work with one line naming it (exit 2, no stack trace, no report);
 * `-v` prints the version; piped help has no escape codes; an interrupt stops an audit within
 * 2 s with 130 / 143 and leaves the previous report untouched. Real child processes where the
 * process itself is what is tested (environment, signals, streams).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { makeFakeSuite } from "../properties/testing/fake-suite.ts"
import { toolVersion } from "./version.ts"
import { runCli } from "./testing/run-cli.ts"

const root = join(import.meta.dirname, "..")
const authlab = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", ...args], { cwd: root, env: { ...process.env, ...env }, encoding: "utf8", timeout: 120_000 })

describe("bad flags are usage errors", () => {
  const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>, RegExp]> = [
    ["--runs 0", ["--runs", "0"], /--runs must be an integer from 1 to/],
    ["--runs beyond the maximum", ["--runs", "1000000000"], /--runs must be an integer from 1 to/],
    ["--depth 50", ["--depth", "50"], /--depth must be an integer from 1 to 30/],
    ["--workers 0", ["--workers", "0"], /--workers must be an integer from 1 to/],
    ["--path zz:9", ["--path", "zz:9"], /--path must be a fast-check replay path/],
    ["--shard 3/2", ["--shard", "3/2"], /--shard must be i\/n/],
    ["--out under /proc", ["--out", "/proc/authlab-no-such-dir"], /cannot write the report to \/proc/]
  ]
  it.each(cases)("%s", ([, args, message]) =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "authlab-usage-"))
      const r = yield* runCli([makeFakeSuite()], ["audit", "--out", dir, ...args])
      assert.strictEqual(r.exitCode, 2)
      assert.match(r.stderr, message)
      assert.strictEqual(r.stderr.trim().split("\n").length, 1, r.stderr)
      assert.isFalse(existsSync(join(dir, "audit.json")))
    }).pipe(Effect.runPromise)
  )
})

describe("the process", () => {
  it.each([
    ["AUTHLAB_RUNS", "abc"],
    ["AUTHLAB_DEPTH", "-3"],
    ["AUTHLAB_STEPS", "1e9"],
    ["AUTHLAB_WORKERS", "0"],
    ["AUTHLAB_WORKERS", "abc"]
  ])("refuses %s=%s with one line and exit 2, and --help still works", (name, value) => {
    const r = authlab(["audit", "--protocol", "rolling-key"], { [name]: value })
    assert.strictEqual(r.status, 2, r.stderr)
    assert.match(r.stderr, new RegExp(`${name} must be an integer from 1 to`))
    assert.notMatch(r.stderr, /\n\s+at /, "no stack trace")
    assert.strictEqual(authlab(["audit", "--help"], { [name]: value }).status, 0)
  })

  it("prints the version for -v", () => {
    const r = authlab(["-v"])
    assert.strictEqual(r.status, 0)
    assert.include(r.stdout, toolVersion())
  })

  it("writes help without escape codes when piped, and with NO_COLOR", () => {
    for (const env of [{}, { NO_COLOR: "1" }]) {
      const r = authlab(["audit", "--help"], env)
      assert.strictEqual(r.status, 0)
      assert.notMatch(r.stdout, /\x1b\[/)
    }
  })

  it("refuses --wizard without a terminal", () => {
    const r = authlab(["--wizard"])
    assert.strictEqual(r.status, 2)
    assert.match(r.stderr, /needs a terminal/)
  })

  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143]
  ] as const)("stops an audit on %s within 2 s with exit %i, leaving the previous report untouched", async (signal, code) => {
    const dir = mkdtempSync(join(tmpdir(), "authlab-signal-"))
    writeFileSync(join(dir, "audit.json"), "previous report")
    const child = spawn(process.execPath, ["--import", "tsx", "cli/main.ts", "audit", "--protocol", "rolling-key", "--runs", "100000", "--workers", "1", "--out", dir], {
      cwd: root,
      stdio: ["ignore", "ignore", "pipe"]
    })
    // Wait until the audit is at work (its first progress line), then interrupt it.
    await new Promise<void>((resolve) => child.stderr.once("data", () => resolve()))
    const sent = performance.now()
    child.kill(signal)
    const status = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)))
    assert.strictEqual(status, code)
    assert.isBelow(performance.now() - sent, 2500)
    assert.strictEqual(readFileSync(join(dir, "audit.json"), "utf8"), "previous report")
  }, 120_000)
})
