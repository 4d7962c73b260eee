/**
 * P4 security properties, each a predicate over a protocol trace (see ../trace.ts).
 *
 * Trace conventions every producer (the model's system, the implementation's harness) follows:
 * - actors: `payer` (zhang's wallet), `payee` (li's wallet), `backend`, `attacker`; identities
 *   `zhang`, `li`, `mallory` (the attacker's own registered user), `c0…` (a coalition).
 * - payment data `<kind>;payer=<id>;payee=<id>;amount=<minor units>;cur=<ISO 4217>;sub=<subdomain>;n=<nonce>`
 *   with kind `pay` (online), `offline` (accepted by the payee), `settle` (credited at settlement);
 *   offers `offer;payee=…;amount=…;cur=…;sub=…;n=…`. Nonces are named by who drew them: `n1…` the
 *   payer, `o1…` the payee, `x1…` the attacker; a nonce no honest party drew (e.g. one byte flipped)
 *   is `?`.
 * - `Running(payer, backend|payee, data)` when zhang's wallet signs; `Running(payee, payer, offer…)`
 *   when li's wallet signs an offer; `Commit(backend|payee|payer, <role of the signer>, data)` when
 *   a participant accepts a signed message, else `Reject(<actor>, reason)`; `Signal(backend,
 *   double-spend)` when a settlement reuses a payment nonce with other contents.
 * - a delivery of a payment signed with a coalition's computed key is labelled
 *   `collusion:<k>-keys` (k the keys the coalition used).
 * - after `FaultsEnd` the producer runs an honest online payment, an honest offline exchange and a
 *   settlement, every message delivered once, in order.
 */
import type { SecurityProperty, Violation } from "../property.ts"
import { malformedInputRejected, tamperedInputRejected } from "../robustness.ts"
import type { Trace, TraceEvent } from "../trace.ts"
import { collusionBound } from "./variants.ts"

export interface PaymentData {
  readonly kind: string
  readonly fields: Readonly<Record<string, string>>
}

const parsed = new Map<string, PaymentData | undefined>()

/** Parse `kind;k=v;…` (memoised: traces repeat the same few data strings). */
export const parseData = (data: string | undefined): PaymentData | undefined => {
  if (data === undefined) return undefined
  if (parsed.has(data)) return parsed.get(data)
  const [kind, ...rest] = data.split(";")
  const d = kind === undefined || rest.length === 0 ? undefined : { kind, fields: Object.fromEntries(rest.map((kv) => kv.split("=") as [string, string])) }
  if (parsed.size > 50_000) parsed.clear()
  parsed.set(data, d)
  return d
}

const HONEST = new Set(["zhang", "li"])

/** The signer of a payment or an offer. */
const signerOf = (d: PaymentData) => (d.kind === "offer" ? d.fields.payee : d.fields.payer)

interface CommitSeen {
  readonly at: number
  readonly event: Extract<TraceEvent, { _tag: "Commit" }>
  /** The label of the delivery it answers. */
  readonly label: string
  readonly data: PaymentData | undefined
  /** Who signed what before it: signer|nonce → the data of the Running. */
  readonly signed: ReadonlyMap<string, PaymentData>
}

/** One pass over the trace: each Commit with its delivery's label and the Runnings before it; the first violation `judge` returns. */
const firstCommit = (trace: Trace, judge: (c: CommitSeen) => Violation | undefined): Violation | undefined => {
  const signed = new Map<string, PaymentData>()
  let label = ""
  for (let at = 0; at < trace.length; at++) {
    const e = trace[at]!
    if (e._tag === "Deliver") label = e.label
    else if (e._tag === "FaultsEnd") label = ""
    else if (e._tag === "Running") {
      const d = parseData(e.data)
      if (d !== undefined) signed.set(`${signerOf(d)}|${d.fields.n}`, d)
    } else if (e._tag === "Commit") {
      const v = judge({ at, event: e, label, data: parseData(e.data), signed })
      if (v !== undefined) return v
    }
  }
  return undefined
}

const violation = (at: number, reason: string): Violation => ({ at, reason })

const isCollusion = (label: string) => label.startsWith("collusion:")

export const unforgeability: SecurityProperty = {
  id: "P4.unforgeability",
  protocol: "cpk-payment",
  kind: "agreement",
  statement:
    "A payment or offer accepted as signed by an honest identity (zhang, li) was signed by that identity's wallet with that nonce, under the key derived from its ID (the coalition's computed key is P4.linear-collusion's business).",
  expected: { claimed: "holds", hardened: "holds" },
  judgedIn: ["model", "impl"],
  check: (trace) =>
    firstCommit(trace, (c) => {
      if (c.data === undefined || isCollusion(c.label)) return undefined
      const signer = signerOf(c.data)
      if (signer === undefined || !HONEST.has(signer) || c.signed.has(`${signer}|${c.data.fields.n}`)) return undefined
      return violation(c.at, `${c.event.actor} accepted ${c.event.data} as signed by ${signer}, who never signed nonce ${c.data.fields.n}`)
    })
}

