/**
 * What the protocols' served parts (properties/<p>/serve.ts) share: a participant's step read as
 * the binding's answer (spec/HTTP-BINDING.md), and the ServeError they fail with.
 */
import { Effect } from "effect"
import type { ServedAnswer, ServeError } from "../definition.ts"

export const serveError = (message: string): ServeError => ({ _tag: "ServeError", message })

/**
 * The seed a served participant is reset with in a world's run: a stream of its own, replayed
 * with the run. The local participants and the attacker draw from the run's seed itself; a served
 * server given the same one would draw the very bytes they draw (P5's first challenge the device's
 * nonce, P2a's first ephemeral the SE's), hiding findings or making false ones.
 */
export const servedSeed = (seed: number): number => (seed ^ 0x5e4fed2a) >>> 0

/** A fixture that is only a random seed (P5, P4): 4 bytes, big-endian. */
export const seedFixture = (seed: number): Uint8Array => {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, seed >>> 0)
  return out
}

/** The seed of a `seedFixture`, or undefined for bytes that are not one. */
export const seedOfFixture = (fixture: Uint8Array): number | undefined => (fixture.length === 4 ? new DataView(fixture.buffer, fixture.byteOffset, 4).getUint32(0) : undefined)

/** A step's result as an answer: its outcome's name and reply, or its refusal's reason and reply. */
export const answering = <A extends object, E extends { readonly reason: string; readonly reply?: Uint8Array }, R>(
  step: Effect.Effect<A, E, R>,
  outcome: (a: A) => string
): Effect.Effect<ServedAnswer, never, R> =>
  Effect.match(step, {
    // A step may have no reply message at all (P4's backend credits a payment and says nothing).
    onSuccess: (a): ServedAnswer => ({ _tag: "Step", outcome: outcome(a), ...("reply" in a && a.reply instanceof Uint8Array ? { reply: a.reply } : {}) }),
    onFailure: (e): ServedAnswer => ({ _tag: "Refusal", reason: e.reason, ...(e.reply === undefined ? {} : { reply: e.reply }) })
  })
