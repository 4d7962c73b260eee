/**
 * P2a's server-side participant over HTTP (`authlab serve`, spec/HTTP-BINDING.md): the bank's
 * server, built as the implementation world builds it (`serverOptionsFor`: the deployment's static
 * key and CA, a mutant's decorators), over the in-memory store or the SQLite one
 * (impl/se-channel/store-sqlite.ts, each step one transaction, the reply after COMMIT). The SE and
 * the browser platform are on the user's side: they stay with the caller.
 *
 * Two routes: `server` takes the protocol's messages to the server (SeOpen, SeFinish, Record);
 * `application` is the bank's web application asking the server to send a record on its latest
 * channel — the body is the plaintext, the reply the Record the server sealed (SPEC.md §HTTP
 * binding). Without it nobody outside could make the server speak first, and the SE's side of the
 * channel (and P2a.liveness's record each way) could not be judged.
 *
 * A fixture is the server's random seed (its ephemerals), 4 bytes big-endian; without one it draws
 * from the system's CSPRNG. The enrolment (CA, certificates, the bank's static key) is the fixed
 * deployment of impl/se-channel/deployment.ts.
 */
import { Context, Effect, Layer } from "effect"
import { MAX_PAYLOAD_BYTES } from "../../spec/se-channel/messages.ts"
import type { Policy } from "../../spec/se-channel/variants.ts"
import { CryptoNode } from "../../impl/crypto/node.ts"
import { SecureRandomSeeded, SecureRandomSystem } from "../../impl/crypto/random.ts"
import { makeServer, ServerError } from "../../impl/se-channel/server.ts"
import { layerSqlite } from "../../impl/se-channel/store-sqlite.ts"
import { ServerStoreService } from "../../impl/se-channel/store.ts"
import { StepTransaction, transactional } from "../../impl/sqlite/step.ts"
import type { ServedStore, ServeSide } from "../definition.ts"
import { answering, seedOfFixture, serveError } from "../harness/served.ts"
import { serverOptionsFor } from "./impl-world.ts"
import type { SeChannelImplFlaw } from "./mutants/index.ts"

const storeLayer = (store: ServedStore) =>
  store._tag === "memory"
    ? Layer.merge(ServerStoreService.layerInMemory, StepTransaction.layerInMemory)
    : layerSqlite(store.file).pipe(Layer.mapError((e) => serveError(`cannot open ${store.file}: ${e.message}`)))

/** The outcome names of the server's steps (SPEC.md §HTTP binding). */
const outcomeOf = (o: { readonly _tag: "Answered"; readonly opened: boolean } | { readonly _tag: "Opened" | "Received" }) =>
  o._tag === "Answered" ? (o.opened ? "answered-opened" : "answered") : o._tag === "Opened" ? "opened" : "received"

export const serve: ServeSide<Policy, SeChannelImplFlaw> = {
  participants: ["server", "application"],
  policy: (policy) => policy,
  // A flaw of the key schedule or the record layer is in both participants' code: serving the
  // server's half alone would be another flaw, so only the server's own decorators are served.
  serves: (flaw) => flaw.server !== undefined && flaw.schedule === undefined && flaw.records === undefined,
  build: ({ policy, flaw, fixture, store }) =>
    Effect.gen(function* () {
      const seed = fixture === undefined ? undefined : seedOfFixture(fixture)
      if (fixture !== undefined && seed === undefined) return yield* Effect.fail(serveError(`a P2a fixture is a 4-byte seed, got ${fixture.length} bytes`))
      const context = yield* Layer.build(Layer.mergeAll(CryptoNode, seed === undefined ? SecureRandomSystem : SecureRandomSeeded(seed), storeLayer(store)))
      const server = transactional(makeServer(serverOptionsFor(policy, Context.get(context, ServerStoreService), flaw)), Context.get(context, StepTransaction), ["receive", "send"])
      return {
        // the ServerHello is the reply of a SeOpen; the other steps have none
        server: (bytes: Uint8Array) => Effect.provide(answering(Effect.map(server.receive(bytes), (o) => (o._tag === "Answered" ? { ...o, reply: o.hello } : o)), outcomeOf), context),
        application: (plaintext: Uint8Array) =>
          Effect.provide(
            answering(
              plaintext.length === 0 || plaintext.length > MAX_PAYLOAD_BYTES
                ? Effect.fail(new ServerError({ reason: "malformed" }))
                : Effect.map(server.send(plaintext), (reply) => ({ reply })),
              () => "sent"
            ),
            context
          )
      }
    }),
  unobservable: [
    "a crash of the server (the world cannot restart a remote process): no Crash(server) moves, so no SeOpen replayed into a restarted server",
    "the server's store: a refusal that changes its channels (state-changed-on-reject: P2a.malformed-input, P2a.tampered-input, P2a.invalid-point) is not seen; a refused input is judged by its refusal alone",
    "the server's keys: a channel's keys are those the protocol derives from the handshake the server answered, with the SE's or the attacker's ephemeral secret — hardened only once the server's receipt verifies under them, claimed (no receipt) as assumed, its records then read under them; a channel whose ephemeral nobody drew has keys no one else holds",
    "what the server's application sends: a record only when the world asks on the application route"
  ]
}
