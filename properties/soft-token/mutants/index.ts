/**
 * P1 mutants: the hardened protocol with exactly one deliberate flaw each, applied from outside
 * the shipped code. On the model side a flaw overrides a named guard of a participant machine
 * (`machine.provide`); on the implementation side it decorates the real services — their store,
 * the crypto they verify with, the service itself, the relying party's token check, the decoder.
 * Every mutant must be caught ("killed") on the implementation by random runs alone, and, when it
 * has a model side, in the model; the test suite and the audit check both.
 */
import { Clock, Effect, Exit, Schema } from "effect"
import { AttributeRequest, ToService } from "../../../spec/soft-token/messages.ts"
import { splitAnyFrame } from "../../../spec/codec.ts"
import type { Machines } from "../../../model/soft-token/system.ts"
import type { ServiceOptions, SoftTokenService } from "../../../impl/soft-token/service.ts"
import type { IssuanceStore } from "../../../impl/soft-token/store.ts"
import { unverifiedClaims } from "../../../impl/soft-token/token.ts"
import { steppedClock } from "../../../impl/clock.ts"
import type { MutantDefinition } from "../../definition.ts"
import { lenientDecoder } from "../../harness/lenient-decoder.ts"
import type { SoftTokenImplFlaw } from "../impl-world.ts"

export interface SoftTokenModelFlaw {
  /** The participant machines with the flaw (overrides of their named guards). */
  readonly machines: (m: Machines) => Machines
}

type SoftTokenMutant = MutantDefinition<SoftTokenModelFlaw, SoftTokenImplFlaw>

const serviceGuards = (guards: Record<string, (...args: ReadonlyArray<never>) => boolean>): SoftTokenModelFlaw => ({
  machines: (m) => ({ ...m, service: m.service.provide({ guards: guards as never }) })
})

/** A store whose writes of one kind do nothing. */
const storeWith = (change: (s: IssuanceStore) => Partial<IssuanceStore>) => (s: IssuanceStore): IssuanceStore => ({ ...s, ...change(s) })

/** A clock that stands still at the moment the service was built (time read once, at start-up). */
const frozenClock = (service: SoftTokenService): SoftTokenService => {
  let frozen: number | undefined
  const clock = (now: number): Clock.Clock => steppedClock(() => now)
  return {
    receive: (conn, bytes) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        frozen ??= now
        return Effect.withClock(service.receive(conn, bytes), clock(frozen))
      })
  }
}

/** The service's AttributeRequests re-encoded without the device's name and key fingerprint. */
const withoutConsentScreen = (service: SoftTokenService): SoftTokenService => ({
  receive: (conn, bytes) =>
    Effect.map(service.receive(conn, bytes), (step) => ({
      ...step,
      replies: step.replies.map((r) => {
        if (r.bytes[1] !== 8) return r
        const nonce = splitAnyFrame(r.bytes)!.fields[0]!
        return { ...r, bytes: AttributeRequest.encode(AttributeRequest.make({ nonce: Uint8Array.from(nonce), deviceName: "", fingerprint: new Uint8Array(0) })) }
      })
    }))
})

const strict = Schema.decodeUnknown(ToService)

const lenientDecode: NonNullable<ServiceOptions["decode"]> = lenientDecoder(strict)

