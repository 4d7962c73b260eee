/**
 * The child side of the crash-consistency tests: a server-side participant on a SQLite file,
 * driven over a line protocol on stdin/stdout, that can be told to SIGKILL itself inside a step.
 *
 * One JSON object per line. In: `{ "bytes": hex, "conn"?: string, "crash"?: "in-transaction" |
 * "before-reply" }`. Out: `{ "ready": true }` once the store is open, then for each request
 * `{ "ok": true, "replies": [{ "conn"?, "bytes": hex }], "event": ... }` or
 * `{ "ok": false, "reason": ..., "replies": [...] }`.
 *
 * `crash: "in-transaction"` kills the process after the step has done all its writes and before
 * its transaction commits; `"before-reply"` after COMMIT and before the reply is written. (The
 * test itself kills the process between steps.) The hook is here, in the test's child, not in the
 * participants: `impl/` has no crash switch. Not used by the implementation.
 */
import { createInterface } from "node:readline"
import { Effect, type Layer, ManagedRuntime } from "effect"
import { StepTransaction } from "./step.ts"

export interface ChildRequest {
  readonly bytes: Uint8Array
  readonly conn?: string
}

export interface ChildReply {
  readonly conn?: string
  readonly bytes: Uint8Array
}

export interface ChildOutcome {
  readonly ok: boolean
  /** The precise reason of a refusal (for the test's assertions only). */
  readonly reason?: string
  readonly replies: ReadonlyArray<ChildReply>
  readonly event?: unknown
}

/** One step of the participant: the bytes in, what it replies; a refusal is an outcome too. */
export type ChildStep = (request: ChildRequest) => Effect.Effect<ChildOutcome>

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")
const die = () => process.kill(process.pid, "SIGKILL")

/** Serve `make`'s step on the services of `layer`, each request one transaction of its `StepTransaction`, until stdin closes. */
export const runCrashChild = async <R>(make: Effect.Effect<ChildStep, unknown, R>, layer: Layer.Layer<R | StepTransaction, unknown>) => {
  try {
    const runtime = ManagedRuntime.make(layer)
    const [step, tx] = await runtime.runPromise(Effect.all([make, StepTransaction]))
    process.stdout.write(`${JSON.stringify({ ready: true })}\n`)
    for await (const line of createInterface({ input: process.stdin })) {
      const input = JSON.parse(line) as { bytes: string; conn?: string; crash?: "in-transaction" | "before-reply" }
      const request: ChildRequest = { bytes: Buffer.from(input.bytes, "hex"), ...(input.conn === undefined ? {} : { conn: input.conn }) }
      // The kill inside the transaction comes after the step's last write, whatever its verdict.
      const inside = Effect.tap(step(request), () => Effect.sync(() => input.crash === "in-transaction" && die()))
      const outcome = await runtime.runPromise(tx.run(inside))
      if (input.crash === "before-reply") die()
      process.stdout.write(`${JSON.stringify({ ...outcome, replies: outcome.replies.map((r) => ({ ...r, bytes: hex(r.bytes) })) })}\n`)
    }
    await runtime.dispose()
  } catch (e) {
    process.stderr.write(`crash child failed: ${String(e)}\n`)
    process.exit(1)
  }
}
