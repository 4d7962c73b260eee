/**
 * P4 key management: the KMC (spec/cpk-payment/SPEC.md §KMC) and the directory every participant
 * derives public keys with (§Derivation).
 *
 * The KMC holds each subdomain's secret matrix and issues an identity's private key: the combined
 * key Σ selected r, plus — `hardened` — a fresh random separating key s, with the KMC's ECDSA
 * certificate over (subdomain, ID, S = s·G). The directory derives a public key from the ID (and,
 * `hardened`, the certified S carried in the message): table lookup of the combined point, plus S
 * after the certificate verifies. It serves only the subdomains it was built for: a message
 * naming another subdomain is refused, never verified under that subdomain's matrix.
 */
import { Data, Effect } from "effect"
import type { Policy } from "../../spec/cpk-payment/variants.ts"
import { Crypto, type CryptoInputError, SecureRandom, type VerificationFailed } from "../crypto/services.ts"
import {
  combinedPublic,
  combinedSecret,
  decodePoint,
  type Dimensions,
  mod,
  type PairIndex,
  pairIndex,
  Point,
  pointBytes,
  publicMatrix,
  type PublicMatrix,
  publicTable,
  type PublicTable,
  SCALAR_SEED_BYTES,
  scalarFrom,
  scalarToBytes,
  type SecretMatrix,
  secretMatrix,
  select
} from "./cpk.ts"
import { keyCertBytes } from "./signed.ts"

/** One identity's key in one subdomain, as the KMC hands it to the wallet (over its secure enrolment channel). */
export interface UserKey {
  readonly id: string
  readonly subdomain: string
  /** The private key x (32 bytes big-endian). */
  readonly secret: Uint8Array
  /** `hardened`: S = s·G, 33 bytes; empty in `claimed`. */
  readonly sepPoint: Uint8Array
  /** `hardened`: the KMC's signature over (subdomain, ID, S); empty in `claimed`. */
  readonly cert: Uint8Array
}

/** What every participant holds: each subdomain's public matrix, and the KMC's certificate key. */
export interface PublicParameters {
  readonly matrices: ReadonlyMap<string, PublicMatrix>
  readonly kmcPublicKey: Uint8Array
}

/** The KMC's secret material for a deployment (made once, out of band). */
export interface Deployment {
  readonly secrets: ReadonlyMap<string, SecretMatrix>
  readonly selectionKeys: ReadonlyMap<string, Uint8Array>
  readonly kmcSigningKey: Uint8Array
  readonly parameters: PublicParameters
}

/** A deployment: one secret matrix per subdomain. `random` is the KMC's randomness. */
export const makeDeployment = (dims: Dimensions, subdomains: ReadonlyArray<string>, random: (n: number) => Uint8Array): Deployment => {
  const secrets = new Map(subdomains.map((s) => [s, secretMatrix(dims, random)] as const))
  const selectionKeys = new Map(subdomains.map((s) => [s, random(32)] as const))
  const kmcSigningKey = scalarToBytes(scalarFrom(random(SCALAR_SEED_BYTES)))
  const matrices = new Map(subdomains.map((s) => [s, publicMatrix(secrets.get(s)!, s, selectionKeys.get(s)!)] as const))
  return { secrets, selectionKeys, kmcSigningKey, parameters: { matrices, kmcPublicKey: Point.BASE.multiply(scalarFrom(kmcSigningKey)).toBytes(true) } }
}

export class KmcError extends Data.TaggedError("KmcError")<{ readonly reason: "unknown-subdomain" }> {}

export interface Kmc {
  readonly issue: (id: string, subdomain: string) => Effect.Effect<UserKey, KmcError, Crypto | SecureRandom>
}

export const makeKmc = (options: { readonly policy: Policy; readonly deployment: Deployment }): Kmc => {
  const issue = Effect.fn("Kmc.issue")(function*(id: string, subdomain: string) {
    const secret = options.deployment.secrets.get(subdomain)
    const selectionKey = options.deployment.selectionKeys.get(subdomain)
    if (secret === undefined || selectionKey === undefined) return yield* new KmcError({ reason: "unknown-subdomain" })
    const combined = combinedSecret(secret, select(selectionKey, secret, subdomain, id))
    if (!options.policy.separatingKey) return { id, subdomain, secret: scalarToBytes(combined), sepPoint: new Uint8Array(0), cert: new Uint8Array(0) }
    // the separating key: one unknown per user in any coalition's linear system
    const s = scalarFrom(yield* Effect.flatMap(SecureRandom, (r) => r.bytes(SCALAR_SEED_BYTES)))
    const sepPoint = pointBytes(Point.BASE.multiply(s))
    const crypto = yield* Crypto
    const cert = yield* Effect.orDie(crypto.ecdsaP256Sign(options.deployment.kmcSigningKey, keyCertBytes(subdomain, id, sepPoint)))
    return { id, subdomain, secret: scalarToBytes(mod(combined + s)), sepPoint, cert }
  })
  return { issue }
}

