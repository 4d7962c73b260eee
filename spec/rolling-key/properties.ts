/**
 * P5 security properties, each a predicate over a protocol trace (see ../trace.ts).
 *
 * Trace conventions every producer (the model's system, the implementation's harness) follows:
 * - actors: `client` (the honest device), `server`, `clone` (the attacker running a copy of the
 *   device's stored state, after a compromise), `attacker` (the network).
 * - a request is named `req<N>@k<E>` (the device's N-th request, made with its key of epoch E),
 *   `clone<N>@k<E>`, or `attacker<N>@k<E>` (a code the attacker computed itself with a key it
 *   holds); `Running(client|clone, server, name)` when an honest or cloned client sends one, and
 *   its `Send` / `Deliver` events carry the name as `data`. A message the attacker edited
 *   (`tampered:<label>`) carries no name: a Commit on it is `forged#<ref>`.
 * - the server's verdict on a delivered request follows the `Deliver` before any other
 *   delivery: `Commit(server, client, name)` when accepted, else `Reject(server, reason)` with
 *   reason one of `malformed`, `unknown-device`, `stale-challenge`, `bad-code`,
 *   `clone-suspected`, `bad-credentials`, preceded by `Signal(server, clone-suspected)` when so.
 * - `Accept(client, req<N>)` when the device takes a grant for request N and rolls its key.
 * - keys are named `k<E>` by epoch (number of rolls since registration); `Reveal(k<E>, wire)` when
 *   the attacker can compute a key some participant holds from the messages it saw alone (message
 *   bodies inside TLS included: a key sent back, K0 from a registration body, the successor of a
 *   known key under a rolling input seen in a grant); `Reveal(k<E>, compromise)` when it copies
 *   the device's storage, or computes a successor of a copied key.
 * - the harness signals `challenge-checked-twice` (actor server) when the server checks a code
 *   over a device's input it has already checked one over (any verdict but stale-challenge,
 *   unknown-device, malformed), `checked-challenge-kept` when the server's store still holds a
 *   challenge it has just checked a code over, and `state-changed-on-reject` when a refusal changed durable
 *   state beyond what the design names (for bad-code / clone-suspected: the checked challenge).
 * - after `FaultsEnd` the producer restarts the device from its durable storage (`Crash(client)`:
 *   what it held only in memory is lost, with any pending attempt), lets it register if it has no
 *   key, and make one attempt with every message delivered once, in order.
 */
import type { SecurityProperty, Violation } from "../property.ts"
import { malformedInputRejected as malformedInput, tamperedInputRejected } from "../robustness.ts"
import type { Trace, TraceEvent } from "../trace.ts"

interface RequestName {
  readonly sender: "client" | "clone" | "attacker"
  readonly n: number
  readonly epoch: number
}

/** Parse `req3@k2` / `clone1@k0`; anything else (e.g. injected bytes) is not a request name. */
export const parseRequestName = (data: string | undefined): RequestName | undefined => {
  if (data === undefined) return undefined
  // The properties parse the same few names on every trace the explorer judges: remembered.
  if (parsedNames.has(data)) return parsedNames.get(data)
  const m = /^(req|clone|attacker)(\d+)@k(\d+)$/.exec(data)
  const name: RequestName | undefined = m ? { sender: m[1] === "req" ? "client" : m[1] === "clone" ? "clone" : "attacker", n: Number(m[2]), epoch: Number(m[3]) } : undefined
  if (parsedNames.size >= 10_000) parsedNames.clear()
  parsedNames.set(data, name)
  return name
}

const parsedNames = new Map<string, RequestName | undefined>()

export const requestName = (sender: "client" | "clone", n: number, epoch: number): string =>
  `${sender === "client" ? "req" : "clone"}${n}@k${epoch}`

const violation = (at: number, reason: string): Violation => ({ at, reason })

/** The server's verdict events on the delivery at `at`: its Commit, Reject and Signal events up to the next delivery. */
const serverVerdict = (trace: Trace, at: number): ReadonlyArray<TraceEvent> => {
  const verdict: Array<TraceEvent> = []
  for (let j = at + 1; j < trace.length; j++) {
    const f = trace[j]!
    if (f._tag === "Deliver" || f._tag === "FaultsEnd") break
    if ((f._tag === "Commit" || f._tag === "Reject" || f._tag === "Signal") && f.actor === "server") verdict.push(f)
  }
  return verdict
}

