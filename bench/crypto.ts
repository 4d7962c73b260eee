/**
 * Cost of the crypto primitives the protocols use, each through four implementations:
 *
 * - `our noble`: the `Crypto` service from `CryptoNoble` (impl/crypto/noble.ts), its returned
 *   `Exit` read as the protocols read it (`Exit.isSuccess` and the value: impl/rolling-key/server.ts
 *   checks a code that way) — the cost of the layer (its input checks, computing into an `Exit`)
 *   on top of noble. Before 2026-12-03 each call was wrapped in `Effect.runSync`, which no protocol
 *   does per primitive: ~0.3 µs a call, 4–6 % of an HMAC, measured apart (README);
 * - `raw noble`: the same `@noble/curves` / `@noble/hashes` / `@noble/ciphers` call, with the same
 *   options;
 * - `our node`: the `Crypto` service from `CryptoNode` (impl/crypto/node.ts), run the same way;
 *   it takes raw key bytes and imports each secret once per service instance (the service is
 *   built once, as a program holds it), checking the array against its copy on every call;
 * - `raw node`: `node:crypto` on `KeyObject`s built once, outside the loop (for the AEADs a secret
 *   `KeyObject`, still one `createCipheriv` per call: node:crypto has no synchronous one-shot AEAD).
 *
 * Every fixture (keys, messages, signatures, KeyObjects, the service instances) is built before
 * any timing starts, and `checkFixtures` runs each case once first: a verify that failed would
 * otherwise measure the fast path of a rejection.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  diffieHellman,
  hkdfSync,
  type KeyObject,
  sign,
  verify
} from "node:crypto"
import { gcm } from "@noble/ciphers/aes.js"
import { chacha20poly1305 } from "@noble/ciphers/chacha.js"
import { ed25519, x25519 } from "@noble/curves/ed25519.js"
import { p256 } from "@noble/curves/nist.js"
import { hkdf } from "@noble/hashes/hkdf.js"
import { hmac } from "@noble/hashes/hmac.js"
import { sha256 } from "@noble/hashes/sha2.js"
import { Cause, Effect, Exit, type Layer } from "effect"
import { Crypto, type CryptoShape } from "../impl/crypto/services.ts"
import { CryptoNoble } from "../impl/crypto/noble.ts"
import { CryptoNode } from "../impl/crypto/node.ts"
import type { Case } from "./measure.ts"

export const GROUP = "crypto"

export const Impl = {
  ourNoble: "our noble",
  rawNoble: "raw noble",
  ourNode: "our node",
  rawNode: "raw node"
} as const

/**
 * Which figure each implementation is divided by: our layers by the raw library they wrap, and
 * raw noble by raw node:crypto for context (pure JS vs OpenSSL).
 */
export const cryptoBaselines: Readonly<Record<string, string>> = {
  [Impl.ourNoble]: Impl.rawNoble,
  [Impl.ourNode]: Impl.rawNode,
  [Impl.rawNoble]: Impl.rawNode
}

export const Op = {
  hmac: "HMAC-SHA256 (64-byte message)",
  hkdf: "HKDF-SHA256 (32-byte output)",
  x25519: "X25519 shared secret",
  p256Ecdh: "P-256 ECDH shared secret",
  ed25519Sign: "Ed25519 sign (64-byte message)",
  ed25519Verify: "Ed25519 verify (64-byte message)",
  ecdsaSign: "ECDSA P-256 sign (64-byte message)",
  ecdsaVerify: "ECDSA P-256 verify (64-byte message)",
  aesGcmSeal: "AEAD AES-256-GCM seal (64-byte message, 16-byte AAD)",
  aesGcmOpen: "AEAD AES-256-GCM open (64-byte message, 16-byte AAD)",
  chachaSeal: "AEAD ChaCha20-Poly1305 seal (64-byte message, 16-byte AAD)",
  chachaOpen: "AEAD ChaCha20-Poly1305 open (64-byte message, 16-byte AAD)"
} as const

