/**
 * P3 hw-token-2fa (US 10,554,641) on the `hardened` policy: what its operations cost, each as a
 * ratio to the raw crypto it needs.
 *
 * - access token sign / verify (JWS compact, EdDSA, the claims the AuthServer issues):
 *   `impl/jws` over our noble layer and our node layer; raw noble (`ed25519.sign` / `verify` on
 *   the signing input, base64url included); raw `node:crypto` (`sign` / `verify` on KeyObjects
 *   built once); and `jose`. jose is asynchronous only (WebCrypto): its figure replays per-call
 *   nanoseconds measured at set-up in an awaited loop of one call at a time (the await and
 *   promise cost is part of what jose costs a caller), so read it with that in mind.
 * - OTP verification (HOTP SHA-1, 6 digits, window 3, every candidate computed — constant
 *   time): `impl/otp` `verifyHotp` against raw noble and raw node (3 × HMAC-SHA1, truncation,
 *   compare).
 * - a full refresh rotation (device: RefreshBegin → AuthServer: prompt → device: press token,
 *   RefreshRequest → AuthServer: look up, check OTP, rotate, sign → device: store), on both
 *   layers, against its raw crypto: 1 Ed25519 verify (RefreshBegin), 4 × HMAC-SHA1 (the press
 *   and the window of 3), 2 × SHA-256 (presented and new refresh token), 32 random bytes,
 *   1 Ed25519 sign (the new access token).
 *
 * The in-memory store copies its maps on every transaction, and a family grows by one refresh
 * token per rotation, so the rotation figure re-enrols every `ROTATIONS_PER_FAMILY` rotations,
 * outside the timed part (`manual`: only the rotation's own nanoseconds count).
 */
import { createHmac, createPrivateKey, createPublicKey, createHash, randomBytes as nodeRandomBytes, sign, verify, timingSafeEqual } from "node:crypto"
import { ed25519 } from "@noble/curves/ed25519.js"
import { hmac } from "@noble/hashes/hmac.js"
import { sha1 } from "@noble/hashes/legacy.js"
import { sha256 } from "@noble/hashes/sha2.js"
import { randomBytes as nobleRandomBytes } from "@noble/hashes/utils.js"
import { type Context, Effect, Either, Layer, Redacted, Schema } from "effect"
import * as jose from "jose"
import { ACCESS_TOKEN_TYP, ToDevice } from "../spec/hw-token-2fa/messages.ts"
import { hardened, TICK_SECONDS } from "../spec/hw-token-2fa/variants.ts"
import { constantTimeEqual } from "../impl/crypto/bytes.ts"
import { CryptoNoble } from "../impl/crypto/noble.ts"
import { CryptoNode } from "../impl/crypto/node.ts"
import { SecureRandomSystem } from "../impl/crypto/random.ts"
import type { Crypto, SecureRandom } from "../impl/crypto/services.ts"
import { type AuthServer, enrol, makeAuthServer } from "../impl/hw-token-2fa/auth-server.ts"
import { makeUserDevice, type UserDevice } from "../impl/hw-token-2fa/device.ts"
import { emptyAuthState, makeInMemoryAuthStore } from "../impl/hw-token-2fa/store.ts"
import { makeHardwareToken } from "../impl/hw-token-2fa/token.ts"
import { steppedClock } from "../impl/clock.ts"
import { base64urlEncode, type SigningKey, signJwt, toPublicJwk, type VerificationKey, verificationKeyOf, verifyJwt } from "../impl/jws/jws.ts"
import { dynamicTruncate, verifyHotp } from "../impl/otp/otp.ts"
import { type Baselines, type Case, consume } from "./measure.ts"
import type { BenchSuite } from "./run.ts"

export const GROUP = "hw-token-2fa"

export const Op = {
  sign: "P3 access token sign (JWS compact, EdDSA)",
  verify: "P3 access token verify (JWS compact, EdDSA, exp)",
  otp: "P3 OTP verification (HOTP SHA-1, 6 digits, window 3)",
  rotation: "P3 hardened refresh rotation (begin → prompt → request → grant), device + server"
} as const

export const Impl = {
  authlabNoble: "authlab, noble layer",
  authlabNode: "authlab, node layer",
  authlabOtp: "authlab impl/otp",
  rawNoble: "raw noble",
  rawNode: "raw node:crypto",
  jose: "jose (async, sampled)",
  rawNobleRotation: "raw noble: Ed25519 verify + sign, 4 HMAC-SHA1, 2 SHA-256, 32 random bytes",
  rawNodeRotation: "raw node: Ed25519 verify + sign, 4 HMAC-SHA1, 2 SHA-256, 32 random bytes"
} as const

