/**
 * P5's server-side participant over HTTP (`authlab serve`, spec/HTTP-BINDING.md): the server, built
 * as the implementation world builds it (`decoratedServer`), provisioned by a fixture that is its
 * random seed (the account is fixed: impl-world.ts), so a conform run against it replays exactly.
 */
import { Effect, Layer } from "effect"
import type { Policy } from "../../spec/rolling-key/variants.ts"
import { CryptoNoble } from "../../impl/crypto/noble.ts"
import { SecureRandomSeeded } from "../../impl/crypto/random.ts"
import { makeInMemoryServerStore } from "../../impl/rolling-key/store.ts"
import type { ServedAnswer, ServeSide } from "../definition.ts"
import { decoratedServer, fixtureOf } from "./impl-world.ts"
import type { RollingKeyImplFlaw } from "./mutants/index.ts"

const seedOf = (fixture: Uint8Array) => (fixture.length === 4 ? new DataView(fixture.buffer, fixture.byteOffset, 4).getUint32(0) : undefined)

/** `flawedPolicy` is the definition's: a mutant is the hardened policy, possibly with a switch flipped. */
export const makeServe = (flawedPolicy: (policy: Policy, flaw: RollingKeyImplFlaw | undefined) => Policy): ServeSide<Policy, RollingKeyImplFlaw> => ({
  participants: ["server"],
  policy: flawedPolicy,
  defaultFixture: fixtureOf(0),
  serves: (flaw) => flaw.server !== undefined || flaw.serverStore !== undefined || flaw.serverCrypto !== undefined || flaw.decode !== undefined || flaw.policy !== undefined,
  build: ({ policy, flaw, fixture, store }) =>
    Effect.gen(function* () {
      const seed = seedOf(fixture)
      if (seed === undefined) return yield* Effect.fail({ _tag: "ServeError" as const, message: `a P5 fixture is a 4-byte seed, got ${fixture.length} bytes` })
      if (store._tag !== "memory") return yield* Effect.fail({ _tag: "ServeError" as const, message: "P5's SQLite store is not wired yet" })
      const context = yield* Layer.build(Layer.merge(CryptoNoble, SecureRandomSeeded(seed)))
      const server = yield* Effect.provide(decoratedServer(policy, makeInMemoryServerStore(), flaw ?? {}), context)
      const receive = (bytes: Uint8Array): Effect.Effect<ServedAnswer> =>
        server.receive(bytes).pipe(
          Effect.match({
            onSuccess: (step): ServedAnswer => ({ _tag: "Step", outcome: step.event._tag, ...(step.reply === undefined ? {} : { reply: step.reply }) }),
            onFailure: (refusal): ServedAnswer => ({ _tag: "Refusal", reason: refusal.reason, ...(refusal.reply === undefined ? {} : { reply: refusal.reply }) })
          }),
          Effect.provide(context)
        )
      return { server: receive }
    }),
  unobservable: [
    "a crash of the server (the world cannot restart a remote process): no Crash(server) moves",
    "the server's store: a refusal that changes durable state (state-changed-on-reject) and a checked challenge left stored (checked-challenge-kept) are not seen",
    "keys only the server holds (its previous and retired keys): key secrecy is judged on the keys the device and the clone hold"
  ]
})
