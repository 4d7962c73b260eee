/**
 * P3 mutants: the hardened participants with exactly one deliberate flaw each, applied from
 * outside the shipped code. The model side is a machine override (`machine.provide({ guards,
 * actions })` of the AuthServer or the ResourceServer); the implementation side a decorator of
 * the real parts: the AuthServer's store, its OTP verifier or its edge decoder, or the
 * ResourceServer service. Mutants without a model side are flaws that only exist in code
 * (bytes, storage, concurrency). Each must be killed by the properties it names, on the
 * implementation unguided (properties/harness/suite-tests.ts).
 */
import { Effect, Either, Redacted, Schema } from "effect"
import { enqueueActions } from "xstate"
import { AccessGranted, ToAuth, ToResource } from "../../../spec/hw-token-2fa/messages.ts"
import { LOOK_AHEAD, MAX_OTP_FAILURES } from "../../../spec/hw-token-2fa/variants.ts"
import type { AuthServerOptions } from "../../../impl/hw-token-2fa/auth-server.ts"
import type { ResourceServer } from "../../../impl/hw-token-2fa/resource-server.ts"
import type { AuthState, AuthStore, TokenRecord } from "../../../impl/hw-token-2fa/store.ts"
import { base64urlDecode, type JwtClaims } from "../../../impl/jws/jws.ts"
import { matchHotp } from "../../../impl/otp/otp.ts"
import { type AuthContext, authMachine, inWindow, otpOf, send, userOf, verdict } from "../../../model/hw-token-2fa/auth.machine.ts"
import { resourceMachine } from "../../../model/hw-token-2fa/resource.machine.ts"
import type { MutantDefinition } from "../../definition.ts"
import { lenientDecoder } from "../../harness/lenient-decoder.ts"

export interface HwToken2faModelFlaw {
  readonly auth?: Parameters<typeof authMachine.provide>[0]
  readonly rs?: Parameters<typeof resourceMachine.provide>[0]
}

/** The AuthServer's parts a decorator may wrap (its honest seams). */
export interface AuthParts {
  readonly store: AuthStore
  readonly decode?: AuthServerOptions["decode"]
  readonly verifyOtp?: AuthServerOptions["verifyOtp"]
}

export interface HwToken2faImplFlaw {
  /** Called once per world with the real parts; returns the flawed ones. */
  readonly auth?: (real: AuthParts) => AuthParts
  readonly rs?: (real: ResourceServer) => ResourceServer
}

type HwToken2faMutant = MutantDefinition<HwToken2faModelFlaw, HwToken2faImplFlaw>

/** A store whose every write goes through `rewrite(before, after)` first. */
const rewritingStore = (inner: AuthStore, rewrite: (before: AuthState, after: AuthState, result: unknown) => AuthState): AuthStore => ({
  snapshot: inner.snapshot,
  transact: <A>(f: (state: AuthState) => readonly [A, AuthState]) =>
    inner.transact((state) => {
      const [a, next] = f(state)
      return [a, rewrite(state, next, a)] as const
    })
})

/** `after` with each token record replaced by `f(record, the record before)`. */
const mapTokens = (before: AuthState, after: AuthState, f: (t: TokenRecord, was: TokenRecord | undefined) => TokenRecord): AuthState => {
  const tokens = new Map(after.tokens)
  for (const [keyId, t] of after.tokens) tokens.set(keyId, f(t, before.tokens.get(keyId)))
  return { ...after, tokens }
}

const strictAuth = Schema.decodeUnknown(ToAuth)

/** Model side of "the OTP is valid if it is in the window of any enrolled token". */
const anyTokenValid = ({ context, event }: { context: AuthContext; event: Parameters<typeof otpOf>[0] }): boolean => {
  const user = userOf(context, event)
  const otp = otpOf(event)
  return user !== undefined && otp !== undefined && otp !== "guess" && Object.values(context.users).some((u) => u.token === otp.token) && inWindow(context, otp.token, otp.counter)
}

/**
 * Implementation side of the same flaw: the server looks for the code among every enrolled
 * token's window when the linked one misses, and spends it on the token it matched. The store
 * hands the verifier the state it is checking; the verifier records which token matched.
 */
