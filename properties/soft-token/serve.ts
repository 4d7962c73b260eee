/**
 * P1's server-side participants over HTTP (`authlab serve`, spec/HTTP-BINDING.md): the service
 * (`service`) and the relying party (`rp`), built as the implementation world builds them
 * (`decoratedService`, `decoratedRelyingParty`), the service over the in-memory store or the
 * SQLite one (impl/soft-token/store-sqlite.ts, each step one transaction, its messages sent after
 * COMMIT). Both tell their connections apart (C1, C2, a relying party's): the binding's
 * connection header names the one a message arrives on, and a step that sends on another one —
 * the token on the device's C1 when the PC completes on C2 — answers with its deliveries.
 *
 * A fixture is the run's `ServedDeployment` (a seed, the OTP length, the genuine chip keys); the
 * issuer key is drawn from the seeded stream, so a conform run replays. Without one, the standing
 * deployment below, the system's randomness, and whatever the store holds. The relying party's
 * pending challenges are held in memory: a restart forgets them, and the holder presents again.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { Context, Effect, Layer, Schema } from "effect"
import { DEFAULT_OTP_DIGITS, type Policy } from "../../spec/soft-token/variants.ts"
import { CryptoNode } from "../../impl/crypto/node.ts"
import { SecureRandomSeeded, SecureRandomSystem } from "../../impl/crypto/random.ts"
import { Crypto } from "../../impl/crypto/services.ts"
import type { Reply, ServiceRejection, ServiceStep } from "../../impl/soft-token/service.ts"
import { layerSqlite } from "../../impl/soft-token/store-sqlite.ts"
import { IssuanceStoreService } from "../../impl/soft-token/store.ts"
import { StepTransaction, transactional } from "../../impl/sqlite/step.ts"
import type { ServedAnswer, ServedStore, ServeSide } from "../definition.ts"
import { answering, serveError } from "../harness/served.ts"
import { decoratedRelyingParty, decoratedService, drawSigningKey, type ServedDeployment, type SoftTokenImplFlaw } from "./impl-world.ts"

/** The connection of a message that names none: a client that sends no connection header speaks on this one throughout. */
export const DEFAULT_CONNECTION = "default"

/** The standing ID tokens' chip keys (Ed25519 secrets) from public labels — a test server's cards, not secrets. */
export const standingChipKey = (holder: "alice" | "mallory"): Uint8Array => sha256(new TextEncoder().encode(`authlab/soft-token/standing/${holder}/chip-key`))

const DeploymentJson = Schema.parseJson(
  Schema.Struct({
    seed: Schema.Int,
    otpDigits: Schema.Int.pipe(Schema.between(1, 9)),
    trustedCards: Schema.Array(Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/)))
  })
)

const storeLayer = (store: ServedStore) =>
  store._tag === "memory"
    ? Layer.merge(IssuanceStoreService.layerInMemory, StepTransaction.layerInMemory)
    : layerSqlite(store.file).pipe(Layer.mapError((e) => serveError(`cannot open ${store.file}: ${e.message}`)))

/**
 * A service step as the binding's answer: its one message back on the sender's connection as
 * the reply; a step that sends on another connection, or more than one message, lists them all
 * as deliveries (the reply is then the first on the sender's).
 */
const answeredOn = (conn: string, replies: ReadonlyArray<Reply>): Pick<ServedAnswer, "reply" | "deliveries"> => {
  const own = replies.find((r) => r.conn === conn)
  const reply = own === undefined ? {} : { reply: own.bytes }
  return replies.length <= 1 && replies.every((r) => r.conn === conn) ? reply : { ...reply, deliveries: replies.map((r) => ({ to: r.conn, bytes: r.bytes })) }
}

const servedStep = (conn: string, step: Effect.Effect<ServiceStep, ServiceRejection>): Effect.Effect<ServedAnswer> =>
  Effect.match(step, {
    onSuccess: (s): ServedAnswer => ({ _tag: "Step", outcome: s.event._tag, ...answeredOn(conn, s.replies) }),
    onFailure: (e): ServedAnswer => ({ _tag: "Refusal", reason: e.reason, ...answeredOn(conn, e.replies) })
  })

