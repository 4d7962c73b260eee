/**
 * P2b Machine (SPEC.md §Steps 4–6): the user's phone or PC. It scans an SID, takes the password the
 * user types, and sends the authenticating data: `claimed` the password hash with the SID;
 * `hardened` an OPAQUE login for the SID, then — once the server has proved it knows the user's
 * record and the user has approved the fingerprint shown — KE3 with the approval MAC over (SID,
 * fingerprint) under the session key. Its pending login is volatile (lost in a crash).
 */
import { Data, Effect, Ref, Schema } from "effect"
import { Login, LoginFinish, LoginStart, ToMachine } from "../../spec/split-login/messages.ts"
import type { Policy } from "../../spec/split-login/variants.ts"
import { Crypto } from "../crypto/services.ts"
import { approvalInput, passwordHash } from "./credentials.ts"
import { Opaque, type LoginState } from "./opaque.ts"

export type MachineReason = "malformed" | "unexpected" | "bad-server" | "user-declined"

export class MachineRejection extends Data.TaggedError("MachineRejection")<{ readonly reason: MachineReason }> {}

/** The user at the Machine: types the password, and (hardened) says whether the fingerprint shown is her Device's. */
export interface MachineUser {
  readonly password: string
  readonly approves: (fingerprint: Uint8Array) => boolean
}

export interface Machine {
  readonly scan: (sid: Uint8Array, password: string) => Effect.Effect<Uint8Array, never, Opaque>
  readonly receive: (bytes: Uint8Array, user: MachineUser) => Effect.Effect<{ readonly sid: Uint8Array; readonly reply: Uint8Array }, MachineRejection, Opaque | Crypto>
  /** A crash: the pending login is gone. */
  readonly restart: Effect.Effect<void>
  readonly pending: Effect.Effect<Uint8Array | undefined>
}

const decode = Schema.decodeUnknownEither(ToMachine)
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])

export const makeMachine = (policy: Policy, username: string): Effect.Effect<Machine> =>
  Effect.map(Ref.make<{ readonly sid: Uint8Array; readonly state: LoginState } | undefined>(undefined), (pending) => ({
    scan: Effect.fn("Machine.scan")(function*(sid: Uint8Array, password: string) {
      if (policy.auth === "hash") return Login.encode(Login.make({ sid, authData: passwordHash(username, password) }))
      const started = yield* (yield* Opaque).clientStart(username, password)
      yield* Ref.set(pending, { sid, state: started.state })
      return LoginStart.encode(LoginStart.make({ sid, ke1: started.ke1 }))
    }),
    receive: Effect.fn("Machine.receive")(function*(bytes: Uint8Array, user: MachineUser) {
      const d = decode(bytes)
      if (d._tag === "Left") return yield* new MachineRejection({ reason: "malformed" })
      const m = d.right
      const p = yield* Ref.get(pending)
      if (p === undefined || !same(p.sid, m.sid)) return yield* new MachineRejection({ reason: "unexpected" })
      // this attempt ends here, whatever follows: a second KE2 for it would be a replay
      yield* Ref.set(pending, undefined)
      const done = yield* Effect.mapError((yield* Opaque).clientFinish(p.state, m.ke2, user.password), () => new MachineRejection({ reason: "bad-server" }))
      if (policy.consentScreen && !user.approves(m.fingerprint)) return yield* new MachineRejection({ reason: "user-declined" })
      const approval = yield* (yield* Crypto).hmacSha256(done.sessionKey, approvalInput(m.sid, m.fingerprint))
      return { sid: m.sid, reply: LoginFinish.encode(LoginFinish.make({ sid: m.sid, ke3: done.ke3, approval })) }
    }),
    restart: Ref.set(pending, undefined),
    pending: Effect.map(Ref.get(pending), (p) => p?.sid)
  }))
