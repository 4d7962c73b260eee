/**
 * P1 soft-token issuance (US 9,413,753) on the `hardened` policy: what an issuance and a
 * relying-party check cost, against the raw crypto they need. (P-256 and Ed25519 sign / verify
 * per second, per layer, are in bench/crypto.ts and not repeated here.)
 *
 * Issuance, the whole exchange with every participant, fixtures (keys, ID token, service) built
 * before timing:
 *
 *   device IssueBegin → service IssueNonce → SE signs PoP → IssueRequest → service verifies PoP,
 *   makes the OTP → OtpIssued → PC OtpSubmit → service: constant-time lookup → AttributeRequest
 *   (fingerprint) → user confirms → ID token signs attributes → AttributeResponse → service
 *   verifies chip signature, signs the JWS (ES256) → TokenIssued → device checks cnf, stores.
 *
 *   raw crypto: 2 × ECDSA P-256 sign (PoP, JWS), 1 × ECDSA P-256 verify (PoP), 1 × Ed25519 sign
 *   + verify (chip), 1 × SHA-256 (fingerprint), 84 random bytes.
 *
 * Relying-party check, the relying party's share only (the holder's SE signature is made in the
 * loop but not counted, `manual`): Present (JWS ES256 verify, exp, cnf) → RpChallenge →
 * PossessionProof (ECDSA verify under the cnf key).
 *
 *   raw crypto: 2 × ECDSA P-256 verify, 1 × SHA-256 (token hash), 32 random bytes.
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes as nodeRandomBytes, sign as nodeSign, verify as nodeVerify, type KeyObject } from "node:crypto"
import { ed25519 } from "@noble/curves/ed25519.js"
import { p256 } from "@noble/curves/nist.js"
import { sha256 } from "@noble/hashes/sha2.js"
import { randomBytes as nobleRandomBytes } from "@noble/hashes/utils.js"
import { Effect, Layer, Redacted } from "effect"
import { PossessionProof, Present, RpChallenge } from "../spec/soft-token/messages.ts"
import { hardened } from "../spec/soft-token/variants.ts"
import { Schema } from "effect"
import { CryptoNoble } from "../impl/crypto/noble.ts"
import { CryptoNode } from "../impl/crypto/node.ts"
import { SecureRandomSystem } from "../impl/crypto/random.ts"
import type { Crypto } from "../impl/crypto/services.ts"
import { type SigningKey, verificationKeyOf } from "../impl/jws/jws.ts"
import { type Device, makeDevice } from "../impl/soft-token/device.ts"
import { type IdToken, makeIdToken } from "../impl/soft-token/id-token.ts"
import { makeRelyingParty, type RelyingParty } from "../impl/soft-token/relying-party.ts"
import { makeSecureElement, type SecureElement } from "../impl/soft-token/secure-element.ts"
import { makeService, type SoftTokenService } from "../impl/soft-token/service.ts"
import { possessionInput, tokenBytes } from "../impl/soft-token/token.ts"
import { makeUserComputer, type UserComputer } from "../impl/soft-token/user-computer.ts"
import { type Baselines, type Case, consume } from "./measure.ts"
import type { BenchSuite } from "./run.ts"

export const GROUP = "soft-token"

export const Op = {
  issue: "P1 hardened soft-token issuance (C1 with PoP → OTP → C2 → confirm → ID token → JWS), all participants",
  rpCheck: "P1 hardened relying-party check (JWS ES256 + exp + cnf, challenge, possession signature)"
} as const

export const Impl = {
  authlabNoble: "authlab, noble layer",
  authlabNode: "authlab, node layer",
  rawNobleIssue: "raw noble: 2 ECDSA sign + 1 verify + Ed25519 sign/verify + SHA-256 + 84 random bytes",
  rawNodeIssue: "raw node: 2 ECDSA sign + 1 verify + Ed25519 sign/verify + SHA-256 + 84 random bytes",
  rawNobleCheck: "raw noble: 2 ECDSA verify + SHA-256 + 32 random bytes",
  rawNodeCheck: "raw node: 2 ECDSA verify + SHA-256 + 32 random bytes"
} as const

export const softTokenBaselines: Baselines = (f) => {
  const issue = f.operation === Op.issue
  switch (f.implementation) {
    case Impl.authlabNoble:
      return issue ? Impl.rawNobleIssue : Impl.rawNobleCheck
    case Impl.authlabNode:
      return issue ? Impl.rawNodeIssue : Impl.rawNodeCheck
    case Impl.rawNobleIssue:
      return Impl.rawNodeIssue
    case Impl.rawNobleCheck:
      return Impl.rawNodeCheck
    default:
      return undefined
  }
}

const ISSUER_D = Uint8Array.from({ length: 32 }, (_, i) => i + 1)
const issuerKey: SigningKey = { alg: "ES256", secretKey: ISSUER_D, kid: "issuer" }
const PIN = Redacted.make("bench pin, not a secret")

interface Participants {
  readonly se: SecureElement
  readonly device: Device
  readonly pc: UserComputer
  readonly card: IdToken
  readonly service: SoftTokenService
  readonly rp: RelyingParty
}

const setUp = (crypto: Layer.Layer<Crypto>): Participants =>
  Effect.runSync(
    Effect.gen(function*() {
      const se = yield* makeSecureElement
      const card = yield* makeIdToken({ attributes: { name: "bench" }, pin: PIN, chipKey: Redacted.make(new Uint8Array(32).fill(7)) })
      const service = yield* makeService({ policy: hardened, issuerKey, trustedCards: [card.cardKey] })
      const rp = yield* makeRelyingParty({ issuerKeys: [yield* verificationKeyOf(issuerKey)] })
      return { se, card, service, rp, device: makeDevice({ policy: hardened, se, name: "bench phone" }), pc: makeUserComputer({ idToken: card, pin: PIN }) }
    }).pipe(Effect.provide(Layer.merge(crypto, SecureRandomSystem)))
  )

let connections = 0

/** One whole issuance; any refusal throws, so a failed issuance is never counted as a fast one. */
const issuance = ({ device, pc, service }: Participants): string => {
  const c1 = `c${connections++}`
  const c2 = `c${connections++}`
  const nonce = Effect.runSync(service.receive(c1, Effect.runSync(device.request(c1))))
  const request = Effect.runSync(device.receive(nonce.replies[0]!.bytes))
  const otp = Effect.runSync(service.receive(c1, request.sends[0]!))
  Effect.runSync(device.receive(otp.replies[0]!.bytes))
  const code = Effect.runSync(device.observe).display!.otp
  const ask = Effect.runSync(service.receive(c2, Effect.runSync(pc.type(code))))
  Effect.runSync(pc.receive(ask.replies[0]!.bytes))
  const issued = Effect.runSync(service.receive(c2, Effect.runSync(pc.confirm)[0]!))
  Effect.runSync(device.receive(issued.replies[0]!.bytes))
  const token = Effect.runSync(device.observe).token
  if (token === null) throw new Error("issuance ended without a token")
  return token
}

