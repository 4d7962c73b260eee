/**
 * P1 implementation, end to end: an honest hardened issuance produces a soft token that `jose`
 * (an independent JOSE library) verifies, whose `cnf.jwk` (RFC 7800) is the device's secure-element
 * key; tampered attributes, a swapped `cnf` key and an expired token are refused by `jose` and by
 * our relying party. Time runs on `TestClock`, randomness on a seeded `SecureRandom`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Layer, Redacted, Schema, TestClock } from "effect"
import * as jose from "jose"
import { IssueRequest, OtpSubmit, Present, PossessionProof, RpChallenge } from "../../spec/soft-token/messages.ts"
import { claimed, hardened, TOKEN_LIFETIME_SECONDS } from "../../spec/soft-token/variants.ts"
import { CryptoNoble } from "../crypto/noble.ts"
import { SecureRandomSeeded } from "../crypto/random.ts"
import { base64urlDecode, base64urlEncode, type SigningKey, toPublicJwk, verificationKeyOf } from "../jws/jws.ts"
import { makeDevice } from "./device.ts"
import { makeIdToken } from "./id-token.ts"
import { makeRelyingParty } from "./relying-party.ts"
import { makeSecureElement } from "./secure-element.ts"
import { makeService } from "./service.ts"
import { makeMemoryStore } from "./store.ts"
import { jwkOf, possessionInput, tokenBytes } from "./token.ts"
import { makeUserComputer } from "./user-computer.ts"

const NOW = 1_700_000_000
const ISSUER_D = Uint8Array.from({ length: 32 }, (_, i) => i + 1)
const issuerKey: SigningKey = { alg: "ES256", secretKey: ISSUER_D, kid: "issuer" }
const layer = Layer.merge(CryptoNoble, SecureRandomSeeded(7))

/** One honest hardened issuance: the device's C1, the user's C2 with confirmation, the token over C1. */
const issue = Effect.gen(function*() {
  yield* TestClock.setTime(NOW * 1000)
  const se = yield* makeSecureElement
  const other = yield* makeSecureElement
  const card = yield* makeIdToken({ attributes: { name: "alice", birthdate: "1990-01-01" }, pin: Redacted.make("1234"), chipKey: Redacted.make(new Uint8Array(32).fill(9)) })
  const service = yield* makeService({ policy: hardened, issuerKey, trustedCards: [card.cardKey] })
  const device = makeDevice({ policy: hardened, se, name: "Alice's phone" })
  const pc = makeUserComputer({ idToken: card, pin: Redacted.make("1234") })
  const begin = yield* device.request("c1")
  const nonce = yield* service.receive("c1", begin)
  const request = yield* device.receive(nonce.replies[0]!.bytes)
  const otp = yield* service.receive("c1", request.sends[0]!)
  yield* device.receive(otp.replies[0]!.bytes)
  const shown = (yield* device.observe).display!
  const ask = yield* service.receive("c2", yield* pc.type(shown.otp))
  yield* pc.receive(ask.replies[0]!.bytes)
  assert.strictEqual((yield* pc.observe).shown?.fingerprint, shown.fingerprint, "the PC shows the phone's key fingerprint")
  const answer = yield* pc.confirm
  const issued = yield* service.receive("c2", answer[0]!)
  assert.deepStrictEqual(issued.replies.map((r) => r.conn), ["c1"], "hardened delivers over C1 only")
  yield* device.receive(issued.replies[0]!.bytes)
  const token = (yield* device.observe).token!
  const rp = yield* makeRelyingParty({ issuerKeys: [yield* verificationKeyOf(issuerKey)] })
  return { token, se, other, rp, device }
})

const issuerJwk = () => Effect.map(verificationKeyOf(issuerKey), (k) => toPublicJwk(k))

/** Re-encode the payload with a change, keeping the original header and signature. */
const tamper = (token: string, change: (claims: Record<string, unknown>) => void): string => {
  const [h, p, s] = token.split(".") as [string, string, string]
  const claims = JSON.parse(new TextDecoder().decode(base64urlDecode(p)!)) as Record<string, unknown>
  change(claims)
  return `${h}.${base64urlEncode(new TextEncoder().encode(JSON.stringify(claims)))}.${s}`
}

