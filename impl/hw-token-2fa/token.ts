/**
 * P3 HardwareToken: an HOTP generator (RFC 4226, impl/otp) with a key id. Each press shows the
 * OTP of the current counter and advances it (RFC 4226 §7.2). Its secret is provisioned to the
 * AuthServer out of band (an `otpauth://` Key URI, impl/otp/uri.ts).
 */
import { Context, Effect, Redacted, Ref } from "effect"
import { hotp } from "../otp/otp.ts"

export interface HardwareToken {
  readonly keyId: string
  /** The code shown now; the counter moves on. */
  readonly press: Effect.Effect<string>
  readonly counter: Effect.Effect<number>
}

export const HardwareToken = Context.GenericTag<HardwareToken>("authlab/hw-token-2fa/HardwareToken")

export const OTP_DIGITS = 6

export const makeHardwareToken = (keyId: string, secret: Redacted.Redacted<Uint8Array>, counter = 0): Effect.Effect<HardwareToken> =>
  Effect.map(Ref.make(counter), (ref) => ({
    keyId,
    press: Ref.modify(ref, (c) => [hotp(Redacted.value(secret), c, { digits: OTP_DIGITS }), c + 1] as const),
    counter: Ref.get(ref)
  }))
