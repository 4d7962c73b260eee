/**
 * Batch signature verification on worker threads (impl/crypto/batch-verify.ts): one batch of
 * signatures per call, on a pool of 2 threads against a pool of 1 thread of the same module, for
 * Ed25519 and ECDSA P-256 on both layers. The ratio is the speed-up of the second thread; it can
 * reach 2× only when both cores are idle (the header records the load average).
 *
 * Fixtures: `BATCH[layer]` signatures over distinct 64-byte messages under 16 keys (a server checks
 * many messages from few signers), signed with noble before timing. Every pool is checked before
 * timing: the good batch verifies, and the same batch with one signature's bit flipped fails
 * naming exactly that position, so no figure can time a fast rejection.
 */
import { ed25519 } from "@noble/curves/ed25519.js"
import { p256 } from "@noble/curves/nist.js"
import { sha256 } from "@noble/hashes/sha2.js"
import { Effect, Either, Exit, Scope } from "effect"
import { type BatchVerifier, makeBatchVerifier, type SignatureCheck } from "../impl/crypto/batch-verify.ts"
import type { Case } from "./measure.ts"
import type { BenchSuite } from "./run.ts"

export const GROUP = "batch-verify"

/**
 * Signatures per batch, per layer: enough that one message each way per thread is noise (≤ 1 %
 * of the work), few enough that noble (4 ms an ECDSA verify) still gets its 8 timed batches fast.
 */
export const BATCH = { node: 128, noble: 16 } as const
const SIGNERS = 16

export const Impl = {
  twoThreads: "2 worker threads",
  oneThread: "1 worker thread"
} as const

const utf8 = (s: string) => new TextEncoder().encode(s)
const seeded = (label: string) => sha256(utf8(`authlab/bench/batch-verify/${label}`))

const batchOf = (scheme: SignatureCheck["scheme"], size: number): ReadonlyArray<SignatureCheck> => {
  const signers = Array.from({ length: SIGNERS }, (_, i) => seeded(`${scheme}/signer/${i}`))
  return Array.from({ length: size }, (_, i) => {
    const secret = signers[i % SIGNERS]!
    const message = Uint8Array.from([...seeded(`${scheme}/message/${i}/a`), ...seeded(`${scheme}/message/${i}/b`)])
    return scheme === "ed25519"
      ? { scheme, publicKey: ed25519.getPublicKey(secret), message, signature: ed25519.sign(message, secret) }
      : {
          scheme,
          publicKey: p256.getPublicKey(secret, true),
          message,
          signature: p256.sign(message, secret, { prehash: true, lowS: false, format: "compact" })
        }
  })
}

/** The good batch must verify; with signature `bad` damaged it must fail at exactly `bad`. */
const checkPool = (label: string, verifier: BatchVerifier, batch: ReadonlyArray<SignatureCheck>) => {
  const outcome = (checks: ReadonlyArray<SignatureCheck>) =>
    Either.match(Effect.runSync(Effect.either(verifier.verify(checks))), { onLeft: (e) => e.failures, onRight: () => [] })
  if (outcome(batch).length !== 0) throw new Error(`${label}: the good batch does not verify`)
  const bad = Math.floor(batch.length / 3)
  const damaged = batch.map((c, i) => {
    if (i !== bad) return c
    const signature = Uint8Array.from(c.signature)
    signature[5]! ^= 0x10
    return { ...c, signature }
  })
  const failures = outcome(damaged)
  if (failures.length !== 1 || failures[0]!.index !== bad || failures[0]!.error !== "VerificationFailed") {
    throw new Error(`${label}: one bad signature at ${bad}, reported ${JSON.stringify(failures)}`)
  }
}

let scope: Scope.CloseableScope | undefined

const batchVerifyCases = async (): Promise<Array<Case>> => {
  scope = Effect.runSync(Scope.make())
  const cases: Array<Case> = []
  // one pair of pools per layer (3 threads), shared by both schemes
  for (const backend of ["node", "noble"] as const) {
    const pools = [] as Array<readonly [string, BatchVerifier]>
    for (const [implementation, threads] of [[Impl.twoThreads, 2], [Impl.oneThread, 1]] as const) {
      pools.push([implementation, await Effect.runPromise(Scope.extend(makeBatchVerifier({ threads, backend }), scope))])
    }
    for (const scheme of ["ed25519", "ecdsa-p256"] as const) {
      const batch = batchOf(scheme, BATCH[backend])
      const operation = `${scheme === "ed25519" ? "Ed25519" : "ECDSA P-256"} batch verify (${BATCH[backend]} signatures), ${backend} layer`
      for (const [implementation, verifier] of pools) {
        checkPool(`${operation} / ${implementation}`, verifier, batch)
        // `verify` is lazy: each run verifies the whole batch again
        const run = verifier.verify(batch)
        // the work is on the pool's threads: timed by the wall clock whatever the bench's clock
        cases.push({ group: GROUP, operation, implementation, multiThreaded: true, fn: () => Effect.runSync(run) })
      }
    }
  }
  return cases
}

export const bench: BenchSuite = {
  group: GROUP,
  cases: batchVerifyCases,
  baselines: { [Impl.twoThreads]: Impl.oneThread },
  release: async () => {
    if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
    scope = undefined
  }
}