const joseVerdict = (token: string, jwk: jose.JWK, at: number) =>
  Effect.promise(async () => {
    try {
      const key = await jose.importJWK(jwk, "ES256")
      const { payload } = await jose.jwtVerify(token, key, { algorithms: ["ES256"], currentDate: new Date(at * 1000) })
      return { ok: true as const, payload }
    } catch (e) {
      return { ok: false as const, code: (e as { code?: string }).code ?? String(e) }
    }
  })

/** Our relying party: present, answer the challenge with `signer`, return the verdict. */
const rpVerdict = (rp: Effect.Effect.Success<typeof issue>["rp"], token: string, sign: (m: Uint8Array) => Effect.Effect<Uint8Array, unknown>) =>
  Effect.gen(function*() {
    const presented = yield* Effect.either(rp.receive("r", Present.encode(Present.make({ token: tokenBytes(token) }))))
    if (Either.isLeft(presented)) return presented.left.reason
    if (presented.right._tag !== "challenged") return "no challenge"
    const { nonce } = Schema.decodeUnknownSync(RpChallenge.wire)(presented.right.reply)
    const signature = yield* Effect.orDie(sign(possessionInput(nonce, tokenBytes(token))))
    const verdict = yield* Effect.either(rp.receive("r", PossessionProof.encode(PossessionProof.make({ signature }))))
    return Either.isRight(verdict) ? verdict.right._tag : verdict.left.reason
  })

