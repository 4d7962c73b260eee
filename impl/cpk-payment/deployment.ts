/**
 * P4 deployments made out of band: the KMC's matrices from a deterministic ChaCha20 stream (RFC
 * 8439 §2.4) under SHA-256 of a label, made once per process — a public matrix costs one
 * base-point multiplication per entry, 1024 for 32×32. For the audit's worlds, the tests and the
 * benchmarks; a real KMC draws from SecureRandomSystem. Also a runner for tests (crypto and a
 * seeded random source).
 */
import { Effect, Either, Layer } from "effect"
import { chacha20 } from "@noble/ciphers/chacha.js"
import { sha256 } from "@noble/hashes/sha2.js"
import { CryptoNode } from "../crypto/node.ts"
import { SecureRandomSeeded } from "../crypto/random.ts"
import type { Crypto, SecureRandom } from "../crypto/services.ts"
import type { Dimensions } from "./cpk.ts"
import { type Deployment, makeDeployment } from "./keys.ts"

/** A deterministic byte source (ChaCha20 keystream under SHA-256(label)), for deployments made out of band. */
export const streamOf = (label: string): ((n: number) => Uint8Array) => {
  const key = sha256(new TextEncoder().encode(`authlab/cpk-payment/deployment/${label}`))
  let counter = 0
  return (n) => {
    const out = chacha20(key, new Uint8Array(12), new Uint8Array(n), new Uint8Array(n), counter)
    counter += Math.ceil(n / 64)
    return out
  }
}

const deployments = new Map<string, Deployment>()

/** The deployment of `dims` over `subdomains`, made once per process (public matrices cost one base multiplication per entry). */
export const deploymentOf = (dims: Dimensions, subdomains: ReadonlyArray<string>, label = "default"): Deployment => {
  const k = `${label}|${dims.rows}x${dims.columns}|${subdomains.join(",")}`
  let d = deployments.get(k)
  if (d === undefined) deployments.set(k, (d = makeDeployment(dims, subdomains, streamOf(k))))
  return d
}

export const runner = (seed: number, layer: Layer.Layer<Crypto> = CryptoNode) => {
  const context = Effect.runSync(Effect.scoped(Layer.build(Layer.merge(layer, SecureRandomSeeded(seed)))))
  return <A, E>(effect: Effect.Effect<A, E, Crypto | SecureRandom>): Either.Either<A, E> => Effect.runSync(Effect.either(Effect.provide(effect, context)))
}