export const noRedirection: SecurityProperty = {
  id: "P4.no-redirection",
  protocol: "cpk-payment",
  kind: "binding",
  statement: "A payment is accepted (online, offline or at settlement) only with the payee, amount, currency and subdomain its payer signed.",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness:
    "The seed signs \"the random number R\" and sends the payee and payment information beside the signature: the attacker changes the payee or the amount of a captured payment and it still verifies.",
  check: (trace) =>
    firstCommit(trace, (c) => {
      const signed = c.data === undefined ? undefined : c.signed.get(`${signerOf(c.data)}|${c.data.fields.n}`)
      if (c.data === undefined || signed === undefined) return undefined
      for (const f of ["payee", "amount", "cur", "sub"] as const)
        if (signed.fields[f] !== c.data.fields[f])
          return violation(c.at, `${c.event.actor} accepted nonce ${c.data.fields.n} with ${f}=${c.data.fields[f]}, but it was signed with ${f}=${signed.fields[f]}`)
      return undefined
    })
}

const countOnce = (trace: Trace, actor: string, kinds: ReadonlyArray<string>, what: string): Violation | undefined => {
  const seen = new Set<string>()
  return firstCommit(trace, (c) => {
    if (c.event.actor !== actor || c.data === undefined || !kinds.includes(c.data.kind)) return undefined
    const k = `${c.data.kind}|${c.data.fields.payer}|${c.data.fields.sub}|${c.data.fields.n}`
    if (seen.has(k)) return violation(c.at, `${actor} ${what} ${c.data.fields.payer}'s payment ${c.data.fields.n} a second time`)
    seen.add(k)
    return undefined
  })
}

export const onlineReplay: SecurityProperty = {
  id: "P4.online-replay",
  protocol: "cpk-payment",
  kind: "freshness",
  statement: "The backend processes each online payment (payer, subdomain, nonce) at most once.",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness: "The seed's backend verifies and processes; it keeps no record of the nonces it has seen, so a captured payment is processed again.",
  check: (trace) => countOnce(trace, "backend", ["pay"], "processed")
}

export const offlineReplay: SecurityProperty = {
  id: "P4.offline-replay",
  protocol: "cpk-payment",
  kind: "freshness",
  statement: "The payee accepts each offline payment at most once, and the backend credits each (payer, subdomain, nonce) at most once at settlement.",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness:
    "Offline, the payee verifies the payer's signature over its own R only: a screenshot of an earlier payment QR is accepted again (the goods handed over twice), and settlement credits it twice.",
  check: (trace) => {
    return countOnce(trace, "payee", ["offline"], "accepted") ?? countOnce(trace, "backend", ["settle"], "credited")
  }
}

export const offerTerms: SecurityProperty = {
  id: "P4.offer-terms",
  protocol: "cpk-payment",
  kind: "binding",
  statement:
    "The payee accepts an offline payment only in answer to an offer it made and has not been paid for yet, and only for that offer's amount and currency.",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness:
    "The seed's payee verifies the payer's signature and nothing ties the payment to the payee's offer: a payer (the attacker is a registered user too) answers an offer of 100 CNY with a payment of 1 CNY signed under its own key, and the payee's wallet accepts it.",
  check: (trace) => {
    // The payee's offers not yet paid for, in the order made; a payment consumes the first one
    // with its amount and currency (which offer it names is the payee's own bookkeeping).
    const open: Array<PaymentData> = []
    for (let at = 0; at < trace.length; at++) {
      const e = trace[at]!
      if (e._tag === "Running" && e.actor === "payee") {
        const d = parseData(e.data)
        if (d?.kind === "offer") open.push(d)
      } else if (e._tag === "Commit" && e.actor === "payee") {
        const d = parseData(e.data)
        if (d?.kind !== "offline") continue
        const i = open.findIndex((o) => o.fields.payee === d.fields.payee && o.fields.amount === d.fields.amount && o.fields.cur === d.fields.cur)
        if (i >= 0) {
          open.splice(i, 1)
          continue
        }
        const asked = open.length === 0 ? "none" : open.map((o) => `${o.fields.amount} ${o.fields.cur}`).join(", ")
        return violation(at, `the payee accepted ${d.fields.payer}'s payment ${d.fields.n} of ${d.fields.amount} ${d.fields.cur}, which answers no open offer of its (open offers: ${asked})`)
      }
    }
    return undefined
  }
}

