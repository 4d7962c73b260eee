/**
 * Races on the real AuthServer under `fc.scheduler`: two refreshes with one refresh token, two
 * logins with one OTP, and a refresh racing a reuse that revokes its family. The AuthServer's
 * work is synchronous inside one store transaction, so the scheduler interleaves the requests
 * at the store boundary: every `transact` first awaits a scheduled point, so one request's
 * pre-transaction work (decode, randomness, hashing) can run before, between or after the
 * other's transaction, in every order fast-check picks. (The explorer covers the same races
 * exhaustively as two deliveries of one message in the attacker's moves.)
 *
 * The mutant `store-not-atomic` (a store that reads, then writes, with no lock) is run too, to
 * show the test would see a lost update: it must find a double success. The audit itself tries
 * the same race without a scheduler: the implementation world's `race:<ref>:<k>` move delivers a
 * second copy of a login or refresh at the first one's k-th store access (checked at the end).
 */
import { Effect, Either, Layer, Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { LoginRequest, RefreshRequest, ToDevice } from "../../spec/hw-token-2fa/messages.ts"
import { hardened, TICK_SECONDS } from "../../spec/hw-token-2fa/variants.ts"
import { CryptoNode } from "../../impl/crypto/node.ts"
import { steppedClock } from "../../impl/clock.ts"
import { SecureRandomSeeded } from "../../impl/crypto/random.ts"
import type { Crypto, SecureRandom } from "../../impl/crypto/services.ts"
import { type AuthServer, enrol, makeAuthServer } from "../../impl/hw-token-2fa/auth-server.ts"
import { type AuthState, type AuthStore, emptyAuthState, makeInMemoryAuthStore } from "../../impl/hw-token-2fa/store.ts"
import { hotp } from "../../impl/otp/otp.ts"
import * as config from "../harness/config.ts"
import { makeSuite } from "../harness/suite-kit.ts"
import { hwToken2fa } from "./definition.ts"

const nonAtomic = hwToken2fa.mutants.find((m) => m.name === "store-not-atomic")!.impl.auth!

const NOW = TICK_SECONDS * 5_666_667 * 1000
const fixedClock = steppedClock(() => NOW)

const apiKey = new Uint8Array(32).fill(7)
const secret = new Uint8Array(20).fill(9)
const ascii = (s: string) => new TextEncoder().encode(s)

/** Every store access waits for the scheduler first; `atomic: false` puts the `store-not-atomic` mutant's decorator on top. */
const scheduledStore = (inner: AuthStore, s: fc.Scheduler, atomic: boolean): AuthStore => {
  const scheduled: AuthStore = {
    snapshot: Effect.zipRight(Effect.promise(() => s.schedule(Promise.resolve(), "before a read")), inner.snapshot),
    transact: <A>(f: (state: AuthState) => readonly [A, AuthState]) =>
      Effect.zipRight(Effect.promise(() => s.schedule(Promise.resolve(), "before a transaction")), inner.transact(f))
  }
  return atomic ? scheduled : nonAtomic({ store: scheduled }).store
}

const setup = (seed: number, s: fc.Scheduler, atomic: boolean) => {
  const context = Effect.runSync(Effect.scoped(Layer.build(Layer.merge(CryptoNode, SecureRandomSeeded(seed)))))
  const run = <A, E>(e: Effect.Effect<A, E, Crypto | SecureRandom>) =>
    Effect.runPromise(Effect.either(Effect.withClock(Effect.provide(e, context), fixedClock)))
  const inner = Effect.runSync(makeInMemoryAuthStore(enrol(emptyAuthState, { username: "alice", apiKey, keyId: "tA", secret })))
  const auth: AuthServer = Effect.runSync(
    Effect.provide(makeAuthServer({ policy: hardened, store: scheduledStore(inner, s, atomic), signingKey: { alg: "EdDSA", secretKey: new Uint8Array(32).fill(1) } }), context)
  )
  return { auth, run, inner }
}

const login = (counter: number) => LoginRequest.encode(LoginRequest.make({ apiKey, otp: ascii(hotp(secret, counter)) }))
const refreshTokenOf = (reply: Uint8Array): Uint8Array => {
  const m = Schema.decodeUnknownSync(ToDevice)(reply)
  if (m._tag !== "TokenGrant") throw new Error(`expected a TokenGrant, got ${m._tag}`)
  return m.refreshToken
}

/** Deliver `messages` concurrently, let the scheduler order everything, return the outcomes. */
const race = async (s: fc.Scheduler, auth: AuthServer, run: ReturnType<typeof setup>["run"], messages: ReadonlyArray<Uint8Array>) => {
  const pending = messages.map((bytes) => run(auth.receive(bytes)))
  await s.waitFor(Promise.all(pending))
  return Promise.all(pending)
}

/** Run an async step on its own: every scheduled point it reaches is released at once. */
const solo = async <A>(s: fc.Scheduler, p: Promise<A>): Promise<A> => s.waitFor(p)

const numRuns = Math.max(10, Math.round(config.runs / 2))

describe("P3 races (fc.scheduler)", () => {
  it("two refreshes with one refresh token: exactly one is granted", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.nat(1000), async (s, seed) => {
        const { auth, run } = setup(seed, s, true)
        const first = await solo(s, run(auth.receive(login(0))))
        const rt = refreshTokenOf(Either.getOrThrow(first).reply)
        const request = RefreshRequest.encode(RefreshRequest.make({ refreshToken: rt, otp: ascii(hotp(secret, 1)) }))
        const outcomes = await race(s, auth, run, [request, request])
        expect(outcomes.filter(Either.isRight)).toHaveLength(1)
      }),
      { numRuns }
    )
  })

  it("two logins with one OTP: exactly one is granted", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.nat(1000), async (s, seed) => {
        const { auth, run } = setup(seed, s, true)
        const outcomes = await race(s, auth, run, [login(0), login(0)])
        expect(outcomes.filter(Either.isRight)).toHaveLength(1)
      }),
      { numRuns }
    )
  })

  it("a refresh racing a reuse of its parent: no token of the family is left active", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.nat(1000), async (s, seed) => {
        const { auth, run, inner } = setup(seed, s, true)
        const rt0 = refreshTokenOf(Either.getOrThrow(await solo(s, run(auth.receive(login(0))))).reply)
        const reuse = RefreshRequest.encode(RefreshRequest.make({ refreshToken: rt0, otp: ascii(hotp(secret, 1)) }))
        const rt1 = refreshTokenOf(Either.getOrThrow(await solo(s, run(auth.receive(reuse)))).reply)
        const next = RefreshRequest.encode(RefreshRequest.make({ refreshToken: rt1, otp: ascii(hotp(secret, 2)) }))
        await race(s, auth, run, [reuse, next])
        const state = Effect.runSync(inner.snapshot)
        expect([...state.refresh.values()].filter((r) => r.status === "active")).toEqual([])
      }),
      { numRuns }
    )
  })

  it("sanity: the store-not-atomic mutant (read, then write) lets both refreshes through in some order", async () => {
    const result = await fc.check(
      fc.asyncProperty(fc.scheduler(), fc.nat(1000), async (s, seed) => {
        const { auth, run } = setup(seed, s, false)
        const rt = refreshTokenOf(Either.getOrThrow(await solo(s, run(auth.receive(login(0))))).reply)
        const request = RefreshRequest.encode(RefreshRequest.make({ refreshToken: rt, otp: ascii(hotp(secret, 1)) }))
        const outcomes = await race(s, auth, run, [request, request])
        expect(outcomes.filter(Either.isRight)).toHaveLength(1)
      }),
      { numRuns, seed: 42 }
    )
    expect(result.failed).toBe(true)
  })

  it("the implementation world's race move: each single-use credential is granted once, at every race point", () => {
    const suite = makeSuite(hwToken2fa)
    for (const at of [1, 2]) {
      const world = suite.worlds({ kind: "variant", variant: "hardened" }, "logged-in", 7, false).impl
      const login = world.initialTrace.find((e) => e._tag === "Send" && e.label === "LoginRequest")!
      const sent = world.step({ _tag: "User", actor: "device", action: "refresh" })
      const refresh = sent.find((e) => e._tag === "Send" && e.label === "RefreshRequest")!
      if (login._tag !== "Send" || refresh._tag !== "Send") throw new Error("no login or refresh on the wire")
      for (const ref of [login.ref, refresh.ref]) {
        const events = world.step({ _tag: "Inject", to: "auth", forge: `race:${ref}:${at}` })
        const grants = events.filter((e) => e._tag === "Commit" && e.actor === "auth")
        // the login was already delivered once: its two copies are both replays, both refused
        expect(grants.length, `race:${ref}:${at}`).toBe(ref === refresh.ref ? 1 : 0)
      }
    }
  })
})
