/**
 * P1 security properties, each a predicate over a protocol trace (see ../trace.ts).
 *
 * Trace conventions every producer (the model's system, the implementation's harness) follows:
 * - actors: `device` (the victim's phone with its secure element, key `dev`), `evil` (the
 *   attacker's own phone, key `evil`), `pc` (the victim's computer with her ID token, attributes
 *   `alice`), `evilpc` (the attacker's computer and ID token, `mallory`), `service`, `rp` (a
 *   relying party), `user` (the victim, carrying the OTP from her phone to her PC), `clock`.
 * - issuance sessions (C1 connections) are `s<n>` (a device's) or `f<n>` (the attacker's script
 *   flooding the service with requests), C2 connections `t<n>`.
 * - `Running(device|evil, service, "S|pk=P|own=K")`: a C1 request on S names public key P; the
 *   requester's own key is K.
 * - `Secret(service, "otp:S:B")`: the service recorded an OTP of B bits (two decimals) for S —
 *   on the implementation B is read from the OTP the service sent (its length and alphabet);
 *   `Signal(service, "otp-closed:S")` when it stops being valid (matched and deleted, expired,
 *   revoked). `Accept(service, "otp:S@T")`: an OTP submitted on C2 T matched S's record.
 *   `Reject(service, "bad-otp")`: one wrong OTP was evaluated, `Reject(service, "bad-otp×N")`: N
 *   in a row (a burst, written once); other refusals have their reason.
 * - `Running(pc|evilpc, service, "T|otp-of=S|attrs=A")`: the computer submits on C2 T the OTP
 *   issued on S (`none` for a guess: a value the attacker made up); its ID token holds attributes A.
 * - `Commit(service, holder, "token|T|attrs=A|pk=P|on=S")`: a soft token issued after C2 T,
 *   binding A to P, on the record of C1 S; holder is S's requester.
 * - `Commit(rp, presenter, "use|attrs=A|pk=P")`: a relying party accepted a presentation.
 * - `Tick(clock)`: time advanced by 300 s (the hardened OTP lifetime).
 * - `Accept(device|evil, "token:A|P")`: a phone stored a token binding A to P.
 * - `FaultsEnd`: the attacker stops; the victim starts again unless her phone holds her token.
 */
import type { SecurityProperty, Violation } from "../property.ts"
import { malformedInputRejected, tamperedInputRejected } from "../robustness.ts"
import type { Trace, TraceEvent } from "../trace.ts"

/** Each actor's own secure-element key. */
export const KEY_OF: Readonly<Record<string, string>> = { device: "dev", evil: "evil" }
export const VICTIM_KEY = "dev"
export const VICTIM_ATTRS = "alice"
/** Largest acceptable success probability of an online guessing attack on one OTP. */
export const GUESS_BUDGET = 2 ** -20
/**
 * Wrong OTPs the attacker submits in one guessing move (2^7: a fraction of a second of work).
 * One burst is enough to break the bound on a six-digit OTP, or on an eight-digit one without an
 * attempt limit (2^7 · 2^-26.6 > 2^-20); nothing but a limit bounds the number of bursts.
 */
export const GUESS_BURST = 128
/** The design's attempt limit: an OTP is revoked once this many wrong OTPs were evaluated while it was valid. */
export const ATTEMPT_LIMIT = 5

const violation = (at: number, reason: string): Violation => ({ at, reason })

/** `a=1|b=2` fields after the first `|`-separated item, as a record. */
export const fieldsOf = (data: string): { head: string; tail: string; fields: Record<string, string> } => {
  const [head = "", ...rest] = data.split("|")
  const fields: Record<string, string> = {}
  let tail = ""
  for (const r of rest) {
    const eq = r.indexOf("=")
    if (eq < 0) tail = r
    else fields[r.slice(0, eq)] = r.slice(eq + 1)
  }
  return { head, tail, fields }
}

type Commit = Extract<TraceEvent, { _tag: "Commit" }>

/** Tokens the service issued: `token|T|attrs=A|pk=P`. */
const tokens = (trace: Trace) =>
  trace.flatMap((e, at) => {
    if (e._tag !== "Commit" || e.actor !== "service" || !e.data.startsWith("token|")) return []
    const parts = e.data.split("|")
    const f = fieldsOf(`x|${parts.slice(2).join("|")}`).fields
    return [{ at, event: e as Commit, c2: parts[1]!, attrs: f["attrs"]!, pk: f["pk"]!, on: f["on"] }]
  })

