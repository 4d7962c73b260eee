/**
 * P4's server-side participant over HTTP (`authlab serve`, spec/HTTP-BINDING.md): the backend,
 * built as the implementation world builds it (`decoratedBackend`: the deployment's public
 * directory, a fixed label, so a conform world's KMC and the served backend agree), over the
 * in-memory store or the SQLite one (impl/cpk-payment/store-sqlite.ts, each step one transaction).
 * The backend draws no randomness; a fixture is a 4-byte seed all the same, as P5's, so the reset
 * is the same for both. Payment times come from the binding's clock header.
 */
import { Context, Effect, Layer } from "effect"
import type { Policy } from "../../spec/cpk-payment/variants.ts"
import { CryptoNode } from "../../impl/crypto/node.ts"
import { layerSqliteBackend } from "../../impl/cpk-payment/store-sqlite.ts"
import { BackendStoreService, emptyBackend, inMemoryStore } from "../../impl/cpk-payment/store.ts"
import { StepTransaction, transactional } from "../../impl/sqlite/step.ts"
import type { ServedStore, ServeSide } from "../definition.ts"
import { answering, seedOfFixture, serveError } from "../harness/served.ts"
import { decoratedBackend } from "./impl-world.ts"
import type { CpkImplFlaw } from "./mutants/index.ts"

const storeLayer = (store: ServedStore) =>
  store._tag === "memory"
    ? Layer.merge(Layer.effect(BackendStoreService, inMemoryStore(emptyBackend)), StepTransaction.layerInMemory)
    : layerSqliteBackend(store.file).pipe(Layer.mapError((e) => serveError(`cannot open ${store.file}: ${e.message}`)))

export const serve: ServeSide<Policy, CpkImplFlaw> = {
  participants: ["backend"],
  policy: (policy) => policy,
  // The directory, the signed bytes and the pair index are the backend's as much as the wallets'.
  serves: (flaw) => flaw.backend !== undefined || flaw.directory !== undefined || flaw.signed !== undefined || flaw.pairIndex !== undefined,
  build: ({ policy, flaw, fixture, store }) =>
    Effect.gen(function* () {
      if (fixture !== undefined && seedOfFixture(fixture) === undefined) return yield* Effect.fail(serveError(`a P4 fixture is a 4-byte seed, got ${fixture.length} bytes`))
      const context = yield* Layer.build(Layer.merge(CryptoNode, storeLayer(store)))
      const backend = transactional(decoratedBackend(policy, Context.get(context, BackendStoreService), flaw), Context.get(context, StepTransaction), ["receive"])
      return { backend: (bytes: Uint8Array) => Effect.provide(answering(backend.receive(bytes), (credit) => (credit.kind === "online" ? "paid" : "settled")), context) }
    }),
  unobservable: [
    "the backend's store: a refusal that changes its registry or ledger (state-changed-on-reject) is not seen",
    "what the backend credited: it sends no reply, so an accepted payment is read as the request that carried it (strictly decoded)"
  ]
}
