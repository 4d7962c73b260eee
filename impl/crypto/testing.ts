/**
 * Test helpers shared by the crypto suites: the two `Crypto` layers to parametrize over, and
 * `settle`, which turns a primitive's result into a comparable string so that "the layers agree"
 * means same output bytes *and* same error tag and reason.
 */
import { Effect, type Layer } from "effect"
import { CryptoNoble } from "./noble.ts"
import { CryptoNode } from "./node.ts"
import { Crypto, type CryptoInputError, type CryptoShape, type VerificationFailed } from "./services.ts"
import { toHex } from "./vectors.ts"

export const layers: ReadonlyArray<readonly [name: "noble" | "node", layer: Layer.Layer<Crypto>]> = [
  ["noble", CryptoNoble],
  ["node", CryptoNode]
]

/** Both implementations, built once, for properties that call them side by side. */
export const noble: CryptoShape = Effect.runSync(Effect.provide(Crypto, CryptoNoble))
export const node: CryptoShape = Effect.runSync(Effect.provide(Crypto, CryptoNode))

/** Output hex, `ok` for a passed verification, or `VerificationFailed` / `CryptoInputError:<reason>`. */
export const settle = (
  effect: Effect.Effect<Uint8Array | void, VerificationFailed | CryptoInputError>
): Effect.Effect<string> =>
  Effect.match(effect, {
    onSuccess: (value) => (value instanceof Uint8Array ? toHex(value) : "ok"),
    onFailure: (error) => (error._tag === "CryptoInputError" ? `CryptoInputError:${error.reason}` : error._tag)
  })

/** `settle`, run synchronously (every primitive here is synchronous). */
export const outcome = (effect: Effect.Effect<Uint8Array | void, VerificationFailed | CryptoInputError>): string =>
  Effect.runSync(settle(effect))

/** A copy of `bytes` with bit `bit mod 8·length` flipped. */
export const flipBit = (bytes: Uint8Array, bit: number): Uint8Array => {
  const copy = Uint8Array.from(bytes)
  const at = bit % (bytes.length * 8)
  copy[at >> 3]! ^= 1 << (at & 7)
  return copy
}