/** Our stack over the raw library it wraps; raw noble and jose over raw node:crypto. */
export const hwToken2faBaselines: Baselines = (f) => {
  if (f.operation === Op.rotation) {
    if (f.implementation === Impl.authlabNoble) return Impl.rawNobleRotation
    if (f.implementation === Impl.authlabNode) return Impl.rawNodeRotation
    if (f.implementation === Impl.rawNobleRotation) return Impl.rawNodeRotation
    return undefined
  }
  switch (f.implementation) {
    case Impl.authlabNoble:
    case Impl.authlabOtp:
      return Impl.rawNoble
    case Impl.authlabNode:
    case Impl.rawNoble:
    case Impl.jose:
      return Impl.rawNode
    default:
      return undefined
  }
}

const NOW_SECONDS = TICK_SECONDS * 5_666_667
const fixedClock = steppedClock(() => NOW_SECONDS * 1000)

const seed = new Uint8Array(32).fill(0x2a)
const signingKey: SigningKey = { alg: "EdDSA", secretKey: seed, kid: "as1" }
const claims = { sub: "alice", iat: NOW_SECONDS, exp: NOW_SECONDS + TICK_SECONDS, fam: 1, ser: 7 }

/** A layer's services, built once: providing a layer to every call would rebuild it every call. */
const contexts = new Map<Layer.Layer<Crypto | SecureRandom>, Context.Context<Crypto | SecureRandom>>()
const contextOf = (layer: Layer.Layer<Crypto | SecureRandom>): Context.Context<Crypto | SecureRandom> => {
  let c = contexts.get(layer)
  if (c === undefined) contexts.set(layer, (c = Effect.runSync(Effect.scoped(Layer.build(layer)))))
  return c
}
const NOBLE = Layer.merge(CryptoNoble, SecureRandomSystem)
const NODE = Layer.merge(CryptoNode, SecureRandomSystem)
const full = (crypto: Layer.Layer<Crypto>) => (crypto === CryptoNoble ? NOBLE : NODE)

const runSync = <A, E>(crypto: Layer.Layer<Crypto>, e: Effect.Effect<A, E, Crypto | SecureRandom>): A =>
  Effect.runSync(Effect.withClock(Effect.provide(e, contextOf(full(crypto))), fixedClock))

// --- access tokens ------------------------------------------------------------------------

const header = base64urlEncode(new TextEncoder().encode(JSON.stringify({ alg: "EdDSA", typ: ACCESS_TOKEN_TYP, kid: "as1" })))
const rawSigningInput = () => new TextEncoder().encode(`${header}.${base64urlEncode(new TextEncoder().encode(JSON.stringify(claims)))}`)

/** Sample a jose call's nanoseconds, one awaited call at a time, for ~`ms`. */
const sampleAsync = async (fn: () => Promise<unknown>, ms: number): Promise<Array<number>> => {
  for (let i = 0; i < 50; i++) consume(await fn())
  const samples: Array<number> = []
  const end = performance.now() + ms
  while (performance.now() < end || samples.length < 100) {
    const t0 = process.hrtime.bigint()
    consume(await fn())
    samples.push(Number(process.hrtime.bigint() - t0))
  }
  return samples
}

const replay = (samples: ReadonlyArray<number>) => {
  let i = 0
  return () => samples[i++ % samples.length]!
}

