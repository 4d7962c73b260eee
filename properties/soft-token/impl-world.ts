/**
 * The P1 implementation as a `World`: the real Effect services (impl/soft-token) with real crypto
 * (noble), a seeded random source and a manual clock, driven by the attacker's moves.
 *
 * The world is its own attacker: it computes the enabled moves from what it has seen and what its
 * participants hold — the moves the model has in the same situation (so a model path replays
 * here, and conformance can run both side by side), and, when `malformed` is on, its own:
 * malformed bytes; made-up OTPs that are empty, short, too long or not digits; byte edits of the
 * messages the attacker can see (its own connections, and every presentation at a relying party:
 * tokens are public) — a PoP, a card read, a token flipped, cut or spliced from another session;
 * and replays of a card read into another of its sessions, held open for the purpose.
 *
 * The harness is the trusted observer that turns what happens into the trace conventions of
 * spec/soft-token/properties.ts. It reads the wire and the service's durable store, not the
 * service's account of itself: an OTP's entropy is read from the OTP the service sent, an OTP's
 * acceptance and closing from the store, a token's binding from the token's bytes; and after a
 * refusal it compares the store with what the design says that refusal changes (SPEC.md §5), and
 * signals `state-changed-on-reject` on any other change (or a missing one). Participants never
 * see any of this. Interleavings of concurrent sessions are attacker moves (the services are
 * synchronous), not fc.scheduler races: see SECURITY.md §Model.
 *
 * With `remote` (`authlab conform`) the service and the relying party are served elsewhere: the
 * world drives them by their wire bytes on its connections and reads only what comes back on
 * them. The local store then stays empty, so every fact read from it above is absent; what the
 * world needs of the service's state it takes from the wire (the OTPs it saw issued).
 */
import { Clock, Context, Effect, Either, Layer, Redacted, Schema } from "effect"
import type { Move } from "../../spec/attacker.ts"
import { AttributeResponse, IssueBegin, IssueRequest, OtpSubmit, Present, PossessionProof, ToService } from "../../spec/soft-token/messages.ts"
import { GUESS_BURST, VICTIM_ATTRS } from "../../spec/soft-token/properties.ts"
import { type Policy, TICK_SECONDS, TOKEN_LIFETIME_SECONDS } from "../../spec/soft-token/variants.ts"
import type { Actor, Trace, TraceEvent } from "../../spec/trace.ts"
import { joinAnyFrame, splitAnyFrame } from "../../spec/codec.ts"
import { constantTimeEqual } from "../../impl/crypto/bytes.ts"
import { CryptoNode } from "../../impl/crypto/node.ts"
import { SecureRandomSeeded } from "../../impl/crypto/random.ts"
import { Crypto, type CryptoShape, SecureRandom } from "../../impl/crypto/services.ts"
import { type SigningKey, signJwt, verificationKeyOf } from "../../impl/jws/jws.ts"
import { type Device, makeDevice } from "../../impl/soft-token/device.ts"
import { type IdToken, makeIdToken } from "../../impl/soft-token/id-token.ts"
import { makeRelyingParty, type RelyingParty, type RelyingPartyOptions, RpRejection, type RpRejectionReason, type RpStep } from "../../impl/soft-token/relying-party.ts"
import { makeSecureElement, type SecureElement } from "../../impl/soft-token/secure-element.ts"
import { makeService, type Reply, type ServiceEvent, type ServiceOptions, ServiceRejection, type ServiceRejectionReason, type SoftTokenService } from "../../impl/soft-token/service.ts"
import { type IssuanceStore, makeMemoryStore } from "../../impl/soft-token/store.ts"
import { ISSUER, issuePopInput, jwkOf, possessionInput, publicKeyOfJwk, tokenBytes, tokenString, unverifiedClaims } from "../../impl/soft-token/token.ts"
import { makeUserComputer, type UserComputer } from "../../impl/soft-token/user-computer.ts"
import { DEVICE_NAMES, FLOOD_LIMIT, MAX_ATTACKER_TYPING, MAX_TICKS, type Observation, PINS } from "../../model/soft-token/system.ts"
import { byteAttack, byteAttackMoves, type SeenMessage } from "../harness/byte-attacks.ts"
import type { World } from "../harness/world.ts"
import type { RemoteParticipants, ServedAnswer } from "../definition.ts"
import { servedSeed } from "../harness/served.ts"
import { steppedClock } from "../../impl/clock.ts"

export const MALFORMED_KINDS = ["truncated", "trailing", "random"] as const
/** Made-up OTPs of the wrong shape: a comparison that is not exact (a prefix, a length taken from the input) accepts one. */
export const ODD_OTPS = ["empty", "short", "long", "letters"] as const

/** A mutant's implementation side: decorators of the real services, their store and their crypto. */
export interface SoftTokenImplFlaw {
  /** Wraps the service's store (the harness still reads the real one). */
  readonly store?: (store: IssuanceStore) => IssuanceStore
  /** Wraps the service itself (e.g. what its replies carry, or the clock it reads). */
  readonly service?: (service: SoftTokenService) => SoftTokenService
  /** Replaces the crypto the service verifies with. */
  readonly serviceCrypto?: (crypto: CryptoShape) => CryptoShape
  /** The service's edge decoder. */
  readonly decode?: ServiceOptions["decode"]
  /** Replaces the crypto the relying party verifies with. */
  readonly rpCrypto?: (crypto: CryptoShape) => CryptoShape
  /** How the relying party checks a presented token. */
  readonly verifyToken?: RelyingPartyOptions["verifyToken"]
}

export interface ImplWorldOptions {
  readonly policy: Policy
  readonly seed: number
  /** The OTP length the deployment configures (the policy may require more). */
  readonly otpDigits: number
  /** Whether the attacker also uses its implementation-only moves (bytes, odd OTPs, replays). */
  readonly malformed: boolean
  readonly flaw?: SoftTokenImplFlaw
  /**
   * The service and the relying party are served elsewhere (`authlab conform`): provisioned with
   * this run's `ServedDeployment`, driven through these proxies on the world's connections at the
   * world's time, never crashed; their state is out of sight.
   */
  readonly remote?: RemoteParticipants
}

/** The out-of-band set-up a served service is provisioned with (`remote.reset`), as JSON bytes. */
export interface ServedDeployment {
  /** Seeds the served participants' randomness (the issuer key among it), so a run replays. */
  readonly seed: number
  /** The OTP length the deployment configures (the policy may require more). */
  readonly otpDigits: number
  /** The chip keys (Ed25519, hex) of the genuine ID tokens. */
  readonly trustedCards: ReadonlyArray<string>
}

