/**
 * P3's server-side participants over HTTP (`authlab serve`, spec/HTTP-BINDING.md): the AuthServer
 * (`auth`) and the ResourceServer (`rs`), built as the implementation world builds them
 * (`decoratedParts`), over the in-memory store or the SQLite one (impl/hw-token-2fa/store-sqlite.ts,
 * each AuthServer step one transaction). A fixture is the run's enrolment (`Enrolment`: users, API
 * keys, token secrets, a seed); without one, the standing enrolment below, which SPEC.md §12 gives
 * to whoever writes a client. Times come from the binding's clock header when conform sends one.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { Context, Effect, Layer, Schema } from "effect"
import type { Policy } from "../../spec/hw-token-2fa/variants.ts"
import { CryptoNode } from "../../impl/crypto/node.ts"
import { SecureRandomSeeded, SecureRandomSystem } from "../../impl/crypto/random.ts"
import { layerSqlite } from "../../impl/hw-token-2fa/store-sqlite.ts"
import { AuthStoreService, makeInMemoryAuthStore } from "../../impl/hw-token-2fa/store.ts"
import { StepTransaction, transactional } from "../../impl/sqlite/step.ts"
import type { ServedStore, ServeSide } from "../definition.ts"
import { answering, serveError } from "../harness/served.ts"
import { decoratedParts, type Enrolment, enrolmentState } from "./impl-world.ts"
import type { HwToken2faImplFlaw } from "./mutants/index.ts"

const labelled = (label: string) => Buffer.from(sha256(new TextEncoder().encode(`authlab/hw-token-2fa/standing/${label}`))).toString("hex")

/** The standing enrolment: alice (token tA) and mallory (token tM), keys and secrets from public labels — a test server's accounts, not secrets. */
export const STANDING: Omit<Enrolment, "seed"> = {
  users: [
    { username: "alice", apiKey: labelled("alice/api-key"), keyId: "tA", secret: labelled("alice/token-secret").slice(0, 40) },
    { username: "mallory", apiKey: labelled("mallory/api-key"), keyId: "tM", secret: labelled("mallory/token-secret").slice(0, 40) }
  ]
}

const EnrolmentJson = Schema.parseJson(
  Schema.Struct({
    seed: Schema.Int,
    users: Schema.Array(Schema.Struct({ username: Schema.String, apiKey: Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/)), keyId: Schema.String, secret: Schema.String.pipe(Schema.pattern(/^[0-9a-f]{20,128}$/)) }))
  })
)

const storeLayer = (store: ServedStore, enrolment: Omit<Enrolment, "seed">) => {
  const initial = enrolmentState({ seed: 0, ...enrolment })
  return store._tag === "memory"
    ? Layer.merge(Layer.effect(AuthStoreService, makeInMemoryAuthStore(initial)), StepTransaction.layerInMemory)
    : layerSqlite(store.file, initial).pipe(Layer.mapError((e) => serveError(`cannot open ${store.file}: ${e.message}`)))
}

export const serve: ServeSide<Policy, HwToken2faImplFlaw> = {
  participants: ["auth", "rs"],
  policy: (policy) => policy,
  serves: (flaw) => flaw.auth !== undefined || flaw.rs !== undefined,
  build: ({ policy, flaw, fixture, store }) =>
    Effect.gen(function* () {
      const enrolment = fixture === undefined ? undefined : yield* Schema.decodeUnknown(EnrolmentJson)(new TextDecoder().decode(fixture)).pipe(Effect.mapError((e) => serveError(`a P3 fixture is an enrolment as JSON: ${e.message}`)))
      const context = yield* Layer.build(Layer.mergeAll(CryptoNode, enrolment === undefined ? SecureRandomSystem : SecureRandomSeeded(enrolment.seed), storeLayer(store, enrolment ?? STANDING)))
      const parts = yield* Effect.provide(Effect.flatMap(AuthStoreService, (s) => decoratedParts(policy, s, flaw)), context)
      const auth = transactional(parts.auth, Context.get(context, StepTransaction), ["receive"])
      return {
        auth: (bytes: Uint8Array) => Effect.provide(answering(auth.receive(bytes), (step) => (step.event._tag === "issued" ? `${step.event.kind}-issued` : step.event._tag)), context),
        rs: (bytes: Uint8Array) => Effect.provide(answering(parts.rs.receive(bytes), () => "access-granted"), context)
      }
    }),
  unjudged: ["P3.refusal-state"],
  unobservable: [
    "the AuthServer's store: a refusal that changes more than the design names (P3.refusal-state's state-changed-on-reject) and a family revoked on reuse (the family-revoked signal) are not seen; reuse is judged by what is accepted afterwards",
    "races at the store: two requests are sent at once and the server interleaves them as it does, instead of the audit's interleaving at each store access"
  ]
}