/**
 * What each property's forward scan has read of a path before the trace it is given: nothing, for
 * a whole trace (`NO_PAST`), or a past summarised by `pastSummary` (below), so that the explorer
 * can judge a step from its parent's summary without the path's trace. A scan from a past's
 * readings gives the verdict its scan of past ++ trace gives, for a past in which it found no
 * violation: the readings are exactly the state the scan carries forward (property by property,
 * at `pastSummary`).
 */
interface PastReadings {
  /** Requests the server accepted (no-replay, injective-agreement). */
  readonly committed: ReadonlySet<string>
  /** Per sender, the highest request number accepted (no-replay). */
  readonly latest: ReadonlyMap<string, number>
  /** Requests honest parties sent, in the order sent (injective-agreement matches a grant to the first with its number). */
  readonly sent: ReadonlySet<string>
  /** Keys copied in a compromise (injective-agreement). */
  readonly compromised: ReadonlySet<string>
  /** The epoch of the first key copied, if any (clone-detection). */
  readonly copiedEpoch: number | undefined
  /** The highest epoch of a request of the device's line the server accepted, or -1 (clone-detection). */
  readonly deviceEpoch: number
  /** Whether a message made with a copied key was delivered (desync-liveness). */
  readonly usedCopied: boolean
}

const NO_PAST: PastReadings = {
  committed: new Set(),
  latest: new Map(),
  sent: new Set(),
  compromised: new Set(),
  copiedEpoch: undefined,
  deviceEpoch: -1,
  usedCopied: false
}

const scanNoReplay = (trace: Trace, past: PastReadings): Violation | undefined => {
  const accepted = new Set(past.committed)
  const latest = new Map(past.latest)
  for (let at = 0; at < trace.length; at++) {
    const e = trace[at]!
    if (e._tag !== "Commit" || e.actor !== "server") continue
    if (accepted.has(e.data)) return violation(at, `request ${e.data} accepted a second time`)
    accepted.add(e.data)
    const name = parseRequestName(e.data)
    if (name === undefined) continue
    const last = latest.get(name.sender)
    if (last !== undefined && name.n < last)
      return violation(at, `request ${e.data} accepted after the same sender's later request #${last}`)
    latest.set(name.sender, Math.max(last ?? -1, name.n))
  }
  return undefined
}

const scanInjectiveAgreement = (trace: Trace, past: PastReadings): Violation | undefined => {
  const sent = new Set(past.sent)
  const compromised = new Set(past.compromised)
  const committed = new Set(past.committed)
  for (let at = 0; at < trace.length; at++) {
    const e = trace[at]!
    if (e._tag === "Running" && e.peer === "server") sent.add(e.data)
    else if (e._tag === "Reveal" && e.via === "compromise") compromised.add(e.name)
    else if (e._tag === "Commit" && e.actor === "server") {
      const name = parseRequestName(e.data)
      // A clone's request, or a code the attacker computed, with a key it got from a compromise.
      const excused = name !== undefined && name.sender !== "client" && compromised.has(`k${name.epoch}`)
      if (!sent.has(e.data) && !excused) return violation(at, `server accepted ${e.data}, which no honest party sent`)
      if (committed.has(e.data)) return violation(at, `server accepted ${e.data} twice (not injective)`)
      committed.add(e.data)
    } else if (e._tag === "Accept" && e.actor === "client") {
      const matching = [...committed].some((d) => d.startsWith(`${e.data}@`))
      // With the device's key in the attacker's hands a grant can be forged: excused, as above.
      const request = [...sent].find((d) => d.startsWith(`${e.data}@`))
      const excused = request !== undefined && compromised.has(`k${parseRequestName(request)?.epoch}`)
      if (!matching && !excused) return violation(at, `device completed ${e.data}, which the server never accepted`)
    }
  }
  return undefined
}

const scanDesyncLiveness = (trace: Trace, past: PastReadings): Violation | undefined => {
  // A copy of the key that never reaches the server or the device changes nothing: only a used one excuses.
  if (past.usedCopied || trace.some((e) => e._tag === "Deliver" && usesCopiedKey(e.data))) return undefined
  const end = trace.findIndex((e) => e._tag === "FaultsEnd")
  if (end < 0) return undefined
  const firstRequest = trace.findIndex((e, i) => i > end && e._tag === "Running" && e.actor === "client")
  if (firstRequest < 0) return violation(trace.length - 1, "after the faults stopped the device never made a request")
  const data = (trace[firstRequest] as Extract<TraceEvent, { _tag: "Running" }>).data
  const request = data.split("@")[0]!
  const committed = trace.some((e, i) => i > firstRequest && e._tag === "Commit" && e.actor === "server" && e.data === data)
  if (!committed) return violation(trace.length - 1, `after the faults stopped the server refused the device's request ${data}`)
  const completed = trace.some((e, i) => i > firstRequest && e._tag === "Accept" && e.actor === "client" && e.data === request)
  if (!completed) return violation(trace.length - 1, `after the faults stopped the device did not complete ${request}`)
  return undefined
}

