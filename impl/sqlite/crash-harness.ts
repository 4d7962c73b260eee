/**
 * The parent side of the crash-consistency tests: bundle a crash child once (impl/sqlite/crash-child.ts
 * line protocol), start it on a SQLite file, send it requests, and SIGKILL it — between steps
 * from here, or inside a step by asking it to kill itself — then start it again on the same file.
 *
 * The child is bundled with esbuild (tsx's own compiler) into node_modules/.cache, so a restart
 * costs a plain `node` start (about 0.3 s here) instead of tsx compiling the sources again (about
 * 2.5 s); the crash tests restart a server dozens of times. Not used by the implementation.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { createInterface, type Interface } from "node:readline"
import { build } from "esbuild"

export type CrashPoint = "in-transaction" | "before-reply"

export interface Reply {
  readonly conn?: string
  readonly bytes: Uint8Array
}

export interface Outcome {
  readonly ok: boolean
  readonly reason?: string
  readonly replies: ReadonlyArray<Reply>
  readonly event?: { readonly _tag: string; readonly [k: string]: unknown }
}

const CACHE = resolve("node_modules/.cache/authlab-crash")

/** Bundle `entry` (a crash child) to one ES module; better-sqlite3 stays a native require. */
export const bundleChild = async (entry: string): Promise<string> => {
  mkdirSync(CACHE, { recursive: true })
  const outfile = join(CACHE, `${entry.replace(/[^a-z0-9]+/gi, "-")}.mjs`)
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile,
    external: ["better-sqlite3"],
    logLevel: "warning",
    // The bundle requires CommonJS dependencies: give it the `require` an ES module lacks.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }
  })
  return outfile
}

export class Child {
  private readonly lines: Interface
  private readonly pending: Array<(line: string | undefined) => void> = []
  private readonly queued: Array<string> = []
  private closed = false
  /** Resolves when the process has exited, with its signal (SIGKILL for a crash). */
  readonly exited: Promise<NodeJS.Signals | null>

  private constructor(private readonly process: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: process.stdout })
    this.lines.on("line", (line) => (this.pending.shift() ?? ((l: string | undefined) => this.queued.push(l!)))(line))
    this.exited = new Promise((done) => process.on("exit", (_code, signal) => done(signal)))
    void this.exited.then(() => {
      this.closed = true
      for (const waiter of this.pending.splice(0)) waiter(undefined)
    })
  }

  /** Start `bundle` with `args` and wait for it to say it is ready (its store is open). */
  static async start(bundle: string, args: ReadonlyArray<string>): Promise<Child> {
    const process = spawn("node", [bundle, ...args], { stdio: ["pipe", "pipe", "pipe"] })
    let stderr = ""
    process.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    const child = new Child(process)
    const ready = await child.nextLine()
    if (ready === undefined) throw new Error(`crash child did not start: ${stderr}`)
    return child
  }

  private nextLine(): Promise<string | undefined> {
    const line = this.queued.shift()
    if (line !== undefined) return Promise.resolve(line)
    if (this.closed) return Promise.resolve(undefined)
    return new Promise((resolve) => this.pending.push(resolve))
  }

  /** Send one request; the outcome, or `undefined` when the process died before replying. */
  async send(bytes: Uint8Array, options: { readonly conn?: string; readonly crash?: CrashPoint } = {}): Promise<Outcome | undefined> {
    if (this.closed) throw new Error("send to a dead crash child")
    this.process.stdin.write(`${JSON.stringify({ bytes: Buffer.from(bytes).toString("hex"), ...options })}\n`)
    const line = await this.nextLine()
    if (line === undefined) return undefined
    const raw = JSON.parse(line) as Omit<Outcome, "replies"> & { replies: ReadonlyArray<{ conn?: string; bytes: string }> }
    return { ...raw, replies: raw.replies.map((r) => ({ ...r, bytes: Uint8Array.from(Buffer.from(r.bytes, "hex")) })) }
  }

  /** SIGKILL it (a crash between steps) and wait until it is gone. */
  async kill(): Promise<void> {
    if (!this.closed) this.process.kill("SIGKILL")
    await this.exited
  }
}

/** The one part of better-sqlite3 the tests use (it ships no types, and @types is not installed). */
interface ReadonlyDatabase {
  prepare(sql: string): { get(...params: ReadonlyArray<unknown>): unknown }
  close(): void
}
const Database = createRequire(import.meta.url)("better-sqlite3") as new (file: string, options: { readonly: boolean }) => ReadonlyDatabase

/** One row of `sql` on `file`, read on a read-only connection of its own, as an auditor would. */
export const readRow = <T>(file: string, sql: string): T | undefined => {
  const db = new Database(file, { readonly: true })
  try {
    return db.prepare(sql).get() as T | undefined
  } finally {
    db.close()
  }
}

/** `before` with each count in `change` added: what a step is expected to leave on disk. */
export const added = <T extends { readonly [K in keyof T]: number }>(before: T, change: Partial<T>): T => {
  const out: Record<string, number> = { ...before }
  for (const [k, v] of Object.entries(change) as Array<[string, number | undefined]>) out[k] = (out[k] ?? 0) + (v ?? 0)
  return out as T
}

/** A crash child on its own SQLite file in a temporary directory, restarted on that file at will. */
export class CrashRig {
  private constructor(
    private readonly bundle: string,
    private readonly args: ReadonlyArray<string>,
    private readonly dir: string,
    readonly file: string,
    public child: Child
  ) {}

  /** How many times the child was killed and started again. */
  restarts = 0

  /** Bundle `entry` and start it as `node bundle FILE ...args`. */
  static async start(entry: string, args: ReadonlyArray<string> = []): Promise<CrashRig> {
    const dir = mkdtempSync(join(tmpdir(), "authlab-crash-"))
    const file = join(dir, "server.sqlite")
    const bundle = await bundleChild(entry)
    return new CrashRig(bundle, [file, ...args], dir, file, await Child.start(bundle, [file, ...args]))
  }

  /** SIGKILL the child (if it is still alive) and start a new one on the same file. */
  async restart(): Promise<void> {
    await this.child.kill()
    this.child = await Child.start(this.bundle, this.args)
    this.restarts++
  }

  /** Send `bytes` with the child told to die at `point`, which it must do without replying; then start it again. */
  async crashAt(bytes: Uint8Array, point: CrashPoint, options: { readonly conn?: string } = {}): Promise<void> {
    const outcome = await this.child.send(bytes, { ...options, crash: point })
    if (outcome !== undefined) throw new Error(`a server told to die ${point} replied: ${JSON.stringify(outcome)}`)
    await this.restart()
  }

  /** Send `bytes`, which must be answered, and kill the child between this step and the next. */
  async acknowledged(bytes: Uint8Array, options: { readonly conn?: string } = {}): Promise<Outcome> {
    const outcome = await this.child.send(bytes, options)
    if (outcome === undefined) throw new Error("the server died without answering")
    await this.restart()
    return outcome
  }

  async close(): Promise<void> {
    await this.child.kill()
    rmSync(this.dir, { recursive: true, force: true })
  }
}
