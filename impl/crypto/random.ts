/**
 * `SecureRandom` layers: the system CSPRNG (Web Crypto `getRandomValues`, via noble), and a
 * seeded deterministic generator — the ChaCha20 keystream (RFC 8439 §2.4) under a key derived
 * from the seed with SHA-256 — so that a fast-check seed replays a run byte for byte.
 *
 * The seeded layer is for tests and replays only: its output is as predictable as its seed.
 */
import { chacha20 } from "@noble/ciphers/chacha.js"
import { sha256 } from "@noble/hashes/sha2.js"
import { randomBytes } from "@noble/hashes/utils.js"
import { Effect, Layer } from "effect"
import { SecureRandom } from "./services.ts"

/**
 * `bytes` for a generator of `length` bytes, run each time the Effect runs (unlike `Crypto`'s
 * primitives, a draw must never be reused). `Effect.sync`, not a traced `Effect.fn`: a span and
 * a stack trace per draw cost more than the draw (bench/).
 */
const drawing = (draw: (length: number) => Uint8Array) => (length: number): Effect.Effect<Uint8Array> =>
  Number.isSafeInteger(length) && length >= 0
    ? Effect.sync(() => draw(length))
    : Effect.dieMessage(`SecureRandom.bytes: expected a non-negative integer length, got ${length}`)

/** `getRandomValues` refuses more than 65536 bytes per call (Web Crypto §10.1.1). */
const GET_RANDOM_VALUES_MAX = 65536

const fromSystem = (length: number): Uint8Array => {
  const out = new Uint8Array(length)
  for (let at = 0; at < length; at += GET_RANDOM_VALUES_MAX) {
    out.set(randomBytes(Math.min(GET_RANDOM_VALUES_MAX, length - at)), at)
  }
  return out
}

/** The pool is refilled this many bytes at a time; draws up to `POOLED_MAX` bytes come from it. */
const POOL_BYTES = 4096
const POOLED_MAX = 256

/**
 * Small draws (nonces, challenges, keys: 16–64 bytes) are served from a pool of system CSPRNG
 * output refilled 4 KiB at a time. One `getRandomValues` call costs about 5 µs here whatever its
 * size (node:crypto runs a job per call), which was a tenth of a P5 server authentication; from the
 * pool a draw is a copy. Each byte is handed out once and zeroed in the pool as it is, so the pool
 * never holds an output already given away — only the next ones, as any DRBG's state in memory
 * determines its next outputs (OpenSSL's, under node:crypto, does). A pool per layer instance:
 * nothing is shared between two of them.
 */
const pooled = () => {
  let pool: Uint8Array = new Uint8Array(0)
  let at = 0
  return (length: number): Uint8Array => {
    if (length > POOLED_MAX) return fromSystem(length)
    if (pool.length - at < length) {
      pool.fill(0)
      pool = fromSystem(POOL_BYTES)
      at = 0
    }
    const out = pool.slice(at, at + length)
    pool.fill(0, at, at + length)
    at += length
    return out
  }
}

export const SecureRandomSystem: Layer.Layer<SecureRandom> = Layer.sync(SecureRandom, () => SecureRandom.of({ bytes: drawing(pooled()) }))

/** Domain separation: a seed used elsewhere (e.g. as a fast-check seed) gives an unrelated key. */
const SEED_DOMAIN = new TextEncoder().encode("authlab/SecureRandomSeeded/v1")
const BLOCK = 64
/** RFC 8439's block counter is 32 bits; with a fixed nonce that is 256 GiB of stream. */
const MAX_BLOCKS = 2 ** 32

/** The ChaCha20 key for a seed: SHA-256(domain ‖ kind ‖ seed); kind keeps `7` and `[7]` apart. */
const seedKey = (seed: Uint8Array | number): Uint8Array => {
  let body: Uint8Array
  if (typeof seed === "number") {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`SecureRandomSeeded: expected a safe integer seed, got ${seed}`)
    body = new Uint8Array(9)
    body[0] = 0
    new DataView(body.buffer).setBigInt64(1, BigInt(seed))
  } else {
    body = new Uint8Array(1 + seed.length)
    body[0] = 1
    body.set(seed, 1)
  }
  const input = new Uint8Array(SEED_DOMAIN.length + body.length)
  input.set(SEED_DOMAIN)
  input.set(body, SEED_DOMAIN.length)
  return sha256(input)
}

/**
 * A deterministic `SecureRandom`: successive `bytes` calls read one ChaCha20 keystream in order,
 * so `bytes(10)` then `bytes(20)` equals the first 30 bytes of the stream. Each build of the
 * layer starts the stream afresh.
 */
export const SecureRandomSeeded = (seed: Uint8Array | number): Layer.Layer<SecureRandom> => {
  const key = seedKey(seed)
  return Layer.sync(SecureRandom, () => {
    const nonce = new Uint8Array(12)
    let counter = 0
    let pending: Uint8Array = new Uint8Array(0)
    return SecureRandom.of({
      bytes: drawing((length) => {
        const out = new Uint8Array(length)
        const fromPending = Math.min(length, pending.length)
        out.set(pending.subarray(0, fromPending))
        pending = pending.subarray(fromPending)
        const rest = length - fromPending
        if (rest > 0) {
          const blocks = Math.ceil(rest / BLOCK)
          // a defect, as `Effect.sync` makes any throw
          if (counter + blocks > MAX_BLOCKS) throw new Error("SecureRandomSeeded: keystream exhausted")
          const stream = chacha20(key, nonce, new Uint8Array(blocks * BLOCK), undefined, counter)
          counter += blocks
          out.set(stream.subarray(0, rest), fromPending)
          pending = stream.subarray(rest)
        }
        return out
      })
    })
  })
}
