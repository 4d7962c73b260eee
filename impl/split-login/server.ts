/**
 * P2b Server (SPEC.md §Steps, §Server checks), one code path for every `Policy`
 * (spec/split-login/variants.ts).
 *
 * `receive(conn, bytes)` takes a message that arrived on connection `conn` (the TLS layer, or the
 * open link's socket, names it; the attacker cannot) and returns what the server did with the
 * reply, if any, for that same connection. Every input is decoded once at the edge, then checked in
 * the SPEC's fixed order; a refusal fails with `ServerRejection` and writes nothing. Time comes from
 * the Effect `Clock`, randomness from `SecureRandom`, OPAQUE from the `Opaque` service; device keys,
 * password hashes and approval MACs are compared in constant time.
 */
import { Clock, Data, Effect, type ParseResult, Schema } from "effect"
import { LoginChallenge, Opened, Result, SID_BYTES, TOKEN_BYTES, ToServer, type Login, type LoginFinish, type LoginStart, type Open, type Poll } from "../../spec/split-login/messages.ts"
import type { Policy } from "../../spec/split-login/variants.ts"
import { constantTimeEqual } from "../crypto/bytes.ts"
import { Crypto, SecureRandom } from "../crypto/services.ts"
import { approvalInput, fingerprintOf, hex, tokenDigest } from "./credentials.ts"
import { Opaque, type ServerSetup } from "./opaque.ts"
import type { ServerState, ServerStore, SessionRecord } from "./store.ts"
import { fingerprint } from "../store.ts"

export type ServerReason =
  | "malformed"
  | "wrong-flow"
  | "unknown-user"
  | "unknown-sid"
  | "expired"
  | "sid-used"
  | "bad-auth"
  | "bad-approval"
  | "wrong-device"
  | "pending"

export class ServerRejection extends Data.TaggedError("ServerRejection")<{ readonly reason: ServerReason }> {}

export type ServerOutcome =
  | { readonly _tag: "opened"; readonly sid: Uint8Array; readonly reply: Uint8Array }
  | { readonly _tag: "challenged"; readonly sid: Uint8Array; readonly reply: Uint8Array }
  | { readonly _tag: "logged-in"; readonly sid: Uint8Array; readonly opener: string }
  | { readonly _tag: "released"; readonly sid: Uint8Array; readonly reply: Uint8Array }

/** What the server knows of a registered user: `claimed` the password hash, `hardened` the OPAQUE record. */
export interface Account {
  readonly verifier?: Uint8Array
  readonly record?: Uint8Array
}

export interface ServerOptions {
  readonly policy: Policy
  readonly accounts: ReadonlyMap<string, Account>
  readonly setup: ServerSetup
  readonly store: ServerStore
  readonly decode?: (bytes: Uint8Array) => Effect.Effect<ToServer, ParseResult.ParseError>
}

export interface Server {
  readonly receive: (conn: string, bytes: Uint8Array) => Effect.Effect<ServerOutcome, ServerRejection, Crypto | SecureRandom | Opaque>
}

const refuse = (reason: ServerReason) => Effect.fail(new ServerRejection({ reason }))

