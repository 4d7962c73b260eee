/**
 * Symbolic terms of P5 (perfect-crypto assumption, SECURITY.md §Model): a key is a name and an
 * epoch, a MAC is the pair (key name, covered fields) and can be made only by a holder of the key,
 * a nonce is a fresh name handed in by the system. Two keys are equal exactly when their names are.
 */
import { Labels } from "../../spec/rolling-key/messages.ts"

export interface Key {
  readonly name: string
  readonly epoch: number
}

export interface Mac {
  readonly key: string
  readonly over: string
}

export const mac = (key: Key, label: string, fields: ReadonlyArray<string>): Mac => ({
  key: key.name,
  over: [label, ...fields].join("|")
})

export const macEquals = (a: Mac | null, b: Mac): boolean => a !== null && a.key === b.key && a.over === b.over

/** K0 in `claimed`: derived from the server's rolling-key input alone. */
export const initialKeyFromInput = (serverInput: string): Key => ({ name: `K0(${serverInput})`, epoch: 0 })

/** K0 in `hardened`: derived from the X25519 secret of the two ephemeral keys (symmetric in them). */
export const initialKeyFromDh = (clientEphemeral: string, serverEphemeral: string): Key => ({
  name: `K0(dh(${clientEphemeral},${serverEphemeral}))`,
  epoch: 0
})

/** K_{i+1} = HKDF(K_i, salt = rolling input) — the name records the derivation. */
export const nextKey = (key: Key, rollingInput: string): Key => ({ name: `${key.name}/${rollingInput}`, epoch: key.epoch + 1 })

/** The code over the device id, the attempt's client nonce (`""` in claimed: no AuthBegin) and the input. */
export const authCode = (key: Key, deviceId: string, nonce: string, input: string): Mac => mac(key, Labels.authCode, [deviceId, nonce, input])

export const grantProof = (key: Key, deviceId: string, nonce: string, input: string, rollingInput: string): Mac =>
  mac(key, Labels.grant, [deviceId, nonce, input, rollingInput])

export const registerConfirm = (key: Key, deviceId: string, clientEphemeral: string, serverEphemeral: string): Mac =>
  mac(key, Labels.registerConfirm, [deviceId, clientEphemeral, serverEphemeral])

/** The symbolic wire messages: the same tags and fields as spec/rolling-key/messages.ts, terms for bytes. */
export type SymMessage =
  | { readonly _tag: "RegisterRequest"; readonly clientPublicKey: string | null }
  | { readonly _tag: "RegisterResponse"; readonly deviceId: string; readonly serverInput: string; readonly confirm: Mac | null }
  | { readonly _tag: "RegisterKey"; readonly deviceId: string; readonly rollingKey: Key }
  | { readonly _tag: "AuthBegin"; readonly deviceId: string; readonly clientNonce: string }
  | { readonly _tag: "AuthChallenge"; readonly deviceId: string; readonly clientNonce: string; readonly challenge: string }
  | { readonly _tag: "AuthRequest"; readonly deviceId: string; readonly input: string; readonly code: Mac }
  | { readonly _tag: "AuthGranted"; readonly deviceId: string; readonly rollingInput: string; readonly proof: Mac | null }
  | { readonly _tag: "AuthRejected"; readonly deviceId: string; readonly reason: "denied" | "malformed" }
