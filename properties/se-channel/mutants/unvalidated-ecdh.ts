/**
 * ECDH as a library that never validates the peer's point computes it (the `point-not-validated`
 * mutant): SEC1 decompression that takes the square-root candidate y = rhs^((p+1)/4) without
 * checking y² = rhs, and x without checking x < p, then affine double-and-add. The group law's
 * formulas never use the curve's b, so an input off P-256 is multiplied on whichever curve
 * y² = x³ − 3x + b′ it lies on — the invalid-curve attack's premise (Biehl–Meyer–Müller 2000).
 */
import { Effect } from "effect"
import { isP256Point } from "../../../impl/crypto/noble.ts"
import { ecdh } from "../../../impl/se-channel/keys.ts"

const p = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn
const a = p - 3n
const b = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn

const mod = (x: bigint) => ((x % p) + p) % p
const pow = (base: bigint, e: bigint): bigint => {
  let r = 1n
  let x = mod(base)
  while (e > 0n) {
    if (e & 1n) r = (r * x) % p
    x = (x * x) % p
    e >>= 1n
  }
  return r
}
const inv = (x: bigint) => pow(x, p - 2n)

type Affine = { readonly x: bigint; readonly y: bigint } | null

const add = (P: Affine, Q: Affine): Affine => {
  if (P === null) return Q
  if (Q === null) return P
  if (P.x === Q.x && mod(P.y + Q.y) === 0n) return null
  const l = P.x === Q.x ? mod((3n * P.x * P.x + a) * inv(2n * P.y)) : mod((Q.y - P.y) * inv(Q.x - P.x))
  const x = mod(l * l - P.x - Q.x)
  return { x, y: mod(l * (P.x - x) - P.y) }
}

const bytesToBig = (bytes: Uint8Array) => bytes.reduce((n, x) => (n << 8n) | BigInt(x), 0n)

/** The same arithmetic on a point off the curve; on a real point the same result, computed by the real ECDH (faster). */
export const unvalidatedEcdh = (secretKey: Uint8Array, publicKey: Uint8Array) =>
  isP256Point(publicKey) ? ecdh(secretKey, publicKey) : offCurve(secretKey, publicKey)

const offCurve = (secretKey: Uint8Array, publicKey: Uint8Array): Effect.Effect<Uint8Array> =>
  Effect.sync(() => {
    const x = mod(bytesToBig(publicKey.subarray(1)))
    let y = pow(x * x * x + a * x + b, (p + 1n) / 4n)
    if ((y & 1n) !== BigInt((publicKey[0] ?? 0) & 1)) y = mod(-y)
    let R: Affine = null
    let Q: Affine = { x, y }
    for (let k = bytesToBig(secretKey); k > 0n; k >>= 1n) {
      if (k & 1n) R = add(R, Q)
      Q = add(Q, Q)
    }
    const out = new Uint8Array(32)
    let rx = R === null ? 0n : R.x
    for (let i = 31; i >= 0; i--, rx >>= 8n) out[i] = Number(rx & 0xffn)
    return out
  })
