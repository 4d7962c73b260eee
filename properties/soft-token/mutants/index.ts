/**
 * P1 mutants: the hardened participants with exactly one deliberate flaw each. Every mutant must
 * be caught ("killed") by at least one property, in the model or on the implementation; the test
 * suite and the audit both check it. A flaw in a policy switch applies to model and
 * implementation alike; a flaw in byte handling exists only in the implementation.
 */
import { Schema } from "effect"
import { ToService } from "../../../spec/soft-token/messages.ts"
import { hardened, type Policy } from "../../../spec/soft-token/variants.ts"
import type { ServiceOptions } from "../../../impl/soft-token/service.ts"
import type { Mutant } from "../../suite.ts"
import { lenientDecoder } from "../../harness/lenient-decoder.ts"

export interface SoftTokenMutant extends Mutant {
  readonly policy: Policy
  /** An implementation-only flaw: the service's edge decoder. */
  readonly decode?: ServiceOptions["decode"]
}

const flawed = (name: string, change: Partial<Policy>): Policy => ({ ...hardened, ...change, name: `mutant:${name}` })

const strict = Schema.decodeUnknown(ToService)

const lenientDecode: NonNullable<ServiceOptions["decode"]> = lenientDecoder(strict)

export const mutants: ReadonlyArray<SoftTokenMutant> = [
  {
    name: "otp-not-deleted",
    flaw: "The service keeps an OTP after it matched, so it can be typed again.",
    expectedKilledBy: ["P1.otp-single-use"],
    policy: flawed("otp-not-deleted", { singleUse: false })
  },
  {
    name: "otp-without-connection",
    flaw: "The service checks that the OTP is one it issued but binds the submission to the latest pending request, not to the C1 the OTP was recorded for.",
    expectedKilledBy: ["P1.session-binding"],
    policy: flawed("otp-without-connection", { lookup: "latest-session" })
  },
  {
    name: "no-expiry",
    flaw: "The service never expires an OTP.",
    expectedKilledBy: ["P1.otp-expiry"],
    policy: flawed("no-expiry", { otpLifetimeSeconds: null })
  },
  {
    name: "no-attempt-limit",
    flaw: "The service evaluates wrong OTPs without limit.",
    expectedKilledBy: ["P1.otp-guessing"],
    policy: flawed("no-attempt-limit", { maxAttempts: null })
  },
  {
    name: "attributes-without-pk",
    flaw: "The service signs the attributes without pk_dev, so the token is a bearer token the relying party accepts from whoever shows it.",
    expectedKilledBy: ["P1.possession"],
    policy: flawed("attributes-without-pk", { bindKey: false })
  },
  {
    name: "no-proof-of-possession",
    flaw: "The service records a request for any public key without the secure element's signature over its nonce.",
    expectedKilledBy: ["P1.key-confirmation"],
    policy: flawed("no-proof-of-possession", { proofOfPossession: false })
  },
  {
    name: "no-fingerprint",
    flaw: "The PC asks for the PIN without showing which device the OTP belongs to.",
    expectedKilledBy: ["P1.consent-phishing"],
    policy: flawed("no-fingerprint", { showFingerprint: false })
  },
  {
    name: "rp-skips-issuer-signature",
    flaw: "The relying party decodes the token without verifying the issuer's signature.",
    expectedKilledBy: ["P1.token-authenticity"],
    policy: flawed("rp-skips-issuer-signature", { rpVerifiesIssuer: false })
  },
  {
    name: "lenient-decoder",
    flaw: "The service's decoder ignores trailing bytes after a well-formed message.",
    expectedKilledBy: ["P1.malformed-input"],
    policy: flawed("lenient-decoder", {}),
    decode: lenientDecode
  }
]

export const mutantNamed = (name: string): SoftTokenMutant => {
  const m = mutants.find((x) => x.name === name)
  if (m === undefined) throw new Error(`unknown soft-token mutant ${name}; known: ${mutants.map((x) => x.name).join(", ")}`)
  return m
}
