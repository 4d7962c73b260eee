/**
 * P3 security properties, each a predicate over a protocol trace (see ../trace.ts).
 *
 * Trace conventions every producer (model/hw-token-2fa/system.ts, the implementation's harness)
 * follows:
 * - actors: `device` (alice's UserDevice), `auth` (AuthServer), `rs` (ResourceServer),
 *   `attacker` (the network; it holds alice's API key and its own user mallory's token), `clock`.
 * - OTPs are named `tA#<counter>` (alice's hardware token), `tM#<counter>` (mallory's), or
 *   `guess` (digits that match no counter). Refresh tokens are named `F<family>.<serial>` (family =
 *   the login that started it, serial = issue order within the family, 0 for the login's);
 *   access tokens `a<family>.<serial>`, issued alongside.
 * - data strings are `kind;key=value;…`: a LoginRequest's `Send`/`Deliver` carries `otp=…`
 *   (and `key=mallory` when it uses mallory's API key rather than alice's),
 *   a RefreshRequest's `rt=…;otp=…`, a TokenGrant's `rt=…;at=…`, an AccessRequest's `at=…`.
 * - `Running(device, auth, login;otp=… | refresh;rt=…;otp=…)` when the device sends an OTP it
 *   read from its token.
 * - the AuthServer's verdict follows the `Deliver` before any other delivery:
 *   `Commit(auth, device, login;user=U;otp=O;new=R)` or
 *   `Commit(auth, device, refresh;user=U;rt=R;otp=O;new=R')` when it issues a pair, else
 *   `Reject(auth, reason)`, reason one of `malformed`, `bad-credential`, `bad-otp`, `throttled`,
 *   `bad-refresh`, `reused`, preceded by `Signal(auth, family-revoked)` when a reuse revoked a family.
 * - `Commit(rs, device, access;at=A;sub=U;exp=E;now=T)` when the ResourceServer grants access
 *   (E and T in ticks, as the ResourceServer read them; the property judges expiry by the trace's
 *   own clock instead), else `Reject(rs, expired | invalid)`.
 * - `Accept(device, tokens;rt=R)` when the device stores a new pair. `Tick(clock)` when time
 *   advances one tick (one access-token lifetime; it also ends a throttling lockout).
 * - after `FaultsEnd`: `Tick(clock)`; the device gives up a pending exchange (`Tick(device)`);
 *   refreshes if it holds tokens, logs in if it holds none or the refresh was refused, and then
 *   uses its access token once — every message delivered once, in order.
 */
import type { SecurityProperty, Violation } from "../property.ts"
import { malformedInputRejected as malformedInput, tamperedInputRejected as tamperedInput } from "../robustness.ts"
import type { Trace, TraceEvent } from "../trace.ts"
import { ACCESS_TOKEN_LIFETIME, LOOK_AHEAD, MAX_OTP_FAILURES, TICK_SECONDS } from "./variants.ts"

/** `login;user=alice;otp=tA#3` → `{ kind: "login", user: "alice", otp: "tA#3" }`. */
export const fieldsOf = (data: string | undefined): Readonly<Record<string, string>> => {
  if (data === undefined) return {}
  // the explorer judges every path with every property: the same few strings, parsed once
  const hit = parsed.get(data)
  if (hit !== undefined) return hit
  if (parsed.size > 10_000) parsed.clear()
  const out = parseFields(data)
  parsed.set(data, out)
  return out
}

const parsed = new Map<string, Readonly<Record<string, string>>>()

const parseFields = (data: string): Readonly<Record<string, string>> => {
  const [kind, ...rest] = data.split(";")
  const out: Record<string, string> = { kind: kind ?? "" }
  for (const kv of rest) {
    const i = kv.indexOf("=")
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1)
  }
  return out
}

/** `tA#3` → `{ token: "tA", counter: 3 }`; `guess` and anything else → undefined. */
export const parseOtp = (name: string | undefined): { readonly token: string; readonly counter: number } | undefined => {
  const m = name === undefined ? null : /^(t[A-Z])#(\d+)$/.exec(name)
  return m ? { token: m[1]!, counter: Number(m[2]) } : undefined
}

/** `F2.1` → family 2, serial 1. */
export const parseRefresh = (name: string | undefined): { readonly family: number; readonly serial: number } | undefined => {
  const m = name === undefined ? null : /^F(\d+)\.(\d+)$/.exec(name)
  return m ? { family: Number(m[1]), serial: Number(m[2]) } : undefined
}

/** The token each user enrolled (the username ↔ key id link of the claim). */
export const ENROLLED: Readonly<Record<string, string>> = { alice: "tA", mallory: "tM" }

