/**
 * The P2b server for the crash test (crash.test.ts): `node crash-child.ts FILE`, the hardened
 * server over the SQLite store in FILE, speaking impl/sqlite/crash-child.ts's line protocol (a
 * request's `conn` is the connection it arrives on: `device` or `machine`).
 *
 * Registration is out of band: alice's OPAQUE record and the server's setup are made at every
 * start from a fixed seed (`CRASH_ENROLMENT_SEED`), so every restart serves the same setup — the
 * OPAQUE state of a login under way, kept in the file, finishes only against it. Everything the
 * server draws while serving (SIDs, tokens, its OPAQUE nonces and key shares) comes from the
 * system's CSPRNG, as a deployment's must: a restarted server must not hand out the SIDs it handed
 * out before. The worlds' light Argon2id, as the test's Machine uses. Not used by the implementation.
 */
import { Effect, Layer } from "effect"
import { hardened, PASSWORD, USERNAME } from "../../spec/split-login/variants.ts"
import { CryptoNode } from "../crypto/node.ts"
import { SecureRandomSeeded, SecureRandomSystem } from "../crypto/random.ts"
import { runCrashChild } from "../sqlite/crash-child.ts"
import { hex } from "./credentials.ts"
import { KeyStretching, makeOpaque, OpaqueLayer } from "./opaque.ts"
import { makeServer } from "./server.ts"
import { layerSqlite } from "./store-sqlite.ts"
import { ServerStoreService } from "./store.ts"

const CRASH_ENROLMENT_SEED = "authlab/split-login/crash/enrolment"

const [file] = process.argv.slice(2)
if (file === undefined) throw new Error("usage: crash-child.ts FILE")

/** The setup and alice's record, the same bytes at every start. */
const enrolment = Effect.gen(function*() {
  const opaque = yield* makeOpaque(KeyStretching.light)
  const setup = yield* opaque.createSetup()
  return { setup, record: yield* opaque.register(setup, USERNAME, PASSWORD) }
}).pipe(Effect.provide(Layer.merge(SecureRandomSeeded(new TextEncoder().encode(CRASH_ENROLMENT_SEED)), CryptoNode)))

const make = Effect.gen(function*() {
  const { setup, record } = yield* enrolment
  const server = makeServer({ policy: hardened, accounts: new Map([[USERNAME, { record }]]), setup, store: yield* ServerStoreService })
  const services = yield* Effect.context<Layer.Layer.Success<typeof serving>>()
  return (request: { readonly bytes: Uint8Array; readonly conn?: string }) =>
    server.receive(request.conn ?? "default", request.bytes).pipe(
      Effect.map((o) => ({ ok: true, replies: "reply" in o ? [{ conn: request.conn, bytes: o.reply }] : [], event: { _tag: o._tag, sid: hex(o.sid) } })),
      Effect.catchAll((e) => Effect.succeed({ ok: false, reason: e.reason, replies: [] })),
      Effect.provide(services)
    )
})

const serving = Layer.mergeAll(CryptoNode, OpaqueLayer(KeyStretching.light).pipe(Layer.provideMerge(SecureRandomSystem)))

void runCrashChild(make, Layer.merge(layerSqlite(file), serving))
