/**
 * P2b Device (SPEC.md §Steps 1, 3, 7): sends the username the user typed, shows the SID it gets
 * back as a QR code (`hardened`: beside the fingerprint of its own key), and polls for the result.
 * Its state (the SID, its key, the token) is durable: a browser keeps its cookies across a restart.
 */
import { Data, Effect, Ref, Schema } from "effect"
import { DEVICE_KEY_BYTES, Open, Poll, ToDevice } from "../../spec/split-login/messages.ts"
import type { Policy } from "../../spec/split-login/variants.ts"
import { SecureRandom } from "../crypto/services.ts"
import { fingerprintOf } from "./credentials.ts"

export class DeviceRejection extends Data.TaggedError("DeviceRejection")<{ readonly reason: "malformed" | "unexpected" | "no-session" }> {}

export interface DeviceState {
  readonly deviceKey: Uint8Array
  readonly sid?: Uint8Array
  readonly token?: Uint8Array
}

/** What the Device's screen shows: the SID (as a QR code) and, `hardened`, its key's fingerprint. */
export interface Screen {
  readonly sid: Uint8Array
  readonly fingerprint: Uint8Array
}

export interface Device {
  readonly open: (username: string) => Effect.Effect<Uint8Array, never, SecureRandom>
  readonly receive: (bytes: Uint8Array) => Effect.Effect<{ readonly _tag: "showing"; readonly screen: Screen } | { readonly _tag: "session"; readonly sid: Uint8Array }, DeviceRejection>
  readonly poll: Effect.Effect<Uint8Array, DeviceRejection>
  readonly screen: Effect.Effect<Screen | undefined>
  readonly state: Effect.Effect<DeviceState>
}

const decode = Schema.decodeUnknownEither(ToDevice)
const same = (a: Uint8Array | undefined, b: Uint8Array) => a !== undefined && a.length === b.length && a.every((x, i) => x === b[i])

export const makeDevice = (policy: Policy): Effect.Effect<Device> =>
  Effect.map(Ref.make<DeviceState>({ deviceKey: new Uint8Array(0) }), (ref) => {
    const screenOf = (s: DeviceState): Screen | undefined => (s.sid === undefined ? undefined : { sid: s.sid, fingerprint: fingerprintOf(s.deviceKey) })
    return {
      open: Effect.fn("Device.open")(function*(username: string) {
        // a fresh key per login: it is what a poll shows the server (hardened), and what the fingerprint names
        const deviceKey = policy.poll === "device-key" ? yield* (yield* SecureRandom).bytes(DEVICE_KEY_BYTES) : new Uint8Array(0)
        yield* Ref.set(ref, { deviceKey })
        return Open.encode(Open.make({ username, deviceKey }))
      }),
      receive: Effect.fn("Device.receive")(function*(bytes: Uint8Array) {
        const d = decode(bytes)
        if (d._tag === "Left") return yield* new DeviceRejection({ reason: "malformed" })
        const m = d.right
        const s = yield* Ref.get(ref)
        if (m._tag === "Opened") {
          if (s.sid !== undefined) return yield* new DeviceRejection({ reason: "unexpected" })
          const next = { ...s, sid: m.sid }
          yield* Ref.set(ref, next)
          return { _tag: "showing" as const, screen: screenOf(next)! }
        }
        if (!same(s.sid, m.sid) || m.token.length === 0 || s.token !== undefined) return yield* new DeviceRejection({ reason: "unexpected" })
        yield* Ref.set(ref, { ...s, token: m.token })
        return { _tag: "session" as const, sid: m.sid }
      }),
      poll: Effect.flatMap(Ref.get(ref), (s) =>
        s.sid === undefined ? Effect.fail(new DeviceRejection({ reason: "no-session" })) : Effect.succeed(Poll.encode(Poll.make({ sid: s.sid, deviceKey: s.deviceKey })))
      ),
      screen: Effect.map(Ref.get(ref), screenOf),
      state: Ref.get(ref)
    }
  })
