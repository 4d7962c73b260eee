/**
 * P2a security properties, each a predicate over a protocol trace (see ../trace.ts).
 *
 * Trace conventions every producer (the model's system, the implementation's harness) follows:
 * - actors `se` (the user's secure element `se1`), `server` (origin `bank`), `browser` (the user's
 *   browser platform), `attacker` (the relay, and the owner of origin `evil`).
 * - `Running(browser, se, visit;origin=<o>)` when the user opens a page of origin `o`.
 * - `Accept(se, hello;cert=<c>;origin=<o>)` when the SE accepts a SeHello and answers it: `c` names
 *   the CA-issued certificate it carried (`bank`, `evil`) or `forged`, `o` the origin whose real
 *   identity data (origin and TLS certificate hash) it carried, or `?` — both named by the trusted
 *   observer from the bytes, never by the SE. Then `Running(se, server, open;se=se1;e=<eSE>)`.
 * - ephemerals are named by who drew them (`e1…` the SE, `s1…` the server, `x1…` the attacker);
 *   channel keys `K1…` in order of first appearance, two keys with the same bytes (or, in the model,
 *   the same term) having the same name.
 * - the server, accepting a SeOpen, emits `Running(server, se, chan;se=<id>;srv=bank;e=<E>;s=<S>;k=<K>)`
 *   and `Secret(server, K)` (it holds K); the SE opens a channel with `Commit(se, server,
 *   chan;se=se1;srv=<subject>;e=<E>;s=<S>;k=<K>)` then `Secret(se, K)` — after checking the
 *   server's receipt in `hardened`, then `Running(se, server, fin;…)` and SeFinish; the server
 *   opens with `Commit(server, se, open;se=<id>;e=<E>)` then `Secret(server, K)` (on SeOpen in
 *   `claimed`, on a valid SeFinish in `hardened`).
 * - records: the sender emits `Running(<sender>, <peer>, rec;k=<K>;p=<payload>)`, the receiver
 *   that opens one `Accept(<receiver>, rec;k=<K>;p=<payload>)` with the plaintext it got.
 * - `Reveal(server-static-key, compromise)` when the attacker copies the server's key store;
 *   `Reveal(K, wire)` when the attacker can compute a key some participant holds from what it saw
 *   and holds (judged semantically by both producers).
 * - after `FaultsEnd`: the user opens a bank page, the whole handshake runs, the SE sends a record
 *   and the server answers one, every message delivered once, in order.
 */
import type { SecurityProperty, Violation } from "../property.ts"
import { malformedInputRejected, tamperedInputRejected } from "../robustness.ts"
import type { Trace, TraceEvent } from "../trace.ts"
import { SE_ID, SERVER } from "./variants.ts"

export const SERVER_KEY_NAME = "server-static-key"

const fields = new Map<string, Readonly<Record<string, string>>>()

/** The `k=v` fields of a data string `kind;k=v;…` (memoised: traces repeat the same few strings). */
export const fieldsOf = (data: string): Readonly<Record<string, string>> => {
  let f = fields.get(data)
  if (f === undefined) {
    f = Object.fromEntries(data.split(";").slice(1).map((kv) => kv.split("=") as [string, string]))
    if (fields.size > 50_000) fields.clear()
    fields.set(data, f)
  }
  return f
}

const kindOf = (data: string) => data.slice(0, data.indexOf(";"))

const violation = (at: number, reason: string): Violation => ({ at, reason })

interface Opened {
  readonly at: number
  readonly actor: string
  readonly data: string
  readonly key: string
}

/** Each channel a participant opened: its Commit and the key of the Secret that follows it. */
const openedChannels = (trace: Trace): Array<Opened> => {
  const out: Array<Opened> = []
  for (let at = 0; at < trace.length; at++) {
    const e = trace[at]!
    const next = trace[at + 1]
    if (e._tag === "Commit" && next?._tag === "Secret" && next.actor === e.actor) out.push({ at, actor: e.actor, data: e.data, key: next.name })
  }
  return out
}

/** Who held which key, with the index of the first Secret. */
const holders = (trace: Trace): Map<string, Map<string, number>> => {
  const out = new Map<string, Map<string, number>>()
  trace.forEach((e, at) => {
    if (e._tag !== "Secret") return
    let m = out.get(e.actor)
    if (m === undefined) out.set(e.actor, (m = new Map()))
    if (!m.has(e.name)) m.set(e.name, at)
  })
  return out
}

const compromisedAt = (trace: Trace): number => {
  const i = trace.findIndex((e) => e._tag === "Reveal" && e.name === SERVER_KEY_NAME)
  return i < 0 ? Number.POSITIVE_INFINITY : i
}