const decodeChallenge = Schema.decodeUnknownSync(RpChallenge.wire)

/** One relying-party check of `token`; returns the relying party's nanoseconds (the SE signature is not counted). */
const rpCheck = (p: Participants, token: Uint8Array, present: Uint8Array): number => {
  const conn = `r${connections++}`
  const t0 = process.hrtime.bigint()
  const challenged = Effect.runSync(p.rp.receive(conn, present))
  const t1 = process.hrtime.bigint()
  if (challenged._tag !== "challenged") throw new Error("no challenge")
  const { nonce } = decodeChallenge(challenged.reply)
  const signature = Effect.runSync(p.se.sign(possessionInput(nonce, token)))
  const proof = PossessionProof.encode(PossessionProof.make({ signature }))
  const t2 = process.hrtime.bigint()
  const verdict = Effect.runSync(p.rp.receive(conn, proof))
  const t3 = process.hrtime.bigint()
  if (verdict._tag !== "accepted") throw new Error("relying party refused")
  consume(verdict)
  return Number(t1 - t0 + (t3 - t2))
}

// --- raw baselines --------------------------------------------------------------------------

interface Raw {
  readonly ecSign: (m: Uint8Array) => Uint8Array
  readonly ecVerify: (sig: Uint8Array, m: Uint8Array) => boolean
  readonly edSign: (m: Uint8Array) => Uint8Array
  readonly edVerify: (sig: Uint8Array, m: Uint8Array) => boolean
  readonly hash: (m: Uint8Array) => Uint8Array
  readonly random: (n: number) => Uint8Array
}

const EC_SECRET = new Uint8Array(32).fill(3)
const ED_SECRET = new Uint8Array(32).fill(4)
const ECDSA_OPTS = { prehash: true, lowS: false, format: "compact" } as const

const rawNoble = (): Raw => {
  const ecPublic = p256.getPublicKey(EC_SECRET, true)
  const edPublic = ed25519.getPublicKey(ED_SECRET)
  return {
    ecSign: (m) => p256.sign(m, EC_SECRET, ECDSA_OPTS),
    ecVerify: (sig, m) => p256.verify(sig, m, ecPublic, ECDSA_OPTS),
    edSign: (m) => ed25519.sign(m, ED_SECRET),
    edVerify: (sig, m) => ed25519.verify(sig, m, edPublic, { zip215: false }),
    hash: (m) => sha256(m),
    random: (n) => nobleRandomBytes(n)
  }
}