describe("P1 soft token (JWS, RFC 7800 cnf)", () => {
  it.effect("verifies with jose; its cnf key is the secure element's; our relying party accepts it with a fresh SE signature", () =>
    Effect.gen(function*() {
      const { token, se, rp } = yield* issue
      const v = yield* joseVerdict(token, yield* issuerJwk(), NOW + 60)
      assert.isTrue(v.ok)
      if (!v.ok) return
      assert.deepStrictEqual((v.payload["attrs"] as object), { birthdate: "1990-01-01", name: "alice" })
      assert.deepStrictEqual((v.payload["cnf"] as { jwk: unknown }).jwk, jwkOf(se.publicKey))
      assert.strictEqual(yield* rpVerdict(rp, token, se.sign), "accepted")
    }).pipe(Effect.provide(layer)))

  it.effect("tampered attributes are refused by jose and by our relying party", () =>
    Effect.gen(function*() {
      const { token, se, rp } = yield* issue
      const forged = tamper(token, (c) => void ((c["attrs"] as Record<string, string>)["name"] = "mallory"))
      const v = yield* joseVerdict(forged, yield* issuerJwk(), NOW + 60)
      assert.isFalse(v.ok)
      if (!v.ok) assert.strictEqual(v.code, "ERR_JWS_SIGNATURE_VERIFICATION_FAILED")
      assert.strictEqual(yield* rpVerdict(rp, forged, se.sign), "bad-token")
    }).pipe(Effect.provide(layer)))

  it.effect("a swapped cnf key is refused by jose, and a genuine token without the bound key's signature by our relying party", () =>
    Effect.gen(function*() {
      const { token, other, rp } = yield* issue
      const swapped = tamper(token, (c) => void (c["cnf"] = { jwk: jwkOf(other.publicKey) }))
      const v = yield* joseVerdict(swapped, yield* issuerJwk(), NOW + 60)
      assert.isFalse(v.ok)
      assert.strictEqual(yield* rpVerdict(rp, swapped, other.sign), "bad-token")
      // The genuine token, answered by another secure element: possession fails.
      assert.strictEqual(yield* rpVerdict(rp, token, other.sign), "bad-possession")
    }).pipe(Effect.provide(layer)))

  it.effect("an expired token is refused by jose and, under TestClock, by our relying party", () =>
    Effect.gen(function*() {
      const { token, se, rp } = yield* issue
      const after = NOW + TOKEN_LIFETIME_SECONDS
      const v = yield* joseVerdict(token, yield* issuerJwk(), after)
      assert.isFalse(v.ok)
      if (!v.ok) assert.strictEqual(v.code, "ERR_JWT_EXPIRED")
      yield* TestClock.setTime(after * 1000)
      assert.strictEqual(yield* rpVerdict(rp, token, se.sign), "bad-token")
    }).pipe(Effect.provide(layer)))

  it.effect("the OTP is single use and expires after its lifetime", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW * 1000)
      const service = yield* makeService({ policy: hardened, issuerKey, trustedCards: [] })
      const requestOtp = (c1: string) =>
        Effect.gen(function*() {
          const device = makeDevice({ policy: hardened, se: yield* makeSecureElement, name: "phone" })
          const nonce = yield* service.receive(c1, yield* device.request(c1))
          const request = yield* device.receive(nonce.replies[0]!.bytes)
          yield* device.receive((yield* service.receive(c1, request.sends[0]!)).replies[0]!.bytes)
          return (yield* device.observe).display!.otp
        })
      const submit = (conn: string, otp: string) =>
        Effect.map(Effect.either(service.receive(conn, OtpSubmit.encode(OtpSubmit.make({ otp })))), (r) => (Either.isRight(r) ? "ok" : r.left.reason))
      const first = yield* requestOtp("c1")
      yield* TestClock.adjust(`${hardened.otpLifetimeSeconds! - 1} seconds`)
      assert.strictEqual(yield* submit("c2", first), "ok")
      assert.strictEqual(yield* submit("c3", first), "bad-otp")
      const second = yield* requestOtp("c4")
      yield* TestClock.adjust(`${hardened.otpLifetimeSeconds!} seconds`)
      assert.strictEqual(yield* submit("c5", second), "expired")
      assert.strictEqual(yield* submit("c6", second), "bad-otp")
    }).pipe(Effect.provide(layer)))

  it.effect("the ID token releases its attributes only on the right PIN, and blocks after three wrong ones", () =>
    Effect.gen(function*() {
      const card = yield* makeIdToken({ attributes: { name: "alice" }, pin: Redacted.make("1234"), chipKey: Redacted.make(new Uint8Array(32).fill(9)) })
      const nonce = new Uint8Array(32)
      const read = (pin: string) => Effect.map(Effect.either(card.read(Redacted.make(pin), nonce)), (r) => (Either.isRight(r) ? r.right.attributes : r.left._tag === "CardRefused" ? r.left.reason : r.left._tag))
      assert.strictEqual(yield* read("0000"), "wrong-pin")
      assert.strictEqual(yield* read("1234"), '{"name":"alice"}', "a right PIN resets the count")
      assert.strictEqual(yield* read("0000"), "wrong-pin")
      assert.strictEqual(yield* read("0001"), "wrong-pin")
      assert.strictEqual(yield* read("0002"), "blocked")
      assert.strictEqual(yield* read("1234"), "blocked")
    }).pipe(Effect.provide(layer)))

  it.effect("the service refuses truncated, padded and random bytes as malformed, with no reply and no state change", () =>
    Effect.gen(function*() {
      const store = makeMemoryStore()
      const service = yield* makeService({ policy: hardened, issuerKey, trustedCards: [], store })
      const good = OtpSubmit.encode(OtpSubmit.make({ otp: "12345678" }))
      for (const bytes of [good.subarray(0, good.length - 1), Uint8Array.from([...good, 0]), new Uint8Array([1, 99, 0, 0]), new Uint8Array(0)]) {
        const r = yield* Effect.either(service.receive("c", bytes))
        assert.isTrue(Either.isLeft(r) && r.left.reason === "malformed" && r.left.replies.length === 0)
      }
      assert.deepStrictEqual(yield* store.snapshot, { records: [], nonces: [], reads: [] })
    }).pipe(Effect.provide(layer)))
})

describe("the service's edge", () => {
  it.effect("refuses an IssueRequest whose key is not a P-256 point, as malformed, in every variant, storing nothing", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW * 1000)
      for (const policy of [claimed, hardened]) {
        const store = makeMemoryStore()
        const service = yield* makeService({ policy, issuerKey, trustedCards: [], store })
        // x = p + 1 (≥ the field prime): 33 bytes of the right shape, but no point of the curve.
        const notAPoint = Uint8Array.from([0x02, ...new Uint8Array(32).fill(0xff)])
        const request = IssueRequest.encode(IssueRequest.make({ publicKey: notAPoint, deviceName: "phone", pop: new Uint8Array(policy.proofOfPossession ? 64 : 0) }))
        const refused = yield* Effect.either(service.receive("c1", request))
        assert.isTrue(Either.isLeft(refused))
        assert.strictEqual(Either.isLeft(refused) ? refused.left.reason : undefined, "malformed")
        assert.deepStrictEqual(yield* store.records, [])
      }
    }).pipe(Effect.provide(layer)))
})
