/**
 * What the protocols' served parts (properties/<p>/serve.ts) share: a participant's step read as
 * the binding's answer (spec/HTTP-BINDING.md), and the ServeError they fail with.
 */
import { Effect } from "effect"
import type { ServedAnswer, ServeError } from "../definition.ts"

export const serveError = (message: string): ServeError => ({ _tag: "ServeError", message })

/** A step's result as an answer: its outcome's name and reply, or its refusal's reason and reply. */
export const answering = <A extends { readonly reply?: Uint8Array }, E extends { readonly reason: string; readonly reply?: Uint8Array }, R>(
  step: Effect.Effect<A, E, R>,
  outcome: (a: A) => string
): Effect.Effect<ServedAnswer, never, R> =>
  Effect.match(step, {
    onSuccess: (a): ServedAnswer => ({ _tag: "Step", outcome: outcome(a), ...(a.reply === undefined ? {} : { reply: a.reply }) }),
    onFailure: (e): ServedAnswer => ({ _tag: "Refusal", reason: e.reason, ...(e.reply === undefined ? {} : { reply: e.reply }) })
  })