export const certificateBinding: SecurityProperty = {
  id: "P2a.certificate-binding",
  protocol: "se-channel",
  kind: "binding",
  statement:
    "The SE accepts a SeHello only with an application certificate the CA issued, and only with the identity data that certificate is linked to: a certificate relayed with another origin's data (or a forged one) is refused.",
  expected: { claimed: "holds", hardened: "holds" },
  judgedIn: ["model", "impl"],
  check: (trace) => {
    for (let at = 0; at < trace.length; at++) {
      const e = trace[at]!
      if (e._tag !== "Accept" || e.actor !== "se" || kindOf(e.data) !== "hello") continue
      const f = fieldsOf(e.data)
      if (f.cert === "forged") return violation(at, `the SE accepted a certificate the CA never issued (identity data ${f.origin})`)
      if (f.cert !== f.origin) return violation(at, `the SE accepted ${f.cert}'s certificate with the identity data of ${f.origin === "?" ? "no issued origin" : f.origin}`)
    }
    return undefined
  }
}

export const originBinding: SecurityProperty = {
  id: "P2a.origin-binding",
  protocol: "se-channel",
  kind: "binding",
  statement: "The SE opens a channel to the server of origin X only if the user's browser opened a page of origin X: a page of another origin cannot make the SE open a channel to X.",
  expected: { claimed: "fails", hardened: "holds" },
  weakness:
    "The SE gets the certificate and the identity data from the web application: a page of origin evil relays bank's genuine certificate with bank's genuine (public) identity data, the link checks, and the SE opens a channel to bank for a user who is on evil's page — evil relays it and acts inside it.",
  judgedIn: ["model", "impl"],
  check: (trace) => {
    const visited = new Set<string>()
    for (let at = 0; at < trace.length; at++) {
      const e = trace[at]!
      if (e._tag === "Running" && e.actor === "browser") visited.add(fieldsOf(e.data).origin ?? "")
      else if (e._tag === "Commit" && e.actor === "se") {
        const srv = fieldsOf(e.data).srv ?? "?"
        if (!visited.has(srv)) return violation(at, `the SE opened a channel to ${srv}, but the user's browser only opened ${visited.size === 0 ? "no page" : [...visited].join(", ")}`)
      }
    }
    return undefined
  }
}

/**
 * Each Commit of `actor` matched by a distinct earlier Running of `peer` with the same data. The
 * SE's channels opened after the server's key was compromised are not judged: whoever holds that
 * key is the server, as far as any protocol can tell (key-compromise impersonation, SECURITY.md).
 */
const injective = (trace: Trace, actor: string, peer: string): Violation | undefined => {
  const runs = new Map<string, number>()
  const end = actor === "se" ? compromisedAt(trace) : Number.POSITIVE_INFINITY
  for (let at = 0; at < Math.min(end, trace.length); at++) {
    const e = trace[at]!
    if (e._tag === "Running" && e.actor === peer && e.peer === actor) runs.set(e.data, (runs.get(e.data) ?? 0) + 1)
    else if (e._tag === "Commit" && e.actor === actor && e.peer === peer) {
      const n = runs.get(e.data) ?? 0
      if (n === 0) return violation(at, `${actor} opened ${e.data}, which ${peer} ${trace.slice(0, at).some((f) => f._tag === "Running" && f.actor === peer && f.data === e.data) ? "ran only once (opened twice)" : "never ran"}`)
      runs.set(e.data, n - 1)
    }
  }
  return undefined
}

export const injectiveAgreement: SecurityProperty = {
  id: "P2a.injective-agreement",
  protocol: "se-channel",
  kind: "agreement",
  statement:
    "Every channel the SE opens while the server's key is uncompromised matches a distinct run of the server with the same SE, server, ephemerals and key; every channel the server opens matches a distinct SeOpen the SE sent (same SE, same ephemeral).",
  expected: { claimed: "fails", hardened: "holds" },
  weakness:
    "Nothing in the claim authenticates the SE's ephemeral or confirms the key: the server opens a channel for any SeOpen carrying se1's public certificate (the attacker's own, or a replay after the server restarted), and the SE opens one on any ServerHello.",
  judgedIn: ["model", "impl"],
  check: (trace) => injective(trace, "se", "server") ?? injective(trace, "server", "se")
}

export const keyConfirmation: SecurityProperty = {
  id: "P2a.key-confirmation",
  protocol: "se-channel",
  kind: "agreement",
  statement: "When the SE opens a channel (while the server's key is uncompromised), the server holds that channel's key, and when the server opens one, the SE holds it: neither side opens a channel whose key its peer never derived.",
  expected: { claimed: "fails", hardened: "holds" },
  weakness: "No receipt: the SE opens a channel on a ServerHello carrying the attacker's ephemeral, under a key the server never derived (so its messages go nowhere the user believes).",
  judgedIn: ["model", "impl"],
  check: (trace) => {
    const held = holders(trace)
    const end = compromisedAt(trace)
    for (const o of openedChannels(trace)) {
      const peer = o.actor === "se" ? "server" : "se"
      // after the compromise the attacker holds the server's key: it is the server, as far as the SE can tell
      if (o.actor === "se" && o.at > end) continue
      if (!held.get(peer)?.has(o.key)) return violation(o.at, `${o.actor} opened a channel under ${o.key}, which ${peer} never held`)
    }
    return undefined
  }
}

