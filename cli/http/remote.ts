/**
 * Served participants at a URL as the implementation world sees them (`RemoteParticipants`):
 * synchronous calls, because a world is synchronous (properties/harness/world.ts) and its runs must
 * replay exactly. The requests are made on a thread of their own (cli/http/remote-worker.ts);
 * this thread blocks on a shared flag until the answers are posted, then reads them off the port
 * (`Atomics.wait` + `receiveMessageOnPort`).
 */
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads"
import type { RemoteParticipants, ServedAnswer } from "../../properties/definition.ts"
import { answerOf, routes } from "./binding.ts"
import type { BridgeAnswers, BridgeBatch, BridgeRequest, BridgeResponse } from "./remote-worker.ts"

/** The target did not answer as the binding says (unreachable, 5xx, a wrong route): not a protocol verdict. */
export class RemoteFailure extends Error {
  override readonly name = "RemoteFailure"
}

export interface Remote extends RemoteParticipants {
  /** Requests made so far (the report's figure). */
  readonly requests: () => number
  readonly close: () => Promise<void>
}

/** Per request; generous, as a loaded 2-core machine can stall a process for seconds. */
const TIMEOUT_MILLIS = 20_000

export const connectRemote = (target: string): Remote => {
  const base = target.replace(/\/+$/, "")
  const flag = new Int32Array(new SharedArrayBuffer(4))
  const channel = new MessageChannel()
  const worker = new Worker(new URL("./remote-worker.mjs", import.meta.url), {
    workerData: { port: channel.port2, flag, timeoutMillis: TIMEOUT_MILLIS },
    transferList: [channel.port2]
  })
  worker.unref()
  let count = 0
  /**
   * The first failure, for good: after a request that timed out, the target may still apply it
   * later (a reset landing in the middle of the next run), so no later answer could be trusted to
   * belong to the run that reads it. Every exchange after it throws the same failure, and the
   * checks end as errors rather than as verdicts on a state nobody knows.
   */
  let broken: RemoteFailure | undefined
  const fail = (message: string): never => {
    broken ??= new RemoteFailure(message)
    throw broken
  }

  let sent = 0
  const exchange = (batch: ReadonlyArray<BridgeRequest>): ReadonlyArray<BridgeResponse> => {
    if (broken !== undefined) throw broken
    const id = ++sent
    Atomics.store(flag, 0, 0)
    channel.port1.postMessage({ id, batch } satisfies BridgeBatch)
    // The thread posts each answer before it raises the flag, so the port is read again after
    // every wake-up. The first call also waits for the thread to load.
    for (;;) {
      const answered = receiveMessageOnPort(channel.port1)?.message as BridgeAnswers | undefined
      if (answered !== undefined) {
        if (answered.id !== id || answered.answers.length !== batch.length) return fail(`the request thread answered batch ${answered.id} while batch ${id} was awaited`)
        count += batch.length
        return answered.answers
      }
      if (Atomics.wait(flag, 0, 0, TIMEOUT_MILLIS * 2) === "timed-out") return fail(`no answer from ${base} within ${(TIMEOUT_MILLIS * 2) / 1000} s`)
      Atomics.store(flag, 0, 0)
    }
  }

  const ok = (r: BridgeResponse, what: string) => (r.ok ? r : fail(`${what}: ${r.error}`))
  const decodeAnswer = (r: BridgeResponse, participant: string, connection?: string): ServedAnswer => {
    const got = ok(r, `POST ${routes.participant(participant)}`)
    const answer = answerOf(got.status, got.outcome, got.refusal, got.body, got.contentType, connection)
    if (answer === undefined) return fail(`POST ${routes.participant(participant)} answered ${got.status}: ${new TextDecoder().decode(got.body).trim().slice(0, 200)}`)
    return answer
  }
  const message = (participant: string, bytes: Uint8Array, nowMillis: number | undefined, connection: string | undefined): BridgeRequest => ({
    method: "POST",
    url: `${base}${routes.participant(participant)}`,
    body: bytes,
    ...(nowMillis === undefined ? {} : { nowMillis }),
    ...(connection === undefined ? {} : { connection })
  })

  return {
    reset: (fixture) => {
      const r = ok(exchange([{ method: "POST", url: `${base}${routes.reset}`, body: fixture }])[0]!, `POST ${routes.reset}`)
      if (r.status !== 204 && r.status !== 200) fail(`POST ${routes.reset} answered ${r.status}: ${new TextDecoder().decode(r.body).trim()}`)
    },
    send: (participant, bytes, nowMillis, connection) => decodeAnswer(exchange([message(participant, bytes, nowMillis, connection)])[0]!, participant, connection),
    sendAll: (messages, nowMillis) =>
      exchange(messages.map((m) => message(m.participant, m.bytes, nowMillis, m.connection))).map((r, i) => decodeAnswer(r, messages[i]!.participant, messages[i]!.connection)),
    requests: () => count,
    close: () => worker.terminate().then(() => undefined)
  }
}
