/**
 * P4 cpk-payment benchmarks, each figure a ratio to a baseline measured in the same run:
 * - ID → public key on the deployed 32×32 matrix: the precomputed column-pair table
 *   (impl/cpk-payment/cpk.ts: 16 additions of table entries) and the decoded points summed
 *   one by one (32 additions), against the naive derivation from the matrix as published
 *   (decode each selected SEC1 point, then add: what a verifier holding only the published
 *   bytes does per signature). Both include the keyed selection (one HMAC) and the encoding.
 * - signing with a derived key and verifying under an ID-derived key (table + hardened
 *   certificate check + ECDSA), through authlab's noble layer, against raw noble `p256.sign` /
 *   `p256.verify` with the same key and message.
 */
import { p256 } from "@noble/curves/nist.js"
import { Effect, Either, Layer } from "effect"
import { claimed, hardened } from "../spec/cpk-payment/variants.ts"
import { CryptoNoble } from "../impl/crypto/noble.ts"
import { SecureRandomSystem } from "../impl/crypto/random.ts"
import type { Crypto, SecureRandom } from "../impl/crypto/services.ts"
import { combinedPublic, combinedPublicNaive, Point, pointBytes, publicTable, select } from "../impl/cpk-payment/cpk.ts"
import { makeDirectory, makeKmc, signWith, verifyWith } from "../impl/cpk-payment/keys.ts"
import { deploymentOf } from "../impl/cpk-payment/deployment.ts"
import { type Baselines, type Case, consume } from "./measure.ts"
import type { BenchSuite } from "./run.ts"

export const GROUP = "cpk-payment"

export const Op = {
  derive: "P4 ID → public key, 32×32 matrix (selection HMAC + sum + encode)",
  sign: "P4 sign a payment with a KMC-derived P-256 key (ECDSA)",
  verify: "P4 verify under an ID-derived key (hardened: table + certificate + ECDSA)",
  verifyClaimed: "P4 verify under an ID-derived key (claimed: table + ECDSA)"
} as const

export const Impl = {
  table: "authlab: precomputed column-pair table (16 additions)",
  decoded: "decoded points, one by one (32 additions)",
  naive: "naive: decode the published points, add them",
  authlab: "authlab, noble layer",
  rawSign: "raw noble p256.sign",
  rawVerify: "raw noble p256.verify (public key known)"
} as const

export const cpkBaselines: Baselines = (f) => {
  if (f.operation === Op.derive) return f.implementation === Impl.naive ? undefined : Impl.naive
  if (f.implementation !== Impl.authlab) return undefined
  return f.operation === Op.sign ? Impl.rawSign : Impl.rawVerify
}

const DIMS = { rows: 32, columns: 32 } as const

const ready = <A>(effect: Effect.Effect<A, unknown, Crypto | SecureRandom>): A =>
  Either.getOrThrow(Effect.runSync(Effect.either(Effect.provide(effect, Layer.merge(CryptoNoble, SecureRandomSystem)))))

export const cpkCases = (): Array<Case> => {
  const deployment = deploymentOf(DIMS, ["pay"], "bench")
  const matrix = deployment.parameters.matrices.get("pay")!
  const table = publicTable(matrix)
  const decoded = matrix.points.map((row) => row.map((b) => Point.fromBytes(b)))
  let i = 0
  const nextId = () => `user-${i++ & 1023}`
  // the three derivations agree (checked once, outside the timing)
  const probe = select(matrix.selectionKey, DIMS, "pay", "zhang")
  if (!combinedPublic(table, probe).equals(combinedPublicNaive(matrix, probe))) throw new Error("cpk bench: table and naive derivations disagree")

  const kmc = makeKmc({ policy: hardened, deployment })
  const key = ready(kmc.issue("zhang", "pay"))
  const message = new TextEncoder().encode("authlab/cpk-payment/online/v1 bench payment payload of typical length")
  const signature = ready(signWith(key, message))
  const directory = makeDirectory({ policy: hardened, parameters: deployment.parameters, subdomains: ["pay"] })
  const publicKey = ready(directory.publicKey("zhang", "pay", key.sepPoint, key.cert))
  const context = Effect.runSync(Effect.scoped(Layer.build(CryptoNoble)))
  // a fresh directory per call would measure the table build; a cleared certificate cache measures the check
  const verifyOnce = () => {
    const d = makeDirectory({ policy: hardened, parameters: deployment.parameters, subdomains: ["pay"] })
    return Effect.runSync(Effect.provide(Effect.flatMap(d.publicKey("zhang", "pay", key.sepPoint, key.cert), (pk) => verifyWith(pk, message, signature)), context))
  }

  const claimedKey = ready(makeKmc({ policy: claimed, deployment }).issue("zhang", "pay"))
  const claimedSignature = ready(signWith(claimedKey, message))
  const claimedPublic = ready(makeDirectory({ policy: claimed, parameters: deployment.parameters, subdomains: ["pay"] }).publicKey("zhang", "pay", claimedKey.sepPoint, claimedKey.cert))
  const verifyClaimedOnce = () => {
    const d = makeDirectory({ policy: claimed, parameters: deployment.parameters, subdomains: ["pay"] })
    return Effect.runSync(Effect.provide(Effect.flatMap(d.publicKey("zhang", "pay", claimedKey.sepPoint, claimedKey.cert), (pk) => verifyWith(pk, message, claimedSignature)), context))
  }

  return [
    { group: GROUP, operation: Op.derive, implementation: Impl.table, fn: () => consume(pointBytes(combinedPublic(table, select(matrix.selectionKey, DIMS, "pay", nextId())))) },
    {
      group: GROUP,
      operation: Op.derive,
      implementation: Impl.decoded,
      fn: () => consume(pointBytes(select(matrix.selectionKey, DIMS, "pay", nextId()).reduce((acc, row, j) => acc.add(decoded[row]![j]!), Point.ZERO)))
    },
    { group: GROUP, operation: Op.derive, implementation: Impl.naive, fn: () => consume(pointBytes(combinedPublicNaive(matrix, select(matrix.selectionKey, DIMS, "pay", nextId())))) },
    { group: GROUP, operation: Op.sign, implementation: Impl.authlab, fn: () => consume(Effect.runSync(Effect.provide(signWith(key, message), context))) },
    { group: GROUP, operation: Op.sign, implementation: Impl.rawSign, fn: () => consume(p256.sign(message, key.secret, { prehash: true, lowS: false, format: "compact" })) },
    { group: GROUP, operation: Op.verify, implementation: Impl.authlab, fn: () => consume(verifyOnce()) },
    { group: GROUP, operation: Op.verify, implementation: Impl.rawVerify, fn: () => consume(p256.verify(signature, message, publicKey, { prehash: true, lowS: false, format: "compact" })) },
    { group: GROUP, operation: Op.verifyClaimed, implementation: Impl.authlab, fn: () => consume(verifyClaimedOnce()) },
    { group: GROUP, operation: Op.verifyClaimed, implementation: Impl.rawVerify, fn: () => consume(p256.verify(claimedSignature, message, claimedPublic, { prehash: true, lowS: false, format: "compact" })) }
  ]
}

/** This protocol's benchmarks, as its definition lists them (properties/cpk-payment/definition.ts). */
export const bench: BenchSuite = { group: GROUP, cases: cpkCases, baselines: cpkBaselines }
