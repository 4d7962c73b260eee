/**
 * Project Wycheproof vectors (C2SP/wycheproof `testvectors_v1`) on both `Crypto` layers:
 * HMAC-SHA256, HKDF-SHA256, X25519, Ed25519, P-256 ECDH (SEC1 points), ECDSA P-256/SHA-256 (P1363),
 * AES-GCM and ChaCha20-Poly1305.
 *
 * One test per file per layer runs every vector, collects the failures and asserts there are
 * none; a further test per file asserts the two layers give the *same* outcome (same output, same
 * error tag and reason) on every vector. How each `acceptable` result is decided is written next
 * to its judge.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Crypto, type CryptoShape } from "./services.ts"
import { layers, node, noble, settle } from "./testing.ts"
import {
  hex,
  loadWycheproof,
  type Loaded,
  toHex,
  type WycheproofFile,
  type WycheproofGroup,
  type WycheproofTest,
  wycheproofCases
} from "./vectors.ts"

interface Suite<T extends WycheproofTest, G extends WycheproofGroup<T>> {
  readonly name: string
  readonly file: Loaded<WycheproofFile<G>>
  readonly run: (crypto: CryptoShape, group: G, test: T) => Effect.Effect<string>
  /** The outcome this vector must have, or a predicate with a description of it. */
  readonly expect: (group: G, test: T) => string | { readonly describe: string; readonly ok: (outcome: string) => boolean }
  /** Labels the vectors whose verdict is our decision (`acceptable`) or a deliberate deviation. */
  readonly decide?: (group: G, test: T) => string | undefined
  /** How many vectors of the pinned file (see the vectors README) get each decision. */
  readonly tally?: Readonly<Record<string, number>>
}

interface Verdict {
  readonly tcId: number
  readonly outcome: string
  readonly problem: string | undefined
}

const runSuite = <T extends WycheproofTest, G extends WycheproofGroup<T>>(suite: Suite<T, G>, crypto: CryptoShape) =>
  Effect.gen(function*() {
    const verdicts: Array<Verdict> = []
    const tally: Record<string, number> = {}
    if (!suite.file.available) return { verdicts, tally }
    for (const { group, test } of wycheproofCases(suite.file.data)) {
      const outcome = yield* suite.run(crypto, group, test as T)
      const expected = suite.expect(group, test as T)
      const ok = typeof expected === "string" ? outcome === expected : expected.ok(outcome)
      const want = typeof expected === "string" ? expected : expected.describe
      const decision = suite.decide?.(group, test as T)
      if (decision !== undefined) tally[decision] = (tally[decision] ?? 0) + 1
      verdicts.push({
        tcId: test.tcId,
        outcome,
        problem: ok ? undefined : `tcId ${test.tcId} [${test.result}] ${test.comment}: expected ${want}, got ${outcome}`
      })
    }
    return { verdicts, tally }
  })

const defineSuite = <T extends WycheproofTest, G extends WycheproofGroup<T>>(suite: Suite<T, G>) => {
  describe.skipIf(!suite.file.available)(`Wycheproof ${suite.name}`, () => {
    for (const [name, layer] of layers) {
      it.effect(`${name}: every vector has its expected outcome`, () =>
        Effect.gen(function*() {
          const { tally, verdicts } = yield* runSuite(suite, yield* Crypto)
          const failures = verdicts.flatMap((v) => (v.problem === undefined ? [] : [v.problem]))
          assert.isAbove(verdicts.length, 0, "no vectors were checked")
          assert.deepStrictEqual(failures.slice(0, 5), [], `${failures.length} of ${verdicts.length} vectors failed`)
          assert.deepStrictEqual(tally, suite.tally ?? {}, "decided / deviating vectors")
        }).pipe(Effect.provide(layer)))
    }

    it.effect("noble and node give the same outcome on every vector", () =>
      Effect.gen(function*() {
        const a = (yield* runSuite(suite, noble)).verdicts
        const b = (yield* runSuite(suite, node)).verdicts
        assert.isAbove(a.length, 0, "no vectors were checked")
        assert.strictEqual(a.length, b.length)
        const differ = a.flatMap((v, i) =>
          v.outcome === b[i]!.outcome ? [] : [`tcId ${v.tcId}: noble ${v.outcome}, node ${b[i]!.outcome}`]
        )
        assert.deepStrictEqual(differ.slice(0, 5), [], `${differ.length} vectors differ`)
      }))
  })
}

