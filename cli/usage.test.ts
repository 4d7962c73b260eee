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
import { parseSize } from "../properties/harness/config.ts"
import { stripAnsi } from "./terminal.ts"
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
  it.each(cases)("%s", (_name, args, message) =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "authlab-usage-"))
      const r = yield* runCli([makeFakeSuite()], ["audit", ...(args.includes("--out") ? [] : ["--out", dir]), ...args])
      assert.strictEqual(r.exitCode, 2)
      assert.match(r.stderr, message)
      assert.strictEqual(r.stderr.trim().split("\n").length, 1, r.stderr)
      assert.isFalse(existsSync(join(dir, "audit.json")))
    }).pipe(Effect.runPromise)
  )
})

describe("escape codes", () => {
  it("are all removed for a pipe, only colours for a terminal with NO_COLOR", () => {
    const text = "\x1b[1m\x1b[31mbold red\x1b[0m\r\x1b[2Kline"
    assert.strictEqual(stripAnsi(text, { colourOnly: false }), "bold red\rline")
    assert.strictEqual(stripAnsi(text, { colourOnly: true }), "bold red\r\x1b[2Kline")
  })
})

describe("environment values", () => {
  it.each([
    ["AUTHLAB_RUNS", "abc"],
    ["AUTHLAB_DEPTH", "-3"],
    ["AUTHLAB_STEPS", "1e9"],
    ["AUTHLAB_WORKERS", "0"],
    ["AUTHLAB_WORKERS", "abc"],
    ["AUTHLAB_FUZZ", "2.5"]
  ])("%s=%s is a problem naming the variable and the range", (name, value) => {
    assert.match(parseSize(name, value, 1, 100).problem ?? "", new RegExp(`^${name} must be an integer from 1 to 100, got`))
  })

  it("an unset or empty value takes the default; a good one is used", () => {
    assert.deepStrictEqual(parseSize("X", undefined, 7, 100), { value: 7 })
    assert.deepStrictEqual(parseSize("X", " ", 7, 100), { value: 7 })
    assert.deepStrictEqual(parseSize("X", "42", 7, 100), { value: 42 })
  })
})

describe("the process", () => {
  it("refuses a bad AUTHLAB_* value with one line and exit 2, no stack trace", () => {
    const r = authlab(["audit", "--protocol", "rolling-key"], { AUTHLAB_RUNS: "abc" })
    assert.strictEqual(r.status, 2, r.stderr)
    assert.match(r.stderr, /AUTHLAB_RUNS must be an integer from 1 to/)
    assert.notMatch(r.stderr, /\n\s+at /, "no stack trace")
  })

  it("still prints help with a bad AUTHLAB_* value, without escape codes when piped", () => {
    const r = authlab(["audit", "--help"], { AUTHLAB_WORKERS: "0", NO_COLOR: "1" })
    assert.strictEqual(r.status, 0, r.stderr)
    assert.include(r.stdout, "--shard")
    assert.notMatch(r.stdout, /\x1b\[/)
  })

  it("prints the version for -v", () => {
    const r = authlab(["-v"])
    assert.strictEqual(r.status, 0)
    assert.include(r.stdout, toolVersion())
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
