/**
 * P3 UserDevice (SPEC.md §2): holds its API key for good and at most one access/refresh pair;
 * logs in with the key and an OTP read off its hardware token, uses the access token on the
 * website, and refreshes — present the expired access token, answer the prompt with the refresh
 * token and a new OTP. Phases mirror model/hw-token-2fa/device.machine.ts.
 *
 * The device cannot tell which of its requests a TokenGrant or Denied answers beyond its phase
 * (the exchange it has open); the ResourceServer's answers change nothing.
 */
import { Context, Data, Effect, Ref, Schema } from "effect"
import { AccessRequest, LoginRequest, RefreshBegin, RefreshRequest, ToDevice } from "../../spec/hw-token-2fa/messages.ts"
import type { HardwareToken } from "./token.ts"

export type DevicePhase = "idle" | "loggingIn" | "active" | "awaitingPrompt" | "refreshing"

export class DeviceRejection extends Data.TaggedError("DeviceRejection")<{
  readonly reason: "malformed" | "not-now"
}> {}

export interface DeviceState {
  readonly phase: DevicePhase
  readonly accessToken: string | null
  readonly refreshToken: Uint8Array | null
}

export interface DeviceStep {
  /** Messages to send, each to `auth` or `rs`. */
  readonly sends: ReadonlyArray<{ readonly to: "auth" | "rs"; readonly bytes: Uint8Array }>
  readonly event: "stored" | "prompted" | "denied" | "ignored"
}

export interface UserDevice {
  readonly login: Effect.Effect<Uint8Array, DeviceRejection>
  readonly refresh: Effect.Effect<Uint8Array, DeviceRejection>
  readonly access: Effect.Effect<Uint8Array, DeviceRejection>
  readonly receive: (bytes: Uint8Array, from: "auth" | "rs") => Effect.Effect<DeviceStep, DeviceRejection>
  readonly timeout: Effect.Effect<void>
  readonly observe: Effect.Effect<DeviceState>
}

export const UserDevice = Context.GenericTag<UserDevice>("authlab/hw-token-2fa/UserDevice")

const ascii = new TextEncoder()
const decode = Schema.decodeUnknown(ToDevice)
const PENDING: ReadonlySet<DevicePhase> = new Set(["loggingIn", "awaitingPrompt", "refreshing"])
const notNow = new DeviceRejection({ reason: "not-now" })

export const makeUserDevice = (options: { readonly apiKey: Uint8Array; readonly token: HardwareToken }): Effect.Effect<UserDevice> =>
  Effect.gen(function*() {
    const state = yield* Ref.make<DeviceState>({ phase: "idle", accessToken: null, refreshToken: null })
    const set = (f: (s: DeviceState) => DeviceState) => Ref.update(state, f)

    const login = Effect.gen(function*() {
      const s = yield* Ref.get(state)
      if (s.phase !== "idle" && s.phase !== "loggingIn") return yield* notNow
      const otp = yield* options.token.press
      yield* set((x) => ({ ...x, phase: "loggingIn" }))
      return LoginRequest.encode(LoginRequest.make({ apiKey: options.apiKey, otp: ascii.encode(otp) }))
    }).pipe(Effect.withSpan("UserDevice.login"))

    const refresh = Effect.gen(function*() {
      const s = yield* Ref.get(state)
      if (s.phase !== "active" || s.accessToken === null) return yield* notNow
      yield* set((x) => ({ ...x, phase: "awaitingPrompt" }))
      return RefreshBegin.encode(RefreshBegin.make({ accessToken: s.accessToken }))
    })

    const access = Effect.gen(function*() {
      const s = yield* Ref.get(state)
      if (s.phase !== "active" || s.accessToken === null) return yield* notNow
      return AccessRequest.encode(AccessRequest.make({ accessToken: s.accessToken }))
    })

    const receive = Effect.fn("UserDevice.receive")(function*(bytes: Uint8Array, from: "auth" | "rs") {
      const decoded = yield* Effect.either(decode(bytes))
      if (decoded._tag === "Left") return yield* new DeviceRejection({ reason: "malformed" })
      const m = decoded.right
      const s = yield* Ref.get(state)
      const ignored: DeviceStep = { sends: [], event: "ignored" }
      if (from === "rs") return ignored
      switch (m._tag) {
        case "TokenGrant":
          if (s.phase !== "loggingIn" && s.phase !== "refreshing") return ignored
          yield* Ref.set(state, { phase: "active", accessToken: m.accessToken, refreshToken: m.refreshToken })
          return { sends: [], event: "stored" } satisfies DeviceStep
        case "RefreshPrompt": {
          if (s.phase !== "awaitingPrompt" || s.refreshToken === null) return ignored
          const otp = yield* options.token.press
          yield* set((x) => ({ ...x, phase: "refreshing" }))
          const bytes = RefreshRequest.encode(RefreshRequest.make({ refreshToken: s.refreshToken, otp: ascii.encode(otp) }))
          return { sends: [{ to: "auth", bytes }], event: "prompted" } satisfies DeviceStep
        }
        case "Denied":
          if (s.phase === "loggingIn") yield* set((x) => ({ ...x, phase: "idle" }))
          else if (s.phase === "awaitingPrompt" || s.phase === "refreshing") yield* Ref.set(state, { phase: "idle", accessToken: null, refreshToken: null })
          else return ignored
          return { sends: [], event: "denied" } satisfies DeviceStep
        case "AccessGranted":
          return ignored
      }
    })

    const timeout = Ref.update(state, (s) =>
      !PENDING.has(s.phase) ? s : { ...s, phase: (s.phase === "loggingIn" ? "idle" : "active") as DevicePhase }
    )

    return { login, refresh, access, receive, timeout, observe: Ref.get(state) } satisfies UserDevice
  })
