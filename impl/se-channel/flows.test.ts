/** P2a end-to-end on the real services: an honest handshake and a record each way, per variant, the server over each of its stores. */
import { Effect, Layer } from "effect"
import { assert, describe, it } from "@effect/vitest"
import { policies } from "../../spec/se-channel/variants.ts"
import { CryptoNoble } from "../crypto/noble.ts"
import { SecureRandomSeeded } from "../crypto/random.ts"
import { makeBrowser } from "./browser.ts"
import { makeDeployment } from "./deployment.ts"
import { makeSecureElement } from "./secure-element.ts"
import { makeServer } from "./server.ts"
import { type Backend, memoryBackend, sqliteBackend } from "../sqlite/testing.ts"
import { makeSqliteServerStore } from "./store-sqlite.ts"
import { emptyChannels, inMemoryStore, type SeSession, type ServerSession, type ServerState, type Store } from "./store.ts"

const layer = Layer.merge(CryptoNoble, SecureRandomSeeded(7))
const text = new TextEncoder()

const serverStores: ReadonlyArray<Backend<Store<ServerState>>> = [memoryBackend(inMemoryStore(emptyChannels<ServerSession>())), sqliteBackend(makeSqliteServerStore)]

describe.each(["claimed", "hardened"] as const)("P2a %s", (variant) => {
  const policy = policies[variant]
  it.scoped.each(serverStores.map((b) => [b.name, b] as const))("opens a channel and carries a record each way (server store: %s)", ([, backend]) =>
    Effect.gen(function*() {
      const d = yield* makeDeployment
      const se = makeSecureElement({ policy, seId: d.se.id, staticSecret: d.se.secret, cert: d.se.cert, caKey: d.caKey, pairingKey: d.pairingKey, store: yield* inMemoryStore(emptyChannels<SeSession>()) })
      const server = makeServer({ policy, name: d.server.name, staticSecret: d.server.secret, staticKey: d.server.key, caKey: d.caKey, store: (yield* backend.open).store })
      const hello = yield* makeBrowser({ policy, pairingKey: d.pairingKey }).visit(d.identities.bank!, d.certs.bank!)
      const opening = yield* se.receive(hello)
      assert.strictEqual(opening._tag, "Opening")
      const answered = yield* server.receive(opening._tag === "Opening" ? opening.open : new Uint8Array())
      assert.strictEqual(answered._tag, "Answered")
      const opened = yield* se.receive(answered._tag === "Answered" ? answered.hello : new Uint8Array())
      assert.strictEqual(opened._tag, "Opened")
      if (policy.confirmation === "both") {
        const finish = opened._tag === "Opened" ? opened.finish : undefined
        assert.isDefined(finish)
        assert.strictEqual((yield* server.receive(finish!))._tag, "Opened")
      }
      const toServer = yield* server.receive(yield* se.send(text.encode("se-1")))
      assert.deepStrictEqual(toServer._tag === "Received" ? new TextDecoder().decode(toServer.plaintext) : "", "se-1")
      const toSe = yield* se.receive(yield* server.send(text.encode("srv-1")))
      assert.deepStrictEqual(toSe._tag === "Received" ? new TextDecoder().decode(toSe.plaintext) : "", "srv-1")
    }).pipe(Effect.provide(layer))
  )

  it.effect("refuses bank's certificate with evil's identity data", () =>
    Effect.gen(function*() {
      const d = yield* makeDeployment
      const se = makeSecureElement({ policy, seId: d.se.id, staticSecret: d.se.secret, cert: d.se.cert, caKey: d.caKey, pairingKey: d.pairingKey, store: yield* inMemoryStore(emptyChannels<SeSession>()) })
      const hello = yield* makeBrowser({ policy, pairingKey: d.pairingKey }).visit(d.identities.evil!, d.certs.bank!)
      const refused = yield* Effect.flip(se.receive(hello))
      assert.strictEqual(refused.reason, "link-mismatch")
    }).pipe(Effect.provide(layer))
  )
})