const violation = (at: number, reason: string): Violation => ({ at, reason })

type Commit = Extract<TraceEvent, { _tag: "Commit" }>
const authCommits = (trace: Trace): Array<{ at: number; e: Commit; f: Readonly<Record<string, string>> }> =>
  trace.flatMap((e, at) => (e._tag === "Commit" && e.actor === "auth" ? [{ at, e, f: fieldsOf(e.data) }] : []))

export const otpSingleUse: SecurityProperty = {
  id: "P3.otp-single-use",
  protocol: "hw-token-2fa",
  kind: "freshness",
  statement:
    "For each hardware token, the counters of the OTPs the AuthServer accepts (login or refresh) strictly increase: an OTP, or any earlier counter, is never accepted twice (RFC 4226 §7.2, RFC 6238 §5.2).",
  // claimed holds too: validating an HOTP code is RFC 4226 §7.2's check, which stores the counter
  // after the match — the claim's silence about "spending" an OTP is no licence to skip that step
  // (SPEC.md §3). A time-based token validated with no memory would replay (RFC 6238 §5.2).
  expected: { claimed: "holds", hardened: "holds" },
  judgedIn: ["model", "impl"],
  check: (trace) => {
    const last = new Map<string, number>()
    for (const { at, f } of authCommits(trace)) {
      const otp = parseOtp(f.otp)
      if (otp === undefined) continue
      const previous = last.get(otp.token)
      if (previous !== undefined && otp.counter <= previous)
        return violation(at, `${f.otp} accepted after counter ${previous} of the same token was accepted`)
      last.set(otp.token, otp.counter)
    }
    return undefined
  }
}

export const otpBinding: SecurityProperty = {
  id: "P3.otp-binding",
  protocol: "hw-token-2fa",
  kind: "binding",
  statement:
    "An OTP from a hardware token not linked to the user never completes that user's login or refresh: every accepted OTP comes from the token enrolled for the username.",
  expected: { claimed: "holds", hardened: "holds" },
  judgedIn: ["model", "impl"],
  check: (trace) => {
    for (const { at, f } of authCommits(trace)) {
      if (f.user === undefined) return violation(at, "an accepted request names no user")
      const otp = parseOtp(f.otp)
      if (otp === undefined || otp.token !== ENROLLED[f.user])
        return violation(at, `${f.user}'s ${f.kind} completed with OTP ${f.otp ?? "(none)"}, not from ${ENROLLED[f.user] ?? "an enrolled token"}`)
    }
    return undefined
  }
}

export const otpWindow: SecurityProperty = {
  id: "P3.otp-window",
  protocol: "hw-token-2fa",
  kind: "freshness",
  statement: `The AuthServer accepts an OTP only within its look-ahead window: at most ${LOOK_AHEAD - 1} counters past the one after the token's last accepted counter (RFC 4226 §7.4; beyond it, resynchronisation).`,
  expected: { claimed: "holds", hardened: "holds" },
  judgedIn: ["model", "impl"],
  check: (trace) => {
    const next = new Map<string, number>()
    for (const { at, f } of authCommits(trace)) {
      const otp = parseOtp(f.otp)
      if (otp === undefined) continue
      const expected = next.get(otp.token) ?? 0
      if (otp.counter >= expected + LOOK_AHEAD)
        return violation(at, `${f.otp} accepted ${otp.counter - expected} counters ahead of ${expected} (window ${LOOK_AHEAD})`)
      next.set(otp.token, Math.max(expected, otp.counter + 1))
    }
    return undefined
  }
}

export const refreshSingleUse: SecurityProperty = {
  id: "P3.refresh-single-use",
  protocol: "hw-token-2fa",
  kind: "freshness",
  statement:
    "A refresh token is used at most once: of two refreshes presenting the same refresh token, even concurrently delivered, at most one is granted a new pair.",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness: "The claim issues a second refresh token but never invalidates the first: the same refresh token (with an OTP it accepts) rotates again.",
  check: (trace) => {
    const used = new Set<string>()
    for (const { at, f } of authCommits(trace)) {
      if (f.kind !== "refresh" || f.rt === undefined) continue
      if (used.has(f.rt)) return violation(at, `refresh token ${f.rt} granted a second time`)
      used.add(f.rt)
    }
    return undefined
  }
}

