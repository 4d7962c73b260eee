/**
 * The P4 backend for the crash test (crash.test.ts): `node crash-child.ts FILE`, the hardened
 * backend over the SQLite store in FILE and the deployment `CRASH_DEPLOYMENT` (made out of band,
 * so the test's wallets hold keys of the same KMC), speaking impl/sqlite/crash-child.ts's line
 * protocol. Not used by the implementation.
 */
import { Effect, Layer } from "effect"
import { hardened } from "../../spec/cpk-payment/variants.ts"
import { CryptoNode } from "../crypto/node.ts"
import { SecureRandomSystem } from "../crypto/random.ts"
import type { Crypto } from "../crypto/services.ts"
import { runCrashChild } from "../sqlite/crash-child.ts"
import { makeBackend } from "./backend.ts"
import { crashDirectory } from "./crash-deployment.ts"
import { layerSqliteBackend } from "./store-sqlite.ts"
import { BackendStoreService } from "./store.ts"

const [file] = process.argv.slice(2)
if (file === undefined) throw new Error("usage: crash-child.ts FILE")

const make = Effect.gen(function*() {
  const backend = makeBackend({ policy: hardened, directory: crashDirectory(), store: yield* BackendStoreService })
  const services = yield* Effect.context<Crypto>()
  return (request: { readonly bytes: Uint8Array }) =>
    backend.receive(request.bytes).pipe(
      Effect.map((credit) => ({ ok: true, replies: [], event: { _tag: "credited", ...credit } })),
      Effect.catchAll((e) => Effect.succeed({ ok: false, reason: e.reason, replies: [] })),
      Effect.provide(services)
    )
})

void runCrashChild(make, Layer.mergeAll(layerSqliteBackend(file), CryptoNode, SecureRandomSystem))