const scanCloneDetection = (trace: Trace, past: PastReadings): Violation | undefined => {
  let deviceEpoch = past.deviceEpoch
  let copiedEpoch = past.copiedEpoch
  for (let at = 0; at < trace.length; at++) {
    const e = trace[at]!
    // The copy is the first compromise reveal; later ones are keys computed from it.
    if (e._tag === "Reveal" && e.via === "compromise" && copiedEpoch === undefined) copiedEpoch = Number(e.name.slice(1))
    if (e._tag === "Commit" && e.actor === "server") {
      const name = parseRequestName(e.data)
      // The attacker's own logins use keys of the device's line (computed from its grants) and
      // roll the server's keys like the device's do (SECURITY.md §5, no post-compromise security).
      if (name?.sender === "client" || name?.sender === "attacker") deviceEpoch = Math.max(deviceEpoch, name.epoch)
    }
    if (e._tag !== "Deliver" || e.to !== "server") continue
    const name = parseRequestName(e.data)
    // Only requests made with the copied key itself: once the clone has rolled it holds a key
    // of its own lineage, which the server can tell from the device's only by a later clash
    // (the residual "clone acts first", SECURITY.md).
    if (name?.sender !== "clone" || name.epoch !== copiedEpoch || name.epoch >= deviceEpoch) continue
    const verdict = serverVerdict(trace, at)
    if (verdict.some((x) => x._tag === "Commit"))
      return violation(at, `server accepted the clone's ${e.data} after the device had used k${deviceEpoch}`)
    const stale = verdict.some((x) => x._tag === "Reject" && x.reason === "stale-challenge")
    const signalled = verdict.some((x) => x._tag === "Signal" && x.signal === "clone-suspected")
    if (name.epoch === deviceEpoch - 1 && !stale && !signalled)
      return violation(at, `the clone's ${e.data}, made with the key just retired, raised no clone-suspected`)
  }
  return undefined
}

const scanKeySecrecy = (trace: Trace): Violation | undefined => {
  const at = trace.findIndex((e) => e._tag === "Reveal" && e.via === "wire")
  return at < 0 ? undefined : violation(at, `the attacker can compute ${(trace[at] as Extract<TraceEvent, { _tag: "Reveal" }>).name} from what it saw on the wire`)
}

export const noReplay: SecurityProperty = {
  id: "P5.no-replay",
  protocol: "rolling-key",
  kind: "freshness",
  statement:
    "The server accepts each request at most once, and never accepts a request after it has accepted a later request from the same sender.",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness:
    "The claim lets the client choose the authorisation-code input and keeps the previous key: a captured request still verifies under the previous key after the server has rolled, so it is accepted again.",
  check: (trace) => scanNoReplay(trace, NO_PAST)
}

export const injectiveAgreement: SecurityProperty = {
  id: "P5.injective-agreement",
  protocol: "rolling-key",
  kind: "agreement",
  statement:
    "Every login the server accepts as the device's matches exactly one request the device sent (or one made with a key the attacker compromised), and the device completes a login only for a request the server accepted.",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness:
    "The claim's grant is not bound to the request: a replayed grant completes a login the server never accepted, and a replayed request is accepted twice.",
  check: (trace) => scanInjectiveAgreement(trace, NO_PAST)
}

/** A message made with a key the attacker holds: a clone's request, or an attacker's code or keyed grant. */
export const usesCopiedKey = (data: string | undefined): boolean => data !== undefined && /^(clone|attacker)/.test(data)

export const desyncLiveness: SecurityProperty = {
  id: "P5.desync-liveness",
  protocol: "rolling-key",
  kind: "liveness",
  statement:
    "After any schedule of lost, duplicated, delayed, reordered or forged messages and crash-restarts, once the faults stop the honest device, restarted from its durable storage, logs in within one attempt — unless the attacker has used a copied key (a clone's request, or a code or grant it computed with a key from a compromise).",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness:
    "The claim's grant is unauthenticated and a replayed request rolls the server from the previous key: either leaves the device holding a key the server no longer knows — a permanent lockout.",
  check: (trace) => scanDesyncLiveness(trace, NO_PAST)
}

