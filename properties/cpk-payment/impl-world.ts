/**
 * The P4 implementation as a `World`: the real Effect services (impl/cpk-payment) — KMC, the two
 * wallets and the backend — over in-memory stores, real CPK arithmetic on P-256, ECDSA through
 * the node:crypto layer (impl/crypto proves it agrees with noble), a seeded random source and a
 * stepped clock, driven by the attacker's moves (spec/attacker.ts).
 *
 * The world is its own attacker: its moves come from the bytes it has seen and its participants'
 * stores, never from the model — every move the model would enable in the same situation (so
 * model paths replay here), plus garbage (`malformed:*`) and byte edits of captured QR payloads
 * and payments (`tamper`, `cut`, `splice`: properties/harness/byte-attacks.ts). Its forgeries are
 * real: it edits the unsigned fields of captured bytes, signs with mallory's own issued key or
 * zhang's transit key, and for `collude` registers identities c0, c1, … with the KMC until their
 * selections reach full rank, solves for the matrix by Gaussian elimination mod n
 * (impl/cpk-payment/collusion.ts) and signs as zhang with the computed key.
 *
 * The harness is the trusted observer: it names nonces by who drew them (`n1` the payer's first,
 * `o1` the payee's first offer, `x1` the attacker's first, `?` one nobody drew), turns results
 * into the trace conventions of spec/cpk-payment/properties.ts, and signals a refusal that left
 * a refuser's store changed.
 */
import { Context, Effect, Either, Layer, Schema } from "effect"
import type { Move } from "../../spec/attacker.ts"
import { OfflinePayment, PayOnline, Settle, ToBackend, ToPayee, ToPayer } from "../../spec/cpk-payment/messages.ts"
import { parseData } from "../../spec/cpk-payment/properties.ts"
import { type Policy, SUBDOMAINS, WORLD_COLUMNS, WORLD_ROWS } from "../../spec/cpk-payment/variants.ts"
import type { Actor, Trace, TraceEvent } from "../../spec/trace.ts"
import { steppedClock } from "../../impl/clock.ts"
import { CryptoNode } from "../../impl/crypto/node.ts"
import { SecureRandomSeeded } from "../../impl/crypto/random.ts"
import { Crypto, SecureRandom } from "../../impl/crypto/services.ts"
import { type Backend, BackendError, makeBackend } from "../../impl/cpk-payment/backend.ts"
import { bytesToScalar, decodePoint, Point, pointBytes, SCALAR_SEED_BYTES, scalarFrom, scalarToBytes, select } from "../../impl/cpk-payment/cpk.ts"
import { forgeKey, solveCoalition } from "../../impl/cpk-payment/collusion.ts"
import { type Directory, type DirectoryOptions, makeDirectory, makeKmc, type UserKey } from "../../impl/cpk-payment/keys.ts"
import { signedBytes, timeBytes } from "../../impl/cpk-payment/signed.ts"
import { type BackendState, emptyBackend, emptyPayee, fingerprint, inMemoryStore, type PayeeState, type Store } from "../../impl/cpk-payment/store.ts"
import { deploymentOf } from "../../impl/cpk-payment/deployment.ts"
import { makePayeeWallet, makePayerWallet } from "../../impl/cpk-payment/wallet.ts"
import type { Observation } from "../../model/cpk-payment/system.ts"
import { byteAttack, byteAttackMoves, garbage, GARBAGE_KINDS } from "../harness/byte-attacks.ts"
import type { World } from "../harness/world.ts"
import type { RemoteParticipants } from "../definition.ts"
import { seedFixture, servedSeed } from "../harness/served.ts"
import type { CpkImplFlaw } from "./mutants/index.ts"

export const MALFORMED_KINDS = GARBAGE_KINDS

/** The payee's price, and the most each user starts in one run (as in the model). */
const PRICE = { amount: "100", currency: "CNY" } as const
/** What mallory pays for li's offer when it pays as itself (`underpay:offline`, as in the model). */
const UNDERPAID = { amount: "1" } as const
const MAX_STARTED = 2
const SERVED = ["pay"]
const T0 = Date.UTC(2026, 0, 1)

