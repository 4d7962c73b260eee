/**
 * Symbolic terms of P1 (perfect-crypto assumption, SECURITY.md §Model): a key is a name
 * (`dev`, `evil`, `iss`, `card-alice`); a signature is the pair (key name, covered fields) and
 * only the key's holder can make it; a fingerprint is a function of the public key alone; nonces
 * are fresh names handed in by the system; OTPs are names from a finite space (two sessions may
 * share one), and a guess never equals an issued OTP.
 */
import { Labels } from "../../spec/soft-token/messages.ts"

export interface Sig {
  readonly key: string
  readonly over: string
}

export const sign = (key: string, label: string, fields: ReadonlyArray<string>): Sig => ({ key, over: [label, ...fields].join("|") })

export const sigEquals = (a: Sig | null, b: Sig): boolean => a !== null && a.key === b.key && a.over === b.over

/** The soft token: the issuer's signature over the attributes and pk_dev. */
export interface SymToken {
  readonly signer: string
  readonly attrs: string
  readonly pk: string
}

export const ISSUER_KEY = "iss"

export const tokenId = (t: SymToken): string => `${t.signer}:${t.attrs}:${t.pk}`

export const fingerprint = (pk: string): string => `fp(${pk})`

export const popOver = (nonce: string, pk: string, name: string): ReadonlyArray<string> => [nonce, pk, name]
export const issuePop = (key: string, nonce: string, pk: string, name: string): Sig => sign(key, Labels.issuePop, popOver(nonce, pk, name))
export const cardKey = (attrs: string): string => `card-${attrs}`
export const cardProof = (attrs: string, nonce: string): Sig => sign(cardKey(attrs), Labels.cardRead, [nonce, attrs])
export const possessionOver = (nonce: string, token: SymToken): ReadonlyArray<string> => [nonce, tokenId(token)]

/** The symbolic wire messages: the same tags as spec/soft-token/messages.ts, terms for bytes. */
export type SymMessage =
  | { readonly _tag: "IssueBegin" }
  | { readonly _tag: "IssueNonce"; readonly nonce: string }
  | { readonly _tag: "IssueRequest"; readonly publicKey: string; readonly deviceName: string; readonly pop: Sig | null }
  | { readonly _tag: "OtpIssued"; readonly otp: string }
  | { readonly _tag: "TokenIssued"; readonly token: SymToken }
  | { readonly _tag: "Refused" }
  | { readonly _tag: "OtpSubmit"; readonly otp: string }
  | { readonly _tag: "AttributeRequest"; readonly nonce: string; readonly deviceName: string | null; readonly fingerprint: string | null }
  | { readonly _tag: "AttributeResponse"; readonly attributes: string; readonly cardProof: Sig }
  | { readonly _tag: "Present"; readonly token: SymToken }
  | { readonly _tag: "RpChallenge"; readonly nonce: string }
  | { readonly _tag: "PossessionProof"; readonly signature: Sig }

/** An emitted send: to the peer of connection `conn`. */
export interface SendParams {
  readonly conn: string
  readonly message: SymMessage
}
