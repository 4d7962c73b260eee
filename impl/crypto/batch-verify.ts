/**
 * Batch signature verification on worker threads: Ed25519 (RFC 8032 §5.1.7) and ECDSA P-256
 * (FIPS 186-5 §6.4.2) checks, split into one contiguous share per thread, each share verified by
 * that thread's own `Crypto` service (noble or node layer, with every input check of
 * `services.ts`). Verification is independent per signature, so the shares need no coordination;
 * what a batch costs beyond its signatures is one message each way per thread.
 *
 * `verify` is synchronous, like every participant here (they are run with `Effect.runSync`): the
 * calling thread posts the shares, blocks on a shared counter until every thread has answered
 * (`Atomics.wait`), then reads the answers off the ports (`receiveMessageOnPort`), the pattern of
 * cli/http/remote.ts. The calling thread does no verification itself; with `threads: 1` the
 * batch runs on one worker, the baseline the bench divides by.
 *
 * As with the single checks, a batch *fails* when any signature does not verify:
 * `BatchVerificationFailed` lists exactly the failing positions, in input order, each with the
 * tag of its error (`VerificationFailed` or `CryptoInputError`), and nothing else.
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads"
import { Context, Data, Effect, Layer, type Scope } from "effect"

export interface SignatureCheck {
  readonly scheme: "ed25519" | "ecdsa-p256"
  readonly publicKey: Uint8Array
  readonly message: Uint8Array
  readonly signature: Uint8Array
}

export interface BatchFailure {
  /** Position of the check in the batch given to `verify`. */
  readonly index: number
  readonly error: "VerificationFailed" | "CryptoInputError"
}

export class BatchVerificationFailed extends Data.TaggedError("BatchVerificationFailed")<{
  /** Every check that did not verify, in input order; never empty. */
  readonly failures: ReadonlyArray<BatchFailure>
}> {}

export interface BatchVerifierOptions {
  /** Worker threads, ≥ 1; one per idle core pays (bench/batch-verify.ts). */
  readonly threads: number
  readonly backend: "noble" | "node"
  /** How long `verify` waits for a thread before it gives up with a defect; default 60 s. */
  readonly timeoutMillis?: number
}

export interface BatchVerifier {
  readonly threads: number
  readonly backend: "noble" | "node"
  /** Verify every check; fails with the positions of those that do not verify. */
  readonly verify: (checks: ReadonlyArray<SignatureCheck>) => Effect.Effect<void, BatchVerificationFailed>
}

export class BatchVerifierService extends Context.Tag("authlab/BatchVerifier")<BatchVerifierService, BatchVerifier>() {
  /** A pool for the layer's lifetime: its threads end when the layer's scope closes. */
  static readonly layer = (options: BatchVerifierOptions): Layer.Layer<BatchVerifierService> =>
    Layer.scoped(BatchVerifierService, makeBatchVerifier(options))
}

// --- the messages between the pool and its threads (also read by batch-verify-worker.ts) -----

export interface WorkerSetup {
  readonly backend: "noble" | "node"
  readonly port: MessagePort
  /** One slot per thread: the number of the last share it answered. */
  readonly answered: Int32Array
  readonly slot: number
}

export interface ShareRequest {
  readonly share: number
  readonly checks: ReadonlyArray<SignatureCheck>
}

export interface ShareAnswer {
  readonly share: number
  /** Positions within the share. */
  readonly failures: ReadonlyArray<BatchFailure>
  /** Set when a check threw rather than failing: a bug, never a verdict. */
  readonly defect?: string
}

const DEFAULT_TIMEOUT_MILLIS = 60_000

/** `checks` cut into `parts` contiguous shares of sizes differing by at most one. */
export const shares = <A>(checks: ReadonlyArray<A>, parts: number): ReadonlyArray<{ readonly offset: number; readonly items: ReadonlyArray<A> }> => {
  const out: Array<{ offset: number; items: ReadonlyArray<A> }> = []
  const base = Math.floor(checks.length / parts)
  const extra = checks.length % parts
  for (let i = 0, offset = 0; i < parts && offset < checks.length; i++) {
    const size = base + (i < extra ? 1 : 0)
    out.push({ offset, items: checks.slice(offset, offset + size) })
    offset += size
  }
  return out
}