const anyInputError = {
  describe: "CryptoInputError",
  ok: (outcome: string) => outcome.startsWith("CryptoInputError:")
}

// --- HMAC-SHA256 (RFC 2104) ------------------------------------------------------------------
// Tags are 256 or 128 bits. `hmacSha256Verify` takes truncated tags down to 128 bits (RFC 2104
// §5: not less than half the output), comparing that prefix; a tag below 128 bits would be
// refused as InvalidLength by policy — a deliberate deviation, so such vectors are counted and
// only their truncated output is compared. The pinned file has none (tally {}).
interface MacTest extends WycheproofTest {
  readonly key: string
  readonly msg: string
  readonly tag: string
}
const isShortTag = (t: MacTest) => t.tag.length / 2 < 16
defineSuite<MacTest, WycheproofGroup<MacTest>>({
  name: "hmac_sha256",
  file: loadWycheproof("hmac_sha256"),
  run: (crypto, _group, t) =>
    Effect.gen(function*() {
      const tag = hex(t.tag)
      const mac = yield* crypto.hmacSha256(hex(t.key), hex(t.msg))
      const prefix = toHex(mac.subarray(0, tag.length)) === t.tag ? "prefix=tag" : "prefix≠tag"
      return `${prefix} verify=${yield* settle(crypto.hmacSha256Verify(hex(t.key), hex(t.msg), tag))}`
    }),
  expect: (_group, t) => {
    const verify = isShortTag(t) ? "CryptoInputError:InvalidLength" : t.result === "valid" ? "ok" : "VerificationFailed"
    return `${t.result === "valid" ? "prefix=tag" : "prefix≠tag"} verify=${verify}`
  },
  decide: (_group, t) => (isShortTag(t) ? "tag < 128 bits: verify refuses, output prefix compared" : undefined),
  tally: {}
})

// --- HKDF-SHA256 (RFC 5869) ------------------------------------------------------------------
interface HkdfTest extends WycheproofTest {
  readonly ikm: string
  readonly salt: string
  readonly info: string
  readonly size: number
  readonly okm: string
}
defineSuite<HkdfTest, WycheproofGroup<HkdfTest>>({
  name: "hkdf_sha256",
  file: loadWycheproof("hkdf_sha256"),
  run: (crypto, _group, t) => settle(crypto.hkdfSha256(hex(t.ikm), hex(t.salt), hex(t.info), t.size)),
  // the only invalid vectors ask for more than 255·32 bytes (RFC 5869 §2.3)
  expect: (_group, t) =>
    t.result === "valid" ? t.okm : t.flags.includes("SizeTooLarge") ? "CryptoInputError:OutputTooLong" : anyInputError
})

// --- X25519 (RFC 7748) -----------------------------------------------------------------------
// `acceptable` is decided by the shared secret: where it is all zero (low-order public keys,
// flags LowOrderPublic / ZeroSharedSecret) we *reject* with LowOrderPoint, as RFC 7748 §6.1
// allows and services.ts promises, so a peer cannot force a known secret. Every other acceptable
// vector (public keys on the twist, non-canonical u ≥ p, edge-case ladders) is *accepted* and must
// give Wycheproof's secret: RFC 7748 §5 says to mask the top bit and reduce u mod p.
interface XdhTest extends WycheproofTest {
  readonly public: string
  readonly private: string
  readonly shared: string
}
const isZeroSecret = (t: XdhTest) => /^(00)+$/.test(t.shared)
defineSuite<XdhTest, WycheproofGroup<XdhTest>>({
  name: "x25519",
  file: loadWycheproof("x25519"),
  run: (crypto, _group, t) => settle(crypto.x25519SharedSecret(hex(t.private), hex(t.public))),
  expect: (_group, t) =>
    t.result === "invalid" ? anyInputError : isZeroSecret(t) ? "CryptoInputError:LowOrderPoint" : t.shared,
  decide: (_group, t) =>
    t.result !== "acceptable" ? undefined : isZeroSecret(t) ? "acceptable → rejected (all-zero secret)" : "acceptable → accepted",
  tally: { "acceptable → rejected (all-zero secret)": 31, "acceptable → accepted": 223 }
})

