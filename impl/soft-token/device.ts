/**
 * P1 electronic device (the phone's app over its secure element), SPEC.md §Claim 1 (2)–(3),
 * (6)–(7), (13) and §Usage, one code path for every `Policy`.
 *
 * It never holds sk_dev: every signature is the secure element's. `request` opens C1 (the caller
 * names the connection), `receive` takes what arrives on C1 or from a relying party and returns
 * what to send back; what the screen shows is in `observe().display`. The same code, asked to
 * request a token for another public key (`claimKey`), is the attacker's own phone.
 */
import { Data, Effect, Schema } from "effect"
import { IssueBegin, IssueRequest, PossessionProof, Present, ToDevice } from "../../spec/soft-token/messages.ts"
import type { Policy } from "../../spec/soft-token/variants.ts"
import type { CryptoInputError } from "../crypto/services.ts"
import type { SecureElement } from "./secure-element.ts"
import { displayFingerprint, fingerprintOf, issuePopInput, possessionInput, publicKeyOfJwk, tokenString, unverifiedClaims } from "./token.ts"
import { constantTimeEqual } from "../crypto/bytes.ts"

export type DevicePhase = "idle" | "awaitingNonce" | "awaitingOtp" | "displaying" | "holding" | "presenting" | "done"

export class DeviceRejection extends Data.TaggedError("DeviceRejection")<{
  readonly reason: "malformed" | "unexpected" | "not-our-token" | "refused"
}> {}

export interface DeviceObservation {
  readonly phase: DevicePhase
  /** The screen: the OTP and, in `hardened`, the fingerprint of the device's key. */
  readonly display: { readonly otp: string; readonly fingerprint: string | null } | null
  readonly token: string | null
}

export type DeviceEvent = "nonce-signed" | "otp-shown" | "token-stored" | "challenge-answered" | "refused"

export interface Device {
  readonly publicKey: Uint8Array
  readonly request: (conn: string, claimKey?: Uint8Array) => Effect.Effect<Uint8Array>
  readonly receive: (bytes: Uint8Array) => Effect.Effect<{ readonly sends: ReadonlyArray<Uint8Array>; readonly event: DeviceEvent }, DeviceRejection | CryptoInputError>
  readonly use: (conn: string) => Effect.Effect<Uint8Array, DeviceRejection>
  readonly observe: Effect.Effect<DeviceObservation>
}

const decode = Schema.decodeUnknown(ToDevice)

export const makeDevice = (options: { readonly policy: Policy; readonly se: SecureElement; readonly name: string }): Device => {
  const { policy, se } = options
  let phase: DevicePhase = "idle"
  let claimKey = se.publicKey
  let display: DeviceObservation["display"] = null
  let token: string | null = null

  const issueRequest = (pop: Uint8Array) => IssueRequest.encode(IssueRequest.make({ publicKey: claimKey, deviceName: options.name, pop }))

  return {
    publicKey: se.publicKey,
    request: (_conn, key) =>
      Effect.sync(() => {
        claimKey = key ?? se.publicKey
        phase = policy.proofOfPossession ? "awaitingNonce" : "awaitingOtp"
        return policy.proofOfPossession ? IssueBegin.encode(IssueBegin.make({})) : issueRequest(new Uint8Array(0))
      }),
    receive: (bytes) =>
      Effect.gen(function*() {
        const m = yield* Effect.mapError(decode(bytes), () => new DeviceRejection({ reason: "malformed" }))
        switch (m._tag) {
          case "IssueNonce": {
            if (phase !== "awaitingNonce") return yield* new DeviceRejection({ reason: "unexpected" })
            const pop = yield* se.sign(issuePopInput(m.nonce, claimKey, options.name))
            phase = "awaitingOtp"
            return { sends: [issueRequest(pop)], event: "nonce-signed" as const }
          }
          case "OtpIssued": {
            if (phase !== "awaitingOtp") return yield* new DeviceRejection({ reason: "unexpected" })
            phase = "displaying"
            display = { otp: m.otp, fingerprint: policy.showFingerprint ? displayFingerprint(fingerprintOf(se.publicKey)) : null }
            return { sends: [], event: "otp-shown" as const }
          }
          case "TokenIssued": {
            if (phase !== "displaying" && phase !== "holding") return yield* new DeviceRejection({ reason: "unexpected" })
            const t = tokenString(m.token)
            const cnf = unverifiedClaims(t)?.["cnf"] as { jwk?: unknown } | undefined
            const bound = cnf === undefined ? undefined : publicKeyOfJwk(cnf.jwk)
            // Keep only a token for the key we asked for.
            if (bound === undefined || !constantTimeEqual(bound, claimKey))
              return yield* new DeviceRejection({ reason: "not-our-token" })
            token = t
            display = null
            phase = "holding"
            return { sends: [], event: "token-stored" as const }
          }
          case "Refused": {
            if (phase === "awaitingNonce" || phase === "awaitingOtp") {
              phase = "done"
              display = null
            } else if (phase === "presenting") phase = "holding"
            return { sends: [], event: "refused" as const }
          }
          case "RpChallenge": {
            if (phase !== "presenting" || token === null) return yield* new DeviceRejection({ reason: "unexpected" })
            const signature = yield* se.sign(possessionInput(m.nonce, new TextEncoder().encode(token)))
            phase = "holding"
            return { sends: [PossessionProof.encode(PossessionProof.make({ signature }))], event: "challenge-answered" as const }
          }
        }
      }),
    use: (_conn) =>
      Effect.gen(function*() {
        if (phase !== "holding" || token === null) return yield* new DeviceRejection({ reason: "unexpected" })
        phase = "presenting"
        return Present.encode(Present.make({ token: new TextEncoder().encode(token) }))
      }),
    observe: Effect.sync(() => ({ phase, display, token }))
  }
}
