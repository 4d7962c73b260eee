/**
 * The HTTP binding of the protocols' server-side participants (spec/HTTP-BINDING.md), the one
 * place both ends read it from: `authlab serve` (cli/http/server.ts) answers with it and
 * `authlab conform` (cli/http/remote.ts) reads answers with it.
 *
 * A protocol message is the request body, its reply the response body, both the canonical wire
 * bytes of spec/<p>/messages.ts as `application/octet-stream`. The status says how the step went
 * (200 a step, 400 a malformed input, 403 any other refusal) and one header names the step's
 * outcome or the refusal's reason, so a verdict never has to be guessed from a status alone.
 * A participant that tells connections apart (P1's service) is told the sender's connection in a
 * header, and a step of it that sends on other connections too answers with all its messages as
 * (connection, bytes) pairs in a second media type (`DELIVER`).
 */
import type { Delivery, ServedAnswer } from "../../properties/definition.ts"

export const OCTETS = "application/octet-stream"

/**
 * The media type of an answer whose step sends on other connections than the sender's: the body
 * is every message of the step, in order, as (connection, bytes) pairs (`encodeDeliveries`).
 */
export const DELIVER = "application/vnd.authlab.deliver"

/** A connection name (`authlab-connection`, and the recipients of a deliver body). */
export const CONNECTION_NAME = /^[A-Za-z0-9._~-]{1,64}$/

/** The largest request body served; protocol messages are a few hundred bytes. */
export const MAX_BODY_BYTES = 64 * 1024

export const routes = {
  health: "/health",
  reset: "/reset",
  /** `POST /p/<participant>`: one protocol message to that participant. */
  participant: (name: string): `/p/${string}` => `/p/${name}`
} as const

export const headers = {
  /** The outcome of a step the participant took (`authenticated`, `challenge-issued`, …). */
  outcome: "authlab-outcome",
  /** The reason of a refusal (`bad-code`, `malformed`, …). */
  refusal: "authlab-refusal",
  /** Request, test control: the time (Unix milliseconds) the participant takes as now for this step, so expiries follow the world's stepped clock. */
  clock: "authlab-clock",
  /** Request: the connection the message arrives on, for a participant that tells connections apart (P1's C1 and C2). */
  connection: "authlab-connection"
} as const

/** `GET /health`: what is served, so `conform` drives it with matching local participants. */
export interface Health {
  readonly protocol: string
  readonly variant: string
  /** The policy the served participants follow (conform's local participants take it too). */
  readonly policy?: unknown
  readonly mutant?: string
  readonly participants: ReadonlyArray<string>
  readonly store: "memory" | "sqlite"
}

/** The status of an answer: the refusal reason `malformed` is the client's fault in HTTP's terms too. */
export const statusOf = (answer: ServedAnswer): number => (answer._tag === "Step" ? 200 : answer.reason === "malformed" ? 400 : 403)

const u16 = (n: number) => Uint8Array.of(n >>> 8, n & 0xff)
const utf8 = new TextEncoder()

/** A deliver body: for each message, `u16 length ‖ connection (UTF-8)` then `u16 length ‖ bytes`, in the order sent. */
export const encodeDeliveries = (deliveries: ReadonlyArray<Delivery>): Uint8Array => {
  const fields = deliveries.flatMap((d) => [utf8.encode(d.to), d.bytes])
  for (const f of fields) if (f.length > 0xffff) throw new RangeError(`a delivered field of at most 65535 bytes, got ${f.length}`)
  const out = new Uint8Array(fields.reduce((n, f) => n + 2 + f.length, 0))
  let at = 0
  for (const f of fields) {
    out.set(u16(f.length), at)
    out.set(f, at + 2)
    at += 2 + f.length
  }
  return out
}

const connectionName = (bytes: Uint8Array): string | undefined => {
  try {
    const name = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes)
    return CONNECTION_NAME.test(name) ? name : undefined
  } catch {
    return undefined
  }
}

/** The messages of a deliver body, or undefined when it is not one (a cut field, a bad connection name, an odd count). */
export const decodeDeliveries = (body: Uint8Array): ReadonlyArray<Delivery> | undefined => {
  const fields: Array<Uint8Array> = []
  for (let at = 0; at < body.length; ) {
    if (at + 2 > body.length) return undefined
    const length = (body[at]! << 8) | body[at + 1]!
    if (at + 2 + length > body.length) return undefined
    fields.push(body.subarray(at + 2, at + 2 + length))
    at += 2 + length
  }
  if (fields.length % 2 !== 0) return undefined
  const deliveries: Array<Delivery> = []
  for (let i = 0; i < fields.length; i += 2) {
    // A connection name is ASCII (CONNECTION_NAME): bytes that are not even UTF-8 are no name either.
    const to = connectionName(fields[i]!)
    if (to === undefined) return undefined
    deliveries.push({ to, bytes: Uint8Array.from(fields[i + 1]!) })
  }
  return deliveries
}

/**
 * An HTTP answer read back as the participant's answer. A server that sends no reason header is
 * read by its status alone (400 malformed, 401 / 403 refused); anything else (a 404 is a wrong route) is not an answer of the
 * protocol (undefined), and the caller reports the status. A deliver body (`contentType`) is read
 * as the step's deliveries, its reply the first of them on the sender's `connection`; one that
 * does not parse is no answer either.
 */
export const answerOf = (status: number, outcome: string | undefined, refusal: string | undefined, body: Uint8Array, contentType?: string, connection?: string): ServedAnswer | undefined => {
  if ((contentType ?? "").split(";")[0]!.trim().toLowerCase() === DELIVER) {
    const deliveries = decodeDeliveries(body)
    if (deliveries === undefined) return undefined
    const own = deliveries.find((d) => d.to === connection)
    const answer = answerOf(status, outcome, refusal, own?.bytes ?? new Uint8Array(0))
    return answer === undefined ? undefined : { ...answer, deliveries }
  }
  const reply = body.length > 0 ? { reply: body } : {}
  if (status === 200 || status === 204) return { _tag: "Step", outcome: outcome ?? "ok", ...reply }
  if (status === 400) return { _tag: "Refusal", reason: refusal ?? "malformed", ...reply }
  if (status === 401 || status === 403) return { _tag: "Refusal", reason: refusal ?? "refused", ...reply }
  return undefined
}