const anyTokenParts = (real: AuthParts): AuthParts => {
  let current: AuthState | undefined
  let matchedOther: { keyId: string; next: number } | undefined
  const store: AuthStore = {
    snapshot: real.store.snapshot,
    transact: <A>(f: (state: AuthState) => readonly [A, AuthState]) =>
      real.store.transact((state) => {
        current = state
        matchedOther = undefined
        const [a, next] = f(state)
        const other = matchedOther as { keyId: string; next: number } | undefined
        current = undefined
        if (other === undefined) return [a, next] as const
        // undo the linked token's counter move, spend the code on the token that showed it
        const tokens = new Map(next.tokens)
        for (const [keyId, t] of next.tokens) {
          if (t.counter !== state.tokens.get(keyId)?.counter && keyId !== other.keyId) tokens.set(keyId, { ...t, counter: state.tokens.get(keyId)!.counter })
        }
        tokens.set(other.keyId, { ...tokens.get(other.keyId)!, counter: other.next })
        return [a, { ...next, tokens }] as const
      })
  }
  return {
    ...real,
    store,
    verifyOtp: (secret, otp, params) => {
      const own = matchHotp(secret, otp, params)
      if (own !== undefined || current === undefined) return own
      for (const t of current.tokens.values()) {
        const m = matchHotp(Redacted.value(t.secret), otp, { ...params, counter: t.counter })
        if (m !== undefined) {
          matchedOther = { keyId: t.keyId, next: m.nextCounter }
          return m
        }
      }
      return undefined
    }
  }
}

/** The expiry-blind website: it verifies with a clock read once, at start-up. */
const startupClockRs = (real: ResourceServer): ResourceServer => {
  let frozen: number | undefined
  return {
    receive: (bytes) =>
      Effect.flatMap(Effect.clockWith((c) => c.currentTimeMillis), (now) => {
        frozen ??= now
        const t = frozen
        return Effect.withClock(real.receive(bytes), {
          ...Effect.runSync(Effect.clock),
          unsafeCurrentTimeMillis: () => t,
          unsafeCurrentTimeNanos: () => BigInt(t) * 1_000_000n,
          currentTimeMillis: Effect.succeed(t),
          currentTimeNanos: Effect.succeed(BigInt(t) * 1_000_000n)
        })
      })
  }
}

/**
 * The check-then-consume split: the store's "transaction" is a read, then a write of what was
 * computed from the read — no lock, no compare-and-set. Alone it behaves; two requests with one
 * credential interleaved between the read and the write both pass the check.
 */
const nonAtomicStore = (inner: AuthStore): AuthStore => ({
  snapshot: inner.snapshot,
  transact: <A>(f: (state: AuthState) => readonly [A, AuthState]) =>
    Effect.gen(function*() {
      const read = yield* inner.snapshot
      const [a, next] = f(read)
      yield* inner.transact(() => [undefined, next] as const)
      return a
    })
})

/** Whether a transaction's result is a refusal with `reason` (the AuthServer's decision value). */
const refusedWith = (result: unknown, reason: string): boolean => {
  const r = result as { ok?: boolean; rejection?: { reason?: string } }
  return r.ok === false && r.rejection?.reason === reason
}

/**
 * The website's verification as a careless caller writes it: `Effect.either` around the check,
 * then `if (verified)` — an Either is always truthy, so a refused token is granted anyway on the
 * claims of its (unverified) payload.
 */
const eitherTruthyRs = (real: ResourceServer): ResourceServer => ({
  receive: (bytes) =>
    Effect.gen(function*() {
      const verified = yield* Effect.either(real.receive(bytes))
      if (Either.isRight(verified)) return verified.right
      if (verified) {
        const decoded = Schema.decodeUnknownEither(ToResource)(bytes)
        const payload = Either.isRight(decoded) ? base64urlDecode(decoded.right.accessToken.split(".")[1] ?? "") : undefined
        let claims: JwtClaims | undefined
        try {
          claims = payload === undefined ? undefined : (JSON.parse(new TextDecoder().decode(payload)) as JwtClaims)
        } catch {
          claims = undefined
        }
        const sub = claims?.sub
        if (claims !== undefined && typeof sub === "string") return { reply: AccessGranted.encode(AccessGranted.make({ subject: sub })), subject: sub, claims }
      }
      return yield* verified.left
    })
})

