/**
 * P2b split-login benchmarks, each figure a ratio to a baseline measured in the same run:
 * - a whole hardened login on both sides (OPAQUE KE1 → KE2 → KE3 and the approval MAC, RFC 9807
 *   over ristretto255 / SHA-512) through authlab's `Opaque` service and the noble layer, against the
 *   same calls on `@serenity-kit/opaque` directly, against the primitives' floor — 3 X25519 (one
 *   3DH's worth: the client's three Diffie–Hellmans) and 2 HMAC-SHA256 in raw noble;
 *   with Argon2id at the audit's light setting and at RFC 9106's memory-constrained setting
 *   (3 passes over 64 MiB, `@serenity-kit/opaque`'s `memory-constrained`);
 * - the claimed authenticating data (SHA-256 over the username and password) against raw noble
 *   `sha256` of the same bytes.
 */
import { x25519 } from "@noble/curves/ed25519.js"
import { hmac } from "@noble/hashes/hmac.js"
import { sha256 } from "@noble/hashes/sha2.js"
import * as opaque from "@serenity-kit/opaque"
import { Effect, Layer } from "effect"
import { transcript } from "../spec/codec.ts"
import { Labels } from "../spec/split-login/messages.ts"
import { CryptoNoble } from "../impl/crypto/noble.ts"
import { SecureRandomSystem } from "../impl/crypto/random.ts"
import { Crypto } from "../impl/crypto/services.ts"
import { approvalInput, passwordHash } from "../impl/split-login/credentials.ts"
import { KeyStretching, makeOpaque } from "../impl/split-login/opaque.ts"
import { type Baselines, type Case, consume } from "./measure.ts"
import type { BenchSuite } from "./run.ts"

export const GROUP = "split-login"

const MEMORY_CONSTRAINED = "memory-constrained" as const

export const Op = {
  light: "P2b hardened login, both sides (OPAQUE + approval MAC), Argon2id 1 pass × 8 KiB",
  memory: "P2b hardened login, both sides (OPAQUE + approval MAC), Argon2id 3 passes × 64 MiB",
  claimed: "P2b claimed authenticating data (SHA-256 over username, password)"
} as const

export const Impl = {
  authlab: "authlab: Opaque service + noble layer",
  raw: "raw @serenity-kit/opaque calls",
  floor: "floor: 3 × X25519 + 2 × HMAC-SHA256 (raw noble)",
  hash: "authlab passwordHash",
  rawHash: "raw noble sha256"
} as const

export const splitLoginBaselines: Baselines = (f) => {
  if (f.operation === Op.claimed) return f.implementation === Impl.hash ? Impl.rawHash : undefined
  if (f.implementation === Impl.authlab) return Impl.raw
  if (f.implementation === Impl.raw) return Impl.floor
  return undefined
}

const USER = "alice"
const PASSWORD = "correct horse battery staple"
const SID = new Uint8Array(16).fill(7)
const FP = new Uint8Array(8).fill(9)

export const splitLoginCases = (): Array<Case> => {
  const context = Effect.runSync(Effect.scoped(Layer.build(Layer.merge(CryptoNoble, SecureRandomSystem))))
  const cases: Array<Case> = []
  for (const [operation, stretching] of [[Op.light, KeyStretching.light], [Op.memory, MEMORY_CONSTRAINED]] as const) {
    const service = Effect.runSync(Effect.provide(makeOpaque(stretching), context))
    const setup = Effect.runSync(service.createSetup())
    const record = Effect.runSync(service.register(setup, USER, PASSWORD))
    const login = () =>
      Effect.runSync(
        Effect.provide(
          Effect.gen(function*() {
            const crypto = yield* Crypto
            const c1 = yield* service.clientStart(USER, PASSWORD)
            const s1 = yield* service.serverStart(setup, USER, record, c1.ke1)
            const c2 = yield* service.clientFinish(c1.state, s1.ke2, PASSWORD)
            const approval = yield* crypto.hmacSha256(c2.sessionKey, approvalInput(SID, FP))
            const key = yield* service.serverFinish(s1.state, c2.ke3)
            yield* crypto.hmacSha256Verify(key, approvalInput(SID, FP), approval)
            return approval
          }),
          context
        )
      )
    // the same calls on the library itself, with the same identities and stretching
    const b64 = Buffer.from(record).toString("base64url")
    const ids = { client: USER, server: Labels.server }
    const raw = () => {
      const c1 = opaque.client.startLogin({ password: PASSWORD })
      const s1 = opaque.server.startLogin({ serverSetup: setup.encoded, userIdentifier: USER, registrationRecord: b64, startLoginRequest: c1.startLoginRequest, identifiers: ids })
      const c2 = opaque.client.finishLogin({ clientLoginState: c1.clientLoginState, loginResponse: s1.loginResponse, password: PASSWORD, identifiers: ids, keyStretching: stretching })!
      const s2 = opaque.server.finishLogin({ serverLoginState: s1.serverLoginState, finishLoginRequest: c2.finishLoginRequest, identifiers: ids })
      return s2.sessionKey === c2.sessionKey
    }
    if (!raw()) throw new Error("split-login bench: the raw OPAQUE login did not agree on a session key")
    consume(login())
    const a = x25519.utils.randomSecretKey()
    const b = x25519.getPublicKey(x25519.utils.randomSecretKey())
    const floor = () => {
      const k = sha256(Uint8Array.from([...x25519.getSharedSecret(a, b), ...x25519.getSharedSecret(a, b), ...x25519.getSharedSecret(a, b)]))
      return hmac(sha256, hmac(sha256, k, SID), FP)
    }
    cases.push(
      { group: GROUP, operation, implementation: Impl.authlab, fn: () => consume(login()) },
      { group: GROUP, operation, implementation: Impl.raw, fn: () => consume(raw()) },
      { group: GROUP, operation, implementation: Impl.floor, fn: () => consume(floor()) }
    )
  }
  cases.push(
    { group: GROUP, operation: Op.claimed, implementation: Impl.hash, fn: () => consume(passwordHash(USER, PASSWORD)) },
    { group: GROUP, operation: Op.claimed, implementation: Impl.rawHash, fn: () => consume(sha256(transcript(Labels.passwordHash, [USER, PASSWORD]))) }
  )
  return cases
}

/** This protocol's benchmarks, as its definition lists them (properties/split-login/definition.ts). */
export const bench: BenchSuite = { group: GROUP, cases: splitLoginCases, baselines: splitLoginBaselines }