export const reuseRevokesFamily: SecurityProperty = {
  id: "P3.reuse-revokes-family",
  protocol: "hw-token-2fa",
  kind: "detection",
  statement:
    "Once a refresh token that was already rotated is presented again, no refresh token descended from it is ever accepted (RFC 9700 §4.14.2): the whole family is revoked.",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness: "The claim keeps no record of rotated refresh tokens: a reuse is not even noticed, and the successors stay valid.",
  check: (trace) => {
    const parent = new Map<string, string>()
    const rotated = new Set<string>()
    const reused = new Set<string>()
    const descends = (rt: string, ancestor: string): boolean => {
      for (let p = parent.get(rt); p !== undefined; p = parent.get(p)) if (p === ancestor) return true
      return false
    }
    for (let at = 0; at < trace.length; at++) {
      const e = trace[at]!
      if (e._tag === "Deliver" && e.to === "auth" && e.label === "RefreshRequest") {
        const rt = fieldsOf(e.data).rt
        if (rt !== undefined && rotated.has(rt)) reused.add(rt)
      } else if (e._tag === "Commit" && e.actor === "auth") {
        const f = fieldsOf(e.data)
        if (f.kind !== "refresh" || f.rt === undefined) continue
        for (const r of reused) if (descends(f.rt, r)) return violation(at, `${f.rt} accepted after its ancestor ${r} was reused`)
        if (f.new !== undefined) parent.set(f.new, f.rt)
        rotated.add(f.rt)
      }
    }
    return undefined
  }
}

export const rotationLiveness: SecurityProperty = {
  id: "P3.rotation-liveness",
  protocol: "hw-token-2fa",
  kind: "liveness",
  statement:
    "After any schedule of lost, duplicated, delayed or replayed messages (a lost rotation response among them), wrong OTPs and clock ticks, once the faults stop and one tick passes the device obtains a new token pair within one recovery (refresh; if refused, a fresh login with its API key and a new OTP) and the website accepts its access token — unless more OTPs were lost than the look-ahead window absorbs (resynchronisation, RFC 4226 §7.4, is then the recovery).",
  // claimed holds: with RFC 4226 validation no slot of the window is wasted, and a claimed
  // refresh token stays valid after a lost rotation response, so the retry itself succeeds.
  expected: { claimed: "holds", hardened: "holds" },
  judgedIn: ["model", "impl"],
  check: (trace) => {
    const end = trace.findIndex((e) => e._tag === "FaultsEnd")
    if (end < 0) return undefined
    // The window excuse: the continuation's last OTP is beyond the server's look-ahead window.
    let nextCounter = 0
    for (const { at, f } of authCommits(trace)) {
      const otp = parseOtp(f.otp)
      if (at < end && otp?.token === "tA") nextCounter = Math.max(nextCounter, otp.counter + 1)
    }
    const lastOtp = trace
      .slice(end)
      .flatMap((e) => (e._tag === "Running" && e.actor === "device" ? [parseOtp(fieldsOf(e.data).otp)] : []))
      .pop()
    if (lastOtp !== undefined && lastOtp.counter >= nextCounter + LOOK_AHEAD) return undefined
    const pair = trace.findIndex((e, i) => i > end && e._tag === "Accept" && e.actor === "device")
    if (pair < 0) return violation(trace.length - 1, "after the faults stopped the device obtained no new token pair")
    const access = trace.some((e, i) => i > pair && e._tag === "Commit" && e.actor === "rs")
    if (!access) return violation(trace.length - 1, "after the faults stopped the website refused the device's new access token")
    return undefined
  }
}

/** An access token's lifetime in ticks (SPEC.md §2: one lifetime is one tick): valid only in the tick it was issued in. */
export const ACCESS_LIFETIME_TICKS = ACCESS_TOKEN_LIFETIME / TICK_SECONDS

export const accessExpiry: SecurityProperty = {
  id: "P3.access-expiry",
  protocol: "hw-token-2fa",
  kind: "freshness",
  statement: "The ResourceServer accepts an access token only before its expiry, and only for the username it is bound to.",
  expected: { claimed: "holds", hardened: "holds" },
  judgedIn: ["model", "impl"],
  check: (trace) => {
    // Judged on what happened, not on what the ResourceServer says of the token: the time is the
    // trace's own clock (its `Tick(clock)` events), and a token's expiry is one tick after the
    // AuthServer issued it — so a server that issues tokens with a later `exp`, or a
    // ResourceServer that misreads the clock, is caught, not believed.
    const issuedTo = new Map<string, string>()
    const issuedAt = new Map<string, number>()
    let now = 0
    for (let at = 0; at < trace.length; at++) {
      const e = trace[at]!
      if (e._tag === "Tick" && e.actor === "clock") now++
      if (e._tag === "Commit" && e.actor === "auth") {
        const f = fieldsOf(e.data)
        const r = parseRefresh(f.new)
        if (r !== undefined && f.user !== undefined) {
          issuedTo.set(`a${r.family}.${r.serial}`, f.user)
          issuedAt.set(`a${r.family}.${r.serial}`, now)
        }
      }
      if (e._tag !== "Commit" || e.actor !== "rs") continue
      const f = fieldsOf(e.data)
      const issued = f.at === undefined ? undefined : issuedAt.get(f.at)
      if (issued !== undefined && now >= issued + ACCESS_LIFETIME_TICKS)
        return violation(at, `access token ${f.at} accepted at tick ${now}, issued at tick ${issued}: it expired at tick ${issued + ACCESS_LIFETIME_TICKS}`)
      const owner = f.at === undefined ? undefined : issuedTo.get(f.at)
      if (owner === undefined || owner !== f.sub) return violation(at, `access token ${f.at} accepted for ${f.sub}, issued to ${owner ?? "nobody"}`)
    }
    return undefined
  }
}

