/**
 * P3 HardwareToken as a pure XState v5 machine: an HOTP generator (RFC 4226) with a key id and
 * an event counter. Each press shows the OTP of the current counter and advances it (RFC 4226
 * §7.2: the token increments its counter after generating a value). The system reads the OTP
 * (`otpOf`) before the press; the token never talks to the network.
 */
import { assign, setup } from "xstate"
import type { OtpTerm } from "./terms.ts"

export interface TokenContext {
  /** The key id the AuthServer links to a username. */
  readonly tokenId: string
  readonly counter: number
}

export type TokenEvent = { readonly type: "user.press" }

export const tokenMachine = setup({
  types: {
    context: {} as TokenContext,
    events: {} as TokenEvent,
    input: {} as { readonly tokenId: string; readonly counter?: number }
  },
  actions: {
    advance: assign(({ context }) => ({ counter: context.counter + 1 }))
  }
}).createMachine({
  id: "hardwareToken",
  description: "P3 hardware token: shows HOTP(K, C) and increments C on every press.",
  meta: { spec: "spec/hw-token-2fa/SPEC.md §1" },
  context: ({ input }) => ({ tokenId: input.tokenId, counter: input.counter ?? 0 }),
  initial: "ready",
  states: {
    ready: {
      description: "Idle; a press shows the next OTP.",
      on: { "user.press": { actions: "advance" } }
    }
  }
})

/** The OTP a press shows now (before the press advances the counter). */
export const otpOf = (c: TokenContext): OtpTerm => ({ token: c.tokenId, counter: c.counter })
