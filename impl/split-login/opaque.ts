/**
 * OPAQUE (RFC 9807: ristretto255, SHA-512, 3DH, Argon2id as the key-stretching function) behind an
 * Effect service: `@serenity-kit/opaque` 1.1, the Rust `opaque-ke` crate compiled to WASM
 * (SPEC.md §Why this library). Messages are bytes here (the library speaks base64url).
 *
 * Randomness: the WASM draws its blinds, nonces and key shares from `crypto.getRandomValues`
 * (getrandom's `js` backend, looked up on every draw). Each call here runs synchronously with that
 * function pointed at the `SecureRandom` service and restored afterwards, so a seeded run replays
 * byte for byte and the system layer still gets the system CSPRNG. Nothing else can run while a
 * WASM call is on the stack, so the redirection is seen by that call only.
 *
 * Key stretching: the library's default Argon2id parameters (RFC 9106 §4 first recommendation,
 * 2 GiB) cost ~300 ms and 2 GiB per login; `KeyStretching.rfc` keeps them, the worlds and tests use
 * `KeyStretching.light` (1 pass, 8 KiB). Stretching slows guessing against a *stolen record*; the
 * network attacker's transcript gives no offline test whatever the parameters (RFC 9807 §10.8).
 */
import * as opaque from "@serenity-kit/opaque"
import { Context, Data, Effect, Layer } from "effect"
import { Labels } from "../../spec/split-login/messages.ts"
import { SecureRandom } from "../crypto/services.ts"

await opaque.ready

type Stretching = NonNullable<opaque.client.FinishLoginParams["keyStretching"]>

export const KeyStretching = {
  /** Argon2id, the parameters RFC 9807 recommends (the library's default). */
  rfc: "rfc-recommended",
  /** Argon2id, 1 pass over 8 KiB: the audit's worlds (SECURITY.md §Key stretching). */
  light: { "argon2id-custom": { iterations: 1, memory: 8, parallelism: 1 } }
} as const satisfies Record<string, Stretching>

/** A flight or a record did not parse, a MAC did not verify, or the password was wrong: one reason, no oracle. */
export class OpaqueError extends Data.TaggedError("OpaqueError")<{ readonly step: "client-finish" | "server-start" | "server-finish" | "registration" }> {}

/** The server's long-term OPAQUE state (OPRF seed and AKE key pair, RFC 9807 §4.1), kept opaque. */
export interface ServerSetup {
  readonly _tag: "ServerSetup"
  readonly encoded: string
}

/** One side's state between two flights (the library's serialised state, and whose login it is). */
export interface LoginState {
  readonly username: string
  readonly encoded: string
}

export interface OpaqueShape {
  readonly createSetup: () => Effect.Effect<ServerSetup>
  /** Registration, both halves at once (it happens out of band, over an authenticated channel: SECURITY.md). */
  readonly register: (setup: ServerSetup, username: string, password: string) => Effect.Effect<Uint8Array, OpaqueError>
  /** KE1 and the client's state. */
  readonly clientStart: (username: string, password: string) => Effect.Effect<{ readonly state: LoginState; readonly ke1: Uint8Array }>
  /** KE2 and the server's state; an absent record gets a fake response (RFC 9807 §10.9: no user enumeration). */
  readonly serverStart: (setup: ServerSetup, username: string, record: Uint8Array | undefined, ke1: Uint8Array) => Effect.Effect<{ readonly state: LoginState; readonly ke2: Uint8Array }, OpaqueError>
  /** KE3 and the session key, or an error when the server's MAC (so the password, or KE2) is wrong. */
  readonly clientFinish: (state: LoginState, ke2: Uint8Array, password: string) => Effect.Effect<{ readonly ke3: Uint8Array; readonly sessionKey: Uint8Array }, OpaqueError>
  /** The session key, or an error when KE3 does not verify against this state. */
  readonly serverFinish: (state: LoginState, ke3: Uint8Array) => Effect.Effect<Uint8Array, OpaqueError>
}

export class Opaque extends Context.Tag("authlab/split-login/Opaque")<Opaque, OpaqueShape>() {}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url")
const unb64 = (text: string) => new Uint8Array(Buffer.from(text, "base64url"))

