/**
 * P3 AuthServer durable state (spec/hw-token-2fa/SPEC.md §1), behind one store with an in-memory
 * implementation. Every input is handled as ONE atomic read-check-write (`transact`), so two
 * refreshes presenting the same refresh token — even interleaved at any await point — see each
 * other: at most one finds it active (SPEC.md §5, P3.refresh-single-use).
 *
 * What is stored: per user, the SHA-256 of the API key (never the key) and the linked key id;
 * per hardware token, its secret, the next expected counter and the throttling record; per
 * refresh token, its SHA-256 (never the token), owner, family, serial and status.
 */
import { Context, Effect, Layer, Redacted, Ref } from "effect"

export interface UserRecord {
  readonly username: string
  readonly apiKeyHash: string
  /** The key id of the linked hardware token ("linking … a username … to the key identification"). */
  readonly keyId: string
}

export interface TokenRecord {
  readonly keyId: string
  readonly secret: Redacted.Redacted<Uint8Array>
  /** The next counter the server expects (RFC 4226 §7.2). */
  readonly counter: number
  /** Consecutive wrong OTPs (RFC 4226 §7.3) and the tick they were counted in. */
  readonly failures: number
  readonly failureTick: number
}

export interface RefreshRecord {
  readonly username: string
  readonly family: number
  readonly serial: number
  readonly status: "active" | "used" | "revoked"
}

export interface AuthState {
  readonly users: ReadonlyMap<string, UserRecord>
  readonly tokens: ReadonlyMap<string, TokenRecord>
  /** Keyed by the hex SHA-256 of the refresh token. */
  readonly refresh: ReadonlyMap<string, RefreshRecord>
  readonly families: number
  readonly serials: ReadonlyMap<number, number>
}

export interface AuthStore {
  /** Run `f` on the current state and store what it returns, atomically; `f` must be pure. */
  readonly transact: <A>(f: (state: AuthState) => readonly [A, AuthState]) => Effect.Effect<A>
  readonly snapshot: Effect.Effect<AuthState>
}

export const emptyAuthState: AuthState = { users: new Map(), tokens: new Map(), refresh: new Map(), families: 0, serials: new Map() }

export const makeInMemoryAuthStore = (initial: AuthState = emptyAuthState): Effect.Effect<AuthStore> =>
  Effect.map(Ref.make(initial), (ref) => ({
    transact: <A>(f: (state: AuthState) => readonly [A, AuthState]) => Ref.modify(ref, f),
    snapshot: Ref.get(ref)
  }))

/** The AuthServer's store as a service; the SQLite layer is `layerSqlite` of ./store-sqlite.ts. */
export class AuthStoreService extends Context.Tag("authlab/hw-token-2fa/AuthStore")<AuthStoreService, AuthStore>() {
  static readonly layerInMemory = (initial: AuthState = emptyAuthState): Layer.Layer<AuthStoreService> =>
    Layer.effect(AuthStoreService, makeInMemoryAuthStore(initial))
}

/** A comparable rendering of the state (secrets left out), for "a refusal changed nothing" checks. */
export const fingerprint = (s: AuthState): string =>
  JSON.stringify([
    [...s.users.values()],
    [...s.tokens.values()].map((t) => [t.keyId, t.counter, t.failures, t.failureTick]),
    [...s.refresh.entries()],
    s.families,
    [...s.serials.entries()]
  ])
