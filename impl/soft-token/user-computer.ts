/**
 * P1 user computer (PC with a card reader), SPEC.md §Claim 1 (8)–(11), (13): opens C2, sends the
 * OTP the user typed, and relays the ID token's signed read. In `hardened` it first shows what the
 * service says the OTP belongs to — the device's name and its key fingerprint — and reads the card
 * only after the user confirms (`confirm`); `cancel` abandons the exchange.
 */
import { Data, Effect, type Redacted, Schema } from "effect"
import { AttributeResponse, OtpSubmit, ToUserComputer } from "../../spec/soft-token/messages.ts"
import type { CryptoInputError } from "../crypto/services.ts"
import type { CardRefused, IdToken } from "./id-token.ts"
import { displayFingerprint } from "./token.ts"

export type ComputerPhase = "idle" | "submitted" | "confirming" | "reading"

export class ComputerRejection extends Data.TaggedError("ComputerRejection")<{ readonly reason: "malformed" | "unexpected" }> {}

export interface UserComputer {
  readonly type: (otp: string) => Effect.Effect<Uint8Array>
  /** Bytes from the service on C2; `sends` go back on C2. */
  readonly receive: (bytes: Uint8Array) => Effect.Effect<{ readonly sends: ReadonlyArray<Uint8Array> }, ComputerRejection | CardRefused | CryptoInputError>
  readonly confirm: Effect.Effect<ReadonlyArray<Uint8Array>, ComputerRejection | CardRefused | CryptoInputError>
  readonly cancel: Effect.Effect<void>
  readonly observe: Effect.Effect<{ readonly phase: ComputerPhase; readonly shown: { readonly deviceName: string; readonly fingerprint: string } | null; readonly tokens: number }>
}

const decode = Schema.decodeUnknown(ToUserComputer)

export const makeUserComputer = (options: { readonly idToken: IdToken; readonly pin: Redacted.Redacted<string> }): UserComputer => {
  let phase: ComputerPhase = "idle"
  let nonce: Uint8Array | null = null
  let shown: { deviceName: string; fingerprint: string } | null = null
  let tokens = 0

  const read = Effect.gen(function*() {
    phase = "reading"
    const result = yield* Effect.either(options.idToken.read(options.pin, nonce!))
    phase = "idle"
    nonce = null
    shown = null
    if (result._tag === "Left") return yield* Effect.fail(result.left)
    return [AttributeResponse.encode(AttributeResponse.make(result.right))]
  })

  return {
    type: (otp) =>
      Effect.sync(() => {
        phase = "submitted"
        return OtpSubmit.encode(OtpSubmit.make({ otp }))
      }),
    receive: (bytes) =>
      Effect.gen(function*() {
        const m = yield* Effect.mapError(decode(bytes), () => new ComputerRejection({ reason: "malformed" }))
        switch (m._tag) {
          case "AttributeRequest": {
            if (phase !== "submitted") return yield* new ComputerRejection({ reason: "unexpected" })
            nonce = m.nonce
            if (m.fingerprint.length > 0) {
              phase = "confirming"
              shown = { deviceName: m.deviceName, fingerprint: displayFingerprint(m.fingerprint) }
              return { sends: [] }
            }
            return { sends: yield* read }
          }
          case "TokenIssued":
            tokens++
            return { sends: [] }
          case "Refused":
            if (phase === "submitted") phase = "idle"
            return { sends: [] }
        }
      }),
    confirm: Effect.suspend((): Effect.Effect<ReadonlyArray<Uint8Array>, ComputerRejection | CardRefused | CryptoInputError> => (phase === "confirming" ? read : Effect.fail(new ComputerRejection({ reason: "unexpected" })))),
    cancel: Effect.sync(() => {
      phase = "idle"
      nonce = null
      shown = null
    }),
    observe: Effect.sync(() => ({ phase, shown, tokens }))
  }
}
