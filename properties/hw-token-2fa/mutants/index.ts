/**
 * P3 mutants: the hardened participants with exactly one deliberate flaw each, every one a
 * policy switch, so it applies to the model and the implementation alike. Each must be killed by
 * the properties it names, in the model or on the implementation (properties/hw-token-2fa/
 * mutants.test.ts and the audit check it).
 */
import { Schema } from "effect"
import { ToAuth } from "../../../spec/hw-token-2fa/messages.ts"
import { hardened, type Policy } from "../../../spec/hw-token-2fa/variants.ts"
import type { AuthServerOptions } from "../../../impl/hw-token-2fa/auth-server.ts"
import type { Mutant } from "../../suite.ts"
import { lenientDecoder } from "../../harness/lenient-decoder.ts"

export interface HwToken2faMutant extends Mutant {
  readonly policy: Policy
  /** An implementation-only flaw: the AuthServer's edge decoder. */
  readonly decode?: AuthServerOptions["decode"]
}

const strict = Schema.decodeUnknown(ToAuth)

const lenientDecode: NonNullable<AuthServerOptions["decode"]> = lenientDecoder(strict)

const flawed = (name: string, change: Partial<Policy>): Policy => ({ ...hardened, ...change, name: `mutant:${name}` })

export const mutants: ReadonlyArray<HwToken2faMutant> = [
  {
    name: "otp-counter-not-advanced",
    flaw: "After a match the server stores the matched counter, not the one after it, so the same OTP verifies again.",
    expectedKilledBy: ["P3.otp-single-use"],
    policy: flawed("otp-counter-not-advanced", { otpSpent: false })
  },
  {
    name: "look-ahead-unbounded",
    flaw: "The server searches every later counter for a match instead of a bounded look-ahead window.",
    expectedKilledBy: ["P3.otp-window"],
    policy: flawed("look-ahead-unbounded", { lookAhead: "unbounded" })
  },
  {
    name: "otp-any-users-token",
    flaw: "The server accepts an OTP that matches any enrolled token, not the one linked to the username.",
    expectedKilledBy: ["P3.otp-binding"],
    policy: flawed("otp-any-users-token", { otpBinding: "any-token" })
  },
  {
    name: "refresh-not-consumed",
    flaw: "The server issues a successor without marking the presented refresh token used.",
    expectedKilledBy: ["P3.refresh-single-use"],
    policy: flawed("refresh-not-consumed", { consumeRefresh: false })
  },
  {
    name: "family-not-revoked",
    flaw: "A reused refresh token is refused, but its family — the successor a thief or the victim holds — stays valid.",
    expectedKilledBy: ["P3.reuse-revokes-family"],
    policy: flawed("family-not-revoked", { revokeFamilyOnReuse: false })
  },
  {
    name: "no-throttling",
    flaw: "The server counts no failed OTP attempts.",
    expectedKilledBy: ["P3.attempt-throttling"],
    policy: flawed("no-throttling", { maxOtpFailures: null })
  },
  {
    name: "lockout-permanent",
    flaw: "A throttled account stays locked: three wrong OTPs from anyone holding the API key lock the user out for good.",
    expectedKilledBy: ["P3.rotation-liveness"],
    policy: flawed("lockout-permanent", { lockout: "permanent" })
  },
  {
    name: "expiry-ignored",
    flaw: "The website verifies the access token's signature but not its expiry.",
    expectedKilledBy: ["P3.access-expiry"],
    policy: flawed("expiry-ignored", { checkAccessExpiry: false })
  },
  {
    name: "lenient-decoder",
    flaw: "The AuthServer's decoder ignores trailing bytes after a well-formed message (implementation only).",
    expectedKilledBy: ["P3.malformed-input"],
    policy: flawed("lenient-decoder", {}),
    decode: lenientDecode
  }
]

export const mutantNamed = (name: string): HwToken2faMutant => {
  const m = mutants.find((x) => x.name === name)
  if (m === undefined) throw new Error(`unknown hw-token-2fa mutant ${name}; known: ${mutants.map((x) => x.name).join(", ")}`)
  return m
}
