/**
 * P3 implementation flows: the honest login → access → refresh cycle on both variants, the
 * access token as any JOSE library sees it (`jose` verifies it, bound to the username), and the
 * ResourceServer's refusals of tampered, expired and `alg`-confused tokens; the API key and the
 * refresh token are stored only as hashes.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Layer, Redacted, Schema } from "effect"
import * as jose from "jose"
import { AccessRequest, ToDevice } from "../../spec/hw-token-2fa/messages.ts"
import { hardened, policies, TICK_SECONDS } from "../../spec/hw-token-2fa/variants.ts"
import { CryptoNoble } from "../crypto/noble.ts"
import { SecureRandomSeeded } from "../crypto/random.ts"
import type { Crypto, SecureRandom } from "../crypto/services.ts"
import { base64urlEncode, toPublicJwk } from "../jws/jws.ts"
import { enrol, makeAuthServer } from "./auth-server.ts"
import { makeUserDevice } from "./device.ts"
import { makeResourceServer } from "./resource-server.ts"
import { emptyAuthState, makeInMemoryAuthStore } from "./store.ts"
import { makeHardwareToken } from "./token.ts"
import { steppedClock } from "../clock.ts"

const T0 = TICK_SECONDS * 5_666_667

const world = (policy = hardened) => {
  let now = T0
  const clock = steppedClock(() => now * 1000)
  const context = Effect.runSync(Effect.scoped(Layer.build(Layer.merge(CryptoNoble, SecureRandomSeeded(7)))))
  const run = <A, E>(e: Effect.Effect<A, E, Crypto | SecureRandom>) => Effect.runSync(Effect.withClock(Effect.provide(e, context), clock))
  const apiKey = new Uint8Array(32).fill(3)
  const secret = new Uint8Array(20).fill(4)
  const store = run(makeInMemoryAuthStore(enrol(emptyAuthState, { username: "alice", apiKey, keyId: "tA", secret })))
  const auth = run(makeAuthServer({ policy, store, signingKey: { alg: "EdDSA", secretKey: new Uint8Array(32).fill(5), kid: "as1" } }))
  const rs = makeResourceServer({ authKey: auth.verificationKey })
  const device = run(makeUserDevice({ apiKey, token: run(makeHardwareToken("tA", Redacted.make(secret))) }))
  const loginAndAccess = () => {
    const grant = run(auth.receive(run(device.login)))
    assert.strictEqual(run(device.receive(grant.reply, "auth")).event, "stored")
    return run(device.access)
  }
  return { run, auth, rs, device, store, loginAndAccess, advance: (s: number) => (now += s), apiKey }
}

const tokenOf = (request: Uint8Array) => Schema.decodeUnknownSync(AccessRequest.wire)(request).accessToken

describe("P3 flows", () => {
  for (const variant of ["claimed", "hardened"] as const) {
    it(`${variant}: login, access, refresh, access`, () => {
      const w = world(policies[variant])
      const access = w.loginAndAccess()
      assert.strictEqual(w.run(w.rs.receive(access)).subject, "alice")
      w.advance(TICK_SECONDS)
      const prompt = w.run(w.auth.receive(w.run(w.device.refresh)))
      const request = w.run(w.device.receive(prompt.reply, "auth"))
      const grant = w.run(w.auth.receive(request.sends[0]!.bytes))
      assert.strictEqual(w.run(w.device.receive(grant.reply, "auth")).event, "stored")
      assert.strictEqual(w.run(w.rs.receive(w.run(w.device.access))).subject, "alice")
    })
  }

  it("jose verifies our access token, bound to the username, with the AuthServer's public JWK", async () => {
    const w = world()
    const token = tokenOf(w.loginAndAccess())
    const key = await jose.importJWK(toPublicJwk(w.auth.verificationKey), "EdDSA")
    const { payload, protectedHeader } = await jose.jwtVerify(token, key, { algorithms: ["EdDSA"], typ: "at+jwt", currentDate: new Date(T0 * 1000) })
    assert.strictEqual(payload.sub, "alice")
    assert.strictEqual(payload.exp, T0 + TICK_SECONDS)
    assert.strictEqual(protectedHeader.alg, "EdDSA")
  })

  it("the website refuses a tampered, an expired, an alg:none and an HS256-confused token", () => {
    const w = world()
    const token = tokenOf(w.loginAndAccess())
    const [h, p, s] = token.split(".") as [string, string, string]
    const send = (t: string) =>
      Either.match(Effect.runSync(Effect.either(Effect.provide(w.rs.receive(AccessRequest.encode(AccessRequest.make({ accessToken: t }))), CryptoNoble))), {
        onLeft: (e) => e.reason,
        onRight: (r) => r.subject
      })
    const claims = JSON.parse(Buffer.from(p, "base64url").toString()) as Record<string, unknown>
    const forged = base64urlEncode(new TextEncoder().encode(JSON.stringify({ ...claims, sub: "mallory" })))
    assert.strictEqual(send(`${h}.${forged}.${s}`), "invalid")
    assert.strictEqual(send(`${base64urlEncode(new TextEncoder().encode('{"alg":"none","typ":"at+jwt"}'))}.${p}.`), "invalid")
    assert.strictEqual(send(`${base64urlEncode(new TextEncoder().encode('{"alg":"HS256","typ":"at+jwt","kid":"as1"}'))}.${p}.${s}`), "invalid")
    // the genuine token still passes (the real clock is long past T0, so the leeway-free check
    // would call it expired: this one is judged at T0 through the world's clock)
    assert.strictEqual(w.run(w.rs.receive(AccessRequest.encode(AccessRequest.make({ accessToken: token })))).subject, "alice")
  })

  it("an access token is refused at its expiry under the injected clock", () => {
    const w = world()
    const request = w.loginAndAccess()
    assert.strictEqual(w.run(w.rs.receive(request)).subject, "alice")
    w.advance(TICK_SECONDS - 1)
    assert.strictEqual(w.run(w.rs.receive(request)).subject, "alice")
    w.advance(1)
    const refused = w.run(Effect.either(w.rs.receive(request)))
    assert.isTrue(Either.isLeft(refused) && refused.left.reason === "expired")
    const reply = Schema.decodeUnknownSync(ToDevice)(Either.isLeft(refused) ? refused.left.reply : new Uint8Array())
    assert.deepStrictEqual(reply, { _tag: "Denied", reason: "expired" })
  })

  it("the store holds hashes, not the API key or the refresh token", () => {
    const w = world()
    w.loginAndAccess()
    const state = w.run(w.store.snapshot)
    const rt = w.run(w.device.observe).refreshToken!
    const dump = JSON.stringify([...state.users.values(), ...state.refresh.keys()])
    assert.notInclude(dump, Buffer.from(w.apiKey).toString("hex"))
    assert.notInclude(dump, Buffer.from(rt).toString("hex"))
    assert.strictEqual(state.refresh.size, 1)
  })
})
