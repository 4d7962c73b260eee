/**
 * P2b security properties, each a predicate over a protocol trace (see ../trace.ts).
 *
 * Trace conventions every producer (the model's system, the implementation's harness) follows:
 * - actors: `device` (alice's Device), `machine` (alice's phone or PC), `user` (alice), `server`,
 *   `attacker`, and `evil`, the attacker's own device (its polls and session openings).
 * - SIDs are named `s1, s2, …` in the order the server opens them.
 * - `Accept(server, open;sid=<s>;opener=<device|evil>)` when the server opens a session for a
 *   connection; `Accept(server, challenge;sid=<s>)` when it answers an OPAQUE KE1.
 * - `Running(machine, server, login;sid=<s>)` when the Machine sends its authenticating data for
 *   `s` (claimed: `Login`; hardened: `LoginFinish`, after the user approved);
 *   `Commit(server, machine, login;sid=<s>;opener=<o>)` when the server accepts authenticating data
 *   for `s`, `o` being the connection that opened `s`.
 * - `Accept(server, release;sid=<s>;to=<poller>)` when the server answers a poll with a session
 *   token; `Commit(<poller>, server, session;sid=<s>)` when the poller holds it.
 * - `Reject(machine, user-declined)` when the user refuses the fingerprint the Machine shows.
 * - `Tick(server)` when the SID lifetime passes; `Reveal(password)` when the attacker recovers the
 *   password offline from what it saw (a dictionary attack); `Reveal(password-equivalent)` when a
 *   message on the wire carries the password or the server's stored verifier (what alone logs in).
 * - after `FaultsEnd`, an honest login from the Device: open, scan, login, poll — and one more poll,
 *   as a Device whose answer was lost retries (the server must refuse to release the session again).
 */
import type { SecurityProperty, Violation } from "../property.ts"
import { malformedInputRejected, tamperedInputRejected } from "../robustness.ts"
import type { Trace } from "../trace.ts"

/** The fields of `kind;k=v;…` trace data, or undefined for another kind. */
const fieldsOf = (data: string, kind: string): Readonly<Record<string, string>> | undefined => {
  const [k, ...rest] = data.split(";")
  if (k !== kind) return undefined
  return Object.fromEntries(rest.map((kv) => kv.split("=") as [string, string]))
}

const violation = (at: number, reason: string): Violation => ({ at, reason })

/** Who opened each SID, as the server's `open` facts say. */
const openers = (trace: Trace, until: number): Map<string, string> => {
  const out = new Map<string, string>()
  for (let at = 0; at < until; at++) {
    const e = trace[at]!
    const f = e._tag === "Accept" && e.actor === "server" ? fieldsOf(e.data, "open") : undefined
    if (f?.sid !== undefined && f.opener !== undefined) out.set(f.sid, f.opener)
  }
  return out
}

export const resultToOpener: SecurityProperty = {
  id: "P2b.result-to-opener",
  protocol: "split-login",
  kind: "binding",
  statement: "A session token for an SID reaches only the device that opened that SID.",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness:
    "Claim 2's poll carries \"a second reference data based on the identifier\" and nothing else: whoever has seen the SID (it is shown as a QR code) polls and receives the victim's session.",
  check: (trace) => {
    for (let at = 0; at < trace.length; at++) {
      const e = trace[at]!
      const f = e._tag === "Commit" && e.peer === "server" ? fieldsOf(e.data, "session") : undefined
      if (f === undefined || e._tag !== "Commit") continue
      const opener = openers(trace, at).get(f.sid!)
      if (opener !== e.actor) return violation(at, `${e.actor} received the session of ${f.sid}, which ${opener ?? "nobody"} opened`)
    }
    return undefined
  }
}

export const sidSingleUse: SecurityProperty = {
  id: "P2b.sid-single-use",
  protocol: "split-login",
  kind: "freshness",
  statement: "An SID completes at most one login and releases its session at most once, and no login completes once the SID's lifetime has passed.",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness: "The claim opens a session and checks the authenticating data; it never closes the session nor bounds its life, so a captured login or poll works again, and later.",
  check: (trace) => {
    const logins = new Set<string>()
    const releases = new Set<string>()
    const expired = new Set<string>()
    const open = new Set<string>()
    for (let at = 0; at < trace.length; at++) {
      const e = trace[at]!
      if (e._tag === "Tick" && e.actor === "server") for (const s of open) expired.add(s)
      if (e._tag === "Accept" && e.actor === "server") {
        const o = fieldsOf(e.data, "open")
        if (o?.sid !== undefined) open.add(o.sid)
        const r = fieldsOf(e.data, "release")
        if (r?.sid !== undefined) {
          if (releases.has(r.sid)) return violation(at, `the server released the session of ${r.sid} a second time`)
          releases.add(r.sid)
        }
      }
      const l = e._tag === "Commit" && e.actor === "server" ? fieldsOf(e.data, "login") : undefined
      if (l?.sid !== undefined) {
        if (logins.has(l.sid)) return violation(at, `the server completed a second login for ${l.sid}`)
        if (expired.has(l.sid)) return violation(at, `the server completed a login for ${l.sid} after its lifetime had passed`)
        logins.add(l.sid)
      }
    }
    return undefined
  }
}