const c1Requests = (trace: Trace, before: number) => {
  const out = new Map<string, { pk: string; own: string; actor: string }>()
  trace.slice(0, before).forEach((e) => {
    if (e._tag !== "Running" || e.peer !== "service" || !/^[sf]\d+\|/.test(e.data)) return
    const f = fieldsOf(e.data)
    out.set(f.head, { pk: f.fields["pk"]!, own: f.fields["own"]!, actor: e.actor })
  })
  return out
}

const c2Submissions = (trace: Trace, before: number) => {
  const out = new Map<string, { session: string; attrs: string }>()
  trace.slice(0, before).forEach((e) => {
    if (e._tag !== "Running" || e.peer !== "service" || !/^t\d+\|/.test(e.data)) return
    const f = fieldsOf(e.data)
    out.set(f.head, { session: f.fields["otp-of"]!, attrs: f.fields["attrs"]! })
  })
  return out
}

export const otpSingleUse: SecurityProperty = {
  id: "P1.otp-single-use",
  protocol: "soft-token",
  kind: "freshness",
  statement: "The service accepts each one-time password at most once: one OTP yields at most one soft token.",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness:
    "Claim 1 records the OTP as C1's identifier and never says to delete it: the same OTP, typed again on any computer, issues another token for the same key — one phished OTP harvests many victims' attributes.",
  check: (trace) => {
    const used = new Set<string>()
    for (let at = 0; at < trace.length; at++) {
      const e = trace[at]!
      if (e._tag !== "Accept" || e.actor !== "service" || !e.data.startsWith("otp:")) continue
      const session = e.data.slice(4).split("@")[0]!
      if (used.has(session)) return violation(at, `the OTP of ${session} was accepted a second time (${e.data})`)
      used.add(session)
    }
    // and, judged on the tokens themselves (not on the service's Accept): each traced back to the
    // OTP typed on its C2, no OTP yields two
    const yielded = new Set<string>()
    for (const t of tokens(trace)) {
      const session = c2Submissions(trace, t.at).get(t.c2)?.session
      if (session === undefined) continue
      if (yielded.has(session)) return violation(t.at, `a second token from the OTP of ${session} (on ${t.c2})`)
      yielded.add(session)
    }
    return undefined
  }
}

export const otpExpiry: SecurityProperty = {
  id: "P1.otp-expiry",
  protocol: "soft-token",
  kind: "freshness",
  statement: "The service never accepts an OTP after its lifetime (300 s, one clock tick) has passed since it was issued.",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness: "Claim 1 gives the OTP no lifetime: an OTP left on a screen stays good indefinitely.",
  check: (trace) => {
    const issuedAt = new Map<string, number>()
    for (let at = 0; at < trace.length; at++) {
      const e = trace[at]!
      if (e._tag === "Secret" && e.actor === "service" && e.name.startsWith("otp:")) issuedAt.set(e.name.split(":")[1]!, at)
      if (e._tag !== "Accept" || e.actor !== "service" || !e.data.startsWith("otp:")) continue
      const session = e.data.slice(4).split("@")[0]!
      const from = issuedAt.get(session) ?? 0
      if (trace.slice(from, at).some((x) => x._tag === "Tick" && x.actor === "clock"))
        return violation(at, `the OTP of ${session} was accepted after its lifetime had passed`)
    }
    return undefined
  }
}

export const sessionBinding: SecurityProperty = {
  id: "P1.session-binding",
  protocol: "soft-token",
  kind: "binding",
  statement:
    "With any number of concurrent issuance sessions, every soft token binds the attributes read on its C2 to the public key requested on the C1 that the OTP typed on that C2 was issued on — never another session's key.",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness:
    "Claim 1 records the OTP as C1's identifier but never makes it unique: the service binds a typed OTP to the first live record that matches. An attacker who opens enough sessions with its own key holds a record for every OTP value, and the victim typing her own OTP gets her attributes bound to the attacker's key.",
  check: (trace) => {
    for (const t of tokens(trace)) {
      const submission = c2Submissions(trace, t.at).get(t.c2)
      if (submission === undefined) return violation(t.at, `token issued after ${t.c2}, on which no OTP was submitted`)
      if (submission.attrs !== t.attrs)
        return violation(t.at, `token binds attributes ${t.attrs}, but ${t.c2}'s ID token holds ${submission.attrs}`)
      const request = c1Requests(trace, t.at).get(submission.session)
      if (request === undefined) return violation(t.at, `token issued on ${t.c2}, whose OTP (${submission.session}) no C1 was issued`)
      if (request.pk !== t.pk)
        return violation(t.at, `token binds ${t.c2}'s attributes to key ${t.pk}, but the OTP was issued on ${submission.session} for key ${request.pk}`)
    }
    return undefined
  }
}

