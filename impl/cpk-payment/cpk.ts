/**
 * Combined Public Key (CPK) arithmetic over P-256 (NIST SP 800-186 §3.2.1.3), with noble-curves.
 *
 * A KMC holds, per business subdomain, a secret h×m matrix of scalars r[i][j] ∈ [1, n−1]; the
 * public matrix is R[i][j] = r[i][j]·G. A keyed selection maps (subdomain, ID) to one row per
 * column; the ID's private key is Σⱼ r[rowⱼ][j] mod n and its public key Σⱼ R[rowⱼ][j], so anyone
 * holding the public matrix derives anyone's public key from the ID alone.
 *
 * Curve: P-256, not secp256k1. The deployed curve is SM2 (GB/T 32918), which like P-256 is a
 * 256-bit prime-order short-Weierstrass curve with a = −3 and an ECDSA-like signature; P-256 is the
 * nearest standard curve, and the project's own verified ECDSA P-256 (impl/crypto, Wycheproof-
 * tested in both backends) then verifies every CPK signature — including the coalition's forgery.
 *
 * Selection (SPEC.md §Selection): d = HMAC-SHA256(selectionKey, transcript(select label,
 * [subdomain, ID])); column j selects row d[j] mod h. h must divide 256 (no modulo bias) and
 * m ≤ 32 (one HMAC output); the selection key is a public parameter of the subdomain — it
 * separates domains and deployments, it is not a secret.
 */
import { hmac } from "@noble/hashes/hmac.js"
import { sha256 } from "@noble/hashes/sha2.js"
import { p256 } from "@noble/curves/nist.js"
import { transcript } from "../../spec/codec.ts"
import { Labels, POINT_BYTES } from "../../spec/cpk-payment/messages.ts"

export const Point = p256.Point
export type Point = InstanceType<typeof p256.Point>
/** The group order n. */
export const ORDER: bigint = p256.Point.Fn.ORDER

export const mod = (a: bigint): bigint => {
  const r = a % ORDER
  return r < 0n ? r + ORDER : r
}

export const scalarToBytes = (x: bigint): Uint8Array => {
  const out = new Uint8Array(32)
  let v = mod(x)
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn)
    v >>= 8n
  }
  return out
}

export const bytesToScalar = (b: Uint8Array): bigint => {
  let v = 0n
  for (const x of b) v = (v << 8n) | BigInt(x)
  return v
}

export interface Dimensions {
  readonly rows: number
  readonly columns: number
}

const checkDimensions = ({ rows, columns }: Dimensions) => {
  if (!Number.isInteger(rows) || rows < 2 || rows > 256 || 256 % rows !== 0) throw new RangeError(`CPK: expected rows dividing 256, got ${rows}`)
  if (!Number.isInteger(columns) || columns < 2 || columns > 32) throw new RangeError(`CPK: expected 2..32 columns, got ${columns}`)
}

/** The row each column selects for (subdomain, id): one byte of the HMAC per column. */
export type Selection = ReadonlyArray<number>

export const select = (selectionKey: Uint8Array, dims: Dimensions, subdomain: string, id: string): Selection => {
  checkDimensions(dims)
  const d = hmac(sha256, selectionKey, transcript(Labels.select, [subdomain, id]))
  return Array.from({ length: dims.columns }, (_, j) => d[j]! % dims.rows)
}

/** A subdomain's secret matrix, row-major: `r[i][j]`. */
export interface SecretMatrix extends Dimensions {
  readonly r: ReadonlyArray<ReadonlyArray<bigint>>
}

/** A subdomain's public parameters: the public matrix as published (compressed points) and the selection key. */
export interface PublicMatrix extends Dimensions {
  readonly subdomain: string
  readonly selectionKey: Uint8Array
  /** `R[i][j]` as SEC1 compressed points, row-major. */
  readonly points: ReadonlyArray<ReadonlyArray<Uint8Array>>
}

