/**
 * The P5 server for the crash test (crash.test.ts): `node crash-child.ts FILE VARIANT`, the
 * server over the SQLite store in FILE, speaking impl/sqlite/crash-child.ts's line protocol.
 * System randomness, as a deployment: a restarted server must not draw the challenges it drew
 * before. The test holds the same account. Not used by the implementation.
 */
import { Effect, Layer, Redacted } from "effect"
import { policies } from "../../spec/rolling-key/variants.ts"
import { CryptoNode } from "../crypto/node.ts"
import { SecureRandomSystem } from "../crypto/random.ts"
import { runCrashChild } from "../sqlite/crash-child.ts"
import { makeServer } from "./server.ts"
import { layerSqlite } from "./store-sqlite.ts"
import { ServerStoreService } from "./store.ts"

const CRASH_ACCOUNT = { username: "alice", password: Redacted.make("correct horse battery staple") }

const [file, variant] = process.argv.slice(2)
const policy = policies[variant as keyof typeof policies]
if (file === undefined || policy === undefined) throw new Error("usage: crash-child.ts FILE claimed|hardened")

const make = Effect.gen(function*() {
  const server = yield* makeServer({ policy, store: yield* ServerStoreService, accounts: [CRASH_ACCOUNT] })
  return (request: { readonly bytes: Uint8Array }) =>
    server.receive(request.bytes).pipe(
      Effect.map((step) => ({ ok: true, replies: step.reply === undefined ? [] : [{ bytes: step.reply }], event: step.event })),
      Effect.catchAll((e) => Effect.succeed({ ok: false, reason: e.reason, replies: e.reply === undefined ? [] : [{ bytes: e.reply }] }))
    )
})

void runCrashChild(make, Layer.mergeAll(layerSqlite(file), CryptoNode, SecureRandomSystem))