export const cloneDetection: SecurityProperty = {
  id: "P5.clone-detection",
  protocol: "rolling-key",
  kind: "detection",
  statement:
    "Once the device has logged in with a key later than one the attacker copied, a request made with the copied key is never accepted, and if the copied key is the one the device used just before, it is refused with clone-suspected (unless its challenge had already expired).",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness: "The claim keeps no record that could tell a clone from a stale device: a clone's request is refused like noise, and no one is told.",
  check: (trace) => scanCloneDetection(trace, NO_PAST)
}

export const keySecrecy: SecurityProperty = {
  id: "P5.key-secrecy",
  protocol: "rolling-key",
  kind: "secrecy",
  statement:
    "The attacker cannot compute any rolling key a participant holds from the messages it saw — bodies inside TLS included (terminating proxies and logs see them) — unless the key descends from one it copied in a compromise.",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["model", "impl"],
  weakness:
    "The claim has the client send the initial rolling key back to the server, and K0 is a public function of the registration response: whoever reads the registration bodies has K0 and, with the rolling inputs of the grants, every later key.",
  check: scanKeySecrecy
}

export const singleUseChallenge: SecurityProperty = {
  id: "P5.single-use-challenge",
  protocol: "rolling-key",
  kind: "freshness",
  statement:
    "The server checks at most one code over each authorisation-code input: once it has checked a request over an input (accepted or refused for its code), the challenge is gone from its store and every later request over that input is refused as stale before any key is tried.",
  expected: { claimed: "fails", hardened: "holds" },
  judgedIn: ["impl"],
  weakness: "The claim's input is chosen by the client and never recorded: a captured request is checked again, and every guess at a code can reuse the same input.",
  check: (trace) => {
    const at = trace.findIndex((e) => e._tag === "Signal" && (e.signal === "challenge-checked-twice" || e.signal === "checked-challenge-kept"))
    if (at < 0) return undefined
    const kept = (trace[at] as Extract<TraceEvent, { _tag: "Signal" }>).signal === "checked-challenge-kept"
    return violation(at, kept ? "the server kept a challenge outstanding after checking a code over it" : "the server checked a second code over an input it had already checked one over")
  }
}

export const tamperedInput: SecurityProperty = {
  ...tamperedInputRejected({
    id: "P5.tampered-input",
    protocol: "rolling-key",
    statement:
      "A captured request, grant or refusal with one field flipped, cut or taken from another message is refused by its recipient, and the refusal changes no durable state beyond the checked challenge."
  }),
  // The claim's grant carries no proof: an edited rolling input is taken and rolled on.
  expected: { claimed: "fails", hardened: "holds" },
  weakness: "The claim's grant is unauthenticated: a grant with its rolling input edited in flight is accepted, and the device rolls to a key the server does not have."
}

export const malformedInputRejected = malformedInput({
  id: "P5.malformed-input",
  protocol: "rolling-key",
  statement:
    "Every malformed message (truncated, trailing bytes, wrong lengths, random bytes) or message naming an unknown device is refused with a typed error and changes no participant's durable state."
})

/**
 * What the P5 properties judged on the model read of a path's past, as one small value: the
 * explorer merges two paths into the same state when their summaries are equal
 * (model/explore/explorer.ts `PathSummary`), so paths that saw the same facts in another order are
 * explored once. Property by property — each scans the trace forward, and a violation inside the
 * past was already found when its step was judged, so only what a future event is checked against
 * matters:
 * - no-replay: the requests the server accepted (the latest per sender follows from them);
 * - injective-agreement: the requests honest parties sent (in order: a grant is matched to the
 *   first one with its number), the keys copied in a compromise, the requests accepted;
 * - desync-liveness: whether a message made with a copied key was delivered (it reads nothing else
 *   before `FaultsEnd`, which only the continuation has);
 * - clone-detection: the device's highest accepted epoch (from the accepted requests) and the
 *   epoch of the first copied key; a request's verdict events come in the step that delivers it;
 * - key-secrecy: nothing (any wire reveal is the violation itself).
 *
 * Those are the readings each scan starts from (`PastReadings`): `broken` judges a step from its
 * parent's summary, as each property's scan from the summary's readings over the step's events and
 * the continuation.
 */