export const tokenAuthenticity: SecurityProperty = {
  id: "P1.token-authenticity",
  protocol: "soft-token",
  kind: "agreement",
  statement: "A relying party accepts a token only with attributes and key exactly as the service issued them (issuer signature, nothing altered).",
  expected: { claimed: "holds", hardened: "holds" },
  judgedIn: ["model", "impl"],
  check: (trace) => {
    const issued = new Set<string>()
    for (let at = 0; at < trace.length; at++) {
      const e = trace[at]!
      if (e._tag !== "Commit") continue
      const f = fieldsOf(e.data).fields
      const binding = `${f["attrs"]}|${f["pk"]}`
      if (e.actor === "service" && e.data.startsWith("token|")) issued.add(binding)
      if (e.actor === "rp" && !issued.has(binding))
        return violation(at, `relying party accepted a token binding ${f["attrs"]} to ${f["pk"]}, which the service never issued`)
    }
    return undefined
  }
}

export const possession: SecurityProperty = {
  id: "P1.possession",
  protocol: "soft-token",
  kind: "agreement",
  statement: "A relying party accepts a presentation only from the holder of the secret key the token binds: a token without sk_dev gets nothing.",
  expected: { claimed: "holds", hardened: "holds" },
  judgedIn: ["model", "impl"],
  check: (trace) => {
    for (let at = 0; at < trace.length; at++) {
      const e = trace[at]!
      if (e._tag !== "Commit" || e.actor !== "rp") continue
      const pk = fieldsOf(e.data).fields["pk"]
      if (pk !== KEY_OF[e.peer])
        return violation(at, `relying party accepted ${e.peer}'s presentation of a token bound to ${pk}; ${e.peer} holds ${KEY_OF[e.peer] ?? "no key"}`)
    }
    return undefined
  }
}

export const otpGuessing: SecurityProperty = {
  id: "P1.otp-guessing",
  protocol: "soft-token",
  kind: "secrecy",
  statement:
    "Online guessing is bounded: no made-up OTP is ever accepted, at most 5 wrong OTPs are evaluated while an OTP is valid, and (wrong OTPs evaluated while it was valid) × 2^-bits ≤ 2^-20 for every OTP, bits being the entropy of the OTP the service sent.",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness: "Claim 1 sets no attempt limit and no OTP length: one burst of 128 guesses gives a 2^-13 chance against a six-digit OTP (and more against the shorter one the audit's deployment uses), and nothing stops the next burst.",
  check: (trace) => {
    const open = new Map<string, { bits: number; wrong: number }>()
    const guesses = new Set<string>()
    for (let at = 0; at < trace.length; at++) {
      const e = trace[at]!
      if (e._tag === "Running" && e.peer === "service" && /^t\d+\|/.test(e.data) && fieldsOf(e.data).fields["otp-of"] === "none") guesses.add(fieldsOf(e.data).head)
      if (e._tag === "Accept" && e.actor === "service" && e.data.startsWith("otp:")) {
        const c2 = e.data.split("@")[1]!
        if (guesses.has(c2)) return violation(at, `a made-up OTP submitted on ${c2} was accepted (${e.data})`)
      }
      if (e._tag === "Secret" && e.actor === "service" && e.name.startsWith("otp:")) {
        const [, session, bits] = e.name.split(":")
        open.set(session!, { bits: Number(bits), wrong: 0 })
      } else if (e._tag === "Signal" && e.actor === "service" && e.signal.startsWith("otp-closed:")) {
        open.delete(e.signal.slice("otp-closed:".length))
      } else if (e._tag === "Reject" && e.actor === "service" && e.reason.startsWith("bad-otp")) {
        const count = e.reason === "bad-otp" ? 1 : Number(e.reason.slice("bad-otp×".length))
        for (const [session, o] of open) {
          o.wrong += count
          if (o.wrong > ATTEMPT_LIMIT) return violation(at, `${o.wrong} wrong OTPs evaluated while ${session}'s OTP was valid: more than the limit of ${ATTEMPT_LIMIT}`)
          if (o.wrong * 2 ** -o.bits > GUESS_BUDGET)
            return violation(at, `${o.wrong} wrong OTPs evaluated while ${session}'s ${o.bits}-bit OTP was valid: success chance ${(o.wrong * 2 ** -o.bits).toExponential(2)} > 2^-20`)
        }
      }
    }
    return undefined
  }
}