const FORGES: ReadonlyArray<readonly [Actor, string]> = [
  ["backend", "redirect:payee"],
  ["backend", "redirect:amount"],
  ["backend", "redirect:settle"],
  ["backend", "replay:settle"],
  ["backend", "forge:online"],
  ["backend", "forge:own-point"],
  ["backend", "transit"],
  ["backend", "collude"],
  ["payee", "forge:offline"],
  ["payee", "underpay:offline"]
]

export interface ImplWorldOptions {
  readonly policy: Policy
  readonly seed: number
  readonly malformed: boolean
  readonly flaw?: CpkImplFlaw
  /**
   * The backend is served elsewhere (`authlab conform`): provisioned with this run's seed, driven
   * through these proxies at the world's time; its store is out of sight (the local one stays empty).
   */
  readonly remote?: RemoteParticipants
}

interface WireMessage {
  readonly from: Actor
  readonly to: Actor
  readonly bytes: Uint8Array
  readonly label: string
  delivered: boolean
}

const decodeBackend = Schema.decodeUnknownEither(ToBackend)
const decodePayer = Schema.decodeUnknownEither(ToPayer)
const decodePayee = Schema.decodeUnknownEither(ToPayee)

const decodeFor = (to: Actor, bytes: Uint8Array): { readonly _tag: string } & Record<string, unknown> | undefined => {
  const d: Either.Either<unknown, unknown> = to === "backend" ? decodeBackend(bytes) : to === "payer" ? decodePayer(bytes) : decodePayee(bytes)
  return Either.isRight(d) ? (d.right as never) : undefined
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")
const roleOf = (id: string) => (id === "zhang" ? "payer" : id === "li" ? "payee" : id)

/** The KMC's own randomness (a seeded stream per policy, independent of any run's seed). */
const kmcRunners = new Map<string, <A, E>(effect: Effect.Effect<A, E, Crypto | SecureRandom>) => Either.Either<A, E>>()
const runnerFor = (name: string) => {
  let r = kmcRunners.get(name)
  if (r === undefined) {
    const context = Context.merge(cryptoContext(), Effect.runSync(Effect.scoped(Layer.build(SecureRandomSeeded(name === "hardened" ? 0x4b4d43 : 0x4b4d44)))))
    kmcRunners.set(name, (r = <A, E>(effect: Effect.Effect<A, E, Crypto | SecureRandom>) => Effect.runSync(Effect.either(Effect.provide(effect, context)))))
  }
  return r
}

let crypto: Context.Context<Crypto> | undefined
const cryptoContext = () => (crypto ??= Effect.runSync(Effect.scoped(Layer.build(CryptoNode))))

/**
 * Enrolment happens out of band, before any run: the KMC issues the users' keys (and the
 * coalition's, when the attacker registers one) from its own randomness, not the run's seed. They
 * are made once per policy and process — a hardened issuance costs a base-point multiplication
 * and a certificate signature — and every world of that policy starts from the same enrolment.
 */
const enrolments = new Map<string, Map<string, UserKey>>()
const coalitions = new Map<string, { readonly key: Uint8Array; readonly keys: number }>()

/** The deployment every world runs: its public parameters come from a fixed label, so a served backend derives the same directory. */
const worldDeployment = () => deploymentOf({ rows: WORLD_ROWS, columns: WORLD_COLUMNS }, SUBDOMAINS, "world")

const directoryOptionsFor = (policy: Policy, flaw: CpkImplFlaw | undefined): DirectoryOptions => ({
  policy,
  parameters: worldDeployment().parameters,
  subdomains: SERVED,
  ...(flaw?.pairIndex === undefined ? {} : { pairIndex: flaw.pairIndex })
})

/**
 * The backend as every world builds it, in process or served (properties/cpk-payment/serve.ts):
 * the real service over `store` and the deployment's directory, a mutant's decorators applied.
 */
export const decoratedBackend = (policy: Policy, store: Store<BackendState>, flaw: CpkImplFlaw | undefined): Backend =>
  makeBackend({ policy, directory: (flaw?.directory ?? makeDirectory)(directoryOptionsFor(policy, flaw)), signed: flaw?.signed ?? signedBytes, ...(flaw?.backend?.({ store }) ?? { store }) })

/** A served backend as the world's participant: an accepted payment is the one in the request (the backend has no reply message), as the strict decoder reads it. */
const remoteBackend = (remote: RemoteParticipants): Backend => ({
  receive: (bytes) =>
    Effect.suspend(() => {
      const a = remote.send("backend", bytes, T0)
      if (a._tag === "Refusal") return Effect.fail(new BackendError({ reason: a.reason as BackendError["reason"] }))
      const m = decodeBackend(bytes)
      const unread = { payer: "?", payee: "?", amount: "?", currency: "?", subdomain: "?", nonce: "" }
      return Effect.succeed(
        Either.isLeft(m)
          ? { kind: a.outcome === "settled" ? ("settle" as const) : ("online" as const), ...unread }
          : { kind: m.right._tag === "PayOnline" ? ("online" as const) : ("settle" as const), payer: m.right.payer, payee: m.right.payee, amount: m.right.amount, currency: m.right.currency, subdomain: m.right.subdomain, nonce: hex(m.right.nonce) }
      )
    })
})

export const makeImplWorld = (options: ImplWorldOptions): World<Observation> => {
  const { policy, flaw } = options
  const deployment = worldDeployment()
  const context = Context.merge(cryptoContext(), Effect.runSync(Effect.scoped(Layer.build(SecureRandomSeeded(options.seed)))))
  const clock = steppedClock(() => T0)
  const run = <A, E>(effect: Effect.Effect<A, E, Crypto | SecureRandom>): Either.Either<A, E> =>
    Effect.runSync(Effect.either(Effect.withClock(Effect.provide(effect, context), clock)))
  const ok = <A>(effect: Effect.Effect<A, unknown, Crypto | SecureRandom>): A => Either.getOrThrow(run(effect))

  const kmc = makeKmc({ policy, deployment })
  let enrolment = enrolments.get(policy.name)
  if (enrolment === undefined) enrolments.set(policy.name, (enrolment = new Map()))
  const kmcRun = runnerFor(policy.name)
  const issue = (id: string, sub: string): UserKey => {
    const k = `${id}@${sub}`
    let key = enrolment.get(k)
    if (key === undefined) enrolment.set(k, (key = Either.getOrThrow(kmcRun(kmc.issue(id, sub)))))
    return key
  }
  const zhangPay = issue("zhang", "pay")
  const liPay = issue("li", "pay")
  const attackerKeys = { transit: issue("zhang", "transit"), mallory: issue("mallory", "pay") }
  const attacker = () => attackerKeys

  const directoryOptions = directoryOptionsFor(policy, flaw)
  const directory = (): Directory => (flaw?.directory ?? makeDirectory)(directoryOptions)
  const signed = flaw?.signed ?? signedBytes
  const backendStore: Store<BackendState> = ok(inMemoryStore(emptyBackend))
  const payeeStore: Store<PayeeState> = ok(inMemoryStore(emptyPayee))
  const payeeParts = flaw?.payee?.({ store: payeeStore }) ?? { store: payeeStore }
  const { remote } = options
  remote?.reset(seedFixture(servedSeed(options.seed)))
  const backend: Backend = remote === undefined ? decoratedBackend(policy, backendStore, flaw) : remoteBackend(remote)
  const payer = makePayerWallet({ policy, id: "zhang", keys: new Map([["pay", zhangPay]]), directory: directory(), signed })
  const payee = makePayeeWallet({ policy, id: "li", keys: new Map([["pay", liPay]]), directory: directory(), signed, ...payeeParts })

  const network: Array<WireMessage> = []
  const names = new Map<string, string>()
  const counters = { n: 0, o: 0, x: 0 }
  const started = { pay: 0, offer: 0 }
  let signedCount = 0
  let colluded = false

  const nameOf = (nonce: unknown) => (nonce instanceof Uint8Array ? names.get(hex(nonce)) ?? "?" : "?")
  const name = (nonce: Uint8Array, prefix: "n" | "o" | "x") => {
    const k = hex(nonce)
    if (!names.has(k)) names.set(k, `${prefix}${++counters[prefix]}`)
  }
  const paymentData = (kind: string, m: Record<string, unknown>) =>
    `${kind};payer=${String(m.payer)};payee=${String(m.payee)};amount=${String(m.amount)};cur=${String(m.currency)};sub=${String(m.subdomain)};n=${nameOf(m.nonce)}`
  const offerData = (m: Record<string, unknown>) => `offer;payee=${String(m.payee)};amount=${String(m.amount)};cur=${String(m.currency)};sub=${String(m.subdomain)};n=${nameOf(m.nonce)}`
  const dataOf = (to: Actor, bytes: Uint8Array): string | undefined => {
    const m = decodeFor(to, bytes)
    if (m === undefined) return undefined
    return m._tag === "PayOnline" ? paymentData("pay", m) : m._tag === "OfflineOffer" ? offerData(m) : paymentData(m._tag === "Settle" ? "settle" : "offline", m)
  }

  const send = (from: Actor, to: Actor, bytes: Uint8Array, label: string, delivered = false): Array<TraceEvent> => {
    const ref = network.length
    network.push({ from, to, bytes, label, delivered })
    const data = dataOf(to, bytes)
    return [{ _tag: "Send", from, to, ref, label, ...(data === undefined ? {} : { data }) }]
  }

  const deliverTo = (m: WireMessage, ref: number, how: "first" | "replay" | "injected"): Array<TraceEvent> => {
    const data = dataOf(m.to, m.bytes)
    const events: Array<TraceEvent> = [{ _tag: "Deliver", to: m.to, ref, label: m.label, how, ...(data === undefined ? {} : { data }) }]
    if (m.to === "backend") {
      const before = fingerprint(ok(backendStore.snapshot))
      const r = run(backend.receive(m.bytes))
      if (Either.isRight(r)) {
        const c = r.right
        events.push({ _tag: "Commit", actor: "backend", peer: roleOf(c.payer), data: paymentData(c.kind === "online" ? "pay" : "settle", { ...c, nonce: Buffer.from(c.nonce, "hex") }) })
      } else {
        if (r.left.reason === "double-spend") events.push({ _tag: "Signal", actor: "backend", signal: "double-spend" })
        events.push({ _tag: "Reject", actor: "backend", reason: r.left.reason })
        if (fingerprint(ok(backendStore.snapshot)) !== before) events.push({ _tag: "Signal", actor: "backend", signal: "state-changed-on-reject" })
      }
      return events
    }
    if (m.to === "payer") {
      const r = run(payer.answerOffer(m.bytes))
      if (Either.isLeft(r)) return [...events, { _tag: "Reject", actor: "payer", reason: r.left.reason }]
      signedCount++
      const payment = Either.getOrThrow(Schema.decodeUnknownEither(OfflinePayment.wire)(r.right.payment))
      name(payment.nonce, "n")
      events.push({ _tag: "Commit", actor: "payer", peer: "payee", data: offerData(r.right.offer) })
      events.push({ _tag: "Running", actor: "payer", peer: "payee", data: paymentData("offline", payment) })
      events.push(...send("payer", "payee", r.right.payment, "OfflinePayment"))
      return events
    }
    if (m.to === "payee") {
      const before = fingerprint(ok(payeeStore.snapshot))
      const r = run(payee.receive(m.bytes))
      // What was accepted is read off the delivered bytes (`data`, decoded once above), not off
      // the wallet's own account of it.
      if (Either.isRight(r)) events.push({ _tag: "Commit", actor: "payee", peer: roleOf(parseData(data)?.fields.payer ?? "?"), data: data ?? "?" })
      else {
        events.push({ _tag: "Reject", actor: "payee", reason: r.left.reason })
        if (fingerprint(ok(payeeStore.snapshot)) !== before) events.push({ _tag: "Signal", actor: "payee", signal: "state-changed-on-reject" })
      }
      return events
    }
    return events
  }

  const deliver = (ref: number): Array<TraceEvent> => {
    const m = network[ref]!
    const how = m.delivered ? "replay" : "first"
    m.delivered = true
    return deliverTo(m, ref, how)
  }

  const inject = (to: Actor, bytes: Uint8Array, label: string): Array<TraceEvent> => {
    const ref = network.length
    const events = send("attacker", to, bytes, label, true)
    return [...events, ...deliverTo(network[ref]!, ref, "injected")]
  }

  const unsubmitted = () => ok(payeeStore.snapshot).payments.some((p) => !p.submitted)

  const userAction = (actor: Actor, action: string, bounded = true): Array<TraceEvent> | undefined => {
    if (actor === "payer" && action === "pay") {
      if (bounded && started.pay >= MAX_STARTED) return undefined
      started.pay++
      const qr = ok(payee.request(PRICE.amount, PRICE.currency, "pay"))
      const r = run(payer.payOnline(qr))
      if (Either.isLeft(r)) return [{ _tag: "Reject", actor: "payer", reason: r.left.reason }]
      signedCount++
      const m = Either.getOrThrow(Schema.decodeUnknownEither(PayOnline.wire)(r.right))
      name(m.nonce, "n")
      return [{ _tag: "Running", actor: "payer", peer: "backend", data: paymentData("pay", m) }, ...send("payer", "backend", r.right, "PayOnline")]
    }
    if (actor === "payee" && (action === "offer" || action === "offline")) {
      if (bounded && started.offer >= MAX_STARTED) return undefined
      started.offer++
      const r = run(payee.offer(PRICE.amount, PRICE.currency, "pay"))
      if (Either.isLeft(r)) return [{ _tag: "Reject", actor: "payee", reason: r.left.reason }]
      const m = decodeFor("payer", r.right)!
      name(m.nonce as Uint8Array, "o")
      return [{ _tag: "Running", actor: "payee", peer: "payer", data: offerData(m) }, ...send("payee", "payer", r.right, "OfflineOffer")]
    }
    if (actor === "payee" && action === "settle") {
      if (!unsubmitted()) return undefined
      return ok(payee.settle).flatMap((bytes) => send("payee", "backend", bytes, "Settle"))
    }
    return undefined
  }

  const honest = (actor: Actor, action: string, bounded = true): Array<TraceEvent> => {
    const from = network.length
    const events = userAction(actor, action, bounded)
    if (events === undefined) return []
    for (let ref = from; ref < network.length; ref++) if (!network[ref]!.delivered) events.push(...deliver(ref))
    return events
  }

  const latest = (labels: ReadonlyArray<string>) => [...network].reverse().find((m) => m.from !== "attacker" && labels.includes(m.label))

  const signAs = (key: UserKey, bytes: Uint8Array) => ok(Effect.flatMap(Crypto, (c) => Effect.orDie(c.ecdsaP256Sign(key.secret, bytes))))
  const freshNonce = () => {
    const n = ok(Effect.flatMap(SecureRandom, (r) => r.bytes(16)))
    name(n, "x")
    return n
  }
  const certOf = (key: UserKey) => ({ sepPoint: key.sepPoint, cert: key.cert })

  /** A PayOnline as zhang to mallory, signed with `signer`'s key; zhang's certificate is public. */
  const asZhang = (signer: UserKey, sub: string, cert: UserKey) => {
    const fields = { payer: "zhang", payee: "mallory", ...PRICE, subdomain: sub, nonce: freshNonce(), time: timeBytes(T0) }
    return PayOnline.encode(PayOnline.make({ ...fields, ...certOf(cert), signature: signAs(signer, signedBytes.online(policy, fields)) }))
  }

  /** Register colluders with the KMC until their selections have full rank; solve for zhang's key. */
  const coalitionKey = (): { key: Uint8Array; keys: number } => {
    const cached = coalitions.get(policy.name)
    if (cached !== undefined) return cached
    const dims = { rows: WORLD_ROWS, columns: WORLD_COLUMNS }
    const selectionKey = deployment.parameters.matrices.get("pay")!.selectionKey
    const want = dims.columns * (dims.rows - 1) + 1
    const keys: Array<{ selection: ReadonlyArray<number>; secret: bigint }> = []
    for (let i = 0; i < 4 * want; i++) {
      keys.push({ selection: select(selectionKey, dims, "pay", `c${i}`), secret: bytesToScalar(issue(`c${i}`, "pay").secret) })
      if (keys.length >= want && solveCoalition(dims, keys).rank >= want) break
    }
    const solved = solveCoalition(dims, keys)
    const result = { key: scalarToBytes(forgeKey(solved, select(selectionKey, dims, "pay", "zhang"))), keys: keys.length }
    coalitions.set(policy.name, result)
    return result
  }

  const forge = (to: Actor, recipe: string): Array<TraceEvent> => {
    if (to === "backend" && (recipe === "redirect:payee" || recipe === "redirect:amount")) {
      const m = latest(["PayOnline"])
      const d = m === undefined ? undefined : decodeBackend(m.bytes)
      if (d === undefined || Either.isLeft(d) || d.right._tag !== "PayOnline") return []
      const edited = recipe === "redirect:payee" ? { ...d.right, payee: "mallory" } : { ...d.right, amount: "10000" }
      return inject("backend", PayOnline.encode(edited), "PayOnline")
    }
    if (to === "backend" && (recipe === "redirect:settle" || recipe === "replay:settle")) {
      const m = latest(["OfflinePayment", "Settle"])
      if (m === undefined) return []
      const d = (m.label === "Settle" ? decodeFor("backend", m.bytes) : decodeFor("payee", m.bytes)) as Settle | OfflinePayment | undefined
      if (d === undefined || (d._tag !== "Settle" && d._tag !== "OfflinePayment")) return []
      const { _tag, ...fields } = d
      return inject("backend", Settle.encode(Settle.make({ ...fields, ...(recipe === "redirect:settle" ? { payee: "mallory" } : {}) })), "Settle")
    }
    if (to === "backend" && recipe === "forge:online") return inject("backend", asZhang(attacker().mallory, "pay", zhangPay), "PayOnline")
    if (to === "backend" && recipe === "forge:own-point") {
      // The attacker's own key x dressed as zhang's: it presents S' = x·G − CPK(zhang), which
      // anyone computes from the public matrix, with the certificate it holds (mallory's). Only a
      // directory that checks the certificate names zhang's point refuses it.
      const cpk = ok(makeDirectory({ ...directoryOptions, policy: { ...policy, separatingKey: false } }).publicKey("zhang", "pay", new Uint8Array(0), new Uint8Array(0)))
      const x = scalarFrom(ok(Effect.flatMap(SecureRandom, (r) => r.bytes(SCALAR_SEED_BYTES))))
      const sepPoint = pointBytes(Point.BASE.multiply(x).subtract(decodePoint(cpk)!))
      const dressed: UserKey = { id: "zhang", subdomain: "pay", secret: scalarToBytes(x), sepPoint, cert: attacker().mallory.cert }
      return inject("backend", asZhang(dressed, "pay", dressed), "PayOnline")
    }
    if (to === "backend" && recipe === "transit") return inject("backend", asZhang(attacker().transit, "transit", attacker().transit), "PayOnline")
    if (to === "backend" && recipe === "collude") {
      if (colluded) return []
      colluded = true
      const c = coalitionKey()
      const forged: UserKey = { id: "zhang", subdomain: "pay", secret: c.key, sepPoint: new Uint8Array(0), cert: new Uint8Array(0) }
      return inject("backend", asZhang(forged, "pay", zhangPay), `collusion:${c.keys}-keys`)
    }
    if (to === "payee" && recipe === "forge:offline") {
      const offer = latest(["OfflineOffer"])
      const offerNonce = policy.freshness === "registry" && offer !== undefined ? ((decodeFor("payer", offer.bytes)?.nonce as Uint8Array | undefined) ?? new Uint8Array(0)) : new Uint8Array(0)
      const fields = { payer: "zhang", payee: "li", ...PRICE, subdomain: "pay", nonce: freshNonce(), offerNonce, time: timeBytes(T0) }
      return inject("payee", OfflinePayment.encode(OfflinePayment.make({ ...fields, ...certOf(zhangPay), signature: signAs(attacker().mallory, signedBytes.offline(policy, fields)) })), "OfflinePayment")
    }
    if (to === "payee" && recipe === "underpay:offline") {
      // mallory pays as itself, under its own key and certificate: only the offer's terms are wrong
      const m = latest(["OfflineOffer"])
      const decoded = m === undefined ? undefined : decodePayer(m.bytes)
      if (decoded === undefined || Either.isLeft(decoded) || decoded.right._tag !== "OfflineOffer") return []
      const offer = decoded.right
      const offerNonce = policy.freshness === "registry" ? offer.nonce : new Uint8Array(0)
      const fields = { payer: "mallory", payee: offer.payee, ...UNDERPAID, currency: offer.currency, subdomain: "pay", nonce: freshNonce(), offerNonce, time: timeBytes(T0) }
      const mallory = attacker().mallory
      return inject("payee", OfflinePayment.encode(OfflinePayment.make({ ...fields, ...certOf(mallory), signature: signAs(mallory, signedBytes.offline(policy, fields)) })), "OfflinePayment")
    }
    return []
  }

  // the byte attacks depend only on the messages seen, and the log only grows: recompute them when it does
  let seenCache: { length: number; seen: Array<{ from: Actor; to: Actor; bytes: Uint8Array; label: string }>; moves: Array<Move> } | undefined
  const seenNow = () => {
    if (seenCache === undefined || seenCache.length !== network.length) {
      const seen = network.map((m) => ({ from: m.from, to: m.to, bytes: m.bytes, label: m.label }))
      seenCache = { length: network.length, seen, moves: options.malformed ? byteAttackMoves(seen) : [] }
    }
    return seenCache
  }
  const seen = () => seenNow().seen

  /** Garbage: a captured message cut short or extended, or random bytes, to the backend or a wallet in turn. */
  const malformed = (kind: (typeof MALFORMED_KINDS)[number]): Array<TraceEvent> => {
    const r = ok(Effect.flatMap(SecureRandom, (x) => x.bytes(2)))
    const to: Actor = (["backend", "payer", "payee"] as const)[r[0]! % 3]!
    const source = [...network].reverse().find((m) => m.to === to && m.from !== "attacker")
    const bytes = garbage(kind, r[1]!, source?.bytes, (n) => ok(Effect.flatMap(SecureRandom, (x) => x.bytes(n))))
    return inject(to, bytes, `malformed:${kind}`)
  }

  const step = (move: Move): Trace => {
    switch (move._tag) {
      case "User":
        return move.action === "offline" ? [] : userAction(move.actor, move.action) ?? []
      case "Honest":
        return move.action === "offer" ? [] : honest(move.actor, move.action)
      case "Deliver":
        return network[move.ref] === undefined ? [] : deliver(move.ref)
      case "Inject": {
        if (move.forge.startsWith("malformed:")) return malformed(move.forge.slice("malformed:".length) as (typeof MALFORMED_KINDS)[number])
        const edit = byteAttack(seen(), move)
        if (edit !== undefined) return inject(edit.to, edit.bytes, edit.label)
        return forge(move.to, move.forge)
      }
      default:
        return []
    }
  }

  const moves = (): ReadonlyArray<Move> => {
    const out: Array<Move> = []
    if (started.pay < MAX_STARTED) out.push({ _tag: "User", actor: "payer", action: "pay" }, { _tag: "Honest", actor: "payer", action: "pay" })
    if (started.offer < MAX_STARTED) out.push({ _tag: "User", actor: "payee", action: "offer" }, { _tag: "Honest", actor: "payee", action: "offline" })
    if (unsubmitted()) out.push({ _tag: "User", actor: "payee", action: "settle" }, { _tag: "Honest", actor: "payee", action: "settle" })
    const has = (labels: ReadonlyArray<string>) => latest(labels) !== undefined
    for (const [to, recipe] of FORGES) {
      if ((recipe === "redirect:payee" || recipe === "redirect:amount") && !has(["PayOnline"])) continue
      if ((recipe === "redirect:settle" || recipe === "replay:settle") && !has(["OfflinePayment", "Settle"])) continue
      if (recipe === "underpay:offline" && !has(["OfflineOffer"])) continue
      if (recipe === "collude" && colluded) continue
      if (recipe === "forge:own-point" && !policy.separatingKey) continue
      out.push({ _tag: "Inject", to, forge: recipe })
    }
    network.forEach((m, ref) => {
      if (m.from !== "attacker") out.push({ _tag: "Deliver", ref })
    })
    if (!options.malformed) return out
    return [...out, ...MALFORMED_KINDS.map((kind) => ({ _tag: "Inject" as const, to: "any", forge: `malformed:${kind}` })), ...seenNow().moves]
  }

  const observe = (): Observation => {
    const p = ok(payeeStore.snapshot)
    const b = ok(backendStore.snapshot)
    const named = (h: string) => names.get(h) ?? "?"
    return {
      payer: { signed: signedCount },
      payee: { offers: [...p.offers.keys()].map(named).sort(), held: p.payments.map((x) => [x.payer, named(x.nonce), x.submitted] as const) },
      backend: { used: b.used.size, ledger: b.ledger.map((c) => `${c.kind};${c.payer};${c.payee};${c.amount};${c.currency};${named(c.nonce)}`) }
    }
  }

  const continuation = (): Trace => [{ _tag: "FaultsEnd" }, ...honest("payer", "pay", false), ...honest("payee", "offline", false), ...honest("payee", "settle", false)]

  return { initialTrace: [], moves, step, observe, continuation }
}
