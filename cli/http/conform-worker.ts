/**
 * The thread that judges conform's checks. A world waits for each answer of the target by
 * blocking its thread (cli/http/remote.ts); here that thread is not the command's, so the command
 * still hears SIGINT / SIGTERM and ends this one at once, as the audit does with its workers.
 */
import { parentPort, workerData } from "node:worker_threads"
import { checkOnImpl, rememberingRuns } from "../../properties/harness/check.ts"
import type { SecurityProperty } from "../../spec/property.ts"
import { definitions } from "../protocols.ts"
import { connectRemote, RemoteFailure } from "./remote.ts"

export interface JudgeRequest {
  readonly protocol: string
  readonly target: string
  /** The policy the target serves (its health answer), which the local participants follow. */
  readonly policy: unknown
  readonly properties: ReadonlyArray<string>
  readonly runs: number
  /** Attacker moves per run. */
  readonly steps: number
  readonly seed: number
  readonly path?: string
  /** fast-check's shrinking of a failing run (`--no-shrink` turns it off). */
  readonly shrink: boolean
}

/** A property's verdict on the target; the command adds the replay command. */
export interface Judged {
  readonly property: string
  /** `n/a`: the property needs what cannot be seen from outside (`ServeSide.unjudged`). */
  readonly verdict: "holds" | "fails" | "error" | "n/a"
  readonly runs: number
  readonly millis: number
  readonly counterexample?: NonNullable<ReturnType<typeof checkOnImpl>["counterexample"]>
  readonly error?: string
}

export type JudgeMessage = { readonly _tag: "Judged"; readonly check: Judged } | { readonly _tag: "Done"; readonly requests: number }

const request = workerData as JudgeRequest
const definition = definitions.find((d) => d.protocol === request.protocol)!
const remote = connectRemote(request.target)
const starts = definition.starts.map((s) => s.name)
const runOf = rememberingRuns((seed, start) => definition.impl.world({ policy: request.policy, seed, start: starts[start]!, malformed: true, flaw: undefined, remote }))

const judge = (property: SecurityProperty): Judged => {
  const started = performance.now()
  if (definition.serve?.unjudged?.includes(property.id))
    return { property: property.id, verdict: "n/a", runs: 0, millis: 0, error: "not judged from outside: judging it needs the server's store" }
  try {
    const j = checkOnImpl(runOf, property, { runs: request.runs, seed: request.seed, depth: request.steps, starts: starts.length, shrink: request.shrink, ...(request.path === undefined ? {} : { path: request.path }) })
    return { property: property.id, verdict: j.verdict, runs: j.runs, millis: performance.now() - started, ...(j.counterexample === undefined ? {} : { counterexample: j.counterexample }) }
  } catch (e) {
    // fast-check reports an exception in a run as a failure whose cause is the exception.
    const cause = e instanceof Error && e.cause instanceof Error ? e.cause : e
    const error = cause instanceof RemoteFailure ? `the target stopped answering as the binding says: ${cause.message}` : `the check could not run: ${cause instanceof Error ? cause.message : String(cause)}`
    return { property: property.id, verdict: "error", runs: 0, millis: performance.now() - started, error }
  }
}

for (const property of definition.properties.filter((p) => request.properties.includes(p.id)))
  parentPort!.postMessage({ _tag: "Judged", check: judge(property) } satisfies JudgeMessage)
parentPort!.postMessage({ _tag: "Done", requests: remote.requests() } satisfies JudgeMessage)
await remote.close()