export const mutants: ReadonlyArray<HwToken2faMutant> = [
  {
    name: "otp-counter-not-advanced",
    flaw: "After a match the server stores the matched counter, not the one after it, so the same OTP verifies again.",
    expectedKilledBy: ["P3.otp-single-use"],
    model: {
      auth: {
        actions: {
          acceptOtp: enqueueActions(({ context, event, enqueue }) => {
            const user = userOf(context, event)!
            const otp = otpOf(event) as { token: string; counter: number }
            enqueue.assign({ counters: { ...context.counters, [otp.token]: otp.counter }, users: { ...context.users, [user]: { ...context.users[user]!, failures: 0 } } })
          })
        }
      }
    },
    impl: { auth: (real) => ({ ...real, verifyOtp: (secret, otp, params) => {
      const m = matchHotp(secret, otp, params)
      return m === undefined ? undefined : { matched: m.matched, nextCounter: m.matched }
    } }) }
  },
  {
    name: "look-ahead-unbounded",
    flaw: "The server searches every later counter for a match (in practice 100 ahead) instead of a bounded look-ahead window of 3.",
    expectedKilledBy: ["P3.otp-window"],
    model: {
      auth: {
        guards: {
          otpValid: ({ context, event }) => {
            const user = userOf(context, event)
            const otp = otpOf(event)
            return user !== undefined && otp !== undefined && otp !== "guess" && otp.token === context.users[user]!.token && inWindow(context, otp.token, otp.counter, Number.MAX_SAFE_INTEGER)
          }
        }
      }
    },
    impl: { auth: (real) => ({ ...real, verifyOtp: (secret, otp, params) => matchHotp(secret, otp, { ...params, window: 100 }) }) }
  },
  {
    name: "otp-any-users-token",
    flaw: "The server accepts an OTP that matches any enrolled token, not the one linked to the username.",
    expectedKilledBy: ["P3.otp-binding"],
    model: { auth: { guards: { otpValid: anyTokenValid } } },
    impl: { auth: anyTokenParts }
  },
  {
    name: "refresh-not-consumed",
    flaw: "The server issues a successor without marking the presented refresh token used.",
    expectedKilledBy: ["P3.refresh-single-use"],
    model: { auth: { actions: { consumeRefresh: enqueueActions(() => {}) } } },
    impl: {
      auth: (real) => ({
        ...real,
        store: rewritingStore(real.store, (before, after) => {
          const refresh = new Map(after.refresh)
          for (const [h, r] of after.refresh) if (r.status === "used" && before.refresh.get(h)?.status === "active") refresh.set(h, { ...r, status: "active" })
          return { ...after, refresh }
        })
      })
    }
  },
  {
    name: "family-not-revoked",
    flaw: "A reused refresh token is refused, but its family — the successor a thief or the victim holds — stays valid.",
    expectedKilledBy: ["P3.reuse-revokes-family"],
    model: {
      auth: {
        actions: {
          refuseReuse: enqueueActions(({ enqueue }) => {
            enqueue(verdict({ accepted: false, reason: "reused", revoked: false }))
            enqueue(send({ _tag: "Denied", reason: "denied" }))
          })
        }
      }
    },
    impl: {
      auth: (real) => ({
        ...real,
        store: rewritingStore(real.store, (before, after) => {
          const refresh = new Map(after.refresh)
          for (const [h, r] of after.refresh) {
            const was = before.refresh.get(h)
            if (r.status === "revoked" && was !== undefined && was.status !== "revoked") refresh.set(h, was)
          }
          return { ...after, refresh }
        })
      })
    }
  },
  {
    name: "no-throttling",
    flaw: "The server counts no failed OTP attempts.",
    expectedKilledBy: ["P3.attempt-throttling"],
    model: {
      auth: {
        actions: {
          refuseOtp: enqueueActions(({ enqueue }) => {
            enqueue(verdict({ accepted: false, reason: "bad-otp" }))
            enqueue(send({ _tag: "Denied", reason: "denied" }))
          })
        }
      }
    },
    impl: {
      auth: (real) => ({
        ...real,
        store: rewritingStore(real.store, (before, after) =>
          mapTokens(before, after, (t, was) => (was !== undefined && t.failures > was.failures ? { ...t, failures: was.failures, failureTick: was.failureTick } : t)))
      })
    }
  },
  {
    name: "lockout-permanent",
    flaw: "A throttled account stays locked: three wrong OTPs from anyone holding the API key lock the user out for good.",
    expectedKilledBy: ["P3.rotation-liveness"],
    model: {
      auth: {
        actions: {
          tick: enqueueActions(({ context, enqueue }) => {
            enqueue.assign({ users: Object.fromEntries(Object.entries(context.users).map(([n, u]) => [n, u.locked ? u : { ...u, failures: 0 }])) })
          })
        }
      }
    },
    impl: {
      auth: (real) => ({
        ...real,
        // the lock is written with no end (the tick it was counted in, as "forever")
        store: rewritingStore(real.store, (before, after) =>
          mapTokens(before, after, (t) => (t.failures >= MAX_OTP_FAILURES ? { ...t, failureTick: Number.MAX_SAFE_INTEGER } : t)))
      })
    }
  },
  {
    name: "expiry-ignored",
    flaw: "The website verifies the access token's signature against a clock read once at start-up, so expired tokens pass.",
    expectedKilledBy: ["P3.access-expiry"],
    model: { rs: { guards: { expired: () => false } } },
    impl: { rs: startupClockRs }
  },
  // Implementation-only mutants: coding mistakes the symbolic model cannot express.
  {
    name: "store-not-atomic",
    flaw: "The AuthServer's store reads, then writes what it computed from the read, with no lock: two requests with one refresh token (or one OTP) arriving together both pass the check (a check-then-consume split).",
    expectedKilledBy: ["P3.refresh-single-use"],
    impl: { auth: (real) => ({ ...real, store: nonAtomicStore(real.store) }) }
  },
  {
    name: "otp-not-spent-on-login",
    flaw: "The OTP's counter is advanced on the refresh path but not on the login path, so a replayed login is accepted again.",
    expectedKilledBy: ["P3.otp-single-use"],
    impl: {
      auth: (real) => ({
        ...real,
        store: rewritingStore(real.store, (before, after) =>
          after.families > before.families ? mapTokens(before, after, (t, was) => (was === undefined ? t : { ...t, counter: was.counter })) : after)
      })
    }
  },
  {
    name: "family-allocated-before-otp-check",
    flaw: "The AuthServer allocates the new family number before it checks the OTP, and keeps it when the OTP is wrong: a refusal writes state the design does not name for it.",
    expectedKilledBy: ["P3.refusal-state"],
    impl: {
      auth: (real) => ({
        ...real,
        store: rewritingStore(real.store, (_before, after, result) => (refusedWith(result, "bad-otp") ? { ...after, families: after.families + 1 } : after))
      })
    }
  },
  {
    name: "window-off-by-one",
    flaw: `The look-ahead loop runs to counter + ${LOOK_AHEAD} inclusive (\`<=\` for \`<\`): ${LOOK_AHEAD + 1} counters are tried instead of ${LOOK_AHEAD}.`,
    expectedKilledBy: ["P3.otp-window"],
    impl: { auth: (real) => ({ ...real, verifyOtp: (secret, otp, params) => matchHotp(secret, otp, { ...params, window: params.window + 1 }) }) }
  },
  {
    name: "either-truthy-website",
    flaw: "The website wraps token verification in Effect.either and tests the result for truthiness: an Either is always truthy, so a tampered or expired access token is granted on its unverified claims.",
    expectedKilledBy: ["P3.tampered-input", "P3.access-expiry"],
    impl: { rs: eitherTruthyRs }
  },
  {
    name: "lenient-decoder",
    flaw: "The AuthServer's decoder ignores trailing bytes after a well-formed message (implementation only).",
    expectedKilledBy: ["P3.malformed-input"],
    impl: { auth: (real) => ({ ...real, decode: lenientDecoder(strictAuth) }) }
  }
]