const utf8 = (s: string) => new TextEncoder().encode(s)
/** Deterministic fixture bytes: no `Math.random`, so every run measures the same inputs. */
const fixture = (name: string, length = 32): Uint8Array => {
  const out = new Uint8Array(length)
  for (let i = 0, block = 0; i < length; i += 32, block++) {
    out.set(sha256(utf8(`authlab/bench/${name}/${block}`)).subarray(0, Math.min(32, length - i)), i)
  }
  return out
}
const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url")

/** The service a layer provides, resolved once — a program holds it the same way. */
export const serviceOf = (layer: Layer.Layer<Crypto>): CryptoShape => Effect.runSync(Effect.provide(Crypto, layer))

/** A layer's `Exit` that must be a success, with a readable message when it is not (the untimed fixture check). */
const runChecked = <A, E>(label: string, exit: Exit.Exit<A, E>): A => {
  if (Exit.isFailure(exit)) throw new Error(`${label}: ${Cause.pretty(exit.cause)}`)
  return exit.value
}

/** The value of a layer's `Exit`, as a protocol takes it (a failure cannot happen on checked fixtures; it throws). */
const valueOf = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isSuccess(exit)) return exit.value
  throw new Error("crypto bench: a checked fixture failed")
}

interface Fixtures {
  readonly hmacKey: Uint8Array
  readonly message: Uint8Array
  readonly ikm: Uint8Array
  readonly salt: Uint8Array
  readonly info: Uint8Array
  readonly xSecret: Uint8Array
  readonly xPeer: Uint8Array
  readonly pSecret: Uint8Array
  /** SEC1 compressed, as `p256PublicKey` returns it. */
  readonly pPeer: Uint8Array
  readonly edSecret: Uint8Array
  readonly edPublic: Uint8Array
  readonly edSig: Uint8Array
  readonly ecSecret: Uint8Array
  readonly ecPublic: Uint8Array
  readonly ecSig: Uint8Array
  readonly aesKey: Uint8Array
  readonly chachaKey: Uint8Array
  readonly nonce: Uint8Array
  readonly aad: Uint8Array
  /** `message` sealed under each key (ciphertext ‖ tag), for the open figures. */
  readonly aesSealed: Uint8Array
  readonly chachaSealed: Uint8Array
  readonly node: {
    readonly xSecret: KeyObject
    readonly xPeer: KeyObject
    readonly pSecret: KeyObject
    readonly pPeer: KeyObject
    readonly edSecret: KeyObject
    readonly edPublic: KeyObject
    readonly ecSecret: KeyObject
    readonly ecPublic: KeyObject
    readonly aesKey: KeyObject
    readonly chachaKey: KeyObject
  }
}

const ECDSA_OPTS = { prehash: true, lowS: false, format: "compact" } as const

const p256Jwk = (secret: Uint8Array | undefined, publicKey: Uint8Array) => {
  const uncompressed = p256.Point.fromBytes(publicKey).toBytes(false)
  return {
    kty: "EC",
    crv: "P-256",
    x: b64u(uncompressed.subarray(1, 33)),
    y: b64u(uncompressed.subarray(33, 65)),
    ...(secret === undefined ? {} : { d: b64u(secret) })
  }
}
const okpJwk = (crv: "Ed25519" | "X25519", secret: Uint8Array | undefined, publicKey: Uint8Array) => ({
  kty: "OKP",
  crv,
  x: b64u(publicKey),
  ...(secret === undefined ? {} : { d: b64u(secret) })
})

