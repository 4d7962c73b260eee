/**
 * The thread behind cli/http/remote.ts: it makes the HTTP requests (Effect's HttpClient on
 * @effect/platform-node) that the implementation world, which is synchronous, waits for. Each
 * batch is sent at once (concurrent requests), and the answers are posted back before the waiting
 * thread is woken through the shared flag.
 */
// Module paths, not the packages' indexes: this thread loads only the HTTP client, and loads it fast.
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { type MessagePort, workerData } from "node:worker_threads"
import { headers, OCTETS } from "./binding.ts"

export interface BridgeRequest {
  readonly method: "GET" | "POST"
  readonly url: string
  readonly body?: Uint8Array
  /** The world's time for the step (the `authlab-clock` header). */
  readonly nowMillis?: number
  /** The connection the message goes on (the `authlab-connection` header). */
  readonly connection?: string
}

export type BridgeResponse =
  | { readonly ok: true; readonly status: number; readonly outcome?: string; readonly refusal?: string; readonly contentType?: string; readonly body: Uint8Array }
  | { readonly ok: false; readonly error: string }

/** Requests sent at once, numbered so an answer can never be read as another's. */
export interface BridgeBatch {
  readonly id: number
  readonly batch: ReadonlyArray<BridgeRequest>
}

export interface BridgeAnswers {
  readonly id: number
  readonly answers: ReadonlyArray<BridgeResponse>
}

const { port, flag, timeoutMillis } = workerData as { port: MessagePort; flag: Int32Array; timeoutMillis: number }
const runtime = ManagedRuntime.make(NodeHttpClient.layer)

const send = (r: BridgeRequest): Effect.Effect<BridgeResponse, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const request = r.method === "GET" ? HttpClientRequest.get(r.url) : HttpClientRequest.post(r.url).pipe(
            HttpClientRequest.bodyUint8Array(r.body ?? new Uint8Array(0), OCTETS),
            r.nowMillis === undefined ? (x) => x : HttpClientRequest.setHeader(headers.clock, String(r.nowMillis)),
            r.connection === undefined ? (x) => x : HttpClientRequest.setHeader(headers.connection, r.connection)
          )
    const response = yield* client.execute(request)
    const body = new Uint8Array(yield* response.arrayBuffer)
    const h = response.headers
    return {
      ok: true as const,
      status: response.status,
      body,
      ...(h[headers.outcome] === undefined ? {} : { outcome: h[headers.outcome] }),
      ...(h[headers.refusal] === undefined ? {} : { refusal: h[headers.refusal] }),
      ...(h["content-type"] === undefined ? {} : { contentType: h["content-type"] })
    }
  }).pipe(
    Effect.scoped,
    Effect.timeoutFail({ duration: timeoutMillis, onTimeout: () => new Error(`no answer within ${timeoutMillis} ms`) }),
    Effect.catchAll((e) => Effect.succeed({ ok: false as const, error: e instanceof Error ? e.message : String(e) }))
  )

port.on("message", ({ id, batch }: BridgeBatch) => {
  void runtime.runPromise(Effect.all(batch.map(send), { concurrency: "unbounded" })).then((answers) => {
    port.postMessage({ id, answers } satisfies BridgeAnswers)
    Atomics.store(flag, 0, 1)
    Atomics.notify(flag, 0)
  })
})