interface PastFacts {
  readonly committed: ReadonlyArray<string>
  readonly sent: ReadonlyArray<string>
  readonly compromised: ReadonlyArray<string>
  readonly copiedEpoch: number | null
  readonly usedCopied: boolean
}

const NO_FACTS: PastFacts = { committed: [], sent: [], compromised: [], copiedEpoch: null, usedCopied: false }

const readsOfPast = (e: TraceEvent): boolean =>
  (e._tag === "Commit" && e.actor === "server") ||
  (e._tag === "Running" && e.peer === "server") ||
  (e._tag === "Reveal" && e.via === "compromise") ||
  (e._tag === "Deliver" && usesCopiedKey(e.data)) ||
  e._tag === "FaultsEnd"

const withFacts = (facts: PastFacts, events: Trace): PastFacts => {
  const committed = new Set(facts.committed)
  const sent = new Set(facts.sent)
  const compromised = new Set(facts.compromised)
  let { copiedEpoch, usedCopied } = facts
  for (const e of events) {
    if (e._tag === "Commit" && e.actor === "server") committed.add(e.data)
    else if (e._tag === "Running" && e.peer === "server") sent.add(e.data)
    else if (e._tag === "Reveal" && e.via === "compromise") {
      compromised.add(e.name)
      copiedEpoch ??= Number(e.name.slice(1))
    } else if (e._tag === "Deliver" && usesCopiedKey(e.data)) usedCopied = true
    else if (e._tag === "FaultsEnd") throw new Error("P5 path summary: FaultsEnd inside a path (only a continuation has it)")
  }
  return { committed: [...committed].sort(), sent: [...sent], compromised: [...compromised].sort(), copiedEpoch, usedCopied }
}

/** The scans' state after a clean past with these facts (`PastReadings`). */
const readingsOf = (facts: PastFacts): PastReadings => {
  const latest = new Map<string, number>()
  let deviceEpoch = -1
  for (const data of facts.committed) {
    const name = parseRequestName(data)
    if (name === undefined) continue
    latest.set(name.sender, Math.max(latest.get(name.sender) ?? -1, name.n))
    if (name.sender === "client" || name.sender === "attacker") deviceEpoch = Math.max(deviceEpoch, name.epoch)
  }
  return {
    committed: new Set(facts.committed),
    latest,
    sent: new Set(facts.sent),
    compromised: new Set(facts.compromised),
    copiedEpoch: facts.copiedEpoch ?? undefined,
    deviceEpoch,
    usedCopied: facts.usedCopied
  }
}

/** Summaries are few and met again and again: each is parsed once (bounded), with its readings. */
const parsedOf = (summary: string): { readonly facts: PastFacts; readonly readings: PastReadings } => {
  let parsed = parsedSummaries.get(summary)
  if (parsed === undefined) {
    if (parsedSummaries.size >= 100_000) parsedSummaries.clear()
    const facts = JSON.parse(summary) as PastFacts
    parsedSummaries.set(summary, (parsed = { facts, readings: readingsOf(facts) }))
  }
  return parsed
}
const parsedSummaries = new Map<string, { readonly facts: PastFacts; readonly readings: PastReadings }>()

/** Each covered property's scan from a past's readings (`pastSummary.broken`). */
const scans: ReadonlyArray<readonly [string, (trace: Trace, past: PastReadings) => Violation | undefined]> = [
  [noReplay.id, scanNoReplay],
  [injectiveAgreement.id, scanInjectiveAgreement],
  [desyncLiveness.id, scanDesyncLiveness],
  [cloneDetection.id, scanCloneDetection],
  [keySecrecy.id, scanKeySecrecy]
]

export const pastSummary = {
  covers: scans.map(([id]) => id),
  initial: (trace: Trace): string => JSON.stringify(withFacts(NO_FACTS, trace)),
  next: (summary: string, events: Trace): string => (events.some(readsOfPast) ? JSON.stringify(withFacts(parsedOf(summary).facts, events)) : summary),
  broken: (summary: string, future: Trace): ReadonlyArray<string> => {
    const past = parsedOf(summary).readings
    const ids: Array<string> = []
    for (const [id, scan] of scans) if (scan(future, past) !== undefined) ids.push(id)
    return ids
  }
}

/** Every P5 property, in report order. */
export const properties: ReadonlyArray<SecurityProperty> = [
  noReplay,
  injectiveAgreement,
  desyncLiveness,
  cloneDetection,
  keySecrecy,
  singleUseChallenge,
  malformedInputRejected,
  tamperedInput
]
