/**
 * The P1 service for the crash test (crash.test.ts): `node crash-child.ts FILE`, the hardened
 * service over the SQLite store in FILE and the deployment of ./crash-deployment.ts, speaking
 * impl/sqlite/crash-child.ts's line protocol with a connection per request (C1 or C2). System
 * randomness, as a deployment: a restarted service must not draw the nonces and OTPs it drew
 * before. Not used by the implementation.
 */
import { Effect, Layer } from "effect"
import { hardened } from "../../spec/soft-token/variants.ts"
import { CryptoNode } from "../crypto/node.ts"
import { SecureRandomSystem } from "../crypto/random.ts"
import { Crypto } from "../crypto/services.ts"
import { runCrashChild } from "../sqlite/crash-child.ts"
import { CRASH_CHIP_KEY, CRASH_ISSUER_KEY, CRASH_OTP_DIGITS } from "./crash-deployment.ts"
import { makeService } from "./service.ts"
import { layerSqlite } from "./store-sqlite.ts"
import { IssuanceStoreService } from "./store.ts"

const [file] = process.argv.slice(2)
if (file === undefined) throw new Error("usage: crash-child.ts FILE")

const make = Effect.gen(function*() {
  const card = yield* Effect.orDie(Effect.flatMap(Crypto, (c) => c.ed25519PublicKey(CRASH_CHIP_KEY)))
  const service = yield* makeService({ policy: hardened, issuerKey: CRASH_ISSUER_KEY, trustedCards: [card], otpDigits: CRASH_OTP_DIGITS, store: yield* IssuanceStoreService })
  return (request: { readonly bytes: Uint8Array; readonly conn?: string }) =>
    service.receive(request.conn ?? "default", request.bytes).pipe(
      Effect.map((step) => ({ ok: true, replies: step.replies, event: step.event })),
      Effect.catchAll((e) => Effect.succeed({ ok: false, reason: e.reason, replies: e.replies }))
    )
})

void runCrashChild(make, Layer.mergeAll(layerSqlite(file), CryptoNode, SecureRandomSystem))