const tokenCases = async (): Promise<Array<Case>> => {
  const noblePub: VerificationKey = runSync(CryptoNoble, verificationKeyOf(signingKey))
  const token = runSync(CryptoNoble, signJwt(signingKey, claims, { typ: ACCESS_TOKEN_TYP }))
  // both layers sign the same bytes (Ed25519 is deterministic): check before timing
  if (runSync(CryptoNode, signJwt(signingKey, claims, { typ: ACCESS_TOKEN_TYP })) !== token) throw new Error("P3 bench: layers disagree")
  const [h, p, s] = token.split(".") as [string, string, string]
  const input = new TextEncoder().encode(`${h}.${p}`)
  const signature = Buffer.from(s, "base64url")
  const publicKey = ed25519.getPublicKey(seed)
  const privateKeyObject = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]), format: "der", type: "pkcs8" })
  const publicKeyObject = createPublicKey(privateKeyObject)
  const joseKey = await jose.importJWK({ ...toPublicJwk(noblePub), d: base64urlEncode(seed) }, "EdDSA")
  const josePub = await jose.importJWK(toPublicJwk(noblePub), "EdDSA")
  const verifyWith = (layer: Layer.Layer<Crypto>) => () => runSync(layer, verifyJwt(token, [noblePub], { typ: ACCESS_TOKEN_TYP }))
  verifyWith(CryptoNoble)()
  verifyWith(CryptoNode)()
  if (!verify(null, input, publicKeyObject, signature) || !ed25519.verify(signature, input, publicKey)) throw new Error("P3 bench: raw verify failed")
  const joseSign = await sampleAsync(() => new jose.SignJWT(claims).setProtectedHeader({ alg: "EdDSA", typ: ACCESS_TOKEN_TYP, kid: "as1" }).sign(joseKey), 300)
  const joseVerify = await sampleAsync(() => jose.jwtVerify(token, josePub, { algorithms: ["EdDSA"], currentDate: new Date(NOW_SECONDS * 1000) }), 300)
  const raw = rawSigningInput()
  return [
    { group: GROUP, operation: Op.sign, implementation: Impl.authlabNoble, fn: () => runSync(CryptoNoble, signJwt(signingKey, claims, { typ: ACCESS_TOKEN_TYP })) },
    { group: GROUP, operation: Op.sign, implementation: Impl.authlabNode, fn: () => runSync(CryptoNode, signJwt(signingKey, claims, { typ: ACCESS_TOKEN_TYP })) },
    { group: GROUP, operation: Op.sign, implementation: Impl.rawNoble, fn: () => `${h}.${p}.${base64urlEncode(ed25519.sign(raw, seed))}` },
    { group: GROUP, operation: Op.sign, implementation: Impl.rawNode, fn: () => `${h}.${p}.${sign(null, raw, privateKeyObject).toString("base64url")}` },
    { group: GROUP, operation: Op.sign, implementation: Impl.jose, manual: true, fn: replay(joseSign) },
    { group: GROUP, operation: Op.verify, implementation: Impl.authlabNoble, fn: verifyWith(CryptoNoble) },
    { group: GROUP, operation: Op.verify, implementation: Impl.authlabNode, fn: verifyWith(CryptoNode) },
    { group: GROUP, operation: Op.verify, implementation: Impl.rawNoble, fn: () => ed25519.verify(Buffer.from(s, "base64url"), input, publicKey) },
    { group: GROUP, operation: Op.verify, implementation: Impl.rawNode, fn: () => verify(null, input, publicKeyObject, Buffer.from(s, "base64url")) },
    { group: GROUP, operation: Op.verify, implementation: Impl.jose, manual: true, fn: replay(joseVerify) }
  ]
}

// --- OTP ------------------------------------------------------------------------------------

const otpSecret = new Uint8Array(20).fill(0x31)
const counterBytes = (c: number) => {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(c))
  return out
}
const rawHotp = (mac: (key: Uint8Array, msg: Uint8Array) => Uint8Array) => (c: number) =>
  (dynamicTruncate(mac(otpSecret, counterBytes(c))) % 1_000_000).toString().padStart(6, "0")
const rawOtpCheck = (mac: (key: Uint8Array, msg: Uint8Array) => Uint8Array, equal: (a: Uint8Array, b: Uint8Array) => boolean) => {
  const gen = rawHotp(mac)
  const code = new TextEncoder().encode(gen(1001))
  return () => {
    let ok = false
    for (let c = 1000; c < 1003; c++) ok = equal(new TextEncoder().encode(gen(c)), code) || ok
    return ok
  }
}

const otpCases = (): Array<Case> => {
  const code = rawHotp((k, m) => hmac(sha1, k, m))(1001)
  const ours = () => Effect.runSync(verifyHotp(otpSecret, code, { counter: 1000, window: 3 }))
  if (ours().matched !== 1001) throw new Error("P3 bench: OTP fixture does not verify")
  const nodeMac = (k: Uint8Array, m: Uint8Array) => createHmac("sha1", k).update(m).digest()
  return [
    { group: GROUP, operation: Op.otp, implementation: Impl.authlabOtp, fn: ours },
    { group: GROUP, operation: Op.otp, implementation: Impl.rawNoble, fn: rawOtpCheck((k, m) => hmac(sha1, k, m), constantTimeEqual) },
    { group: GROUP, operation: Op.otp, implementation: Impl.rawNode, fn: rawOtpCheck(nodeMac, (a, b) => a.length === b.length && timingSafeEqual(a, b)) }
  ]
}

// --- refresh rotation ------------------------------------------------------------------------

const ROTATIONS_PER_FAMILY = 256

interface Rotating {
  auth: AuthServer
  device: UserDevice
  done: number
}

