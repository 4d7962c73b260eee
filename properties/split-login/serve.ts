/**
 * P2b's server-side participant over HTTP (`authlab serve`, spec/HTTP-BINDING.md): the server,
 * built as the implementation world builds it (`decoratedServer`), over the in-memory store or the
 * SQLite one (impl/split-login/store-sqlite.ts, each step one transaction, the reply after COMMIT),
 * with the worlds' light Argon2id. Device, Machine and user stay with the caller.
 *
 * A fixture is an `Enrolment` as JSON (the server's random seed, its OPAQUE setup, alice's record
 * or password hash); without one, the standing enrolment (the worlds' own, made from a fixed seed)
 * and the system's CSPRNG — a server that keeps its state across restarts must not draw its SIDs
 * from a stream it would start again. Times come from the binding's clock header when conform
 * sends one (the SID lifetime follows the world's stepped clock).
 *
 * No step of the server sends to anyone but the sender: the Device's poll is answered with the
 * result on the Device's own request, and a login (which completes on the Machine's message) has
 * no reply at all. So the binding's deliveries are never needed. The server records the opener of
 * a session by connection (`authlab-connection`, `default` without one) but never answers with it:
 * the world names openers by the connection that received each `Opened`.
 */
import { Context, Effect, Layer, Schema } from "effect"
import type { Policy } from "../../spec/split-login/variants.ts"
import { CryptoNode } from "../../impl/crypto/node.ts"
import { SecureRandomSeeded, SecureRandomSystem } from "../../impl/crypto/random.ts"
import { KeyStretching, OpaqueLayer } from "../../impl/split-login/opaque.ts"
import type { Account } from "../../impl/split-login/server.ts"
import { layerSqlite } from "../../impl/split-login/store-sqlite.ts"
import { ServerStoreService } from "../../impl/split-login/store.ts"
import { StepTransaction, transactional } from "../../impl/sqlite/step.ts"
import type { ServedStore, ServeSide } from "../definition.ts"
import { answering, serveError } from "../harness/served.ts"
import { decoratedServer, type ServerEnrolment, serverContextOf, type SplitLoginImplFlaw, standingEnrolment } from "./impl-world.ts"

/** The connection of a request that names none (spec/HTTP-BINDING.md §Connections and deliveries). */
const DEFAULT_CONNECTION = "default"

const EnrolmentJson = Schema.parseJson(
  Schema.Struct({
    seed: Schema.Int,
    setup: Schema.String.pipe(Schema.minLength(1)),
    users: Schema.Array(
      Schema.Struct({
        username: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)),
        record: Schema.optional(Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_-]+$/))),
        verifier: Schema.optional(Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/)))
      })
    )
  })
)

/** The fixture's enrolment and seed, or why it is refused. */
const enrolmentOfFixture = (fixture: Uint8Array) =>
  Schema.decodeUnknown(EnrolmentJson)(new TextDecoder().decode(fixture)).pipe(
    Effect.mapError((e) => serveError(`a P2b fixture is an enrolment as JSON (spec/split-login/SPEC.md §HTTP binding): ${e.message}`)),
    Effect.map((e) => ({
      seed: e.seed,
      enrolment: {
        setup: { _tag: "ServerSetup", encoded: e.setup },
        accounts: new Map(
          e.users.map((u): [string, Account] => [
            u.username,
            { ...(u.record === undefined ? {} : { record: new Uint8Array(Buffer.from(u.record, "base64url")) }), ...(u.verifier === undefined ? {} : { verifier: new Uint8Array(Buffer.from(u.verifier, "hex")) }) }
          ])
        )
      } satisfies ServerEnrolment
    }))
  )

const storeLayer = (store: ServedStore) =>
  store._tag === "memory"
    ? Layer.merge(ServerStoreService.layerInMemory, StepTransaction.layerInMemory)
    : layerSqlite(store.file).pipe(Layer.mapError((e) => serveError(`cannot open ${store.file}: ${e.message}`)))

export const serve: ServeSide<Policy, SplitLoginImplFlaw> = {
  participants: ["server"],
  // The first served mutant (an empty poll key matching any session) needs the attacker's poll
  // before its own device opened: 30 runs find it, the serve/conform test's 8 do not.
  testMutant: "poll-key-unchecked",
  policy: (policy) => policy,
  // alice's Machine and its randomness are hers, not the server's.
  serves: (flaw) => flaw.store !== undefined || flaw.decode !== undefined || flaw.serverOpaque !== undefined || flaw.serverCrypto !== undefined,
  build: ({ policy, flaw, fixture, store }) =>
    Effect.gen(function* () {
      const provisioned = fixture === undefined ? undefined : yield* enrolmentOfFixture(fixture)
      const random = provisioned === undefined ? SecureRandomSystem : SecureRandomSeeded(provisioned.seed)
      const context = yield* Layer.build(Layer.mergeAll(CryptoNode, storeLayer(store), OpaqueLayer(KeyStretching.light).pipe(Layer.provideMerge(random))))
      const server = transactional(decoratedServer(policy, provisioned?.enrolment ?? standingEnrolment(policy), Context.get(context, ServerStoreService), flaw), Context.get(context, StepTransaction), ["receive"])
      const serverContext = serverContextOf(context, flaw)
      return { server: (bytes: Uint8Array, connection?: string) => Effect.provide(answering(server.receive(connection ?? DEFAULT_CONNECTION, bytes), (o) => o._tag), serverContext) }
    }),
  unobservable: [
    "a crash of the server (the world cannot restart a remote process): no Crash(server) moves",
    "the server's store: a refusal that changes a session (state-changed-on-reject: P2b.malformed-input, P2b.tampered-input) is not seen; a refused input is judged by its refusal alone",
    "who opened a session is the connection the world saw receive its Opened; what the server recorded as the opener is in its store, which no answer carries"
  ]
}
