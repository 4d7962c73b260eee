/**
 * P1 ID token (an eID card): attributes behind a PIN (SPEC.md §Claim 1 (11), §Decisions). On the
 * right PIN it releases its attributes as canonical JSON, signed by the chip (Ed25519) over the
 * reader's nonce, so the PC that relays them cannot alter them. Three wrong PINs block it. The
 * PIN is compared in constant time and held `Redacted`.
 */
import { Data, Effect, Redacted } from "effect"
import { constantTimeEqual } from "../crypto/bytes.ts"
import { Crypto, type CryptoInputError } from "../crypto/services.ts"
import { cardReadInput } from "./token.ts"

export const MAX_WRONG_PINS = 3

export class CardRefused extends Data.TaggedError("CardRefused")<{ readonly reason: "wrong-pin" | "blocked" }> {}

export interface CardRead {
  readonly attributes: string
  readonly cardKey: Uint8Array
  readonly cardProof: Uint8Array
}

export interface IdToken {
  readonly cardKey: Uint8Array
  readonly read: (pin: Redacted.Redacted<string>, nonce: Uint8Array) => Effect.Effect<CardRead, CardRefused | CryptoInputError>
}

/** Canonical JSON: keys sorted, no whitespace. */
export const canonicalAttributes = (attrs: Readonly<Record<string, string>>): string =>
  JSON.stringify(Object.fromEntries(Object.keys(attrs).sort().map((k) => [k, attrs[k]!])))

const utf8 = new TextEncoder()

export const makeIdToken = (options: {
  readonly attributes: Readonly<Record<string, string>>
  readonly pin: Redacted.Redacted<string>
  readonly chipKey: Redacted.Redacted<Uint8Array>
}) =>
  Effect.gen(function*() {
    const crypto = yield* Crypto
    const cardKey = yield* crypto.ed25519PublicKey(Redacted.value(options.chipKey))
    const attributes = canonicalAttributes(options.attributes)
    let wrong = 0
    const token: IdToken = {
      cardKey,
      read: (pin, nonce) =>
        Effect.gen(function*() {
          if (wrong >= MAX_WRONG_PINS) return yield* new CardRefused({ reason: "blocked" })
          // compare in constant time: the PIN is the secret guarding the attributes
          if (!constantTimeEqual(utf8.encode(Redacted.value(pin)), utf8.encode(Redacted.value(options.pin)))) {
            wrong++
            return yield* new CardRefused({ reason: wrong >= MAX_WRONG_PINS ? "blocked" : "wrong-pin" })
          }
          wrong = 0
          const cardProof = yield* crypto.ed25519Sign(Redacted.value(options.chipKey), cardReadInput(nonce, attributes))
          return { attributes, cardKey, cardProof }
        })
    }
    return token
  })