/** An ES256 key from the random source (a draw that is not a P-256 scalar is drawn again). */
export const drawSigningKey = (kid: string): Effect.Effect<SigningKey, never, Crypto | SecureRandom> =>
  Effect.gen(function*() {
    const random = yield* SecureRandom
    const crypto = yield* Crypto
    for (;;) {
      const secretKey = yield* random.bytes(32)
      if (Either.isRight(yield* Effect.either(crypto.p256PublicKey(secretKey)))) return { alg: "ES256", secretKey, kid }
    }
  })

/** What a service is deployed with besides its policy and store. */
export interface ServiceDeployment {
  readonly issuerKey: SigningKey
  readonly trustedCards: ReadonlyArray<Uint8Array>
  readonly otpDigits: number
}

/**
 * The service as every world builds it, in process or served (properties/soft-token/serve.ts):
 * the real one over `store`, a mutant's decorators applied (its store view, decoder, crypto and
 * service decorator).
 */
export const decoratedService = (policy: Policy, store: IssuanceStore, deployment: ServiceDeployment, flaw: SoftTokenImplFlaw): Effect.Effect<SoftTokenService, never, Crypto | SecureRandom> =>
  Effect.gen(function*() {
    const crypto = yield* Crypto
    const built = yield* Effect.provideService(
      makeService({
        policy,
        ...deployment,
        store: flaw.store === undefined ? store : flaw.store(store),
        ...(flaw.decode === undefined ? {} : { decode: flaw.decode })
      }),
      Crypto,
      flaw.serviceCrypto === undefined ? crypto : flaw.serviceCrypto(crypto)
    )
    return flaw.service === undefined ? built : flaw.service(built)
  })

/** The relying party as every world builds it: trusting `issuerKey`, a mutant's token check and crypto applied. */
export const decoratedRelyingParty = (issuerKey: SigningKey, flaw: SoftTokenImplFlaw): Effect.Effect<RelyingParty, never, Crypto | SecureRandom> =>
  Effect.gen(function*() {
    const crypto = yield* Crypto
    const issuerVerification = yield* Effect.orDie(verificationKeyOf(issuerKey))
    return yield* Effect.provideService(
      makeRelyingParty({ issuerKeys: [issuerVerification], ...(flaw.verifyToken === undefined ? {} : { verifyToken: flaw.verifyToken }) }),
      Crypto,
      flaw.rpCrypto === undefined ? crypto : flaw.rpCrypto(crypto)
    )
  })

/** The messages of a served step on each connection, in order: its deliveries, or its reply on the sender's. */
const repliesOf = (answer: ServedAnswer, conn: string): ReadonlyArray<Reply> =>
  answer.deliveries?.map((d) => ({ conn: d.to, bytes: d.bytes })) ?? (answer.reply === undefined ? [] : [{ conn, bytes: answer.reply }])

/**
 * A served service as the world's participant: its answers read back as the service's results
 * (the world reads only the replies). `prefetched` holds answers a concurrent batch already got,
 * consumed in order.
 */
const remoteService = (remote: RemoteParticipants, nowMillis: () => number, prefetched: Array<ServedAnswer>): SoftTokenService => ({
  receive: (conn, bytes) =>
    Effect.suspend(() => {
      const answer = prefetched.shift() ?? remote.send("service", bytes, nowMillis(), conn)
      const replies = repliesOf(answer, conn)
      return answer._tag === "Step"
        ? Effect.succeed({ replies, event: { _tag: answer.outcome } as ServiceEvent })
        : Effect.fail(new ServiceRejection({ reason: answer.reason as ServiceRejectionReason, replies }))
    })
})

/**
 * A served relying party as the world's participant. An acceptance carries no message, so what it
 * accepted is read from the token presented on that connection (`presentedOn`: claims read, not
 * verified — the world observes, it does not trust).
 */
const remoteRelyingParty = (remote: RemoteParticipants, nowMillis: () => number, presentedOn: (conn: string) => Uint8Array | undefined): RelyingParty => ({
  receive: (conn, bytes) =>
    Effect.suspend((): Effect.Effect<RpStep, RpRejection> => {
      const answer = remote.send("rp", bytes, nowMillis(), conn)
      if (answer._tag === "Refusal") return Effect.fail(new RpRejection({ reason: answer.reason as RpRejectionReason, ...(answer.reply === undefined ? {} : { reply: answer.reply }) }))
      if (answer.reply !== undefined && labelOf(answer.reply) === "RpChallenge") return Effect.succeed({ _tag: "challenged" as const, reply: answer.reply })
      const token = presentedOn(conn)
      const claims = token === undefined ? undefined : unverifiedClaims(tokenString(token))
      const cnf = claims?.["cnf"] as { jwk?: unknown } | undefined
      return Effect.succeed({
        _tag: "accepted" as const,
        attributes: (claims?.["attrs"] ?? {}) as Record<string, string>,
        publicKey: (cnf === undefined ? undefined : publicKeyOfJwk(cnf.jwk)) ?? new Uint8Array(0)
      })
    })
})

/** A clock the harness moves by hand (the participants read it through the Effect `Clock`). */
export const manualClock = (startMillis: number) => {
  let now = startMillis
  const clock: Clock.Clock = steppedClock(() => now)
  return { clock, now: () => now, advance: (ms: number) => void (now += ms) }
}

const START_MILLIS = 1_700_000_000_000
const LABELS: Readonly<Record<number, string>> = {
  1: "IssueBegin", 2: "IssueNonce", 3: "IssueRequest", 4: "OtpIssued", 5: "TokenIssued", 6: "Refused",
  7: "OtpSubmit", 8: "AttributeRequest", 9: "AttributeResponse", 10: "Present", 11: "RpChallenge", 12: "PossessionProof"
}
const labelOf = (bytes: Uint8Array) => (bytes[0] === 1 ? LABELS[bytes[1] ?? 0] : undefined) ?? "garbage"
const NEEDS_FRESH = new Set(["IssueBegin", "IssueRequest", "OtpSubmit", "Present"])
const decodeToService = Schema.decodeUnknownEither(ToService)

/** The entropy of an OTP as sent: its length times the bits of its alphabet (digits, else printable ASCII). */
const otpEntropy = (otp: string): number => otp.length * Math.log2(/^\d*$/.test(otp) ? 10 : 95)

type Ctx = Crypto | SecureRandom

interface Queued {
  readonly from: Actor
  readonly conn: string
  readonly bytes: Uint8Array
}

/** A message the attacker has seen, and the connection it went on. */
interface Seen extends SeenMessage {
  readonly conn: string
}

/** Flip the last (or first) byte of field `f` of a well-formed frame. */
const flipField = (bytes: Uint8Array, f: number, first: boolean): Uint8Array => {
  const frame = splitAnyFrame(bytes)!
  const fields = frame.fields.map((x) => Uint8Array.from(x))
  const field = fields[f]!
  if (field.length > 0) field[first ? 0 : field.length - 1]! ^= 0x01
  return joinAnyFrame(frame.header, fields)
}