export const noUnknownKeyShare: SecurityProperty = {
  id: "P2a.no-unknown-key-share",
  protocol: "se-channel",
  kind: "agreement",
  statement: "If the SE opens a channel believing its peer is X and the server bank holds the same key, then X is bank: no key is shared with a peer under another name.",
  expected: { claimed: "fails", hardened: "holds" },
  weakness:
    "The KDF covers neither identity: evil's certificate carries bank's public key (the CA asks for no proof of possession), so the SE that believes it talks to evil derives the very key bank derives, and evil relays the SE's channel to bank unseen.",
  judgedIn: ["model", "impl"],
  check: (trace) => {
    const held = holders(trace)
    for (const o of openedChannels(trace)) {
      if (o.actor !== "se") continue
      const srv = fieldsOf(o.data).srv
      if (srv !== SERVER && held.get("server")?.has(o.key)) return violation(o.at, `the SE opened ${o.key} believing its peer is ${srv}, and ${SERVER} holds the same key`)
    }
    return undefined
  }
}

export const keySecrecy: SecurityProperty = {
  id: "P2a.key-secrecy",
  protocol: "se-channel",
  kind: "secrecy",
  statement: "While the server's static key is uncompromised, the attacker (the relay, with everything it saw and holds) never learns a key the SE or the server holds.",
  expected: { claimed: "fails", hardened: "holds" },
  weakness: "The server opens a channel for a SeOpen the attacker built with its own ephemeral and se1's public certificate: the attacker computes the channel's key and speaks as se1.",
  judgedIn: ["model", "impl"],
  check: (trace) => {
    const end = compromisedAt(trace)
    const held = new Set<string>()
    for (let at = 0; at < Math.min(end, trace.length); at++) {
      const e = trace[at]!
      if (e._tag === "Secret") held.add(e.name)
      else if (e._tag === "Reveal" && e.via === "wire" && held.has(e.name)) return violation(at, `the attacker computed ${e.name}, a channel key a participant holds`)
    }
    return undefined
  }
}

export const forwardSecrecy: SecurityProperty = {
  id: "P2a.forward-secrecy",
  protocol: "se-channel",
  kind: "secrecy",
  statement: "A key the SE or the server held before the server's static key was compromised stays unknown to the attacker after the compromise.",
  expected: { claimed: "fails", hardened: "holds" },
  weakness:
    "Without the server's receipt the SE opens a channel with the attacker's ephemeral; its key rests on ECDH(e_SE, server key) for the part the attacker lacks, so once the server's key leaks the attacker reads everything the SE sent on that channel.",
  judgedIn: ["model", "impl"],
  check: (trace) => {
    const end = compromisedAt(trace)
    if (end === Number.POSITIVE_INFINITY) return undefined
    const before = new Set(trace.slice(0, end).flatMap((e) => (e._tag === "Secret" ? [e.name] : [])))
    const revealedBefore = new Set(trace.slice(0, end).flatMap((e) => (e._tag === "Reveal" ? [e.name] : [])))
    for (let at = end + 1; at < trace.length; at++) {
      const e = trace[at]!
      if (e._tag === "Reveal" && before.has(e.name) && !revealedBefore.has(e.name)) return violation(at, `after the server's key was compromised the attacker computed ${e.name}, held before the compromise`)
    }
    return undefined
  }
}

export const channelIntegrity: SecurityProperty = {
  id: "P2a.channel-integrity",
  protocol: "se-channel",
  kind: "freshness",
  statement:
    "The records a participant accepts under a channel key are exactly the records its peer sent under that key, in the order sent, each once: none replayed, reordered, reflected back to its sender or altered.",
  expected: { claimed: "holds", hardened: "holds" },
  judgedIn: ["model", "impl"],
  check: (trace) => {
    const sent = new Map<string, Array<string>>()
    const accepted = new Map<string, number>()
    for (let at = 0; at < trace.length; at++) {
      const e = trace[at]!
      if (e._tag === "Running" && kindOf(e.data) === "rec") {
        const f = fieldsOf(e.data)
        const k = `${e.peer}|${f.k}`
        sent.set(k, [...(sent.get(k) ?? []), f.p ?? ""])
      } else if (e._tag === "Accept" && kindOf(e.data) === "rec") {
        const f = fieldsOf(e.data)
        const k = `${e.actor}|${f.k}`
        const j = accepted.get(k) ?? 0
        const expected = sent.get(k)?.[j]
        if (expected !== f.p) return violation(at, `${e.actor} accepted ${f.p} as record ${j + 1} under ${f.k}, but its peer's record ${j + 1} there is ${expected ?? "unsent"}`)
        accepted.set(k, j + 1)
      }
    }
    return undefined
  }
}