export const buildFixtures = (): Fixtures => {
  const message = fixture("message", 64)
  const xSecret = fixture("x25519-secret")
  const xPeer = x25519.getPublicKey(fixture("x25519-peer-secret"))
  const pSecret = fixture("p256-secret")
  const pPeer = p256.getPublicKey(fixture("p256-peer-secret"), true)
  const edSecret = fixture("ed25519-secret")
  const edPublic = ed25519.getPublicKey(edSecret)
  const ecSecret = fixture("ecdsa-secret")
  const ecPublic = p256.getPublicKey(ecSecret, true)
  const aesKey = fixture("aes-256-gcm-key")
  const chachaKey = fixture("chacha20-poly1305-key")
  const nonce = fixture("aead-nonce", 12)
  const aad = fixture("aead-aad", 16)
  return {
    hmacKey: fixture("hmac-key"),
    message,
    ikm: fixture("hkdf-ikm"),
    salt: fixture("hkdf-salt"),
    info: utf8("authlab/rolling-key/next-key/v1"),
    xSecret,
    xPeer,
    pSecret,
    pPeer,
    edSecret,
    edPublic,
    edSig: ed25519.sign(message, edSecret),
    ecSecret,
    ecPublic,
    ecSig: p256.sign(message, ecSecret, ECDSA_OPTS),
    aesKey,
    chachaKey,
    nonce,
    aad,
    aesSealed: gcm(aesKey, nonce, aad).encrypt(message),
    chachaSealed: chacha20poly1305(chachaKey, nonce, aad).encrypt(message),
    node: {
      xSecret: createPrivateKey({ key: okpJwk("X25519", xSecret, x25519.getPublicKey(xSecret)), format: "jwk" }),
      xPeer: createPublicKey({ key: okpJwk("X25519", undefined, xPeer), format: "jwk" }),
      pSecret: createPrivateKey({ key: p256Jwk(pSecret, p256.getPublicKey(pSecret, true)), format: "jwk" }),
      pPeer: createPublicKey({ key: p256Jwk(undefined, pPeer), format: "jwk" }),
      edSecret: createPrivateKey({ key: okpJwk("Ed25519", edSecret, edPublic), format: "jwk" }),
      edPublic: createPublicKey({ key: okpJwk("Ed25519", undefined, edPublic), format: "jwk" }),
      ecSecret: createPrivateKey({ key: p256Jwk(ecSecret, ecPublic), format: "jwk" }),
      ecPublic: createPublicKey({ key: p256Jwk(undefined, ecPublic), format: "jwk" }),
      aesKey: createSecretKey(aesKey),
      chachaKey: createSecretKey(chachaKey)
    }
  }
}

/** The four calls of one operation, all doing the same work on the same inputs. */
interface Row {
  readonly operation: string
  readonly ours: (c: CryptoShape) => Exit.Exit<unknown, unknown>
  readonly rawNoble: () => unknown
  readonly rawNode: () => unknown
}

const AEAD_TAG = { authTagLength: 16 } as const

/** Raw node:crypto AEAD, as a program would call it: one cipher object per message. */
const rawNodeSeal = (cipher: "aes-256-gcm" | "chacha20-poly1305", key: KeyObject, f: Fixtures) => {
  const c = cipher === "aes-256-gcm"
    ? createCipheriv(cipher, key, f.nonce, AEAD_TAG)
    : createCipheriv(cipher, key, f.nonce, AEAD_TAG)
  c.setAAD(f.aad, { plaintextLength: f.message.length })
  return Buffer.concat([c.update(f.message), c.final(), c.getAuthTag()])
}
const rawNodeOpen = (cipher: "aes-256-gcm" | "chacha20-poly1305", key: KeyObject, sealed: Uint8Array, f: Fixtures) => {
  const split = sealed.length - 16
  const d = cipher === "aes-256-gcm"
    ? createDecipheriv(cipher, key, f.nonce, AEAD_TAG)
    : createDecipheriv(cipher, key, f.nonce, AEAD_TAG)
  d.setAAD(f.aad, { plaintextLength: split })
  d.setAuthTag(sealed.subarray(split))
  return Buffer.concat([d.update(sealed.subarray(0, split)), d.final()])
}

