/**
 * JWS compact (RFC 7515) with EdDSA and ES256: round trips on both `Crypto` layers, interop with
 * `jose` in both directions, and the strict verifier's refusals — `none`, algorithm confusion,
 * bad base64url, extra segments, `crit`, tampering (any flipped bit), expiry under `TestClock`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, TestClock } from "effect"
import fc from "fast-check"
import * as jose from "jose"
import { runs } from "../../properties/harness/config.ts"
import { Crypto } from "../crypto/services.ts"
import { layers } from "../crypto/testing.ts"
import { hex } from "../crypto/vectors.ts"
import {
  base64urlDecode,
  base64urlEncode,
  type JwsAlgorithm,
  type SigningKey,
  signCompact,
  signJwt,
  toPublicJwk,
  verificationKeyOf,
  verifyCompact,
  verifyJwt
} from "./jws.ts"

const ED_SEED = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
const P256_D = hex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721")
const edKey: SigningKey = { alg: "EdDSA", secretKey: ED_SEED, kid: "ed" }
const esKey: SigningKey = { alg: "ES256", secretKey: P256_D, kid: "es" }
const NOW = 1_700_000_000

const reason = <A, R>(effect: Effect.Effect<A, { readonly _tag: string; readonly reason?: string }, R>) =>
  Effect.map(Effect.either(effect), (e) => (Either.isRight(e) ? "ok" : (e.left.reason ?? e.left._tag)))

/** Run at a fixed wall-clock second under TestClock, with a given Crypto layer. */
const at = (seconds: number) => TestClock.setTime(seconds * 1000)

for (const [name, layer] of layers) {
  describe(`JWS over CryptoN${name.slice(1)}`, () => {
    const provide = <A, E>(effect: Effect.Effect<A, E, Crypto>) => Effect.provide(effect, layer)

    for (const key of [edKey, esKey]) {
      it.effect(`${key.alg}: a signed JWT verifies and its claims come back`, () =>
        provide(Effect.gen(function*() {
          yield* at(NOW)
          const pub = yield* verificationKeyOf(key)
          const token = yield* signJwt(key, { sub: "alice", exp: NOW + 60 })
          const { claims, header } = yield* verifyJwt(token, [pub])
          assert.strictEqual(claims.sub, "alice")
          assert.strictEqual(header.alg, key.alg)
          assert.strictEqual(header.kid, key.kid)
        })))

      it.effect(`${key.alg}: expired at exp, valid one second before, leeway honoured`, () =>
        provide(Effect.gen(function*() {
          const pub = yield* verificationKeyOf(key)
          const token = yield* signJwt(key, { sub: "alice", exp: NOW + 60 })
          yield* at(NOW + 59)
          assert.strictEqual(yield* reason(verifyJwt(token, [pub])), "ok")
          yield* at(NOW + 60)
          assert.strictEqual(yield* reason(verifyJwt(token, [pub])), "Expired")
          assert.strictEqual(yield* reason(verifyJwt(token, [pub], { clockToleranceSeconds: 5 })), "ok")
        })))
    }

    it.effect("a token without exp is refused unless exp is not required; nbf in the future is refused", () =>
      provide(Effect.gen(function*() {
        yield* at(NOW)
        const pub = yield* verificationKeyOf(edKey)
        const noExp = yield* signJwt(edKey, { sub: "alice" })
        assert.strictEqual(yield* reason(verifyJwt(noExp, [pub])), "MissingClaim")
        assert.strictEqual(yield* reason(verifyJwt(noExp, [pub], { requiredClaims: [] })), "ok")
        const early = yield* signJwt(edKey, { sub: "alice", exp: NOW + 60, nbf: NOW + 10 })
        assert.strictEqual(yield* reason(verifyJwt(early, [pub])), "NotYetValid")
      })))

    it.effect("algorithm confusion: an EdDSA key refuses ES256, none and HS256 headers before any crypto", () =>
      provide(Effect.gen(function*() {
        yield* at(NOW)
        const edPub = yield* verificationKeyOf(edKey)
        const esPub = yield* verificationKeyOf({ ...esKey, kid: "ed" })
        // an ES256 token whose kid names the Ed25519 key
        const es = yield* signJwt({ ...esKey, kid: "ed" }, { sub: "alice", exp: NOW + 60 })
        assert.strictEqual(yield* reason(verifyJwt(es, [edPub])), "AlgorithmNotAllowed")
        // and the other way round
        const ed = yield* signJwt(edKey, { sub: "alice", exp: NOW + 60 })
        assert.strictEqual(yield* reason(verifyJwt(ed, [esPub])), "AlgorithmNotAllowed")
        const [, payload] = ed.split(".") as [string, string, string]
        for (const alg of ["none", "HS256", "ES256", "eddsa"]) {
          const header = base64urlEncode(new TextEncoder().encode(JSON.stringify({ alg, kid: "ed" })))
          for (const sig of ["", "AAAA"]) {
            assert.strictEqual(yield* reason(verifyJwt(`${header}.${payload}.${sig}`, [edPub])), "AlgorithmNotAllowed")
          }
        }
      })))

    it.effect("structure: extra or missing segments, padding, non-canonical base64url, crit, bad JSON are Malformed", () =>
      provide(Effect.gen(function*() {
        yield* at(NOW)
        const pub = yield* verificationKeyOf(edKey)
        const token = yield* signJwt(edKey, { sub: "alice", exp: NOW + 60 })
        const [h, p, s] = token.split(".") as [string, string, string]
        const enc = (o: unknown) => base64urlEncode(new TextEncoder().encode(JSON.stringify(o)))
        const bad = [
          `${token}.`,
          `${token}.${s}`,
          `${h}.${p}`,
          `${h}..${p}.${s}`,
          `${h}=.${p}.${s}`,
          `${h}.${p}.${s}==`,
          `${h}.${p}.${s}+`,
          `${h.replace(/.$/, "/")}.${p}.${s}`,
          `${enc({ alg: "EdDSA", crit: ["b64"], b64: false })}.${p}.${s}`,
          `${enc(["EdDSA"])}.${p}.${s}`,
          `${enc({ alg: 1 })}.${p}.${s}`,
          `${enc({ alg: "EdDSA", kid: 7 })}.${p}.${s}`,
          `${base64urlEncode(Uint8Array.of(0xff, 0xfe))}.${p}.${s}`,
          `.${p}.${s}`,
          "x".repeat(20_000)
        ].filter((t) => t !== "")
        for (const t of bad) assert.strictEqual(yield* reason(verifyJwt(t, [pub])), "Malformed", t.slice(0, 60))
        // a non-canonical last character: the same bytes with a nonzero unused bit
        assert.isUndefined(base64urlDecode("QR"))
        assert.deepStrictEqual(base64urlDecode("QQ"), Uint8Array.of(0x41))
      })))

    it.effect("a kid no key has is UnknownKey; a payload that is not JSON fails only after the signature", () =>
      provide(Effect.gen(function*() {
        yield* at(NOW)
        const pub = yield* verificationKeyOf(edKey)
        const other = yield* signJwt({ ...edKey, kid: "nobody" }, { exp: NOW + 60 })
        assert.strictEqual(yield* reason(verifyJwt(other, [pub])), "UnknownKey")
        const raw = yield* signCompact(edKey, Uint8Array.of(1, 2, 3))
        assert.strictEqual(yield* reason(verifyCompact(raw, [pub])), "ok")
        assert.strictEqual(yield* reason(verifyJwt(raw, [pub])), "Malformed")
      })))

    it.effect("any flipped bit in the token is refused (property)", () =>
      provide(Effect.gen(function*() {
        yield* at(NOW)
        const keys = [yield* verificationKeyOf(edKey), yield* verificationKeyOf(esKey)]
        const tokens = [
          yield* signJwt(edKey, { sub: "alice", exp: NOW + 60 }),
          yield* signJwt(esKey, { sub: "alice", exp: NOW + 60 })
        ]
        const crypto = yield* Crypto
        fc.assert(
          fc.property(fc.nat({ max: 1 }), fc.nat(), fc.nat({ max: 6 }), (which, pos, bit) => {
            const token = tokens[which]!
            const i = pos % token.length
            const flipped = token.slice(0, i) + String.fromCharCode(token.charCodeAt(i) ^ (1 << bit)) + token.slice(i + 1)
            if (flipped === token) return
            const verdict = Effect.runSync(reason(Effect.provideService(verifyJwt(flipped, keys), Crypto, crypto)))
            assert.notStrictEqual(verdict, "ok", flipped)
          }),
          { numRuns: runs }
        )
      })))
  })
}

