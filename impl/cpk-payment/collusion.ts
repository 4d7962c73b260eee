/**
 * The linear collusion of CPK, on real arithmetic. Every private key is a linear form of the
 * secret matrix: xᵤ = Σⱼ r[selᵤ(j)][j] = ⟨vᵤ, r⟩ with vᵤ the 0/1 indicator vector of u's selection
 * (one 1 per column, h·m entries). The indicator vectors span a space of dimension m(h−1)+1 (the
 * vectors whose m column blocks have equal sums), so any m(h−1)+1 users with independent vectors determine every
 * other identity's key without knowing the matrix: solve ⟨vᵤ, r⟩ = xᵤ mod n for any particular
 * solution r′ (Gaussian elimination over BigInt mod n, free unknowns set to 0); then for a target t
 * whose vector lies in the span, ⟨v_t, r′⟩ = x_t. For 32×32 that is 993 keys.
 */
import { combinedSecret, type Dimensions, mod, ORDER, type Selection } from "./cpk.ts"

const inverse = (a: bigint): bigint => {
  // Fermat: n is prime
  let result = 1n
  let base = mod(a)
  let e = ORDER - 2n
  while (e > 0n) {
    if (e & 1n) result = (result * base) % ORDER
    base = (base * base) % ORDER
    e >>= 1n
  }
  return result
}

export interface ColluderKey {
  readonly selection: Selection
  readonly secret: bigint
}

export interface Solved {
  /** A matrix that gives every identity in the coalition's span its true key (not the KMC's matrix). */
  readonly matrix: { readonly rows: number; readonly columns: number; readonly r: ReadonlyArray<ReadonlyArray<bigint>> }
  /** The rank of the coalition's selection vectors. */
  readonly rank: number
  /** The reduced basis, to test whether a target's selection is in the span. */
  readonly inSpan: (selection: Selection) => boolean
}

const indicator = (dims: Dimensions, selection: Selection): Array<bigint> => {
  const v = new Array<bigint>(dims.rows * dims.columns).fill(0n)
  selection.forEach((row, j) => {
    v[row * dims.columns + j] = 1n
  })
  return v
}

/** Gaussian elimination mod n of the coalition's system [vᵤ | xᵤ]. */
export const solveCoalition = (dims: Dimensions, keys: ReadonlyArray<ColluderKey>): Solved => {
  const width = dims.rows * dims.columns
  const rows = keys.map((k) => [...indicator(dims, k.selection), mod(k.secret)])
  const pivots: Array<number> = []
  let r = 0
  for (let c = 0; c < width && r < rows.length; c++) {
    const p = rows.findIndex((row, i) => i >= r && row[c] !== 0n)
    if (p < 0) continue
    ;[rows[r], rows[p]] = [rows[p]!, rows[r]!]
    const inv = inverse(rows[r]![c]!)
    rows[r] = rows[r]!.map((x) => (x * inv) % ORDER)
    for (let i = 0; i < rows.length; i++) {
      if (i === r || rows[i]![c] === 0n) continue
      const f = rows[i]![c]!
      rows[i] = rows[i]!.map((x, k) => mod(x - f * rows[r]![k]!))
    }
    pivots.push(c)
    r++
  }
  const flat = new Array<bigint>(width).fill(0n)
  pivots.forEach((c, i) => {
    flat[c] = rows[i]![width]!
  })
  const basis = rows.slice(0, pivots.length)
  const inSpan = (selection: Selection): boolean => {
    const v = indicator(dims, selection)
    pivots.forEach((c, i) => {
      const f = v[c]!
      if (f !== 0n) for (let k = 0; k < width; k++) v[k] = mod(v[k]! - f * basis[i]![k]!)
    })
    return v.every((x) => x === 0n)
  }
  return {
    matrix: { rows: dims.rows, columns: dims.columns, r: Array.from({ length: dims.rows }, (_, i) => flat.slice(i * dims.columns, (i + 1) * dims.columns)) },
    rank: pivots.length,
    inSpan
  }
}

/** The key the coalition computes for `selection` (correct when `inSpan(selection)`). */
export const forgeKey = (solved: Solved, selection: Selection): bigint => combinedSecret(solved.matrix, selection)