/** What followed the delivery at `at`: the next verdict event, or the next delivery. */
const nextVerdict = (trace: Trace, at: number): { readonly at: number; readonly event: TraceEvent } | undefined => {
  for (let i = at + 1; i < trace.length; i++) {
    const f = trace[i]!
    if (f._tag === "Deliver" || f._tag === "Reject" || f._tag === "Commit" || f._tag === "Accept") return { at: i, event: f }
  }
  return undefined
}

export const invalidPointRefused: SecurityProperty = {
  id: "P2a.invalid-point",
  protocol: "se-channel",
  kind: "robustness",
  statement:
    "An ephemeral key that is not a point of P-256 (off the curve, a coordinate ≥ p, a bad SEC1 prefix) is refused as `invalid-point` by the SE and by the server before any secret touches it, and the refusal changes no state.",
  expected: { claimed: "holds", hardened: "holds" },
  judgedIn: ["impl"],
  check: (trace) => {
    for (let at = 0; at < trace.length; at++) {
      const e = trace[at]!
      if (e._tag !== "Deliver" || e.how !== "injected" || !e.label.startsWith("invalid-point:")) continue
      const next = nextVerdict(trace, at)
      if (next === undefined || next.event._tag !== "Reject") return { at: next?.at ?? at, reason: `${e.to} did not refuse ${e.label}` }
      if (next.event.reason !== "invalid-point") return { at: next.at, reason: `${e.to} refused ${e.label} as ${next.event.reason}, not as invalid-point` }
      if (trace[next.at + 1]?._tag === "Signal") return { at: next.at + 1, reason: `${e.to} changed its state while refusing ${e.label}` }
    }
    return undefined
  }
}

export const liveness: SecurityProperty = {
  id: "P2a.liveness",
  protocol: "se-channel",
  kind: "liveness",
  statement: "Once the faults stop, a visit to the bank's page opens a channel on both sides, and a record each way is accepted.",
  expected: { claimed: "holds", hardened: "holds" },
  judgedIn: ["model", "impl"],
  check: (trace) => {
    const end = trace.findIndex((e) => e._tag === "FaultsEnd")
    if (end < 0) return undefined
    const after = trace.slice(end)
    const last = trace.length - 1
    if (!after.some((e) => e._tag === "Commit" && e.actor === "se" && fieldsOf(e.data).srv === SERVER)) return violation(last, "after the faults stopped, the SE did not open a channel to bank")
    if (!after.some((e) => e._tag === "Commit" && e.actor === "server" && fieldsOf(e.data).se === SE_ID)) return violation(last, "after the faults stopped, the server did not open a channel with se1")
    for (const e of after) {
      if (e._tag !== "Running" || kindOf(e.data) !== "rec") continue
      if (!after.some((f) => f._tag === "Accept" && f.actor === e.peer && f.data === e.data)) return violation(last, `after the faults stopped, ${e.peer} did not accept ${e.actor}'s record ${fieldsOf(e.data).p}`)
    }
    if (!after.some((e) => e._tag === "Running" && kindOf(e.data) === "rec")) return violation(last, "after the faults stopped, no record was sent")
    return undefined
  }
}

export const malformedInput = malformedInputRejected({
  id: "P2a.malformed-input",
  protocol: "se-channel",
  statement: "Garbage (truncated, extended or random bytes) sent to the SE or the server is refused at the edge, and a refusal changes no state.",
  reasons: ["malformed"]
})

export const tamperedInput: SecurityProperty = {
  ...tamperedInputRejected({
    id: "P2a.tampered-input",
    protocol: "se-channel",
    statement: "A captured message with one field flipped, cut or spliced from another is refused by its recipient, and the refusal changes no state."
  }),
  expected: { claimed: "fails", hardened: "holds" },
  weakness: "Nothing covers the SE's ephemeral in SeOpen: an edited ephemeral that is still a point is accepted, and the claimed server opens a channel on it."
}

export const properties: ReadonlyArray<SecurityProperty> = [
  certificateBinding,
  originBinding,
  injectiveAgreement,
  keyConfirmation,
  noUnknownKeyShare,
  keySecrecy,
  forwardSecrecy,
  channelIntegrity,
  invalidPointRefused,
  liveness,
  malformedInput,
  tamperedInput
]