const rows = (f: Fixtures): ReadonlyArray<Row> => [
  {
    operation: Op.hmac,
    ours: (c) => c.hmacSha256(f.hmacKey, f.message),
    rawNoble: () => hmac(sha256, f.hmacKey, f.message),
    rawNode: () => createHmac("sha256", f.hmacKey).update(f.message).digest()
  },
  {
    operation: Op.hkdf,
    ours: (c) => c.hkdfSha256(f.ikm, f.salt, f.info, 32),
    rawNoble: () => hkdf(sha256, f.ikm, f.salt, f.info, 32),
    rawNode: () => hkdfSync("sha256", f.ikm, f.salt, f.info, 32)
  },
  {
    operation: Op.x25519,
    ours: (c) => c.x25519SharedSecret(f.xSecret, f.xPeer),
    rawNoble: () => x25519.getSharedSecret(f.xSecret, f.xPeer),
    rawNode: () => diffieHellman({ privateKey: f.node.xSecret, publicKey: f.node.xPeer })
  },
  {
    operation: Op.p256Ecdh,
    ours: (c) => c.p256SharedSecret(f.pSecret, f.pPeer),
    // the x-coordinate, as SEC1 §3.3.1 and our layer return it
    rawNoble: () => p256.getSharedSecret(f.pSecret, f.pPeer, true).subarray(1),
    rawNode: () => diffieHellman({ privateKey: f.node.pSecret, publicKey: f.node.pPeer })
  },
  {
    operation: Op.ed25519Sign,
    ours: (c) => c.ed25519Sign(f.edSecret, f.message),
    rawNoble: () => ed25519.sign(f.message, f.edSecret),
    rawNode: () => sign(null, f.message, f.node.edSecret)
  },
  {
    operation: Op.ed25519Verify,
    ours: (c) => c.ed25519Verify(f.edPublic, f.message, f.edSig),
    rawNoble: () => ed25519.verify(f.edSig, f.message, f.edPublic, { zip215: false }),
    rawNode: () => verify(null, f.message, f.node.edPublic, f.edSig)
  },
  {
    operation: Op.ecdsaSign,
    ours: (c) => c.ecdsaP256Sign(f.ecSecret, f.message),
    rawNoble: () => p256.sign(f.message, f.ecSecret, ECDSA_OPTS),
    rawNode: () => sign("sha256", f.message, { key: f.node.ecSecret, dsaEncoding: "ieee-p1363" })
  },
  {
    operation: Op.ecdsaVerify,
    ours: (c) => c.ecdsaP256Verify(f.ecPublic, f.message, f.ecSig),
    rawNoble: () => p256.verify(f.ecSig, f.message, f.ecPublic, ECDSA_OPTS),
    rawNode: () => verify("sha256", f.message, { key: f.node.ecPublic, dsaEncoding: "ieee-p1363" }, f.ecSig)
  },
  {
    operation: Op.aesGcmSeal,
    ours: (c) => c.aesGcmSeal(f.aesKey, f.nonce, f.message, f.aad),
    rawNoble: () => gcm(f.aesKey, f.nonce, f.aad).encrypt(f.message),
    rawNode: () => rawNodeSeal("aes-256-gcm", f.node.aesKey, f)
  },
  {
    operation: Op.aesGcmOpen,
    ours: (c) => c.aesGcmOpen(f.aesKey, f.nonce, f.aesSealed, f.aad),
    rawNoble: () => gcm(f.aesKey, f.nonce, f.aad).decrypt(f.aesSealed),
    rawNode: () => rawNodeOpen("aes-256-gcm", f.node.aesKey, f.aesSealed, f)
  },
  {
    operation: Op.chachaSeal,
    ours: (c) => c.chacha20Poly1305Seal(f.chachaKey, f.nonce, f.message, f.aad),
    rawNoble: () => chacha20poly1305(f.chachaKey, f.nonce, f.aad).encrypt(f.message),
    rawNode: () => rawNodeSeal("chacha20-poly1305", f.node.chachaKey, f)
  },
  {
    operation: Op.chachaOpen,
    ours: (c) => c.chacha20Poly1305Open(f.chachaKey, f.nonce, f.chachaSealed, f.aad),
    rawNoble: () => chacha20poly1305(f.chachaKey, f.nonce, f.aad).decrypt(f.chachaSealed),
    rawNode: () => rawNodeOpen("chacha20-poly1305", f.node.chachaKey, f.chachaSealed, f)
  }
]