export const consentPhishing: SecurityProperty = {
  id: "P1.consent-phishing",
  protocol: "soft-token",
  kind: "binding",
  statement:
    "The victim's attributes are never bound to a key other than her own device's, even when the attacker substitutes the OTP she carries from her phone to her PC with one its own device obtained (an attentive user who compares what the PC shows with her phone).",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness:
    "Nothing in claim 1 tells the user which device an OTP belongs to: she types the attacker's OTP, presents her ID token, and the service signs her attributes with the attacker's key (RFC 8628 §5.4, consent phishing).",
  check: (trace) => {
    for (const t of tokens(trace)) {
      if (t.attrs !== VICTIM_ATTRS || t.pk === VICTIM_KEY) continue
      // A token bound to another key than the typed OTP's own C1 asked for is a session mix-up
      // (P1.session-binding); here the service bound what she typed correctly — to the wrong OTP.
      const submission = c2Submissions(trace, t.at).get(t.c2)
      const request = submission === undefined ? undefined : c1Requests(trace, t.at).get(submission.session)
      if (request !== undefined && request.pk !== t.pk) continue
      return violation(t.at, `the victim's attributes were bound to key ${t.pk}`)
    }
    return undefined
  }
}

export const keyConfirmation: SecurityProperty = {
  id: "P1.key-confirmation",
  protocol: "soft-token",
  kind: "agreement",
  statement: "The service issues a token for public key P only on a C1 whose requester proved it holds P's secret key.",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness:
    "Claim 1's request carries pk_dev but no proof: anyone can request a token for someone else's public key and bind their own attributes to it (an unknown-key-share).",
  check: (trace) => {
    for (const t of tokens(trace)) {
      const request = t.on === undefined ? undefined : c1Requests(trace, t.at).get(t.on)
      if (request !== undefined && request.own !== t.pk)
        return violation(t.at, `token for key ${t.pk} issued on ${t.on}, requested by ${request.actor}, which holds ${request.own}`)
    }
    return undefined
  }
}

export const issuanceLiveness: SecurityProperty = {
  id: "P1.issuance-liveness",
  protocol: "soft-token",
  kind: "liveness",
  statement:
    "Once the attacker stops, the victim gets her token: after one fault-free attempt (a new request if need be, and typing what her phone shows), her phone holds a token binding her attributes to its own key.",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness:
    "Once an attacker's sessions hold every OTP value (claim 1 never makes an OTP unique), every OTP the victim is given also belongs to one of them: her typing binds her attributes to the attacker's key, and she never gets a token of her own.",
  check: (trace) => {
    const end = trace.findIndex((e) => e._tag === "FaultsEnd")
    if (end < 0) return undefined
    const stored = trace.filter((e): e is Extract<TraceEvent, { _tag: "Accept" }> => e._tag === "Accept" && e.actor === "device" && e.data.startsWith("token:"))
    const last = stored.at(-1)
    if (last === undefined || last.data !== `token:${VICTIM_ATTRS}|${VICTIM_KEY}`)
      return violation(trace.length - 1, `after the faults stopped the victim's phone holds ${last === undefined ? "no token" : `a token for ${last.data.slice("token:".length)}`}, not one binding ${VICTIM_ATTRS} to ${VICTIM_KEY}`)
    return undefined
  }
}

export const tamperedInput = tamperedInputRejected({
  id: "P1.tampered-input",
  protocol: "soft-token",
  statement:
    "A well-formed message the attacker edited (a field flipped, cut or taken from another session: a PoP, a card read, a token, a possession proof) or replayed into another of its sessions is refused, and the refusal changes no state beyond what the design names for it."
})

export const malformedInput = malformedInputRejected({
  id: "P1.malformed-input",
  protocol: "soft-token",
  statement: "Every malformed message (truncated, trailing bytes, random bytes) to the service or a relying party is refused as malformed, before any check, and changes no state.",
  reasons: ["malformed"]
})

/** Every P1 property, in report order. */
export const properties: ReadonlyArray<SecurityProperty> = [
  otpSingleUse,
  otpExpiry,
  sessionBinding,
  tokenAuthenticity,
  possession,
  otpGuessing,
  consentPhishing,
  keyConfirmation,
  issuanceLiveness,
  malformedInput,
  tamperedInput
]