describe("interop with jose", () => {
  const cases: ReadonlyArray<readonly [SigningKey, JwsAlgorithm]> = [[edKey, "EdDSA"], [esKey, "ES256"]]
  const provide = <A, E>(effect: Effect.Effect<A, E, Crypto>) => Effect.provide(effect, layers[0]![1])

  for (const [key, alg] of cases) {
    it.effect(`${alg}: jose verifies our token`, () =>
      provide(Effect.gen(function*() {
        const pub = yield* verificationKeyOf(key)
        const exp = Math.floor(Date.now() / 1000) + 300
        const token = yield* signJwt(key, { sub: "alice", exp })
        const joseKey = yield* Effect.promise(() => jose.importJWK(toPublicJwk(pub), alg))
        const { payload, protectedHeader } = yield* Effect.promise(() =>
          jose.jwtVerify(token, joseKey, { algorithms: [alg] })
        )
        assert.strictEqual(payload.sub, "alice")
        assert.strictEqual(protectedHeader.kid, key.kid)
      })))

    it.effect(`${alg}: we verify jose's token, and refuse it once tampered or expired`, () =>
      provide(Effect.gen(function*() {
        const pub = yield* verificationKeyOf(key)
        const jwk = { ...toPublicJwk(pub), d: base64urlEncode(key.secretKey) }
        const joseKey = yield* Effect.promise(() => jose.importJWK(jwk, alg))
        const token = yield* Effect.promise(() =>
          new jose.SignJWT({ sub: "bob" }).setProtectedHeader({ alg, kid: key.kid! }).setExpirationTime(NOW + 60).sign(joseKey)
        )
        // it.effect's TestClock starts at 0, so the token is still valid
        assert.strictEqual(yield* reason(verifyJwt(token, [pub])), "ok")
        const [h, p, s] = token.split(".") as [string, string, string]
        const tampered = `${h}.${base64urlEncode(new TextEncoder().encode(JSON.stringify({ sub: "mallory", exp: NOW + 60 })))}.${s}`
        assert.strictEqual(yield* reason(verifyJwt(tampered, [pub])), "BadSignature")
        assert.strictEqual(yield* reason(verifyJwt(`${h}.${p}.${s}`, [pub])), "ok")
        yield* at(NOW + 60)
        assert.strictEqual(yield* reason(verifyJwt(token, [pub])), "Expired")
      })))
  }
})
