/**
 * The node layer imports a secret key once per key array; the cache must never serve a key the
 * array no longer holds: after the array is erased or rewritten, the layer signs with its new
 * bytes (or refuses them), exactly as it would for a fresh array.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { CryptoNode } from "./node.ts"
import { Crypto } from "./services.ts"

const run = <A, E>(effect: Effect.Effect<A, E, Crypto>) => Effect.runSync(Effect.provide(effect, CryptoNode))

describe("node layer: imported secrets", () => {
  it.each(["ed25519Sign", "ecdsaP256Sign"] as const)("%s follows the array's current bytes, not a remembered key", (primitive) => {
    const message = new TextEncoder().encode("authlab")
    const key = new Uint8Array(32).fill(7)
    const verifyWith = primitive === "ed25519Sign" ? "ed25519PublicKey" : "p256PublicKey"
    const first = run(Effect.flatMap(Crypto, (c) => c[primitive](key, message)))
    key.fill(9)
    const afterRewrite = run(Effect.flatMap(Crypto, (c) => c[primitive](key, message)))
    const fresh = run(Effect.flatMap(Crypto, (c) => c[primitive](new Uint8Array(32).fill(9), message)))
    // Ed25519 is deterministic; ECDSA is randomised, so check it verifies under the new key instead.
    if (primitive === "ed25519Sign") expect(afterRewrite).toEqual(fresh)
    expect(afterRewrite).not.toEqual(first)
    const verify = primitive === "ed25519Sign" ? "ed25519Verify" : "ecdsaP256Verify"
    const publicKey = run(Effect.flatMap(Crypto, (c) => c[verifyWith](new Uint8Array(32).fill(9))))
    expect(() => run(Effect.flatMap(Crypto, (c) => c[verify](publicKey, message, afterRewrite)))).not.toThrow()
  })
})