/** Scalars in [1, n−1] from 48 random bytes each (FIPS 186-5 A.2.1: the extra 128 bits make the bias negligible). */
export const scalarFrom = (random: Uint8Array): bigint => {
  const x = mod(bytesToScalar(random))
  return x === 0n ? 1n : x
}

export const SCALAR_SEED_BYTES = 48

export const secretMatrix = (dims: Dimensions, random: (n: number) => Uint8Array): SecretMatrix => {
  checkDimensions(dims)
  return { ...dims, r: Array.from({ length: dims.rows }, () => Array.from({ length: dims.columns }, () => scalarFrom(random(SCALAR_SEED_BYTES)))) }
}

export const publicMatrix = (secret: SecretMatrix, subdomain: string, selectionKey: Uint8Array): PublicMatrix => ({
  rows: secret.rows,
  columns: secret.columns,
  subdomain,
  selectionKey,
  points: secret.r.map((row) => row.map((x) => Point.BASE.multiply(x).toBytes(true)))
})

/** Σⱼ r[rowⱼ][j] mod n: the combined private key of a selection. */
export const combinedSecret = (secret: SecretMatrix, selection: Selection): bigint =>
  mod(selection.reduce((acc, row, j) => acc + secret.r[row]![j]!, 0n))

/**
 * The naive derivation: decode each selected point of the matrix as published and add them —
 * what a verifier that keeps only the published bytes does for every signature (bench baseline).
 */
export const combinedPublicNaive = (matrix: PublicMatrix, selection: Selection): Point =>
  selection.reduce((acc, row, j) => acc.add(Point.fromBytes(matrix.points[row]![j]!)), Point.ZERO)

/**
 * The precomputed table of a public matrix: every point decoded once, and for each pair of
 * columns (2k, 2k+1) the h² sums R[a][2k] + R[b][2k+1], so a derivation is ⌈m/2⌉ additions of
 * table entries and no decoding. For 32×32: 16 pairs × 1024 points.
 */
export interface PublicTable extends Dimensions {
  readonly subdomain: string
  readonly selectionKey: Uint8Array
  /** `pairs[k][a·h + b]` = R[a][2k] + R[b][2k+1]; for an odd m the last entry holds R[a][m−1] at `a·h`. */
  readonly pairs: ReadonlyArray<ReadonlyArray<Point>>
}

export const publicTable = (matrix: PublicMatrix): PublicTable => {
  const h = matrix.rows
  const decoded = matrix.points.map((row) => row.map((b) => Point.fromBytes(b)))
  const pairs: Array<Array<Point>> = []
  for (let c = 0; c < matrix.columns; c += 2) {
    const entries: Array<Point> = []
    for (let a = 0; a < h; a++)
      for (let b = 0; b < h; b++) entries.push(c + 1 < matrix.columns ? decoded[a]![c]!.add(decoded[b]![c + 1]!) : decoded[a]![c]!)
    pairs.push(entries)
  }
  return { rows: h, columns: matrix.columns, subdomain: matrix.subdomain, selectionKey: matrix.selectionKey, pairs }
}

/** The index of a selection's entry in pair table `k` (an honest seam: the table lookup). */
export const pairIndex = (dims: Dimensions, selection: Selection, k: number): number =>
  selection[2 * k]! * dims.rows + (2 * k + 1 < dims.columns ? selection[2 * k + 1]! : 0)

export type PairIndex = typeof pairIndex

export const combinedPublic = (table: PublicTable, selection: Selection, index: PairIndex = pairIndex): Point =>
  table.pairs.reduce((acc, entries, k) => acc.add(entries[index(table, selection, k)]!), Point.ZERO)

export const pointBytes = (p: Point): Uint8Array => p.toBytes(true)

export const decodePoint = (bytes: Uint8Array): Point | undefined => {
  if (bytes.length !== POINT_BYTES) return undefined
  try {
    const p = Point.fromBytes(bytes)
    p.assertValidity()
    return p.equals(Point.ZERO) ? undefined : p
  } catch {
    return undefined
  }
}