// --- Ed25519 (RFC 8032) ----------------------------------------------------------------------
// No acceptable vectors. Invalid signatures of the wrong length are refused as InvalidLength
// before any crypto; all other invalid ones fail verification.
interface EddsaTest extends WycheproofTest {
  readonly msg: string
  readonly sig: string
}
interface EddsaGroup extends WycheproofGroup<EddsaTest> {
  readonly publicKey: { readonly pk: string }
}
defineSuite<EddsaTest, EddsaGroup>({
  name: "ed25519",
  file: loadWycheproof("ed25519"),
  run: (crypto, group, t) => settle(crypto.ed25519Verify(hex(group.publicKey.pk), hex(t.msg), hex(t.sig))),
  expect: (_group, t) =>
    t.result === "valid" ? "ok" : t.sig.length === 128 ? "VerificationFailed" : "CryptoInputError:InvalidLength"
})

// --- P-256 ECDH, SEC1 point encodings ----------------------------------------------------------
// The one acceptable vector is a compressed public key: SEC1 §2.3.4 defines that encoding, so we
// *accept* it and must give Wycheproof's secret. Invalid vectors (points off the curve, on other
// curves, bad encodings) must be refused as input errors before the secret scalar is used.
interface EcdhTest extends WycheproofTest {
  readonly public: string
  readonly private: string
  readonly shared: string
}
/** Wycheproof writes the private key as an ASN.1 integer: strip its sign byte, pad to 32. */
const scalar32 = (s: string) => {
  const trimmed = s.replace(/^(00)+/, "")
  return hex(trimmed.length <= 64 ? trimmed.padStart(64, "0") : trimmed)
}
defineSuite<EcdhTest, WycheproofGroup<EcdhTest>>({
  name: "ecdh_secp256r1_ecpoint",
  file: loadWycheproof("ecdh_secp256r1_ecpoint"),
  run: (crypto, _group, t) => settle(crypto.p256SharedSecret(scalar32(t.private), hex(t.public))),
  expect: (_group, t) => (t.result === "invalid" ? anyInputError : t.shared),
  decide: (_group, t) => (t.result === "acceptable" ? "acceptable → accepted (compressed point)" : undefined),
  tally: { "acceptable → accepted (compressed point)": 1 }
})

// --- ECDSA P-256 / SHA-256, IEEE P1363 signatures ------------------------------------------------
// No acceptable vectors. High-S signatures are valid here (services.ts: low-S is not required).
// Signatures that are not 64 bytes are refused as InvalidLength; other invalid ones fail verify.
interface EcdsaTest extends WycheproofTest {
  readonly msg: string
  readonly sig: string
}
interface EcdsaGroup extends WycheproofGroup<EcdsaTest> {
  readonly publicKey: { readonly uncompressed: string }
}
defineSuite<EcdsaTest, EcdsaGroup>({
  name: "ecdsa_secp256r1_sha256_p1363",
  file: loadWycheproof("ecdsa_secp256r1_sha256_p1363"),
  run: (crypto, group, t) => settle(crypto.ecdsaP256Verify(hex(group.publicKey.uncompressed), hex(t.msg), hex(t.sig))),
  expect: (_group, t) =>
    t.result === "valid" ? "ok" : t.sig.length === 128 ? "VerificationFailed" : "CryptoInputError:InvalidLength"
})