export const sidBinding: SecurityProperty = {
  id: "P2b.sid-binding",
  protocol: "split-login",
  kind: "agreement",
  statement:
    "Every login the server completes for an SID answers one authenticating message the Machine sent for that SID (injective agreement): password-derived data never replays into another session.",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness:
    "The authenticating data is a deterministic function of the password, the same for every session: the attacker copies it from one login into its own session's authenticating message.",
  check: (trace) => {
    const sent = new Map<string, number>()
    for (let at = 0; at < trace.length; at++) {
      const e = trace[at]!
      if (e._tag === "Running" && e.actor === "machine") {
        const f = fieldsOf(e.data, "login")
        if (f?.sid !== undefined) sent.set(f.sid, (sent.get(f.sid) ?? 0) + 1)
      }
      const l = e._tag === "Commit" && e.actor === "server" ? fieldsOf(e.data, "login") : undefined
      if (l?.sid === undefined) continue
      const left = sent.get(l.sid) ?? 0
      if (left === 0) return violation(at, `the server completed a login for ${l.sid}, for which the Machine sent no (unanswered) authenticating message`)
      sent.set(l.sid, left - 1)
    }
    return undefined
  }
}

export const intent: SecurityProperty = {
  id: "P2b.intent",
  protocol: "split-login",
  kind: "binding",
  statement: "alice's password authenticates only a session her own Device opened: an SID the attacker opened and showed her (QRLjacking) is never logged in.",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness:
    "Nothing on the Machine says which device the SID belongs to: the attacker opens a session for alice on its own device, shows its QR code on a phishing page, she scans it and types her password, and the attacker's device is logged in as alice.",
  check: (trace) => {
    for (let at = 0; at < trace.length; at++) {
      const e = trace[at]!
      const l = e._tag === "Commit" && e.actor === "server" ? fieldsOf(e.data, "login") : undefined
      if (l !== undefined && l.opener !== "device") return violation(at, `alice's login authenticated ${l.sid}, opened by ${l.opener}`)
    }
    return undefined
  }
}

export const noOfflineGuessing: SecurityProperty = {
  id: "P2b.no-offline-guessing",
  protocol: "split-login",
  kind: "secrecy",
  statement: "A network attacker's transcript of logins does not let it test password guesses offline: a dictionary run against everything it saw recovers nothing.",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness: "A deterministic hash of the password on the wire is a test for every guess: hashing a small dictionary recovers a common password from one transcript.",
  check: (trace) => {
    const at = trace.findIndex((e) => e._tag === "Reveal" && e.name === "password")
    return at < 0 ? undefined : violation(at, "the attacker recovered alice's password offline from the transcript")
  }
}

export const passwordOffWire: SecurityProperty = {
  id: "P2b.password-off-wire",
  protocol: "split-login",
  kind: "secrecy",
  statement: "No message on the wire carries the password or a password-equivalent (the server's stored verifier, which alone logs in).",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness: "The hash the Machine sends is the very value the server stores and compares: it is a password-equivalent on the wire (and in the database).",
  check: (trace) => {
    const at = trace.findIndex((e) => e._tag === "Reveal" && e.name === "password-equivalent")
    return at < 0 ? undefined : violation(at, "a message on the wire carried a password-equivalent")
  }
}

export const liveness: SecurityProperty = {
  id: "P2b.liveness",
  protocol: "split-login",
  kind: "liveness",
  statement: "Once the faults stop, alice's login from her Device completes: the SID it opens is logged in and the Device holds the session.",
  expected: { claimed: "holds", hardened: "holds" },
  judgedIn: ["model", "impl"],
  check: (trace) => {
    const end = trace.findIndex((e) => e._tag === "FaultsEnd")
    if (end < 0) return undefined
    let sid: string | undefined
    for (let at = end; at < trace.length; at++) {
      const e = trace[at]!
      const o = e._tag === "Accept" && e.actor === "server" ? fieldsOf(e.data, "open") : undefined
      if (o?.opener === "device") sid = o.sid
      if (sid !== undefined && e._tag === "Commit" && e.actor === "device" && fieldsOf(e.data, "session")?.sid === sid) return undefined
    }
    return violation(trace.length - 1, `after the faults stopped, alice's Device did not get the session of ${sid ?? "(no SID opened)"}`)
  }
}

export const malformedInput = malformedInputRejected({
  id: "P2b.malformed-input",
  protocol: "split-login",
  statement: "Garbage (truncated, extended or random bytes) sent to the server or the Machine is refused at the edge, and a refusal changes no durable state.",
  reasons: ["malformed"]
})

export const tamperedInput: SecurityProperty = {
  ...tamperedInputRejected({
    id: "P2b.tampered-input",
    protocol: "split-login",
    statement:
      "A captured message of the open Machine ↔ Server link with one field flipped, cut or spliced from another is refused by its recipient, and the refusal changes no durable state. The one exception is an edited LoginChallenge fingerprint, which the Machine cannot tell (alice compares it with her Device's; the server's approval check binds it): the Machine's answer to one must be refused by the server.",
    // the label the implementation world gives an edit of a LoginChallenge's fingerprint field
    judgedByTheAnswer: ["tampered:LoginChallenge.fingerprint"]
  }),
  expected: { claimed: "fails", hardened: "holds" },
  weakness: "The claimed authenticating data does not depend on the SID: splicing another session's SID into a captured login is accepted."
}

export const properties: ReadonlyArray<SecurityProperty> = [resultToOpener, sidSingleUse, sidBinding, intent, noOfflineGuessing, passwordOffWire, liveness, malformedInput, tamperedInput]