/** The identities bound into every envelope and transcript (RFC 9807 §4.1.1). */
const identifiers = (username: string) => ({ client: username, server: Labels.server })

/**
 * Run `f` (synchronous WASM) with `crypto.getRandomValues` drawing from `draw`, restoring it after.
 * Exported for ./opaque-vectors.test.ts, which drives the package's registration and login calls
 * directly (the service hides the registration messages and the export key) on recorded draws.
 */
export const withRandomness = <A>(draw: (n: number) => Uint8Array, f: () => A): A => {
  const webcrypto = globalThis.crypto
  const original = webcrypto.getRandomValues
  const redirected = (<T extends ArrayBufferView | null>(array: T): T => {
    // the source may itself read getRandomValues (the system CSPRNG does): give it the real one meanwhile
    webcrypto.getRandomValues = original
    try {
      if (array !== null) new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(draw(array.byteLength))
    } finally {
      webcrypto.getRandomValues = redirected
    }
    return array
  }) as typeof webcrypto.getRandomValues
  webcrypto.getRandomValues = redirected
  try {
    return f()
  } finally {
    webcrypto.getRandomValues = original
  }
}

/** The service over `@serenity-kit/opaque`, with `stretching` on the client side. */
export const makeOpaque = (stretching: Stretching): Effect.Effect<OpaqueShape, never, SecureRandom> =>
  Effect.map(SecureRandom, (random) => {
    const draw = (n: number) => Effect.runSync(random.bytes(n))
    const seeded = <A>(f: () => A) => Effect.sync(() => withRandomness(draw, f))
    const attempt = <A>(step: OpaqueError["step"], f: () => A | undefined) =>
      Effect.suspend(() => {
        try {
          const a = withRandomness(draw, f)
          return a === undefined ? Effect.fail(new OpaqueError({ step })) : Effect.succeed(a)
        } catch {
          return Effect.fail(new OpaqueError({ step }))
        }
      })
    return {
      createSetup: () => seeded(() => ({ _tag: "ServerSetup" as const, encoded: opaque.server.createSetup() })),
      register: (setup, username, password) =>
        attempt("registration", () => {
          const start = opaque.client.startRegistration({ password })
          const { registrationResponse } = opaque.server.createRegistrationResponse({ serverSetup: setup.encoded, userIdentifier: username, registrationRequest: start.registrationRequest })
          const done = opaque.client.finishRegistration({ clientRegistrationState: start.clientRegistrationState, registrationResponse, password, identifiers: identifiers(username), keyStretching: stretching })
          return unb64(done.registrationRecord)
        }),
      clientStart: (username, password) =>
        seeded(() => {
          const r = opaque.client.startLogin({ password })
          return { state: { username, encoded: r.clientLoginState }, ke1: unb64(r.startLoginRequest) }
        }),
      serverStart: (setup, username, record, ke1) =>
        attempt("server-start", () => {
          const r = opaque.server.startLogin({ serverSetup: setup.encoded, userIdentifier: username, registrationRecord: record === undefined ? null : b64(record), startLoginRequest: b64(ke1), identifiers: identifiers(username) })
          return { state: { username, encoded: r.serverLoginState }, ke2: unb64(r.loginResponse) }
        }),
      clientFinish: (state, ke2, password) =>
        attempt("client-finish", () => {
          const r = opaque.client.finishLogin({ clientLoginState: state.encoded, loginResponse: b64(ke2), password, identifiers: identifiers(state.username), keyStretching: stretching })
          return r === undefined ? undefined : { ke3: unb64(r.finishLoginRequest), sessionKey: unb64(r.sessionKey) }
        }),
      serverFinish: (state, ke3) =>
        attempt("server-finish", () => unb64(opaque.server.finishLogin({ serverLoginState: state.encoded, finishLoginRequest: b64(ke3), identifiers: identifiers(state.username) }).sessionKey))
    }
  })

export const OpaqueLayer = (stretching: Stretching): Layer.Layer<Opaque, never, SecureRandom> => Layer.effect(Opaque, makeOpaque(stretching))