const enrolAndLogIn = (crypto: Layer.Layer<Crypto>): Rotating => {
  const run = <A, E>(e: Effect.Effect<A, E, Crypto | SecureRandom>) => runSync(crypto, e)
  const apiKey = new Uint8Array(32).fill(5)
  const store = run(makeInMemoryAuthStore(enrol(emptyAuthState, { username: "alice", apiKey, keyId: "tA", secret: otpSecret })))
  const auth = run(makeAuthServer({ policy: hardened, store, signingKey }))
  const token = run(makeHardwareToken("tA", Redacted.make(otpSecret)))
  const device = run(makeUserDevice({ apiKey, token }))
  const login = run(auth.receive(run(device.login)))
  if (run(device.receive(login.reply, "auth")).event !== "stored") throw new Error("P3 bench: login failed")
  return { auth, device, done: 0 }
}

/** One rotation, timed; re-enrols outside the timing every `ROTATIONS_PER_FAMILY`. Throws on any refusal. */
const rotation = (crypto: Layer.Layer<Crypto>) => {
  const run = <A, E>(e: Effect.Effect<A, E, Crypto | SecureRandom>) => runSync(crypto, e)
  let p = enrolAndLogIn(crypto)
  return (): number => {
    if (p.done >= ROTATIONS_PER_FAMILY) p = enrolAndLogIn(crypto)
    const t0 = process.hrtime.bigint()
    const prompt = run(p.auth.receive(run(p.device.refresh)))
    const request = run(p.device.receive(prompt.reply, "auth"))
    const grant = run(p.auth.receive(request.sends[0]!.bytes))
    const stored = run(p.device.receive(grant.reply, "auth"))
    const t1 = process.hrtime.bigint()
    if (stored.event !== "stored") throw new Error(`P3 bench: rotation ended with ${stored.event}`)
    p.done++
    return Number(t1 - t0)
  }
}

const rawRotation = (raw: "noble" | "node") => {
  const input = rawSigningInput()
  const publicKey = ed25519.getPublicKey(seed)
  const signature = ed25519.sign(input, seed)
  const privateKeyObject = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]), format: "der", type: "pkcs8" })
  const publicKeyObject = createPublicKey(privateKeyObject)
  const otp = raw === "noble" ? rawOtpCheck((k, m) => hmac(sha1, k, m), constantTimeEqual) : rawOtpCheck((k, m) => createHmac("sha1", k).update(m).digest(), (a, b) => a.length === b.length && timingSafeEqual(a, b))
  const press = rawHotp(raw === "noble" ? (k, m) => hmac(sha1, k, m) : (k, m) => createHmac("sha1", k).update(m).digest())
  return () => {
    const ok = raw === "noble" ? ed25519.verify(signature, input, publicKey) : verify(null, input, publicKeyObject, signature)
    consume(press(1001))
    consume(otp())
    const fresh = raw === "noble" ? nobleRandomBytes(32) : nodeRandomBytes(32)
    consume(raw === "noble" ? sha256(fresh) : createHash("sha256").update(fresh).digest())
    consume(raw === "noble" ? sha256(fresh) : createHash("sha256").update(fresh).digest())
    return raw === "noble" ? ed25519.sign(input, seed) && ok : sign(null, input, privateKeyObject) && ok
  }
}

/** Warm-up for the protocol figures (V8 optimises the Effect runtime and the decoders first). */
const PROTOCOL_WARMUP_MS = 1000

export const hwToken2faCases = async (): Promise<Array<Case>> => {
  const decode = Schema.decodeUnknownEither(ToDevice)
  consume(Either.isRight(decode(new Uint8Array(0))))
  return [
    ...(await tokenCases()),
    ...otpCases(),
    { group: GROUP, operation: Op.rotation, implementation: Impl.authlabNoble, warmupMs: PROTOCOL_WARMUP_MS, manual: true, fn: rotation(CryptoNoble) },
    { group: GROUP, operation: Op.rotation, implementation: Impl.authlabNode, warmupMs: PROTOCOL_WARMUP_MS, manual: true, fn: rotation(CryptoNode) },
    { group: GROUP, operation: Op.rotation, implementation: Impl.rawNobleRotation, fn: rawRotation("noble") },
    { group: GROUP, operation: Op.rotation, implementation: Impl.rawNodeRotation, fn: rawRotation("node") }
  ]
}

/** This protocol's benchmarks, as its definition lists them (properties/hw-token-2fa/definition.ts). */
export const bench: BenchSuite = { group: GROUP, cases: hwToken2faCases, baselines: hwToken2faBaselines }
