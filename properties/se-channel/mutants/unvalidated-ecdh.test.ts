/**
 * The `point-not-validated` mutant's ECDH is faithful: on points of P-256 it agrees with the real
 * ECDH, and on a point off the curve it returns a value (where the real one refuses) — the
 * invalid-curve behaviour the mutant stands for.
 */
import { p256 } from "@noble/curves/nist.js"
import { Effect, Exit, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { CryptoNoble } from "../../../impl/crypto/noble.ts"
import type { Crypto } from "../../../impl/crypto/services.ts"
import { ecdh } from "../../../impl/se-channel/keys.ts"
import { unvalidatedEcdh } from "./unvalidated-ecdh.ts"

const withCrypto = <A, E>(e: Effect.Effect<A, E, Crypto>) => Effect.runSyncExit(Effect.provide(e, Layer.fresh(CryptoNoble)))

describe("unvalidated ECDH (point-not-validated mutant)", () => {
  it("agrees with the real ECDH on curve points", () => {
    for (let i = 1; i <= 5; i++) {
      const secret = p256.utils.randomSecretKey()
      const peer = p256.getPublicKey(p256.utils.randomSecretKey(), true)
      expect(withCrypto(unvalidatedEcdh(secret, peer))).toStrictEqual(withCrypto(ecdh(secret, peer)))
    }
  })

  it("computes a value for a point off the curve, which the real ECDH refuses", () => {
    const offCurve = new Uint8Array(33)
    offCurve[0] = 2
    for (let x = 1; x < 256; x++) {
      offCurve[32] = x
      if (Exit.isFailure(withCrypto(ecdh(p256.utils.randomSecretKey(), offCurve)))) break
    }
    const secret = p256.utils.randomSecretKey()
    expect(Exit.isFailure(withCrypto(ecdh(secret, offCurve)))).toBe(true)
    expect(Exit.isSuccess(withCrypto(unvalidatedEcdh(secret, offCurve)))).toBe(true)
  })
})
