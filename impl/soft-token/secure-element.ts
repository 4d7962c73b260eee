/**
 * P1 secure element: a P-256 key pair whose secret half never leaves it (SPEC.md §Claim 1 (1)).
 * Its only operations are "give your public key" and "sign this transcript" (ECDSA P-256 /
 * SHA-256, as secure elements implement). The secret is held `Redacted`, so it cannot be logged.
 */
import { Effect, Redacted } from "effect"
import { Crypto, type CryptoInputError, SecureRandom } from "../crypto/services.ts"

export interface SecureElement {
  /** SEC1 compressed (33 bytes). */
  readonly publicKey: Uint8Array
  readonly sign: (message: Uint8Array) => Effect.Effect<Uint8Array, CryptoInputError>
}

/** Generate a key inside the element (rejection sampling: a scalar ≥ n is drawn again). */
export const makeSecureElement = Effect.gen(function*() {
  const crypto = yield* Crypto
  const random = yield* SecureRandom
  for (;;) {
    const candidate = yield* random.bytes(32)
    const publicKey = yield* Effect.option(crypto.p256PublicKey(candidate))
    if (publicKey._tag === "None") continue
    const secret = Redacted.make(candidate)
    const element: SecureElement = {
      publicKey: publicKey.value,
      sign: (message) => crypto.ecdsaP256Sign(Redacted.value(secret), message)
    }
    return element
  }
})
