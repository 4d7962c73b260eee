/**
 * Symbolic terms of P2a (perfect-crypto assumption, spec/se-channel/SECURITY.md §Model). A key
 * pair is a name (`e1` the SE's first ephemeral, `s1` the server's, `x1` the attacker's, `S` the
 * bank's static key, which evil's certificate also carries); an ECDH value is the unordered pair
 * of its two key names, computable by whoever holds either private key; a channel key is the KDF
 * term over its ECDH values and its salt; a receipt or record is valid under a key only if it was
 * made with that very term. Certificates are CA-issued (`ca`) or forged; a platform tag is valid
 * only for the identity data the platform stated.
 */
import type { Policy } from "../../spec/se-channel/variants.ts"

/** The bank's static key (in bank's and evil's certificates). */
export const STATIC = "S"

export interface CertTerm {
  readonly subject: string
  /** The origin whose identity data the certificate is linked to. */
  readonly link: string
  readonly key: string
  readonly sig: "ca" | "forged"
}

export const CERTS: Readonly<Record<string, CertTerm>> = {
  bank: { subject: "bank", link: "bank", key: STATIC, sig: "ca" },
  evil: { subject: "evil", link: "evil", key: STATIC, sig: "ca" }
}

/** The trace name of a certificate: the issued one it equals, or `forged`. */
export const certName = (c: CertTerm): string => Object.entries(CERTS).find(([, v]) => JSON.stringify(v) === JSON.stringify(c))?.[0] ?? "forged"

export interface Handshake {
  readonly seId: string
  readonly subject: string
  readonly serverKey: string
  readonly e: string
  readonly s: string
}

/** The schedule's two steps (a mutant changes one): what the transcript covers, and which ECDH values enter the KDF. */
export interface SymSchedule {
  /** Names the schedule in the machines' context (functions vanish from a snapshot's JSON, names do not). */
  readonly name: string
  readonly transcript: (h: Handshake) => string
  readonly ikm: (h: Handshake) => ReadonlyArray<readonly [string, string]>
}

export const schedule: SymSchedule = {
  name: "full",
  transcript: (h) => `t(${h.seId},${h.subject},${h.serverKey},${h.e},${h.s})`,
  ikm: (h) => [dh(h.e, h.s), dh(h.e, h.serverKey)]
}

/** An ECDH value: its two key names, sorted (ECDH is symmetric). */
export const dh = (a: string, b: string): readonly [string, string] => (a < b ? [a, b] : [b, a])

export interface KeyTerm {
  readonly ikm: ReadonlyArray<readonly [string, string]>
  readonly salt: string
  /** What the receipts cover. */
  readonly th: string
}

export const keyTerm = (policy: Policy, sch: SymSchedule, h: Handshake): KeyTerm => {
  const th = sch.transcript(h)
  return { ikm: sch.ikm(h), salt: policy.kdfSalt === "transcript" ? th : "", th }
}

/** The identity of a channel key (what names it `K<n>`): the KDF's inputs, not the receipt transcript. */
export const keyId = (k: KeyTerm): string => JSON.stringify([k.ikm, k.salt])

export interface ReceiptTerm {
  readonly key: string
  readonly th: string
  readonly role: "server" | "se"
}

export const receiptOf = (k: KeyTerm, role: "server" | "se"): ReceiptTerm => ({ key: keyId(k), th: k.th, role })

export const receiptValid = (r: ReceiptTerm | null, k: KeyTerm, role: "server" | "se"): boolean => r !== null && r.key === keyId(k) && r.th === k.th && r.role === role

/** Whether an attacker holding the private keys `known` computes `k`. */
export const derivable = (k: KeyTerm, known: ReadonlySet<string>): boolean => k.ikm.every(([a, b]) => known.has(a) || known.has(b))

export type SymMessage =
  | { readonly _tag: "SeHello"; readonly cert: CertTerm; readonly origin: string; readonly tag: boolean }
  | { readonly _tag: "SeOpen"; readonly seId: string; readonly eph: string; readonly sig: boolean }
  | { readonly _tag: "ServerHello"; readonly chan: string; readonly eph: string; readonly confirm: ReceiptTerm | null }
  | { readonly _tag: "SeFinish"; readonly chan: string; readonly confirm: ReceiptTerm }
  | { readonly _tag: "Record"; readonly chan: string; readonly seq: number; readonly key: string; readonly dir: string; readonly payload: string }

/** The record key of a direction: the channel key's id and the direction. */
export const recordKey = (k: KeyTerm, dir: "se>server" | "server>se"): string => `${keyId(k)}/${dir}`