export class KeyError extends Data.TaggedError("KeyError")<{ readonly reason: "wrong-subdomain" | "bad-cert" }> {}

export interface Directory {
  /** The public key of `id` in `subdomain` (SEC1 compressed), from the ID and — hardened — the certified separating point. */
  readonly publicKey: (id: string, subdomain: string, sepPoint: Uint8Array, cert: Uint8Array) => Effect.Effect<Uint8Array, KeyError, Crypto>
  readonly subdomains: ReadonlyArray<string>
}

export interface DirectoryOptions {
  readonly policy: Policy
  readonly parameters: PublicParameters
  /** The subdomains this participant serves; a message naming another is refused. */
  readonly subdomains: ReadonlyArray<string>
  /** The pair-table lookup (an honest seam for decorators). */
  readonly pairIndex?: PairIndex
}

export const makeDirectory = (options: DirectoryOptions): Directory => {
  const index = options.pairIndex ?? pairIndex
  const tables = new Map<string, PublicTable>()
  for (const s of options.subdomains) {
    const m = options.parameters.matrices.get(s)
    if (m !== undefined) tables.set(s, tableOf(m))
  }
  const combined = new Map<string, { readonly point: Point; readonly bytes: Uint8Array }>()
  // certificates verify the same way every time: a certified key, once derived, is kept by its bytes
  const certified = new Map<string, Uint8Array>()
  const publicKey = Effect.fn("Directory.publicKey")(function*(id: string, subdomain: string, sepPoint: Uint8Array, cert: Uint8Array) {
    const table = tables.get(subdomain)
    if (table === undefined) return yield* new KeyError({ reason: "wrong-subdomain" })
    const key = `${subdomain}|${id}`
    let c = combined.get(key)
    if (c === undefined) {
      const point = combinedPublic(table, select(table.selectionKey, table, subdomain, id), index)
      combined.set(key, (c = { point, bytes: pointBytes(point) }))
    }
    if (!options.policy.separatingKey) return c.bytes
    const certKey = `${key}|${Buffer.from(sepPoint).toString("hex")}|${Buffer.from(cert).toString("hex")}`
    const known = certified.get(certKey)
    if (known !== undefined) return known
    const crypto = yield* Crypto
    const s = decodePoint(sepPoint)
    if (s === undefined || cert.length === 0) return yield* new KeyError({ reason: "bad-cert" })
    yield* Effect.mapError(crypto.ecdsaP256Verify(options.parameters.kmcPublicKey, keyCertBytes(subdomain, id, sepPoint), cert), () => new KeyError({ reason: "bad-cert" }))
    const derived = pointBytes(c.point.add(s))
    certified.set(certKey, derived)
    return derived
  })
  return { publicKey, subdomains: options.subdomains }
}

/** Tables are pure functions of the public matrix: built once per process per matrix. */
const tableCache = new WeakMap<PublicMatrix, PublicTable>()
const tableOf = (m: PublicMatrix): PublicTable => {
  let t = tableCache.get(m)
  if (t === undefined) tableCache.set(m, (t = publicTable(m)))
  return t
}

/** Sign with a derived key; verification failures are tagged errors, never booleans. */
export const signWith = (key: UserKey, bytes: Uint8Array) => Effect.flatMap(Crypto, (c) => Effect.orDie(c.ecdsaP256Sign(key.secret, bytes)))

export type Verify = (publicKey: Uint8Array, bytes: Uint8Array, signature: Uint8Array) => Effect.Effect<void, VerificationFailed | CryptoInputError, Crypto>

export const verifyWith: Verify = (publicKey, bytes, signature) => Effect.flatMap(Crypto, (c) => c.ecdsaP256Verify(publicKey, bytes, signature))