export const makeServer = (options: ServerOptions): Server => {
  const { policy, store } = options
  const decode = options.decode ?? Schema.decodeUnknown(ToServer)

  const expired = (record: SessionRecord, now: number) => policy.sidLifetimeSeconds !== null && now - record.openedAt > policy.sidLifetimeSeconds * 1000

  /** The live session of `sid`, checked in order: known, not expired, not used up by a login. */
  const live = (sid: Uint8Array, options: { readonly allowLoggedIn: boolean }) =>
    Effect.gen(function*() {
      const record = (yield* store.snapshot).sessions.get(hex(sid))
      if (record === undefined) return yield* refuse("unknown-sid")
      if (expired(record, yield* Clock.currentTimeMillis)) return yield* refuse("expired")
      if (policy.singleUse && !options.allowLoggedIn && record.logins > 0) return yield* refuse("sid-used")
      return record
    })

  /**
   * Write `change` to the session of `sid` if it still is `seen` (a concurrent input would have
   * changed it). Compared by content, not by reference: a durable store reads its records anew
   * for every transaction.
   */
  const update = (sid: Uint8Array, seen: SessionRecord, change: (r: SessionRecord) => SessionRecord, extra: (s: ServerState) => ServerState = (s) => s) =>
    Effect.flatMap(
      store.transact((s): readonly [boolean, ServerState] => {
        const now = s.sessions.get(hex(sid))
        if (now === undefined || (now !== seen && fingerprint(now) !== fingerprint(seen))) return [false, s]
        return [true, extra({ ...s, sessions: new Map([...s.sessions, [hex(sid), change(seen)]]) })]
      }),
      (done) => (done ? Effect.void : refuse("sid-used"))
    )

  const open = (conn: string, m: Open) =>
    Effect.gen(function*() {
      if (!options.accounts.has(m.username)) return yield* refuse("unknown-user")
      if (policy.poll === "device-key" && m.deviceKey.length === 0) return yield* refuse("malformed")
      const random = yield* SecureRandom
      const sid = yield* random.bytes(SID_BYTES)
      const record: SessionRecord = { username: m.username, opener: conn, deviceKey: policy.poll === "device-key" ? m.deviceKey : new Uint8Array(0), openedAt: yield* Clock.currentTimeMillis, logins: 0, releases: 0 }
      yield* store.transact((s) => [undefined, { ...s, sessions: new Map([...s.sessions, [hex(sid), record]]) }] as const)
      return { _tag: "opened", sid, reply: Opened.encode(Opened.make({ sid })) } as const
    })

  const login = (m: Login) =>
    Effect.gen(function*() {
      if (policy.auth !== "hash") return yield* refuse("wrong-flow")
      const record = yield* live(m.sid, { allowLoggedIn: false })
      const verifier = options.accounts.get(record.username)?.verifier
      if (verifier === undefined || !constantTimeEqual(verifier, m.authData)) return yield* refuse("bad-auth")
      yield* update(m.sid, record, (r) => ({ ...r, logins: r.logins + 1 }))
      return { _tag: "logged-in", sid: m.sid, opener: record.opener } as const
    })

  const loginStart = (m: LoginStart) =>
    Effect.gen(function*() {
      if (policy.auth !== "opaque") return yield* refuse("wrong-flow")
      const record = yield* live(m.sid, { allowLoggedIn: false })
      // one OPAQUE attempt per SID: its server nonce is what the approval is bound to
      if (record.challenge !== undefined) return yield* refuse("sid-used")
      const opaque = yield* Opaque
      const started = yield* Effect.mapError(opaque.serverStart(options.setup, record.username, options.accounts.get(record.username)?.record, m.ke1), () => new ServerRejection({ reason: "bad-auth" }))
      const fingerprint = fingerprintOf(record.deviceKey)
      yield* update(m.sid, record, (r) => ({ ...r, challenge: { state: started.state, fingerprint } }))
      return { _tag: "challenged", sid: m.sid, reply: LoginChallenge.encode(LoginChallenge.make({ sid: m.sid, ke2: started.ke2, fingerprint })) } as const
    })

  const loginFinish = (m: LoginFinish) =>
    Effect.gen(function*() {
      if (policy.auth !== "opaque") return yield* refuse("wrong-flow")
      const record = yield* live(m.sid, { allowLoggedIn: false })
      if (record.challenge === undefined) return yield* refuse("bad-auth")
      const opaque = yield* Opaque
      const sessionKey = yield* Effect.mapError(opaque.serverFinish(record.challenge.state, m.ke3), () => new ServerRejection({ reason: "bad-auth" }))
      const crypto = yield* Crypto
      yield* Effect.mapError(crypto.hmacSha256Verify(sessionKey, approvalInput(m.sid, record.challenge.fingerprint), m.approval), () => new ServerRejection({ reason: "bad-approval" }))
      yield* update(m.sid, record, ({ challenge: _, ...r }) => ({ ...r, logins: r.logins + 1 }))
      return { _tag: "logged-in", sid: m.sid, opener: record.opener } as const
    })

  const poll = (m: Poll) =>
    Effect.gen(function*() {
      const record = yield* live(m.sid, { allowLoggedIn: true })
      if (policy.poll === "device-key" && !constantTimeEqual(record.deviceKey, m.deviceKey)) return yield* refuse("wrong-device")
      if (record.logins === 0) return yield* refuse("pending")
      if (policy.singleUse && record.releases > 0) return yield* refuse("sid-used")
      const token = yield* (yield* SecureRandom).bytes(TOKEN_BYTES)
      yield* update(m.sid, record, (r) => ({ ...r, releases: r.releases + 1 }), (s) => ({ ...s, tokens: new Map([...s.tokens, [hex(tokenDigest(token)), { username: record.username, sid: hex(m.sid) }]]) }))
      return { _tag: "released", sid: m.sid, reply: Result.encode(Result.make({ sid: m.sid, token })) } as const
    })

  const receive = Effect.fn("Server.receive")(function*(conn: string, bytes: Uint8Array) {
    const decoded = yield* Effect.either(decode(bytes))
    if (decoded._tag === "Left") return yield* refuse("malformed")
    const m = decoded.right
    switch (m._tag) {
      case "Open":
        return yield* open(conn, m)
      case "Login":
        return yield* login(m)
      case "LoginStart":
        return yield* loginStart(m)
      case "LoginFinish":
        return yield* loginFinish(m)
      case "Poll":
        return yield* poll(m)
    }
  })

  return { receive }
}