export const subdomainSeparation: SecurityProperty = {
  id: "P4.subdomain-separation",
  protocol: "cpk-payment",
  kind: "binding",
  statement: "The payment backend and wallets accept only payments of the `pay` subdomain: a key of another subdomain (zhang's transit-card key, which the attacker holds) buys nothing.",
  expected: { claimed: "holds", hardened: "holds" },
  judgedIn: ["model", "impl"],
  check: (trace) =>
    firstCommit(trace, (c) => (c.data !== undefined && c.data.fields.sub !== "pay" ? violation(c.at, `${c.event.actor} accepted ${c.event.data} in subdomain ${c.data.fields.sub}`) : undefined))
}

export const linearCollusion: SecurityProperty = {
  id: "P4.linear-collusion",
  protocol: "cpk-payment",
  kind: "secrecy",
  statement:
    "No coalition of registered users can sign as an identity none of them holds: a payment signed with a key computed from other users' keys is refused.",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness: `Every CPK private key is a linear form of the secret matrix: m(h−1)+1 users' keys (13 for the worlds' 4×4 matrix, ${collusionBound(32, 32)} for the deployed 32×32) determine every other identity's key by Gaussian elimination mod n.`,
  check: (trace) =>
    firstCommit(trace, (c) => {
      if (!isCollusion(c.label)) return undefined
      const k = /^collusion:(\d+)-keys/.exec(c.label)?.[1] ?? "?"
      return violation(
        c.at,
        `${c.event.actor} accepted ${c.event.data}, signed as ${c.data?.fields.payer ?? "?"} with a key a coalition of ${k} registered users computed from their own keys (4×4 matrix; the deployed 32×32 falls to ${collusionBound(32, 32)} keys)`
      )
    })
}

export const liveness: SecurityProperty = {
  id: "P4.liveness",
  protocol: "cpk-payment",
  kind: "liveness",
  statement:
    "Once the faults stop, zhang's online payment is processed, and an offline payment to li is accepted by li and credited at settlement.",
  expected: { claimed: "holds", hardened: "holds" },
  judgedIn: ["model", "impl"],
  check: (trace) => {
    const end = trace.findIndex((e) => e._tag === "FaultsEnd")
    if (end < 0) return undefined
    const after = trace.slice(end)
    const ran = (kind: string) => after.flatMap((e) => (e._tag === "Running" && e.data.startsWith(`${kind};`) ? [e.data] : []))
    const committed = (actor: string, data: string) => after.some((e) => e._tag === "Commit" && e.actor === actor && e.data === data)
    const online = ran("pay")
    if (online.length === 0 || !committed("backend", online[0]!)) return violation(trace.length - 1, `after the faults stopped, the backend did not process zhang's payment ${online[0] ?? "(none signed)"}`)
    const offline = ran("offline")
    if (offline.length === 0 || !committed("payee", offline[0]!)) return violation(trace.length - 1, `after the faults stopped, li did not accept zhang's offline payment ${offline[0] ?? "(none signed)"}`)
    const settled = offline[0]!.replace(/^offline;/, "settle;")
    if (!committed("backend", settled)) return violation(trace.length - 1, `after the faults stopped, the backend did not credit ${settled}`)
    return undefined
  }
}

export const malformedInput = malformedInputRejected({
  id: "P4.malformed-input",
  protocol: "cpk-payment",
  statement: "Garbage (truncated, extended or random bytes) shown to a wallet or sent to the backend is refused at the edge, and a refusal changes no durable state.",
  reasons: ["malformed"]
})

export const tamperedInput: SecurityProperty = {
  ...tamperedInputRejected({
    id: "P4.tampered-input",
    protocol: "cpk-payment",
    statement: "A captured QR payload or payment with one field flipped, cut or spliced from another is refused by its recipient, and the refusal changes no durable state."
  }),
  // the claimed reading leaves payee, amount and currency outside the signature: an edited field passes
  expected: { claimed: "fails", hardened: "holds" },
  weakness: "The seed's signature covers R alone: a payment with its payee, amount or currency bytes edited still verifies."
}

export const properties: ReadonlyArray<SecurityProperty> = [
  unforgeability,
  noRedirection,
  onlineReplay,
  offlineReplay,
  offerTerms,
  subdomainSeparation,
  linearCollusion,
  liveness,
  malformedInput,
  tamperedInput
]
