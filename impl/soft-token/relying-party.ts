/**
 * P1 relying party, SPEC.md §Usage: checks a presented soft token, then a fresh secure-element
 * signature under the key the token binds. Checks in a fixed order, each with its own reason:
 *   1. `malformed`          — the message does not decode;
 *   2. `bad-token`          — the JWS does not verify under the issuer's key, or has expired
 *                             (RFC 7519 `exp` against the Effect `Clock`);
 *   3. `unbound-token`      — no usable `cnf.jwk` (RFC 7800);
 *   4. on the answer: `no-challenge`, `bad-possession` (ECDSA P-256 under the bound key over the
 *      `possession` transcript: our challenge and the token's hash).
 * A challenge is single use: answered or not, the next PossessionProof on that connection fails.
 */
import { Data, Effect, Schema } from "effect"
import { NONCE_BYTES, Refused, RpChallenge, ToRelyingParty } from "../../spec/soft-token/messages.ts"
import { Crypto, SecureRandom } from "../crypto/services.ts"
import { type VerificationKey, verifyJwt } from "../jws/jws.ts"
import { possessionInput, publicKeyOfJwk, tokenString } from "./token.ts"

export type RpRejectionReason = "malformed" | "bad-token" | "unbound-token" | "no-challenge" | "bad-possession"

export class RpRejection extends Data.TaggedError("RpRejection")<{ readonly reason: RpRejectionReason; readonly reply?: Uint8Array }> {}

export type RpStep =
  | { readonly _tag: "challenged"; readonly reply: Uint8Array }
  | { readonly _tag: "accepted"; readonly attributes: Readonly<Record<string, string>>; readonly publicKey: Uint8Array }

export interface RelyingParty {
  readonly receive: (conn: string, bytes: Uint8Array) => Effect.Effect<RpStep, RpRejection>
}

const decode = Schema.decodeUnknown(ToRelyingParty)

export interface RelyingPartyOptions {
  readonly issuerKeys: ReadonlyArray<VerificationKey>
  /** How a presented token is checked (default: the JWS under `issuerKeys`, `impl/jws`'s fixed order); the claims, or a failure. */
  readonly verifyToken?: (token: string, issuerKeys: ReadonlyArray<VerificationKey>) => Effect.Effect<Record<string, unknown>, unknown, Crypto>
}

const verifyIssuer = (token: string, issuerKeys: ReadonlyArray<VerificationKey>) => Effect.map(verifyJwt(token, issuerKeys), (v) => v.claims as Record<string, unknown>)

export const makeRelyingParty = (options: RelyingPartyOptions) =>
  Effect.gen(function*() {
    const crypto = yield* Crypto
    const random = yield* SecureRandom
    const verifyToken = options.verifyToken ?? verifyIssuer
    const pending = new Map<string, { readonly token: Uint8Array; readonly claims: Record<string, unknown>; readonly publicKey: Uint8Array; readonly nonce: Uint8Array }>()
    const refused = Refused.encode(Refused.make({ reason: "denied" }))

    const present = (conn: string, token: Uint8Array) =>
      Effect.gen(function*() {
        const text = tokenString(token)
        const claims = yield* verifyToken(text, options.issuerKeys).pipe(
          Effect.provideService(Crypto, crypto),
          Effect.mapError(() => new RpRejection({ reason: "bad-token", reply: refused }))
        )
        const cnf = claims["cnf"] as { jwk?: unknown } | undefined
        const publicKey = cnf === undefined ? undefined : publicKeyOfJwk(cnf.jwk)
        if (publicKey === undefined) return yield* new RpRejection({ reason: "unbound-token", reply: refused })
        const nonce = yield* random.bytes(NONCE_BYTES)
        pending.set(conn, { token, claims, publicKey, nonce })
        const step: RpStep = { _tag: "challenged", reply: RpChallenge.encode(RpChallenge.make({ nonce })) }
        return step
      })

    const proof = (conn: string, signature: Uint8Array) =>
      Effect.gen(function*() {
        const p = pending.get(conn)
        pending.delete(conn)
        if (p === undefined) return yield* new RpRejection({ reason: "no-challenge" })
        const attributes = (p.claims["attrs"] ?? {}) as Record<string, string>
        yield* Effect.mapError(crypto.ecdsaP256Verify(p.publicKey, possessionInput(p.nonce, p.token), signature), () => new RpRejection({ reason: "bad-possession" }))
        const step: RpStep = { _tag: "accepted", attributes, publicKey: p.publicKey }
        return step
      })

    const rp: RelyingParty = {
      receive: (conn, bytes) =>
        Effect.gen(function*() {
          const m = yield* Effect.mapError(decode(bytes), () => new RpRejection({ reason: "malformed" }))
          return m._tag === "Present" ? yield* present(conn, m.token) : yield* proof(conn, m.signature)
        })
    }
    return rp
  })
