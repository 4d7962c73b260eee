/**
 * Helpers for the tests in this folder: build a device and a server over fresh in-memory stores,
 * and run honest registrations and logins with every message delivered once, in order, keeping a
 * log of the bytes so tests can replay, drop or scan them. Not used by the implementation.
 */
import { Effect, Layer, Option, Redacted } from "effect"
import type { Policy } from "../../spec/rolling-key/variants.ts"
import { CryptoNoble } from "../crypto/noble.ts"
import { SecureRandomSeeded } from "../crypto/random.ts"
import { makeClient, type RollingKeyClient } from "./client.ts"
import { makeServer, type RollingKeyServer, type ServerStep } from "./server.ts"
import { type ClientStore, makeInMemoryClientStore, makeInMemoryServerStore, type ServerStore } from "./store.ts"

export const TestLayer = (seed: number) => Layer.merge(CryptoNoble, SecureRandomSeeded(seed))

export const USERNAME = "alice"
export const PASSWORD = Redacted.make("correct horse battery staple")
export const accounts = [{ username: USERNAME, password: PASSWORD }]

export interface World {
  readonly policy: Policy
  readonly clientStore: ClientStore
  readonly serverStore: ServerStore
  readonly client: RollingKeyClient
  readonly server: RollingKeyServer
  /** Every message either side sent, in order. */
  readonly wire: Array<Uint8Array>
}

export const makeWorld = (policy: Policy) =>
  Effect.gen(function*() {
    const clientStore = makeInMemoryClientStore()
    const serverStore = makeInMemoryServerStore()
    const client = yield* makeClient({ policy, store: clientStore })
    const server = yield* makeServer({ policy, store: serverStore, accounts })
    return { policy, clientStore, serverStore, client, server, wire: [] } satisfies World
  })

/** Deliver to the server and log its reply. */
export const toServer = (w: World, bytes: Uint8Array) =>
  Effect.tap(w.server.receive(bytes), (step) => Effect.sync(() => step.reply && w.wire.push(step.reply)))

/** Deliver to the client and log what it sends. */
export const toClient = (w: World, bytes: Uint8Array, client: RollingKeyClient = w.client) =>
  Effect.tap(client.receive(bytes), (step) => Effect.sync(() => w.wire.push(...step.sends)))

export const register = (w: World) =>
  Effect.gen(function*() {
    const request = yield* w.client.register(USERNAME, PASSWORD)
    w.wire.push(request)
    const response = yield* toServer(w, request)
    const step = yield* toClient(w, response.reply!)
    for (const bytes of step.sends) yield* toServer(w, bytes)
  })

/** Start an attempt and run it up to the server's verdict on the AuthRequest; returns the request and the step. */
export const loginUntilGrant = (w: World, client: RollingKeyClient = w.client) =>
  Effect.gen(function*() {
    let request = yield* client.beginAuth
    w.wire.push(request)
    if (w.policy.input === "server-challenge") {
      const challenge = yield* toServer(w, request)
      const answered = yield* toClient(w, challenge.reply!, client)
      request = answered.sends[0]!
    }
    const step: ServerStep = yield* toServer(w, request)
    return { request, step }
  })

/** One honest login; returns the server's step. */
export const login = (w: World, client: RollingKeyClient = w.client) =>
  Effect.gen(function*() {
    const { step } = yield* loginUntilGrant(w, client)
    yield* toClient(w, step.reply!, client)
    return step
  })

/** The device's current key bytes (from its store). */
export const deviceKey = (store: ClientStore) =>
  Effect.map(store.load, (r) => Redacted.value(Option.getOrThrow(r).key))

export const containsBytes = (haystack: Uint8Array, needle: Uint8Array): boolean => {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer
    return true
  }
  return false
}