/** A pool of verifying threads, loaded before it is returned, terminated when the scope closes. */
export const makeBatchVerifier = (options: BatchVerifierOptions): Effect.Effect<BatchVerifier, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { threads, backend } = options
    if (!Number.isSafeInteger(threads) || threads < 1) return yield* Effect.dieMessage(`expected at least 1 thread, got ${threads}`)
    const timeoutMillis = options.timeoutMillis ?? DEFAULT_TIMEOUT_MILLIS
    const answered = new Int32Array(new SharedArrayBuffer(4 * threads))
    const pool = yield* Effect.acquireRelease(
      Effect.sync(() =>
        Array.from({ length: threads }, (_, slot) => {
          const channel = new MessageChannel()
          const setup: WorkerSetup = { backend, port: channel.port2, answered, slot }
          const worker = new Worker(new URL("./batch-verify-worker.mjs", import.meta.url), {
            workerData: setup,
            transferList: [channel.port2]
          })
          // a pool left open must not keep the process alive
          worker.unref()
          return { worker, port: channel.port1 }
        })
      ),
      (workers) => Effect.promise(() => Promise.all(workers.map(({ worker, port }) => (port.close(), worker.terminate()))))
    )
    // Loading a thread (tsx, effect, the layers) takes ~1 s, several on a busy machine: wait for
    // that here, without blocking, so `verify` only ever blocks for the verification itself.
    yield* Effect.async<void>((resume) => {
      let loading = threads
      const timer = setTimeout(() => resume(Effect.dieMessage(`batch verifier: threads not loaded within ${timeoutMillis} ms`)), timeoutMillis)
      for (const { worker } of pool) {
        worker.once("message", () => {
          if (--loading === 0) {
            clearTimeout(timer)
            resume(Effect.void)
          }
        })
        worker.once("error", (cause) => {
          clearTimeout(timer)
          resume(Effect.die(cause))
        })
      }
    })
    let shareNumber = 0

    const verifyNow = (checks: ReadonlyArray<SignatureCheck>): Array<BatchFailure> => {
      const sent = shares(checks, threads).map((s, slot) => {
        const share = ++shareNumber
        pool[slot]!.port.postMessage({ share, checks: s.items } satisfies ShareRequest)
        return { ...s, slot, share }
      })
      const failures: Array<BatchFailure> = []
      for (const { slot, share, offset } of sent) {
        // The thread stores its share number and notifies: a wait that times out without that
        // store is a thread that did not answer (no clock read: Atomics.wait keeps the time).
        for (let seen = Atomics.load(answered, slot); seen !== share; seen = Atomics.load(answered, slot))
          if (Atomics.wait(answered, slot, seen, timeoutMillis) === "timed-out" && Atomics.load(answered, slot) !== share)
            throw new Error(`batch verifier: thread ${slot} did not answer within ${timeoutMillis} ms`)
        const answer = receiveMessageOnPort(pool[slot]!.port)?.message as ShareAnswer | undefined
        if (answer === undefined || answer.share !== share) throw new Error(`batch verifier: thread ${slot} answered out of turn`)
        if (answer.defect !== undefined) throw new Error(`batch verifier: thread ${slot}: ${answer.defect}`)
        for (const f of answer.failures) failures.push({ index: offset + f.index, error: f.error })
      }
      return failures
    }

    return {
      threads,
      backend,
      verify: (checks) =>
        Effect.flatMap(Effect.sync(() => verifyNow(checks)), (failures) =>
          failures.length === 0 ? Effect.void : Effect.fail(new BatchVerificationFailed({ failures })))
    } satisfies BatchVerifier
  })