export const mutants: ReadonlyArray<SoftTokenMutant> = [
  {
    name: "otp-not-deleted",
    flaw: "The service keeps an OTP after it matched (the store's `close(…, \"used\")` does nothing), so it can be typed again.",
    expectedKilledBy: ["P1.otp-single-use"],
    model: serviceGuards({ consumesOtp: () => false }),
    impl: { store: storeWith((s) => ({ close: (session, why) => (why === "used" ? Effect.void : s.close(session, why)) })) }
  },
  {
    name: "otp-without-connection",
    flaw: "The service checks that the OTP is one it issued but opens the read for the latest pending request, not for the C1 the OTP was recorded for.",
    expectedKilledBy: ["P1.session-binding"],
    impl: {
      store: storeWith((s) => ({
        openRead: (conn, read) =>
          Effect.flatMap(s.records, (records) => s.openRead(conn, { ...read, session: records.filter(([, r]) => r.otp !== null).at(-1)?.[0] ?? read.session }))
      }))
    }
  },
  {
    name: "no-expiry",
    flaw: "The service never expires an OTP (it reads the time once, when it starts).",
    expectedKilledBy: ["P1.otp-expiry"],
    // The service's clock stands still: its tick does nothing.
    model: { machines: (m) => ({ ...m, service: m.service.provide({ actions: { tick: () => {} } }) }) },
    impl: { service: frozenClock }
  },
  {
    name: "no-attempt-limit",
    flaw: "The service evaluates wrong OTPs without limit (revoking an OTP does nothing).",
    expectedKilledBy: ["P1.otp-guessing"],
    model: serviceGuards({ atLimit: () => false }),
    impl: { store: storeWith((s) => ({ close: (session, why) => (why === "revoked" ? Effect.void : s.close(session, why)) })) }
  },
  {
    name: "no-proof-of-possession",
    flaw: "The service accepts any proof of possession: its signature check cannot fail (the verification's result is tested for truthiness).",
    expectedKilledBy: ["P1.key-confirmation"],
    model: serviceGuards({ popValid: () => true }),
    impl: { serviceCrypto: (c) => ({ ...c, ecdsaP256Verify: () => Exit.void }) }
  },
  {
    name: "no-fingerprint",
    flaw: "The PC asks for the PIN without showing which device the OTP belongs to (the service's AttributeRequest carries no name or fingerprint).",
    expectedKilledBy: ["P1.consent-phishing"],
    model: serviceGuards({ showsFingerprint: () => false }),
    impl: { service: withoutConsentScreen }
  },
  {
    name: "rp-skips-issuer-signature",
    flaw: "The relying party decodes the token without verifying the issuer's signature.",
    expectedKilledBy: ["P1.token-authenticity"],
    model: { machines: (m) => ({ ...m, relyingParty: m.relyingParty.provide({ guards: { issuerSigned: () => true } }) }) },
    impl: {
      verifyToken: (token) => {
        const claims = unverifiedClaims(token)
        return claims === undefined ? Effect.fail("undecodable") : Effect.succeed(claims)
      }
    }
  },
  {
    name: "possession-unchecked",
    flaw: "The relying party's check of the holder's proof of possession cannot fail (the verification's result is tested for truthiness).",
    expectedKilledBy: ["P1.possession"],
    model: { machines: (m) => ({ ...m, relyingParty: m.relyingParty.provide({ guards: { possessionValid: () => true } }) }) },
    // Only the check of the answer: the token's own ES256 signature (its signing input starts with `ey`) is still verified.
    impl: { rpCrypto: (c) => ({ ...c, ecdsaP256Verify: (key, message, signature) => (message[0] === 0x65 ? c.ecdsaP256Verify(key, message, signature) : Exit.void) }) }
  },
  {
    name: "lenient-decoder",
    flaw: "The service's decoder ignores trailing bytes after a well-formed message.",
    expectedKilledBy: ["P1.malformed-input"],
    impl: { decode: lenientDecode }
  },
  // Implementation-only coding mistakes (the model has no bytes, counters or effects to get wrong).
  {
    name: "attempt-count-off-by-one",
    flaw: "The store returns the wrong-OTP count from before the increment (`return wrong++`), so an OTP survives six wrong OTPs instead of five.",
    expectedKilledBy: ["P1.otp-guessing"],
    impl: { store: storeWith((s) => ({ countWrong: (session) => Effect.map(s.countWrong(session), (n) => n - 1) })) }
  },
  {
    name: "otp-prefix-compare",
    flaw: "The store matches a submitted OTP on a prefix (`stored.startsWith(submitted)`), so a short made-up OTP is accepted.",
    expectedKilledBy: ["P1.otp-guessing"],
    impl: {
      store: storeWith((s) => ({
        findValid: (otp) => Effect.map(s.records, (records) => records.find(([, r]) => r.otp !== null && r.otp.startsWith(otp))?.[0])
      }))
    }
  },
  {
    name: "read-not-recorded",
    flaw: "The service builds the effect that records the pending ID-token read but never yields it, so every card read is refused and no token is ever issued.",
    expectedKilledBy: ["P1.issuance-liveness"],
    impl: {
      store: storeWith((s) => ({
        openRead: (conn, read) => {
          void s.openRead(conn, read)
          return Effect.void
        }
      }))
    }
  },
  {
    name: "card-proof-unchecked",
    flaw: "The service's check of the chip's signature cannot fail (the verification's result is tested for truthiness), so an edited card read is accepted.",
    expectedKilledBy: ["P1.tampered-input"],
    impl: { serviceCrypto: (c) => ({ ...c, ed25519Verify: () => Exit.void }) }
  },
  {
    name: "nonce-not-consumed",
    flaw: "The store's `takeNonce` reads the C1's nonce without deleting it, so a refused request leaves it behind (state the design says the refusal uses up).",
    expectedKilledBy: ["P1.tampered-input"],
    impl: {
      store: storeWith((s) => ({
        takeNonce: (conn) =>
          Effect.flatMap(s.takeNonce(conn), (n) => (n === undefined ? Effect.succeed(undefined) : Effect.as(s.putNonce(conn, n), n)))
      }))
    }
  }
]