/**
 * node:crypto, built once: ECDSA there is several times faster than noble's, which matters at
 * hundreds of runs per check. Its signatures are randomised (noble's are RFC 6979), so a replay
 * reproduces every verdict, not every signature byte.
 */
let crypto: Context.Context<Crypto> | undefined
const cryptoContext = (): Context.Context<Crypto> => (crypto ??= Effect.runSync(Effect.scoped(Layer.build(CryptoNode))))

export const makeImplWorld = (options: ImplWorldOptions): World<Observation> => {
  const { policy } = options
  const flaw = options.flaw ?? {}
  const context = Context.merge(cryptoContext(), Effect.runSync(Effect.scoped(Layer.build(SecureRandomSeeded(options.seed)))))
  const time = manualClock(START_MILLIS)
  const run = <A, E>(effect: Effect.Effect<A, E, Ctx>): Either.Either<A, E> =>
    Effect.runSync(Effect.either(Effect.provide(effect, context).pipe(Effect.withClock(time.clock))))
  const ok = <A, E>(effect: Effect.Effect<A, E, Ctx>): A => Either.getOrThrowWith(run(effect), (e) => new Error(`harness: ${String(e)}`))
  const random = (n: number) => ok(Effect.flatMap(SecureRandom, (r) => r.bytes(n)))
  const randomNat = (max: number) => {
    const b = random(4)
    return (((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!) % max
  }
  const seDev: SecureElement = ok(makeSecureElement)
  const seEvil: SecureElement = ok(makeSecureElement)
  const issuerKey = ok(drawSigningKey("issuer"))
  const attackerKey = ok(drawSigningKey("issuer"))
  const idAlice = ok(makeIdToken({ attributes: { name: "alice" }, pin: Redacted.make(PINS.pc), chipKey: Redacted.make(random(32)) }))
  const idMallory = ok(makeIdToken({ attributes: { name: "mallory" }, pin: Redacted.make(PINS.evilpc), chipKey: Redacted.make(random(32)) }))
  let idFake: IdToken | undefined
  // The harness reads the real store; a mutant may wrap what the service sees of it. A served
  // service has its own: this one then stays empty.
  const store = makeMemoryStore()
  const { remote } = options
  const deployment: ServedDeployment = { seed: servedSeed(options.seed), otpDigits: options.otpDigits, trustedCards: [idAlice.cardKey, idMallory.cardKey].map((k) => Buffer.from(k).toString("hex")) }
  remote?.reset(new TextEncoder().encode(JSON.stringify(deployment)))
  // Conformance (no implementation-only moves) runs the service with OTPs drawn in turn, as the
  // model draws its symbolic ones: the service's 4-byte draws (its OTPs) come from a counter, every
  // other draw from the seeded stream. Attack runs draw OTPs at random, collisions and all.
  const realRandom = ok(SecureRandom)
  let drawn = 0
  const serviceRandom: typeof realRandom = options.malformed
    ? realRandom
    : { bytes: (n) => (n === 4 ? Effect.sync(() => Uint8Array.of(0, 0, 0, 0).map((_, i) => (drawn >>> (8 * (3 - i))) & 0xff)).pipe(Effect.tap(() => void drawn++)) : realRandom.bytes(n)) }
  /** Answers of a served service to a burst sent at once, read in order by the steps that sent them. */
  const prefetched: Array<ServedAnswer> = []
  /** The token last presented on each relying-party connection (what a served relying party's acceptance accepted). */
  const presentedOn = new Map<string, Uint8Array>()
  const service: SoftTokenService =
    remote === undefined
      ? ok(Effect.provideService(decoratedService(policy, store, { issuerKey, trustedCards: [idAlice.cardKey, idMallory.cardKey], otpDigits: options.otpDigits }, flaw), SecureRandom, serviceRandom))
      : remoteService(remote, time.now, prefetched)
  const rp: RelyingParty = remote === undefined ? ok(decoratedRelyingParty(issuerKey, flaw)) : remoteRelyingParty(remote, time.now, (conn) => presentedOn.get(conn))
  const devices: Record<"device" | "evil", Device> = {
    device: makeDevice({ policy, se: seDev, name: DEVICE_NAMES.device }),
    evil: makeDevice({ policy, se: seEvil, name: DEVICE_NAMES.evil })
  }
  const computers: Record<"pc" | "evilpc", UserComputer> = {
    pc: makeUserComputer({ idToken: idAlice, pin: Redacted.make(PINS.pc) }),
    evilpc: makeUserComputer({ idToken: idMallory, pin: Redacted.make(PINS.evilpc) })
  }

  const keyName = (pk: Uint8Array | null | undefined): string =>
    pk == null ? "none" : constantTimeEqual(pk, seDev.publicKey) ? "dev" : constantTimeEqual(pk, seEvil.publicKey) ? "evil" : "unknown"
  /** `attrs|pk` of a token, read from its bytes. */
  const tokenName = (token: string | null): string | null => {
    if (token === null) return null
    const claims = unverifiedClaims(token)
    const attrs = (claims?.["attrs"] as Record<string, string> | undefined)?.["name"] ?? "?"
    const cnf = claims?.["cnf"] as { jwk?: unknown } | undefined
    return `${attrs}|${keyName(cnf === undefined ? null : publicKeyOfJwk(cnf.jwk))}`
  }

  // What the harness knows (the trusted observer) and what the attacker has seen.
  const conns = new Map<string, Actor>()
  /** The C1 of each phone's current request (what its screen's OTP was issued on). */
  const c1Of: Record<"device" | "evil", string | null> = { device: null, evil: null }
  const claimKeys: Record<"device" | "evil", Uint8Array> = { device: seDev.publicKey, evil: seEvil.publicKey }
  const forging = new Map<string, Uint8Array>()
  const presented: Array<string> = []
  const seen: Array<Seen> = []
  let phished: { otp: string; session: string } | null = null
  let attackerOtp: { otp: string; session: string } | null = null
  let attackerTyped = 0
  let ticks = 0
  let fresh = 0
  let floods = 0
  let flooded = 0
  let sent = 0
  /** Every OTP the attacker was given (its phone's and its script's), newest last. */
  const attackerOtps: Array<{ otp: string; session: string }> = []

  const attackerOwned = (actor: Actor | undefined) => actor === "evil" || actor === "evilpc" || actor === "attacker"
  /** The attacker sees its own connections and every relying-party presentation (tokens are public). */
  const observeWire = (m: Queued, to: Actor, label: string) => {
    if (m.from === "attacker") return
    if (attackerOwned(conns.get(m.conn)) || m.conn.startsWith("r")) seen.push({ from: m.from, to, bytes: m.bytes, label, conn: m.conn })
  }

  const snapshot = () => Effect.runSync(store.snapshot)
  type Snapshot = ReturnType<typeof snapshot>
  /** Two store snapshots hold the same state (records are immutable values: unchanged ones are the same objects). */
  const sameState = (a: Snapshot, b: Snapshot) =>
    a.records.length === b.records.length &&
    a.records.every(([s, r], i) => {
      const [t, q] = b.records[i]!
      return s === t && (r === q || (r.otp === q.otp && r.wrong === q.wrong && r.issuedAtMillis === q.issuedAtMillis && r.deviceName === q.deviceName && constantTimeEqual(r.publicKey, q.publicKey)))
    }) &&
    a.nonces.length === b.nonces.length &&
    a.nonces.every(([c, n], i) => c === b.nonces[i]![0] && constantTimeEqual(n, b.nonces[i]![1])) &&
    a.reads.length === b.reads.length &&
    a.reads.every(([c, r], i) => c === b.reads[i]![0] && r.session === b.reads[i]![1].session && constantTimeEqual(r.nonce, b.reads[i]![1].nonce))

  /** What the design says a refusal leaves in the store (SPEC.md §5); everything else must be as before. */
  const designAfter = (before: Snapshot, reason: string, conn: string, bytes: Uint8Array): Snapshot => {
    const m = decodeToService(bytes)
    const submitted = Either.isRight(m) && m.right._tag === "OtpSubmit" ? m.right.otp : undefined
    const nonces = reason === "bad-pop" || reason === "too-many-sessions" || reason === "busy" ? before.nonces.filter(([c]) => c !== conn) : before.nonces
    let records = before.records
    if (reason === "bad-otp")
      records = records.map(([s, r]) => {
        if (r.otp === null) return [s, r] as const
        const wrong = r.wrong + 1
        return [s, { ...r, wrong, otp: policy.maxAttempts !== null && wrong >= policy.maxAttempts ? null : r.otp }] as const
      })
    if (reason === "expired") {
      const own = records.find(([, r]) => r.otp !== null && r.otp === submitted)?.[0]
      records = records.map(([s, r]) => (s === own ? ([s, { ...r, otp: null }] as const) : ([s, r] as const)))
    }
    return { records, nonces, reads: before.reads }
  }

  /** Every OTP the wire showed the service issue, with its C1 and the key that C1 asked for, in order. */
  const issuedOtps: Array<{ readonly session: string; readonly otp: string; readonly key: string }> = []
  /**
   * The OTPs the service holds valid, with their C1, key and wrong-OTP count: read from its store;
   * from outside, every OTP the wire showed issued (its closing is not seen, so none is counted).
   */
  const liveOtps = (): ReadonlyArray<{ readonly session: string; readonly otp: string; readonly key: string; readonly wrong: number }> =>
    remote === undefined
      ? snapshot().records.flatMap(([session, r]) => (r.otp === null ? [] : [{ session, otp: r.otp, key: keyName(r.publicKey), wrong: r.wrong }]))
      : issuedOtps.map((o) => ({ ...o, wrong: 0 }))
  /**
   * The C1 whose record an OTP accepted on C2 `conn` matched: the pending read in the store; from
   * outside, the newest C1 the wire showed that OTP issued on — exact while no two live records
   * share an OTP (hardened draws again until none does), a guess between them where they may.
   */
  const matchedSession = (after: Snapshot, conn: string, bytes: Uint8Array): string | undefined => {
    if (remote === undefined) return after.reads.find(([c]) => c === conn)?.[1].session
    const m = decodeToService(bytes)
    const otp = Either.isRight(m) && m.right._tag === "OtpSubmit" ? m.right.otp : undefined
    return [...issuedOtps].reverse().find((o) => o.otp === otp)?.session
  }

  const closedBetween = (before: Snapshot, after: Snapshot) =>
    after.records.flatMap(([s, r]) => (r.otp === null && before.records.find(([b]) => b === s)?.[1].otp != null ? [s] : []))

  const toServer = (events: Array<TraceEvent>, queue: Array<Queued>, m: Queued, to: "service" | "rp") => {
    if (to === "service") {
      const before = snapshot()
      const r = run(service.receive(m.conn, m.bytes))
      const after = snapshot()
      const closed = closedBetween(before, after).map((s): TraceEvent => ({ _tag: "Signal", actor: "service", signal: `otp-closed:${s}` }))
      if (Either.isRight(r)) {
        for (const reply of r.right.replies) {
          const label = labelOf(reply.bytes)
          if (label === "OtpIssued") {
            const otp = after.records.find(([s]) => s === reply.conn)?.[1].otp ?? new TextDecoder().decode(splitAnyFrame(reply.bytes)!.fields[0])
            // An OTP answers the IssueRequest on its own C1: the key is the one that request named.
            const request = decodeToService(m.bytes)
            issuedOtps.push({ session: reply.conn, otp, key: keyName(Either.isRight(request) && request.right._tag === "IssueRequest" ? request.right.publicKey : null) })
            events.push(...closed)
            events.push({ _tag: "Secret", actor: "service", name: `otp:${reply.conn}:${otpEntropy(otp).toFixed(2)}` })
          } else if (label === "AttributeRequest") {
            events.push({ _tag: "Accept", actor: "service", data: `otp:${matchedSession(after, m.conn, m.bytes) ?? "unknown"}@${m.conn}` })
            events.push(...closed)
          }
        }
        const issued = r.right.replies.find((reply) => labelOf(reply.bytes) === "TokenIssued")
        if (issued !== undefined) {
          const token = tokenString(splitAnyFrame(issued.bytes)!.fields[0]!)
          const [attrs, pk] = tokenName(token)!.split("|")
          events.push({ _tag: "Commit", actor: "service", peer: conns.get(issued.conn) ?? "unknown", data: `token|${m.conn}|attrs=${attrs}|pk=${pk}|on=${issued.conn}` })
        }
        for (const reply of r.right.replies) queue.push({ from: "service", conn: reply.conn, bytes: reply.bytes })
      } else {
        const { reason, replies } = r.left
        if (reason === "expired") events.push(...closed)
        events.push({ _tag: "Reject", actor: "service", reason })
        if (reason !== "expired") events.push(...closed)
        if (!sameState(after, designAfter(before, reason, m.conn, m.bytes))) events.push({ _tag: "Signal", actor: "service", signal: "state-changed-on-reject" })
        for (const reply of replies) queue.push({ from: "service", conn: reply.conn, bytes: reply.bytes })
      }
      return
    }
    const r = run(rp.receive(m.conn, m.bytes))
    if (Either.isRight(r)) {
      if (r.right._tag === "challenged") queue.push({ from: "rp", conn: m.conn, bytes: r.right.reply })
      else events.push({ _tag: "Commit", actor: "rp", peer: conns.get(m.conn) ?? "unknown", data: `use|attrs=${r.right.attributes["name"] ?? "?"}|pk=${keyName(r.right.publicKey)}` })
    } else {
      events.push({ _tag: "Reject", actor: "rp", reason: r.left.reason })
      if (r.left.reply !== undefined) queue.push({ from: "rp", conn: m.conn, bytes: r.left.reply })
    }
  }

  const deviceSends = (events: Array<TraceEvent>, queue: Array<Queued>, actor: "device" | "evil", conn: string, sends: ReadonlyArray<Uint8Array>) => {
    for (const bytes of sends) {
      if (labelOf(bytes) === "IssueRequest")
        events.push({ _tag: "Running", actor, peer: "service", data: `${conn}|pk=${keyName(claimKeys[actor])}|own=${keyName(devices[actor].publicKey)}` })
      queue.push({ from: actor, conn, bytes })
    }
  }

  const decide = (events: Array<TraceEvent>, queue: Array<Queued>, computer: "pc" | "evilpc", conn: string) => {
    const c = computers[computer]
    let confirm = computer === "evilpc"
    if (!confirm) {
      const shown = ok(c.observe).shown?.fingerprint
      const onPhone = ok(devices.device.observe).display?.fingerprint ?? undefined
      confirm = shown !== undefined && shown === onPhone
      if (!confirm) events.push({ _tag: "Reject", actor: "user", reason: "fingerprint-mismatch" })
    }
    if (!confirm) return void ok(c.cancel)
    const r = run(c.confirm)
    if (Either.isRight(r)) for (const bytes of r.right) queue.push({ from: computer, conn, bytes })
  }

  const deliverOne = (events: Array<TraceEvent>, queue: Array<Queued>, m: Queued, how: "first" | "injected" = "first", labelled?: string) => {
    const serverSide = m.from === "service" || m.from === "rp"
    const to: Actor = serverSide ? (conns.get(m.conn) ?? "unknown") : m.conn.startsWith("r") ? "rp" : "service"
    const label = labelled ?? labelOf(m.bytes)
    const ref = sent++
    events.push({ _tag: "Send", from: m.from, to, ref, label }, { _tag: "Deliver", to, ref, label, how })
    observeWire(m, to, label)
    if (!serverSide && how === "first" && NEEDS_FRESH.has(label)) fresh++
    if (to === "rp" && labelOf(m.bytes) === "Present") {
      const token = splitAnyFrame(m.bytes)?.fields[0]
      if (token !== undefined) presentedOn.set(m.conn, Uint8Array.from(token))
    }
    if (to === "service" || to === "rp") return toServer(events, queue, m, to)
    // What comes back on the flood's C1s is read by the attacker's script, not by its phone.
    if (m.conn.startsWith("f")) return
    if (to === "evil" && forging.has(m.conn)) {
      if (label === "RpChallenge") {
        const nonce = splitAnyFrame(m.bytes)!.fields[0]!
        const signature = ok(seEvil.sign(possessionInput(nonce, forging.get(m.conn)!)))
        queue.push({ from: "evil", conn: m.conn, bytes: PossessionProof.encode(PossessionProof.make({ signature })) })
      }
      return
    }
    if (to === "device" || to === "evil") {
      const r = run(devices[to].receive(m.bytes))
      if (Either.isLeft(r)) return void events.push({ _tag: "Reject", actor: to, reason: r.left._tag === "DeviceRejection" ? r.left.reason : "malformed" })
      if (r.right.event === "token-stored") events.push({ _tag: "Accept", actor: to, data: `token:${tokenName(ok(devices[to].observe).token)}` })
      return deviceSends(events, queue, to, m.conn, r.right.sends)
    }
    if (to === "pc" || to === "evilpc") {
      const r = run(computers[to].receive(m.bytes))
      if (Either.isLeft(r)) return void events.push({ _tag: "Reject", actor: to, reason: r.left._tag })
      for (const bytes of r.right.sends) queue.push({ from: to, conn: m.conn, bytes })
      if (ok(computers[to].observe).phase === "confirming") decide(events, queue, to, m.conn)
    }
  }

  const pump = (events: Array<TraceEvent>, queue: Array<Queued>) => {
    for (let m = queue.shift(); m !== undefined; m = queue.shift()) deliverOne(events, queue, m)
  }

  const exchange = (first: (events: Array<TraceEvent>, queue: Array<Queued>) => void): Trace => {
    const events: Array<TraceEvent> = []
    const queue: Array<Queued> = []
    const before = ok(devices.evil.observe).display?.otp
    const beforeC1 = c1Of.evil
    first(events, queue)
    pump(events, queue)
    const shown = ok(devices.evil.observe).display?.otp
    // The attacker remembers a new OTP its phone shows.
    if (shown !== undefined && c1Of.evil !== null && (shown !== before || c1Of.evil !== beforeC1)) {
      attackerOtp = { otp: shown, session: c1Of.evil }
      attackerOtps.push(attackerOtp)
    }
    return events
  }

  const request = (actor: "device" | "evil", claimKey?: Uint8Array): Trace =>
    exchange((events, queue) => {
      const conn = `s${fresh++}`
      conns.set(conn, actor)
      c1Of[actor] = conn
      claimKeys[actor] = claimKey ?? devices[actor].publicKey
      const bytes = ok(devices[actor].request(conn, claimKey))
      deviceSends(events, queue, actor, conn, [bytes])
    })

  const typeOtp = (computer: "pc" | "evilpc", typed: { otp: string; session: string }): Trace =>
    exchange((events, queue) => {
      const conn = `t${fresh++}`
      conns.set(conn, computer)
      events.push({ _tag: "Running", actor: computer, peer: "service", data: `${conn}|otp-of=${typed.session}|attrs=${computer === "pc" ? "alice" : "mallory"}` })
      queue.push({ from: computer, conn, bytes: ok(computers[computer].type(typed.otp)) })
    })

  const victimDisplay = () => {
    const otp = ok(devices.device.observe).display?.otp
    return otp === undefined || c1Of.device === null ? undefined : { otp, session: c1Of.device }
  }

  const validOtps = () => liveOtps().map((o) => o.otp)
  /** The OTP length the service issues, read from what it sent. */
  const issuedLength = () => liveOtps()[0]?.otp.length ?? options.otpDigits

  /**
   * A burst of up to GUESS_BURST wrong guesses, each on a C2 of its own (the harness skips a draw
   * that would hit: P1.otp-guessing judges the odds), ending early when no valid OTP is left.
   */
  const guesses = (): Trace => {
    const events: Array<TraceEvent> = []
    const ref = sent++
    events.push({ _tag: "Send", from: "evilpc", to: "service", ref, label: `OtpSubmit×${GUESS_BURST}` }, { _tag: "Deliver", to: "service", ref, label: `OtpSubmit×${GUESS_BURST}`, how: "first" })
    const valid = new Set(validOtps())
    const digits = issuedLength()
    const burst: Array<TraceEvent> = []
    // Each guess goes on a C2 of its own: the burst uses up GUESS_BURST names, as in the model.
    const names = fresh
    fresh += GUESS_BURST
    const guess = (): Uint8Array => {
      let otp = String(randomNat(10 ** digits)).padStart(digits, "0")
      // A draw that would hit is moved to the next value no valid OTP holds; when every value is
      // held (a flood covers the space), a guess one digit longer is still wrong.
      for (let k = 1; k < Math.min(10 ** digits, 1000) && valid.has(otp); k++) otp = String((Number(otp) + 1) % 10 ** digits).padStart(digits, "0")
      if (valid.has(otp)) otp = `${otp}0`
      return OtpSubmit.encode(OtpSubmit.make({ otp }))
    }
    if (remote !== undefined) {
      // From outside the burst cannot stop when no valid OTP is left (only the store shows that):
      // it goes whole, all at once, as a script sends it; the answers are read in order.
      const bytes = Array.from({ length: GUESS_BURST }, guess)
      prefetched.push(...remote.sendAll(bytes.map((b, i) => ({ participant: "service", bytes: b, connection: `t${names + i}` })), time.now()))
      bytes.forEach((b, i) => toServer(burst, [], { from: "evilpc", conn: `t${names + i}`, bytes: b }, "service"))
    } else
      for (let i = 0; i < GUESS_BURST; i++) {
        toServer(burst, [], { from: "evilpc", conn: `t${names + i}`, bytes: guess() }, "service")
        // A burst stops once no valid OTP is left to aim at.
        if (liveOtps().length === 0) break
      }
    // Write runs of single refusals as `bad-otp×N`, as the model does (the property counts N); a
    // refusal that changed the wrong state is signalled once, after the burst.
    let changed = false
    for (const e of burst) {
      if (e._tag === "Signal" && e.signal === "state-changed-on-reject") {
        changed = true
        continue
      }
      const last = events.at(-1)
      if (e._tag === "Reject" && e.reason === "bad-otp" && last?._tag === "Reject" && last.reason.startsWith("bad-otp")) {
        const n = last.reason === "bad-otp" ? 1 : Number(last.reason.slice("bad-otp×".length))
        events[events.length - 1] = { ...last, reason: `bad-otp×${n + 1}` }
      } else events.push(e)
    }
    if (changed) events.push({ _tag: "Signal", actor: "service", signal: "state-changed-on-reject" })
    return events
  }

  /**
   * The attacker's script opens C1s of its own (`f<n>`) for its own key until the OTPs valid on
   * them cover the OTP space — it sees how long its OTPs are — or the service refuses one.
   */
  const flood = (): Trace => {
    floods++
    const events: Array<TraceEvent> = []
    const ref = sent++
    events.push({ _tag: "Send", from: "evil", to: "service", ref, label: "IssueRequest×flood" }, { _tag: "Deliver", to: "service", ref, label: "IssueRequest×flood", how: "first" })
    // The attacker's valid OTPs, and the size of the space it reads off their length.
    const held = new Set(liveOtps().flatMap((o) => (o.key === "evil" ? [o.otp] : [])))
    let space = held.size === 0 ? Number.POSITIVE_INFINITY : 10 ** [...held][0]!.length
    const covered = () => held.size >= space
    const name = DEVICE_NAMES.evil
    for (let k = 0; k < FLOOD_LIMIT && !covered(); k++) {
      const conn = `f${flooded++}`
      conns.set(conn, "evil")
      const sink: Array<Queued> = []
      let pop: Uint8Array = new Uint8Array(0)
      if (policy.proofOfPossession) {
        toServer(events, sink, { from: "evil", conn, bytes: IssueBegin.encode(IssueBegin.make({})) }, "service")
        const reply = sink.shift()
        if (reply === undefined || labelOf(reply.bytes) !== "IssueNonce") break
        pop = ok(seEvil.sign(issuePopInput(splitAnyFrame(reply.bytes)!.fields[0]!, seEvil.publicKey, name)))
      }
      events.push({ _tag: "Running", actor: "evil", peer: "service", data: `${conn}|pk=evil|own=evil` })
      toServer(events, sink, { from: "evil", conn, bytes: IssueRequest.encode(IssueRequest.make({ publicKey: seEvil.publicKey, deviceName: name, pop })) }, "service")
      const issued = sink.find((q) => labelOf(q.bytes) === "OtpIssued")
      if (issued === undefined) break
      const otp = new TextDecoder().decode(splitAnyFrame(issued.bytes)!.fields[0])
      attackerOtp = { otp, session: conn }
      attackerOtps.push(attackerOtp)
      held.add(otp)
      space = Math.min(space, 10 ** otp.length)
    }
    return events
  }

  const present = (kind: string, token: Uint8Array | null): Trace =>
    exchange((_events, queue) => {
      presented.push(kind)
      const conn = `r${fresh++}`
      if (token === null) {
        conns.set(conn, "device")
        queue.push({ from: "device", conn, bytes: ok(devices.device.use(conn)) })
      } else {
        conns.set(conn, "evil")
        forging.set(conn, token)
        queue.push({ from: "evil", conn, bytes: Present.encode(Present.make({ token })) })
      }
    })

  const forgedToken = (): Uint8Array => {
    const now = Math.floor(START_MILLIS / 1000)
    const jwt = ok(signJwt(attackerKey, { iss: ISSUER, iat: now, exp: now + TOKEN_LIFETIME_SECONDS, jti: "forged", attrs: { name: "alice" }, cnf: { jwk: jwkOf(seEvil.publicKey) } }))
    return tokenBytes(jwt)
  }

  /**
   * One attacker-made message, delivered on `conn` (a relying party's when it starts with `r`,
   * else the service's) as `label` (`how: injected`); replies run to the end, except those to
   * `script` (the attacker's own connection, which only reads them).
   */
  const inject = (conn: string, bytes: Uint8Array, label: string, events: Array<TraceEvent> = [], script?: string): Trace => {
    const queue: Array<Queued> = []
    deliverOne(events, queue, { from: "attacker", conn, bytes }, "injected", label)
    pump(events, queue.filter((q) => q.conn !== script))
    return events
  }

  const malformed = (to: "service" | "rp", kind: (typeof MALFORMED_KINDS)[number]): Trace => {
    const sample = to === "service" ? OtpSubmit.encode(OtpSubmit.make({ otp: "12345678" })) : PossessionProof.encode(PossessionProof.make({ signature: random(64) }))
    const bytes =
      kind === "truncated" ? sample.subarray(0, Math.max(0, sample.length - 1 - (random(1)[0]! % sample.length)))
      : kind === "trailing" ? Uint8Array.from([...sample, ...random(1 + (random(1)[0]! % 4))])
      : random(1 + (random(1)[0]! % 96))
    return inject(to === "rp" ? "r-junk" : "junk", bytes, `malformed:${kind}`)
  }

  /**
   * The attacker submits made-up OTPs of the wrong shape on C2s of its own: every one-digit OTP
   * (`short`: a comparison on a prefix accepts one), one digit too many, letters, nothing.
   */
  const oddOtp = (kind: (typeof ODD_OTPS)[number]): Trace =>
    exchange((events, queue) => {
      const d = issuedLength()
      const otps =
        kind === "empty" ? [""]
        : kind === "short" ? Array.from({ length: 10 }, (_, k) => String(k))
        : kind === "long" ? [String(randomNat(10 ** d)).padStart(d, "0") + String(randomNat(10))]
        : ["abcdefgh".slice(0, Math.max(1, d))]
      for (const otp of otps) {
        const conn = `t${fresh++}`
        conns.set(conn, "evilpc")
        events.push({ _tag: "Running", actor: "evilpc", peer: "service", data: `${conn}|otp-of=none|attrs=mallory` })
        // An empty OTP is not a valid message: built as a frame with an empty field.
        const bytes = otp === "" ? joinAnyFrame(OtpSubmit.encode(OtpSubmit.make({ otp: "0" })).subarray(0, 2), [new Uint8Array(0)]) : OtpSubmit.encode(OtpSubmit.make({ otp }))
        deliverOne(events, queue, { from: "evilpc", conn, bytes })
      }
    })

  /** The newest OTP the attacker was given that the service still holds valid (its script uses it). */
  const usableOtp = () => {
    const valid = new Set(liveOtps().map((o) => `${o.otp}@${o.session}`))
    return [...attackerOtps].reverse().find((o) => valid.has(`${o.otp}@${o.session}`))
  }

  /** hardened: the attacker's script opens a C1, gets a nonce, and sends a genuine request (its key, PoP over the nonce) with field `f` flipped. */
  const forgeRequest = (f: number, first: boolean): Trace => {
    const events: Array<TraceEvent> = []
    const conn = `s${fresh++}`
    conns.set(conn, "evil")
    const sink: Array<Queued> = []
    const ref = sent++
    events.push({ _tag: "Send", from: "evil", to: "service", ref, label: "IssueBegin" }, { _tag: "Deliver", to: "service", ref, label: "IssueBegin", how: "first" })
    toServer(events, sink, { from: "evil", conn, bytes: IssueBegin.encode(IssueBegin.make({})) }, "service")
    const reply = sink.find((q) => labelOf(q.bytes) === "IssueNonce")
    if (reply === undefined) return events
    const nonce = splitAnyFrame(reply.bytes)!.fields[0]!
    const pop = ok(seEvil.sign(issuePopInput(nonce, seEvil.publicKey, DEVICE_NAMES.evil)))
    const genuine = IssueRequest.encode(IssueRequest.make({ publicKey: seEvil.publicKey, deviceName: DEVICE_NAMES.evil, pop }))
    return inject(conn, flipField(genuine, f, first), "tampered:IssueRequest", events, conn)
  }

  /**
   * The attacker's script types one of its OTPs on a C2 of its own and answers the service's read
   * with `answer`: its own card's read over the service's nonce with field `f` flipped, or a card
   * read it saw on another of its C2s (a replay into another session).
   */
  const forgeRead = (answer: { readonly flip: number; readonly first: boolean } | { readonly replay: number } | { readonly fake: true } | { readonly again: true }): Trace => {
    const events: Array<TraceEvent> = []
    const typed = usableOtp()!
    const conn = `t${fresh++}`
    conns.set(conn, "evilpc")
    const sink: Array<Queued> = []
    events.push({ _tag: "Running", actor: "evilpc", peer: "service", data: `${conn}|otp-of=${typed.session}|attrs=mallory` })
    const ref = sent++
    events.push({ _tag: "Send", from: "evilpc", to: "service", ref, label: "OtpSubmit" }, { _tag: "Deliver", to: "service", ref, label: "OtpSubmit", how: "first" })
    toServer(events, sink, { from: "evilpc", conn, bytes: OtpSubmit.encode(OtpSubmit.make({ otp: typed.otp })) }, "service")
    const reply = sink.find((q) => labelOf(q.bytes) === "AttributeRequest")
    if (reply === undefined) return events
    const nonce = splitAnyFrame(reply.bytes)!.fields[0]!
    const genuine = () => AttributeResponse.encode(AttributeResponse.make(ok(idMallory.read(Redacted.make(PINS.evilpc), nonce))))
    if ("replay" in answer) return inject(conn, seen[answer.replay]!.bytes, "tampered:AttributeResponse", events, conn)
    if ("fake" in answer) {
      // a card of its own making, not one the service trusts, that says it is alice's; made when
      // first used, so the runs that never fake a card draw the same randomness as before
      idFake ??= ok(makeIdToken({ attributes: { name: VICTIM_ATTRS }, pin: Redacted.make(PINS.evilpc), chipKey: Redacted.make(random(32)) }))
      return inject(conn, AttributeResponse.encode(AttributeResponse.make(ok(idFake.read(Redacted.make(PINS.evilpc), nonce)))), "tampered:AttributeResponse", events, conn)
    }
    if ("again" in answer) {
      // its own genuine read, then the same bytes once more on the same C2: one OTP, one token
      const bytes = genuine()
      inject(conn, bytes, "AttributeResponse", events, conn)
      return inject(conn, bytes, "tampered:AttributeResponse", events, conn)
    }
    return inject(conn, flipField(genuine(), answer.flip, answer.first), "tampered:AttributeResponse", events, conn)
  }

  /** Seen messages whose byte edits the attacker can deliver: tokens (to a relying party, on a connection of its own). */
  const editable = (m: SeenMessage) => m.to === "rp" && m.label === "Present"

  const byteMove = (move: Move): Trace | undefined => {
    const attack = byteAttack(seen, move)
    if (attack === undefined || attack.to !== "rp") return undefined
    // Presented on a relying-party connection of the attacker's own, which answers with its own key.
    const conn = `r${fresh++}`
    conns.set(conn, "evil")
    forging.set(conn, Uint8Array.from(splitAnyFrame(attack.bytes)?.fields[0] ?? attack.bytes))
    return inject(conn, attack.bytes, attack.label)
  }

  const step = (move: Move): Trace => {
    switch (move._tag) {
      case "Honest":
        if (move.actor === "device" && move.action === "request") return request("device")
        if (move.actor === "device" && move.action === "use") return present("use", null)
        if (move.actor === "user") {
          const typed = phished ?? victimDisplay()!
          phished = null
          return typeOtp("pc", typed)
        }
        return []
      case "Inject": {
        if (move.forge === "own-request") return request("evil")
        if (move.forge === "own-otp") {
          attackerTyped++
          return typeOtp("evilpc", attackerOtp!)
        }
        if (move.forge === "foreign-key") return request("evil", seDev.publicKey)
        if (move.forge === "guesses") return guesses()
        if (move.forge === "flood") return flood()
        if (move.forge === "phish") {
          phished = attackerOtp
          const ref = sent++
          return [{ _tag: "Send", from: "attacker", to: "user", ref, label: "PhishedOtp" }, { _tag: "Deliver", to: "user", ref, label: "PhishedOtp", how: "injected" }]
        }
        if (move.forge === "stolen-token") return present("stolen", tokenBytes(ok(devices.device.observe).token!))
        if (move.forge === "forged-token") return present("forged", forgedToken())
        if (move.forge.startsWith("malformed:")) return malformed(move.to as "service" | "rp", move.forge.slice("malformed:".length) as (typeof MALFORMED_KINDS)[number])
        if (move.forge.startsWith("odd-otp:")) return oddOtp(move.forge.slice("odd-otp:".length) as (typeof ODD_OTPS)[number])
        const [kind, what, a, b] = move.forge.split(":")
        if (kind === "forge" && what === "request") return forgeRequest(Number(a), b === "0")
        if (kind === "forge" && what === "read") return forgeRead({ flip: Number(a), first: b === "0" })
        if (kind === "forge" && what === "replay") return forgeRead({ replay: Number(a) })
        if (kind === "forge" && what === "card") return forgeRead(a === "fake" ? { fake: true } : { again: true })
        return byteMove(move) ?? []
      }
      case "Timeout":
        time.advance(TICK_SECONDS * 1000)
        ticks++
        return [{ _tag: "Tick", actor: "clock" }]
      default:
        return []
    }
  }

  /**
   * The enabled moves, from what this world holds: first those the model has in the same
   * situation (in the model's order), then the implementation attacker's own.
   */
  const moves = (): ReadonlyArray<Move> => {
    const device = ok(devices.device.observe)
    const evil = ok(devices.evil.observe)
    const live = liveOtps()
    const out: Array<Move> = []
    if (device.phase === "idle") out.push({ _tag: "Honest", actor: "device", action: "request" })
    if (evil.phase === "idle") {
      out.push({ _tag: "Inject", to: "service", forge: "own-request" })
      out.push({ _tag: "Inject", to: "service", forge: "foreign-key" })
    }
    if (attackerOtp !== null && phished === null) out.push({ _tag: "Inject", to: "user", forge: "phish" })
    const pcIdle = ok(computers.pc.observe).phase === "idle"
    const evilpcIdle = ok(computers.evilpc.observe).phase === "idle"
    if (pcIdle && (phished !== null || device.display !== null)) out.push({ _tag: "Honest", actor: "user", action: "type" })
    if (evilpcIdle && attackerOtp !== null && attackerTyped < MAX_ATTACKER_TYPING) out.push({ _tag: "Inject", to: "service", forge: "own-otp" })
    if (live.some((o) => o.wrong < GUESS_BURST)) out.push({ _tag: "Inject", to: "service", forge: "guesses" })
    if (floods === 0) out.push({ _tag: "Inject", to: "service", forge: "flood" })
    if (live.length > 0 && ticks < MAX_TICKS) out.push({ _tag: "Timeout", actor: "clock" })
    if (device.token !== null && device.phase === "holding") {
      if (!presented.includes("use")) out.push({ _tag: "Honest", actor: "device", action: "use" })
      if (!presented.includes("stolen")) out.push({ _tag: "Inject", to: "rp", forge: "stolen-token" })
    }
    if (!presented.includes("forged")) out.push({ _tag: "Inject", to: "rp", forge: "forged-token" })
    if (!options.malformed) return out
    out.push(...MALFORMED_KINDS.flatMap((kind) => (["service", "rp"] as const).map((to) => ({ _tag: "Inject" as const, to, forge: `malformed:${kind}` }))))
    out.push(...ODD_OTPS.map((kind) => ({ _tag: "Inject" as const, to: "service", forge: `odd-otp:${kind}` })))
    // Its own messages, edited before they leave: a request's key, name or PoP; a card read's attributes, chip key or signature.
    const fields = [0, 1, 2].flatMap((f) => [`${f}`, `${f}:0`])
    if (policy.proofOfPossession) out.push(...fields.map((f) => ({ _tag: "Inject" as const, to: "service", forge: `forge:request:${f}` })))
    if (usableOtp() !== undefined) {
      out.push(...fields.map((f) => ({ _tag: "Inject" as const, to: "service", forge: `forge:read:${f}` })))
      out.push({ _tag: "Inject", to: "service", forge: "forge:card:fake" }, { _tag: "Inject", to: "service", forge: "forge:card:again" })
      seen.forEach((m, k) => {
        if (m.label === "AttributeResponse" && m.to === "service") out.push({ _tag: "Inject", to: "service", forge: `forge:replay:${k}` })
      })
    }
    // A Present has one field: a splice of it is a whole other presentation (I:rp:stolen-token), not an edit.
    out.push(...byteAttackMoves(seen, { skip: (m) => !editable(m) }).filter((m) => m._tag !== "Inject" || !m.forge.startsWith("splice:")))
    return out
  }

  const observe = (): Observation => {
    const d = ok(devices.device.observe)
    const e = ok(devices.evil.observe)
    const records = snapshot().records
    return {
      device: { phase: d.phase, token: tokenName(d.token), showsOtp: d.display !== null },
      evil: { phase: e.phase, token: tokenName(e.token) },
      pc: ok(computers.pc.observe).phase,
      evilpc: ok(computers.evilpc.observe).phase,
      service: records.flatMap(([s, r]) => (s.startsWith("f") ? [] : [{ pk: keyName(r.publicKey), valid: r.otp !== null, wrong: r.wrong }])),
      flood: records.some(([s, r]) => s.startsWith("f") && r.otp !== null)
    }
  }

  /** Faults stop: unless her phone holds her token, the victim requests again and types what it shows. */
  const continuation = (): Trace => {
    const events: Array<TraceEvent> = [{ _tag: "FaultsEnd" }]
    if (tokenName(ok(devices.device.observe).token) === "alice|dev") return events
    events.push(...request("device"))
    const shown = victimDisplay()
    if (shown !== undefined) events.push(...typeOtp("pc", shown))
    return events
  }

  return { initialTrace: [], moves, step, observe, continuation }
}

