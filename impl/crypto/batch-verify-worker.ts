/**
 * One thread of a batch-verification pool (batch-verify.ts): verifies each share it is sent with
 * its own `Crypto` service, posts the failing positions, then bumps its slot of the shared
 * counter so the waiting pool wakes. It says "ready" on its parent port once loaded.
 */
import { parentPort, workerData } from "node:worker_threads"
import { Effect, Exit } from "effect"
import type { BatchFailure, ShareAnswer, ShareRequest, SignatureCheck, WorkerSetup } from "./batch-verify.ts"
import { nobleCrypto } from "./noble.ts"
import { makeNodeCrypto } from "./node.ts"
import type { CryptoShape } from "./services.ts"

const { backend, port, answered, slot } = workerData as WorkerSetup
const crypto: CryptoShape = backend === "node" ? makeNodeCrypto() : nobleCrypto

const check = (c: SignatureCheck) =>
  c.scheme === "ed25519"
    ? crypto.ed25519Verify(c.publicKey, c.message, c.signature)
    : crypto.ecdsaP256Verify(c.publicKey, c.message, c.signature)

port.on("message", ({ share, checks }: ShareRequest) => {
  let answer: ShareAnswer
  try {
    const failures: Array<BatchFailure> = []
    checks.forEach((c, index) => {
      const exit = Effect.runSyncExit(check(c))
      if (Exit.isSuccess(exit)) return
      const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
      if (error === undefined) throw new Error(`check ${index} died`)
      failures.push({ index, error: error._tag })
    })
    answer = { share, failures }
  } catch (cause) {
    answer = { share, failures: [], defect: String(cause) }
  }
  port.postMessage(answer)
  Atomics.store(answered, slot, share)
  Atomics.notify(answered, slot)
})

// loaded: the pool waits for this before it hands out `verify`
parentPort!.postMessage("ready")
