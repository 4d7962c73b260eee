/**
 * The P2a bank server for the crash test (crash.test.ts): `node crash-child.ts FILE`, the hardened
 * server over the SQLite store in FILE and the fixed deployment (./deployment.ts: the test's SE
 * and browser are enrolled with the same CA), speaking impl/sqlite/crash-child.ts's line protocol.
 * A request on `conn: "application"` is the bank's application asking the server to send its bytes
 * as a record on the latest channel (the `application` route of `authlab serve`); any other is a
 * message to the server. System randomness, as a deployment: a restarted server must not draw the
 * ephemerals it drew before. Not used by the implementation.
 */
import { Effect, Layer } from "effect"
import { hardened } from "../../spec/se-channel/variants.ts"
import { CryptoNode } from "../crypto/node.ts"
import { SecureRandomSystem } from "../crypto/random.ts"
import type { Crypto, SecureRandom } from "../crypto/services.ts"
import { runCrashChild } from "../sqlite/crash-child.ts"
import { makeDeployment } from "./deployment.ts"
import { makeServer, type ServerError } from "./server.ts"
import { layerSqlite } from "./store-sqlite.ts"
import { ServerStoreService } from "./store.ts"

const [file] = process.argv.slice(2)
if (file === undefined) throw new Error("usage: crash-child.ts FILE")

const make = Effect.gen(function*() {
  const d = yield* makeDeployment
  const server = makeServer({ policy: hardened, name: d.server.name, staticSecret: d.server.secret, staticKey: d.server.key, caKey: d.caKey, store: yield* ServerStoreService })
  const services = yield* Effect.context<Crypto | SecureRandom>()
  const refused = (e: ServerError) => Effect.succeed({ ok: false, reason: e.reason, replies: [] })
  return (request: { readonly bytes: Uint8Array; readonly conn?: string }) =>
    (request.conn === "application"
      ? server.send(request.bytes).pipe(Effect.map((record) => ({ ok: true, replies: [{ bytes: record }], event: { _tag: "Sent" } })))
      : server.receive(request.bytes).pipe(
          Effect.map((o) =>
            o._tag === "Answered"
              ? { ok: true, replies: [{ bytes: o.hello }], event: { _tag: o._tag, opened: o.opened } }
              : { ok: true, replies: [], event: o._tag === "Received" ? { _tag: o._tag, plaintext: new TextDecoder().decode(o.plaintext) } : { _tag: o._tag } }
          )
        )).pipe(Effect.catchAll(refused), Effect.provide(services))
})

void runCrashChild(make, Layer.mergeAll(layerSqlite(file), CryptoNode, SecureRandomSystem))
