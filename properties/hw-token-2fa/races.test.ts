/**
 * Races on the real AuthServer under `fc.scheduler`: two refreshes with one refresh token, two
 * logins with one OTP, and a refresh racing a reuse that revokes its family. The AuthServer's
 * work is synchronous inside one store transaction, so the scheduler interleaves the requests
 * at the store boundary: every `transact` first awaits a scheduled point, so one request's
 * pre-transaction work (decode, randomness, hashing) can run before, between or after the
 * other's transaction, in every order fast-check picks. (The explorer covers the same races
 * exhaustively as two deliveries of one message in the attacker's moves.)
 *
 * A deliberately non-atomic store (read, await, write) is run too, to show the test would see a
 * lost update: it must find a double success.
 */
import { Clock, Effect, Either, Layer, Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { LoginRequest, RefreshRequest, ToDevice } from "../../spec/hw-token-2fa/messages.ts"
import { hardened, TICK_SECONDS } from "../../spec/hw-token-2fa/variants.ts"
import { CryptoNode } from "../../impl/crypto/node.ts"
import { SecureRandomSeeded } from "../../impl/crypto/random.ts"
import type { Crypto, SecureRandom } from "../../impl/crypto/services.ts"
import { type AuthServer, enrol, makeAuthServer } from "../../impl/hw-token-2fa/auth-server.ts"
import { type AuthState, type AuthStore, emptyAuthState, makeInMemoryAuthStore } from "../../impl/hw-token-2fa/store.ts"
import { hotp } from "../../impl/otp/otp.ts"
import * as config from "../harness/config.ts"

const NOW = TICK_SECONDS * 5_666_667 * 1000
const fixedClock: Clock.Clock = {
  [Clock.ClockTypeId]: Clock.ClockTypeId,
  unsafeCurrentTimeMillis: () => NOW,
  unsafeCurrentTimeNanos: () => BigInt(NOW) * 1_000_000n,
  currentTimeMillis: Effect.succeed(NOW),
  currentTimeNanos: Effect.succeed(BigInt(NOW) * 1_000_000n),
  sleep: () => Effect.void
}

const apiKey = new Uint8Array(32).fill(7)
const secret = new Uint8Array(20).fill(9)
const ascii = (s: string) => new TextEncoder().encode(s)

/** Each transaction waits for the scheduler first; `atomic: false` also splits read from write. */
const scheduledStore = (inner: AuthStore, s: fc.Scheduler, atomic: boolean): AuthStore => ({
  snapshot: inner.snapshot,
  transact: <A>(f: (state: AuthState) => readonly [A, AuthState]) =>
    Effect.gen(function*() {
      yield* Effect.promise(() => s.schedule(Promise.resolve(), "before transaction"))
      if (atomic) return yield* inner.transact(f)
      const read = yield* inner.snapshot
      yield* Effect.promise(() => s.schedule(Promise.resolve(), "between read and write"))
      const [a, next] = f(read)
      yield* inner.transact(() => [undefined, next] as const)
      return a
    })
})

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

  it("sanity: a non-atomic store (read, await, write) lets both refreshes through in some order", async () => {
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
})