export const serve: ServeSide<Policy, SoftTokenImplFlaw> = {
  participants: ["service", "rp"],
  policy: (policy) => policy,
  // Every P1 flaw is the service's or the relying party's: the devices and computers are the world's.
  serves: (flaw) =>
    flaw.store !== undefined || flaw.service !== undefined || flaw.serviceCrypto !== undefined || flaw.decode !== undefined || flaw.rpCrypto !== undefined || flaw.verifyToken !== undefined,
  build: ({ policy, flaw, fixture, store }) =>
    Effect.gen(function*() {
      const deployment: ServedDeployment | undefined =
        fixture === undefined
          ? undefined
          : yield* Schema.decodeUnknown(DeploymentJson)(new TextDecoder().decode(fixture)).pipe(Effect.mapError((e) => serveError(`a P1 fixture is a deployment as JSON: ${e.message}`)))
      const context = yield* Layer.build(Layer.mergeAll(CryptoNode, deployment === undefined ? SecureRandomSystem : SecureRandomSeeded(deployment.seed), storeLayer(store)))
      const parts = yield* Effect.provide(
        Effect.gen(function*() {
          const crypto = yield* Crypto
          const trustedCards =
            deployment === undefined
              ? yield* Effect.orDie(Effect.all([standingChipKey("alice"), standingChipKey("mallory")].map((k) => crypto.ed25519PublicKey(k))))
              : deployment.trustedCards.map((hex) => Uint8Array.from(Buffer.from(hex, "hex")))
          const issuerKey = yield* drawSigningKey("issuer")
          const service = yield* decoratedService(policy, yield* IssuanceStoreService, { issuerKey, trustedCards, otpDigits: deployment?.otpDigits ?? DEFAULT_OTP_DIGITS }, flaw ?? {})
          return { service, rp: yield* decoratedRelyingParty(issuerKey, flaw ?? {}) }
        }),
        context
      )
      const service = transactional(parts.service, Context.get(context, StepTransaction), ["receive"])
      return {
        service: (bytes: Uint8Array, connection?: string) => {
          const conn = connection ?? DEFAULT_CONNECTION
          return Effect.provide(servedStep(conn, service.receive(conn, bytes)), context)
        },
        rp: (bytes: Uint8Array, connection?: string) => Effect.provide(answering(parts.rp.receive(connection ?? DEFAULT_CONNECTION, bytes), (step) => step._tag), context)
      }
    }),
  // Its bound counts the wrong OTPs evaluated while each OTP is valid, and when an OTP stops being
  // valid only the store shows: judged from the wire, every burst would count against OTPs
  // revoked long before, so a hardened server would be found wanting.
  unjudged: ["P1.otp-guessing"],
  // The first mutant (an OTP kept after use) needs its OTP typed twice, rare in 8 runs of 8 moves;
  // this one sends the token to the wrong C1, which the deliveries show in most runs.
  testMutant: "otp-without-connection",
  unobservable: [
    "the service's store: when an OTP stops being valid (used, expired, revoked) is not seen, so P1.otp-guessing, which counts the wrong OTPs evaluated while each OTP is valid, is not judged (its made-up-OTP clause with it); a refusal that changes more than the design names (state-changed-on-reject, in P1.malformed-input and P1.tampered-input) is not seen",
    "which record an accepted OTP matched: read as the newest C1 the wire showed that OTP issued on, exact while no two live records share an OTP (hardened draws again until none does); on a server that lets them share one, an acceptance may be named after another of them; an accepted OTP the wire never showed issued (a made-up one) is named `unknown`, so a second one is reported by P1.otp-single-use",
    "what the relying party accepted: its acceptance carries no message, so it is read as the token presented on that connection (claims read, not verified)"
  ]
}