const b64u = (b: Uint8Array) => Buffer.from(b).toString("base64url")
const rawNode = (): Raw => {
  const point = p256.getPublicKey(EC_SECRET, false)
  const ecJwk = { kty: "EC", crv: "P-256", x: b64u(point.subarray(1, 33)), y: b64u(point.subarray(33, 65)) }
  const ecSecret: KeyObject = createPrivateKey({ key: { ...ecJwk, d: b64u(EC_SECRET) }, format: "jwk" })
  const ecPublic: KeyObject = createPublicKey({ key: ecJwk, format: "jwk" })
  const edJwk = { kty: "OKP", crv: "Ed25519", x: b64u(ed25519.getPublicKey(ED_SECRET)) }
  const edSecret: KeyObject = createPrivateKey({ key: { ...edJwk, d: b64u(ED_SECRET) }, format: "jwk" })
  const edPublic: KeyObject = createPublicKey({ key: edJwk, format: "jwk" })
  return {
    ecSign: (m) => nodeSign("sha256", m, { key: ecSecret, dsaEncoding: "ieee-p1363" }),
    ecVerify: (sig, m) => nodeVerify("sha256", m, { key: ecPublic, dsaEncoding: "ieee-p1363" }, sig),
    edSign: (m) => nodeSign(null, m, edSecret),
    edVerify: (sig, m) => nodeVerify(null, m, edPublic, sig),
    hash: (m) => createHash("sha256").update(m).digest(),
    random: (n) => nodeRandomBytes(n)
  }
}

/** Inputs of the lengths the protocol signs, built once (their encoding is protocol work). */
const MESSAGE = new Uint8Array(160).fill(5)
const JWS_INPUT = new Uint8Array(400).fill(6)

const rawIssue = (raw: Raw) => () => {
  raw.random(32) // nonce
  const pop = raw.ecSign(MESSAGE)
  raw.ecVerify(pop, MESSAGE)
  raw.random(4) // OTP
  raw.random(32) // read nonce
  raw.hash(MESSAGE) // fingerprint
  const chip = raw.edSign(MESSAGE)
  raw.edVerify(chip, MESSAGE)
  raw.random(16) // jti
  return raw.ecSign(JWS_INPUT)
}

const rawCheck = (raw: Raw) => {
  const tokenSig = raw.ecSign(JWS_INPUT)
  const proof = raw.ecSign(MESSAGE)
  return () => {
    consume(raw.ecVerify(tokenSig, JWS_INPUT))
    raw.random(32)
    raw.hash(JWS_INPUT)
    return raw.ecVerify(proof, MESSAGE)
  }
}

const PROTOCOL_WARMUP_MS = 1000

export const softTokenCases = (): Array<Case> => {
  const noble = setUp(CryptoNoble)
  const node = setUp(CryptoNode)
  const checkers = [noble, node].map((p) => {
    const token = tokenBytes(issuance(p))
    return { p, token, present: Present.encode(Present.make({ token })) }
  })
  const [cn, cd] = checkers as [(typeof checkers)[number], (typeof checkers)[number]]
  const w = PROTOCOL_WARMUP_MS
  return [
    { group: GROUP, operation: Op.issue, implementation: Impl.authlabNoble, warmupMs: w, fn: () => issuance(noble) },
    { group: GROUP, operation: Op.issue, implementation: Impl.rawNobleIssue, fn: rawIssue(rawNoble()) },
    { group: GROUP, operation: Op.issue, implementation: Impl.authlabNode, warmupMs: w, fn: () => issuance(node) },
    { group: GROUP, operation: Op.issue, implementation: Impl.rawNodeIssue, fn: rawIssue(rawNode()) },
    { group: GROUP, operation: Op.rpCheck, implementation: Impl.authlabNoble, warmupMs: w, manual: true, fn: () => rpCheck(cn.p, cn.token, cn.present) },
    { group: GROUP, operation: Op.rpCheck, implementation: Impl.rawNobleCheck, fn: rawCheck(rawNoble()) },
    { group: GROUP, operation: Op.rpCheck, implementation: Impl.authlabNode, warmupMs: w, manual: true, fn: () => rpCheck(cd.p, cd.token, cd.present) },
    { group: GROUP, operation: Op.rpCheck, implementation: Impl.rawNodeCheck, fn: rawCheck(rawNode()) }
  ]
}

/** This protocol's benchmarks, as its definition lists them (properties/soft-token/definition.ts). */
export const bench: BenchSuite = { group: GROUP, cases: softTokenCases, baselines: softTokenBaselines }
