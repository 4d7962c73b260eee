/**
 * P5's server-side participant over HTTP (`authlab serve`, spec/HTTP-BINDING.md): the server, built
 * as the implementation world builds it (`decoratedServer`), over the in-memory store or the
 * SQLite one (impl/rolling-key/store-sqlite.ts, each step one transaction, the reply after COMMIT).
 * A fixture is the server's random seed (the account is fixed: impl-world.ts), so a conform run
 * against it replays exactly; without one it draws from the system's CSPRNG, as a server must
 * that keeps its state across restarts (a seeded stream would hand out the same challenges again).
 */
import { Context, Effect, Layer } from "effect"
import type { Policy } from "../../spec/rolling-key/variants.ts"
import { CryptoNoble } from "../../impl/crypto/noble.ts"
import { SecureRandomSeeded, SecureRandomSystem } from "../../impl/crypto/random.ts"
import { layerSqlite } from "../../impl/rolling-key/store-sqlite.ts"
import { makeInMemoryServerStore, ServerStoreService } from "../../impl/rolling-key/store.ts"
import { StepTransaction, transactional } from "../../impl/sqlite/step.ts"
import type { ServedStore, ServeSide } from "../definition.ts"
import { answering, seedOfFixture, serveError } from "../harness/served.ts"
import { decoratedServer } from "./impl-world.ts"
import type { RollingKeyImplFlaw } from "./mutants/index.ts"

const storeLayer = (store: ServedStore) =>
  store._tag === "memory"
    ? Layer.merge(Layer.sync(ServerStoreService, makeInMemoryServerStore), StepTransaction.layerInMemory)
    : layerSqlite(store.file).pipe(Layer.mapError((e) => serveError(`cannot open ${store.file}: ${e.message}`)))

/** `flawedPolicy` is the definition's: a mutant is the hardened policy, possibly with a switch flipped. */
export const makeServe = (flawedPolicy: (policy: Policy, flaw: RollingKeyImplFlaw | undefined) => Policy): ServeSide<Policy, RollingKeyImplFlaw> => ({
  participants: ["server"],
  policy: flawedPolicy,
  serves: (flaw) => flaw.server !== undefined || flaw.serverStore !== undefined || flaw.serverCrypto !== undefined || flaw.decode !== undefined || flaw.policy !== undefined,
  build: ({ policy, flaw, fixture, store }) =>
    Effect.gen(function* () {
      const seed = fixture === undefined ? undefined : seedOfFixture(fixture)
      if (fixture !== undefined && seed === undefined) return yield* Effect.fail(serveError(`a P5 fixture is a 4-byte seed, got ${fixture.length} bytes`))
      const context = yield* Layer.build(Layer.mergeAll(CryptoNoble, seed === undefined ? SecureRandomSystem : SecureRandomSeeded(seed), storeLayer(store)))
      const tx = Context.get(context, StepTransaction)
      const inner = yield* Effect.provide(Effect.flatMap(ServerStoreService, (s) => decoratedServer(policy, s, flaw ?? {})), context)
      const server = transactional(inner, tx, ["receive", "observe"])
      return { server: (bytes: Uint8Array) => Effect.provide(answering(server.receive(bytes), (step) => step.event._tag), context) }
    }),
  unobservable: [
    "a crash of the server (the world cannot restart a remote process): no Crash(server) moves",
    "the server's store: a refusal that changes durable state (state-changed-on-reject) and a checked challenge left stored (checked-challenge-kept) are not seen",
    "keys only the server holds (its previous and retired keys): key secrecy is judged on the keys the device and the clone hold"
  ]
})