export const attemptThrottling: SecurityProperty = {
  id: "P3.attempt-throttling",
  protocol: "hw-token-2fa",
  kind: "robustness",
  statement: `After ${MAX_OTP_FAILURES} consecutive wrong OTPs for a user the AuthServer checks no further OTP for that user (login or refresh) until time has passed (one tick): a guesser gets at most ${MAX_OTP_FAILURES} tries per user per tick (RFC 4226 §7.3).`,
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness: "The claim puts no limit on OTP attempts: with the API key, an attacker can try 10^6 codes.",
  check: (trace) => {
    // whose OTP a check is about: the Commit names the user; a refusal is about the request
    // delivered just before it — its API key (`key=`, alice's unless it says otherwise) or the
    // owner of its refresh token
    const owner = new Map<string, string>()
    const failures = new Map<string, number>()
    let requester = "alice"
    for (let at = 0; at < trace.length; at++) {
      const e = trace[at]!
      if (e._tag === "Tick" && e.actor === "clock") failures.clear()
      if (e._tag === "Deliver" && e.to === "auth") {
        const f = fieldsOf(e.data)
        requester = f.key ?? (f.rt === undefined ? "alice" : (owner.get(f.rt) ?? "alice"))
      }
      const commit = e._tag === "Commit" && e.actor === "auth"
      const checked = (e._tag === "Reject" && e.actor === "auth" && e.reason === "bad-otp") || commit
      if (!checked) continue
      const f = commit ? fieldsOf(e.data) : {}
      const user = f.user ?? requester
      const count = failures.get(user) ?? 0
      if (count >= MAX_OTP_FAILURES) return violation(at, `an OTP of ${user} was checked after ${count} consecutive failures in the same tick`)
      failures.set(user, commit ? 0 : count + 1)
      if (f.new !== undefined && f.user !== undefined) owner.set(f.new, f.user)
    }
    return undefined
  }
}

export const refusalChangesOnlyNamedState: SecurityProperty = {
  id: "P3.refusal-state",
  protocol: "hw-token-2fa",
  kind: "robustness",
  statement:
    "A refusal by the AuthServer changes only the state the design names for that refusal (SPEC.md §5): a wrong OTP counts one failure on the user's linked token, a reused refresh token revokes its own family, and every other refusal changes nothing.",
  expected: { claimed: "holds", hardened: "holds" },
  judgedIn: ["impl"],
  check: (trace) => {
    const at = trace.findIndex((e) => e._tag === "Signal" && e.actor === "auth" && e.signal === "state-changed-on-reject")
    if (at < 0) return undefined
    const refusal = trace.slice(0, at).reverse().find((e) => e._tag === "Reject" && e.actor === "auth")
    return violation(at, `the AuthServer's refusal (${refusal?._tag === "Reject" ? refusal.reason : "?"}) changed state the design does not name for it`)
  }
}

export const malformedInputRejected = malformedInput({
  id: "P3.malformed-input",
  protocol: "hw-token-2fa",
  statement:
    "Every malformed message (truncated, trailing bytes, random bytes, a tampered or alg-confused access token) is refused as malformed — before any check that could consume state — and changes no participant's durable state.",
  reasons: ["malformed", "invalid"]
})

export const tamperedInputRejected = tamperedInput({
  id: "P3.tampered-input",
  protocol: "hw-token-2fa",
  statement:
    "A captured access token with one byte flipped or cut (in an AccessRequest to the website or a RefreshBegin to the AuthServer) is refused by its recipient, and the refusal changes no durable state."
})

/** Every P3 property, in report order. */
export const properties: ReadonlyArray<SecurityProperty> = [
  otpSingleUse,
  otpBinding,
  otpWindow,
  refreshSingleUse,
  reuseRevokesFamily,
  rotationLiveness,
  accessExpiry,
  attemptThrottling,
  refusalChangesOnlyNamedState,
  malformedInputRejected,
  tamperedInputRejected
]
