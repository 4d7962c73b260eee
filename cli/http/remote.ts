/**
 * Served participants at a URL as the implementation world sees them (`RemoteParticipants`):
 * synchronous calls, because a world is synchronous (properties/harness/world.ts) and its runs must
 * replay exactly. The requests are made on a thread of their own (cli/http/remote-worker.ts);
 * this thread blocks on a shared flag until the answers are posted, then reads them off the port
 * (`Atomics.wait` + `receiveMessageOnPort`).
 */
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads"
import type { RemoteParticipants, ServedAnswer } from "../../properties/definition.ts"
import { answerOf, type Health, routes } from "./binding.ts"
import type { BridgeRequest, BridgeResponse } from "./remote-worker.ts"

/** The target did not answer as the binding says (unreachable, 5xx, a wrong route): not a protocol verdict. */
export class RemoteFailure extends Error {
  override readonly name = "RemoteFailure"
}

export interface Remote extends RemoteParticipants {
  readonly health: () => Health
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

  const exchange = (batch: ReadonlyArray<BridgeRequest>): ReadonlyArray<BridgeResponse> => {
    Atomics.store(flag, 0, 0)
    channel.port1.postMessage(batch)
    // The first call also waits for the thread to load; later ones for the answers alone.
    if (Atomics.wait(flag, 0, 0, TIMEOUT_MILLIS * 2) === "timed-out") throw new RemoteFailure(`no answer from ${base} within ${(TIMEOUT_MILLIS * 2) / 1000} s`)
    const answers = receiveMessageOnPort(channel.port1)?.message as ReadonlyArray<BridgeResponse> | undefined
    if (answers === undefined || answers.length !== batch.length) throw new RemoteFailure("the request thread answered out of turn")
    count += batch.length
    return answers
  }

  const ok = (r: BridgeResponse, what: string) => {
    if (!r.ok) throw new RemoteFailure(`${what}: ${r.error}`)
    return r
  }
  const decodeAnswer = (r: BridgeResponse, participant: string): ServedAnswer => {
    const got = ok(r, `POST ${routes.participant(participant)}`)
    const answer = answerOf(got.status, got.outcome, got.refusal, got.body)
    if (answer === undefined) throw new RemoteFailure(`POST ${routes.participant(participant)} answered ${got.status}: ${new TextDecoder().decode(got.body).trim().slice(0, 200)}`)
    return answer
  }
  const message = (participant: string, bytes: Uint8Array, nowMillis: number | undefined): BridgeRequest => ({
    method: "POST",
    url: `${base}${routes.participant(participant)}`,
    body: bytes,
    ...(nowMillis === undefined ? {} : { nowMillis })
  })

  return {
    health: () => {
      const r = ok(exchange([{ method: "GET", url: `${base}${routes.health}` }])[0]!, `GET ${routes.health}`)
      if (r.status !== 200) throw new RemoteFailure(`GET ${routes.health} answered ${r.status}`)
      try {
        return JSON.parse(new TextDecoder().decode(r.body)) as Health
      } catch {
        throw new RemoteFailure(`GET ${routes.health} did not answer JSON`)
      }
    },
    reset: (fixture) => {
      const r = ok(exchange([{ method: "POST", url: `${base}${routes.reset}`, body: fixture }])[0]!, `POST ${routes.reset}`)
      if (r.status !== 204 && r.status !== 200) throw new RemoteFailure(`POST ${routes.reset} answered ${r.status}: ${new TextDecoder().decode(r.body).trim()}`)
    },
    send: (participant, bytes, nowMillis) => decodeAnswer(exchange([message(participant, bytes, nowMillis)])[0]!, participant),
    sendAll: (messages, nowMillis) => exchange(messages.map((m) => message(m.participant, m.bytes, nowMillis))).map((r, i) => decodeAnswer(r, messages[i]!.participant)),
    requests: () => count,
    close: () => worker.terminate().then(() => undefined)
  }
}
