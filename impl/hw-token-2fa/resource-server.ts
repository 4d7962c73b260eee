/**
 * P3 ResourceServer (the website): grants access to the subject of a valid access token —
 * a JWS compact with EdDSA under the AuthServer's key (impl/jws: strict, fixed algorithm per
 * key), `typ` at+jwt, not expired against the Effect `Clock` (SPEC.md §2, §5).
 */
import { Context, Data, Effect, Schema } from "effect"
import { ACCESS_TOKEN_TYP, AccessGranted, Denied, ToResource } from "../../spec/hw-token-2fa/messages.ts"
import type { Crypto } from "../crypto/services.ts"
import { type JwtClaims, type VerificationKey, verifyJwt } from "../jws/jws.ts"

export class AccessRejection extends Data.TaggedError("AccessRejection")<{
  readonly reason: "expired" | "invalid"
  readonly reply: Uint8Array
}> {}

export interface AccessStep {
  readonly reply: Uint8Array
  readonly subject: string
  readonly claims: JwtClaims
}

export interface ResourceServer {
  readonly receive: (bytes: Uint8Array) => Effect.Effect<AccessStep, AccessRejection, Crypto>
}

export const ResourceServer = Context.GenericTag<ResourceServer>("authlab/hw-token-2fa/ResourceServer")

export const makeResourceServer = (options: { readonly authKey: VerificationKey }): ResourceServer => {
  const decode = Schema.decodeUnknown(ToResource)
  const refuse = (reason: "expired" | "invalid") =>
    new AccessRejection({ reason, reply: Denied.encode(Denied.make({ reason: reason === "expired" ? "expired" : "denied" })) })
  return {
    receive: Effect.fn("ResourceServer.receive")(function*(bytes: Uint8Array) {
      const decoded = yield* Effect.either(decode(bytes))
      if (decoded._tag === "Left") return yield* refuse("invalid")
      const verified = yield* Effect.either(
        verifyJwt(decoded.right.accessToken, [options.authKey], {
          typ: ACCESS_TOKEN_TYP,
          requiredClaims: ["exp", "sub"],
          clockToleranceSeconds: 0
        })
      )
      if (verified._tag === "Left") return yield* refuse(verified.left.reason === "Expired" ? "expired" : "invalid")
      const sub = verified.right.claims.sub
      if (typeof sub !== "string" || sub.length === 0 || sub.length > 64) return yield* refuse("invalid")
      return { reply: AccessGranted.encode(AccessGranted.make({ subject: sub })), subject: sub, claims: verified.right.claims } satisfies AccessStep
    })
  }
}
