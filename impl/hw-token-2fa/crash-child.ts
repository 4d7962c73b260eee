/**
 * The P3 AuthServer for the crash test (crash.test.ts): `node crash-child.ts FILE`, the hardened
 * AuthServer over the SQLite store in FILE (alice enrolled when the file is new) with the signing
 * key of ./crash-deployment.ts, speaking impl/sqlite/crash-child.ts's line protocol. System
 * randomness, as a deployment: a restarted server must not draw the refresh tokens it drew
 * before. Not used by the implementation.
 */
import { Effect, Layer } from "effect"
import { hardened } from "../../spec/hw-token-2fa/variants.ts"
import { CryptoNode } from "../crypto/node.ts"
import { SecureRandomSystem } from "../crypto/random.ts"
import { runCrashChild } from "../sqlite/crash-child.ts"
import { makeAuthServer } from "./auth-server.ts"
import { CRASH_SIGNING_KEY, crashEnrolment } from "./crash-deployment.ts"
import { layerSqlite } from "./store-sqlite.ts"
import { AuthStoreService } from "./store.ts"

const [file] = process.argv.slice(2)
if (file === undefined) throw new Error("usage: crash-child.ts FILE")

const make = Effect.gen(function*() {
  const server = yield* makeAuthServer({ policy: hardened, store: yield* AuthStoreService, signingKey: CRASH_SIGNING_KEY })
  return (request: { readonly bytes: Uint8Array }) =>
    server.receive(request.bytes).pipe(
      Effect.map((step) => ({ ok: true, replies: [{ bytes: step.reply }], event: step.event })),
      Effect.catchAll((e) => Effect.succeed({ ok: false, reason: e.reason, replies: [{ bytes: e.reply }] }))
    )
})

void runCrashChild(make, Layer.mergeAll(layerSqlite(file, crashEnrolment()), CryptoNode, SecureRandomSystem))
