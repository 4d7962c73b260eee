/**
 * Provisioning as an `otpauth://` Key URI (Google Authenticator "Key Uri Format", the de-facto
 * standard authenticator apps and programmable hardware tokens read), with the secret in
 * RFC 4648 §6 base32 without padding:
 *
 *   otpauth://hotp/Issuer:account?secret=…&issuer=Issuer&algorithm=SHA1&digits=6&counter=0
 *   otpauth://totp/Issuer:account?secret=…&issuer=Issuer&algorithm=SHA256&digits=8&period=30
 *
 * `parseKeyUri` is strict: unknown type or algorithm, digits outside 6–8, a missing counter for
 * HOTP, a secret shorter than RFC 4226's 128 bits, or an issuer prefix that disagrees with the
 * `issuer` parameter are refused.
 */
import { Data } from "effect"
import { MIN_SECRET_BYTES, type OtpHash } from "./otp.ts"

export class KeyUriError extends Data.TaggedError("KeyUriError")<{ readonly detail: string }> {}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

export const base32Encode = (bytes: Uint8Array): string => {
  let out = ""
  let bits = 0
  let value = 0
  for (const b of bytes) {
    value = (value << 8) | b
    bits += 8
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31]
  return out
}

/** Decode base32 (case-insensitive, optional `=` padding); undefined on any other character. */
export const base32Decode = (text: string): Uint8Array | undefined => {
  const s = text.toUpperCase().replace(/=+$/, "")
  const out: Array<number> = []
  let bits = 0
  let value = 0
  for (const ch of s) {
    const v = ALPHABET.indexOf(ch)
    if (v < 0) return undefined
    value = ((value << 5) | v) & 0xffff
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return Uint8Array.from(out)
}

export type KeyUri = {
  readonly issuer: string
  readonly account: string
  readonly secret: Uint8Array
  readonly algorithm: OtpHash
  readonly digits: number
} & ({ readonly type: "hotp"; readonly counter: number } | { readonly type: "totp"; readonly period: number })

const fail = (detail: string): never => {
  throw new KeyUriError({ detail })
}

export const formatKeyUri = (key: KeyUri): string => {
  if (key.issuer.includes(":") || key.account.includes(":")) fail("issuer and account must not contain ':'")
  // A parser drops the spaces around the label's parts: a URI must say only what parses back.
  for (const [name, value] of [["issuer", key.issuer], ["account", key.account]] as const)
    if (value !== value.trim()) fail(`${name} must not start or end with white space`)
  if (key.account === "") fail("account must not be empty")
  const label = `${encodeURIComponent(key.issuer)}:${encodeURIComponent(key.account)}`
  // Percent-encoding throughout (a space is %20, as in the label), not the form encoding of
  // URLSearchParams, which writes a space as '+'.
  const params: ReadonlyArray<readonly [string, string]> = [
    ["secret", base32Encode(key.secret)],
    ["issuer", key.issuer],
    ["algorithm", key.algorithm],
    ["digits", String(key.digits)],
    key.type === "hotp" ? ["counter", String(key.counter)] : ["period", String(key.period)]
  ]
  return `otpauth://${key.type}/${label}?${params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&")}`
}

/** `decodeURIComponent`, failing with `KeyUriError` (not `URIError`) on a bad escape. */
const decodeComponent = (text: string, what: string): string => {
  try {
    return decodeURIComponent(text)
  } catch {
    return fail(`bad percent-escape in the ${what}`)
  }
}

/** Parse a Key URI; throws `KeyUriError` with a labelled reason. */
export const parseKeyUri = (uri: string): KeyUri => {
  const m = /^otpauth:\/\/(hotp|totp)\/([^?]+)\?(.*)$/.exec(uri)
  if (m === null) return fail("not an otpauth://hotp or otpauth://totp URI")
  const type = m[1] as "hotp" | "totp"
  const label = decodeComponent(m[2]!, "label")
  // Percent-decoding of each parameter, with '+' kept as a plus (Key URIs are not form-encoded).
  const params = new Map<string, string>()
  for (const pair of m[3]!.split("&").filter((p) => p !== "")) {
    const at = pair.indexOf("=")
    const name = decodeComponent(at < 0 ? pair : pair.slice(0, at), "parameters")
    if (params.has(name)) fail(`parameter ${name} given twice`)
    params.set(name, decodeComponent(at < 0 ? "" : pair.slice(at + 1), "parameters"))
  }
  const param = (name: string): string | null => params.get(name) ?? null
  const [prefix, account] = label.includes(":") ? [label.slice(0, label.indexOf(":")), label.slice(label.indexOf(":") + 1).trimStart()] : [undefined, label]
  const issuer = param("issuer") ?? prefix ?? ""
  if (prefix !== undefined && param("issuer") !== null && prefix !== issuer) fail(`label issuer ${prefix} disagrees with issuer=${issuer}`)
  const secret = base32Decode(param("secret") ?? "")
  if (secret === undefined) return fail("secret is not base32")
  if (secret.length < MIN_SECRET_BYTES) fail(`expected a secret of at least ${MIN_SECRET_BYTES} bytes, got ${secret.length}`)
  const algorithm = (param("algorithm") ?? "SHA1").toUpperCase()
  if (algorithm !== "SHA1" && algorithm !== "SHA256" && algorithm !== "SHA512") fail(`unknown algorithm ${algorithm}`)
  const digits = Number(param("digits") ?? "6")
  if (!Number.isInteger(digits) || digits < 6 || digits > 8) fail(`expected 6 to 8 digits, got ${param("digits")}`)
  const base = { issuer, account: account!, secret, algorithm: algorithm as OtpHash, digits }
  if (type === "hotp") {
    const raw = param("counter")
    const counter = Number(raw)
    if (raw === null || !/^\d+$/.test(raw) || !Number.isSafeInteger(counter)) return fail("an HOTP URI needs a counter")
    return { ...base, type, counter }
  }
  const period = Number(param("period") ?? "30")
  if (!Number.isInteger(period) || period < 1) fail(`expected a positive period, got ${param("period")}`)
  return { ...base, type, period }
}