// --- AEAD: AES-GCM (NIST SP 800-38D), ChaCha20-Poly1305 (RFC 8439 §2.8) ---------------------------
// No acceptable vectors; every tag is 128 bits. Each vector is sealed (msg under key, iv, aad) and
// opened (ct ‖ tag). Valid: seal gives ct ‖ tag, open gives msg. Invalid vectors with a 96-bit
// nonce are all ModifiedTag: seal gives the file's ct under a different tag, open fails with
// VerificationFailed.
// Deliberate deviations (services.ts contract): nonces other than 96 bits and AES-192 keys are
// refused as InvalidLength by both seal and open, before any work. For AES-GCM that turns valid
// vectors into refusals (GCM defines other IV lengths through GHASH, SP 800-38D §7.1); the few
// invalid ones it catches (empty IVs; every ChaCha20 nonce-size vector) are refused for the same
// reason Wycheproof calls them invalid. Each is counted once, by the first check that refuses
// it: the key, then the nonce — the order both layers check in.
interface AeadTest extends WycheproofTest {
  readonly key: string
  readonly iv: string
  readonly aad: string
  readonly msg: string
  readonly ct: string
  readonly tag: string
}
type AeadGroup = WycheproofGroup<AeadTest>
const refusedAead = "seal=CryptoInputError:InvalidLength open=CryptoInputError:InvalidLength"
/** Why our contract refuses this vector, or undefined when it is compared with the file. */
const aeadRefusal = (aesKeys: boolean, t: AeadTest): string | undefined =>
  aesKeys && t.key.length === 48 ? "AES-192 key" : t.iv.length !== 24 ? "nonce ≠ 96 bits" : undefined

const aeadSuite = (
  name: string,
  aesKeys: boolean,
  seal: (c: CryptoShape) => CryptoShape["aesGcmSeal"],
  open: (c: CryptoShape) => CryptoShape["aesGcmOpen"],
  tally: Readonly<Record<string, number>>
) =>
  defineSuite<AeadTest, AeadGroup>({
    name,
    file: loadWycheproof(name),
    run: (crypto, _group, t) =>
      Effect.gen(function*() {
        const sealed = yield* settle(seal(crypto)(hex(t.key), hex(t.iv), hex(t.msg), hex(t.aad)))
        const opened = yield* settle(open(crypto)(hex(t.key), hex(t.iv), hex(t.ct + t.tag), hex(t.aad)))
        return `seal=${sealed} open=${opened}`
      }),
    expect: (_group, t) =>
      aeadRefusal(aesKeys, t) !== undefined ? refusedAead
      : t.result === "valid" ? `seal=${t.ct}${t.tag} open=${t.msg}`
      : {
        describe: "seal=<ct ‖ another tag> open=VerificationFailed",
        ok: (outcome) => {
          const [sealed, opened] = outcome.split(" ")
          return opened === "open=VerificationFailed" && sealed!.startsWith(`seal=${t.ct}`) &&
            sealed !== `seal=${t.ct}${t.tag}` && sealed!.length === `seal=${t.ct}${t.tag}`.length
        }
      },
    decide: (_group, t) => {
      const refusal = aeadRefusal(aesKeys, t)
      return refusal === undefined ? undefined : `${refusal}: refused as InvalidLength (${t.result} vector)`
    },
    tally
  })

aeadSuite("aes_gcm", true, (c) => c.aesGcmSeal, (c) => c.aesGcmOpen, {
  "AES-192 key: refused as InvalidLength (valid vector)": 74,
  "AES-192 key: refused as InvalidLength (invalid vector)": 29,
  "nonce ≠ 96 bits: refused as InvalidLength (valid vector)": 76,
  "nonce ≠ 96 bits: refused as InvalidLength (invalid vector)": 4
})

aeadSuite("chacha20_poly1305", false, (c) => c.chacha20Poly1305Seal, (c) => c.chacha20Poly1305Open, {
  "nonce ≠ 96 bits: refused as InvalidLength (invalid vector)": 9
})