/** Outputs as hex for comparison (`hkdfSync` returns an ArrayBuffer, the others byte arrays). */
const hex = (v: unknown) =>
  v instanceof Uint8Array ? Buffer.from(v).toString("hex")
  : v instanceof ArrayBuffer ? Buffer.from(v).toString("hex")
  : String(v)

/**
 * Run every case once, untimed, and check it does the intended work: verifications accept, and
 * deterministic outputs agree across the four implementations (randomised ECDSA-by-OpenSSL
 * signatures are only checked for length).
 */
const checkRow = (row: Row, noble: CryptoShape, node: CryptoShape): void => {
  const outs = [
    runChecked(`${row.operation} / ${Impl.ourNoble}`, row.ours(noble)),
    row.rawNoble(),
    runChecked(`${row.operation} / ${Impl.ourNode}`, row.ours(node)),
    row.rawNode()
  ]
  if (row.operation === Op.ed25519Verify || row.operation === Op.ecdsaVerify) {
    // ours succeed with void (a failure would have thrown above); the raw calls return booleans
    if (outs[1] !== true || outs[3] !== true) throw new Error(`${row.operation}: fixture signature does not verify`)
    return
  }
  if (row.operation === Op.ecdsaSign) {
    // node:crypto signs with a random nonce, noble with RFC 6979: compare lengths only
    if (!outs.every((o) => o instanceof Uint8Array && o.length === 64)) throw new Error(`${row.operation}: expected 64-byte signatures`)
    return
  }
  const first = hex(outs[0])
  if (!outs.every((o) => hex(o) === first)) {
    throw new Error(`${row.operation}: implementations disagree: ${outs.map(hex).join(" / ")}`)
  }
}

/** The crypto cases (12 operations × 4 implementations), fixtures built and checked. */
export const cryptoCases = (): Array<Case> => {
  const f = buildFixtures()
  const noble = serviceOf(CryptoNoble)
  const node = serviceOf(CryptoNode)
  const cases: Array<Case> = []
  // Each service gets closures of its own (`rows` builds new ones per call): one call site shared
  // by the noble and the node service would see two shapes of service and dispatch polymorphically,
  // which no protocol does (a participant holds one service) and which the raw baselines escape.
  const forNode = rows(f)
  rows(f).forEach((row, i) => {
    checkRow(row, noble, node)
    // each call computes inside the timed loop, as a caller's would, and returns its Exit; only
    // the service lookup is hoisted. Each library's two cases share rounds of their own
    // (`family`, measure.ts): node's garbage would otherwise be collected in noble's batches.
    const oursNoble = row.ours
    const oursNode = forNode[i]!.ours
    cases.push(
      { group: GROUP, operation: row.operation, implementation: Impl.ourNoble, family: "noble", fn: () => valueOf(oursNoble(noble)) },
      { group: GROUP, operation: row.operation, implementation: Impl.rawNoble, family: "noble", fn: row.rawNoble },
      { group: GROUP, operation: row.operation, implementation: Impl.ourNode, family: "node", fn: () => valueOf(oursNode(node)) },
      { group: GROUP, operation: row.operation, implementation: Impl.rawNode, family: "node", fn: row.rawNode }
    )
  })
  return cases
}
