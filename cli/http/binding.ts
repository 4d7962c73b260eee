/**
 * The HTTP binding of the protocols' server-side participants (spec/HTTP-BINDING.md), the one
 * place both ends read it from: `authlab serve` (cli/http/server.ts) answers with it and
 * `authlab conform` (cli/http/remote.ts) reads answers with it.
 *
 * A protocol message is the request body, its reply the response body, both the canonical wire
 * bytes of spec/<p>/messages.ts as `application/octet-stream`. The status says how the step went
 * (200 a step, 400 a malformed input, 403 any other refusal) and one header names the step's
 * outcome or the refusal's reason, so a verdict never has to be guessed from a status alone.
 */
import type { ServedAnswer } from "../../properties/definition.ts"

export const OCTETS = "application/octet-stream"

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
  clock: "authlab-clock"
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

/**
 * An HTTP answer read back as the participant's answer. A server that sends no reason header is
 * read by its status alone (400 malformed, 401 / 403 refused); anything else (a 404 is a wrong route) is not an answer of the
 * protocol (undefined), and the caller reports the status.
 */
export const answerOf = (status: number, outcome: string | undefined, refusal: string | undefined, body: Uint8Array): ServedAnswer | undefined => {
  const reply = body.length > 0 ? { reply: body } : {}
  if (status === 200 || status === 204) return { _tag: "Step", outcome: outcome ?? "ok", ...reply }
  if (status === 400) return { _tag: "Refusal", reason: refusal ?? "malformed", ...reply }
  if (status === 401 || status === 403) return { _tag: "Refusal", reason: refusal ?? "refused", ...reply }
  return undefined
}
