/**
 * The linear collusion of CPK on real arithmetic: m(h−1)+1 colluders' keys (h rows, m columns), Gaussian elimination
 * mod n, and a signature for an identity none of them holds that the project's own verifier
 * (impl/crypto, both backends) accepts — under `claimed`; under `hardened` the separating keys
 * make the same computation useless.
 */
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { claimed, collusionBound, hardened } from "../../spec/cpk-payment/variants.ts"
import { CryptoNoble } from "../crypto/noble.ts"
import { CryptoNode } from "../crypto/node.ts"
import { type Dimensions, scalarToBytes, select } from "./cpk.ts"
import { forgeKey, solveCoalition } from "./collusion.ts"
import { makeDirectory, makeKmc, type UserKey, verifyWith } from "./keys.ts"
import { deploymentOf, runner } from "./deployment.ts"
import { Effect } from "effect"
import { Crypto } from "../crypto/services.ts"

const message = new TextEncoder().encode("authlab/cpk-payment/forged/v1")

/** Colluders `c0, c1, …` until their selections reach rank `want` (or `max` keys). */
const coalition = (dims: Dimensions, issue: (id: string) => UserKey, selKey: Uint8Array, want: number, max = 4 * want) => {
  const keys: Array<{ selection: ReadonlyArray<number>; secret: bigint }> = []
  for (let i = 0; i < max; i++) {
    const k = issue(`c${i}`)
    keys.push({ selection: select(selKey, dims, "pay", `c${i}`), secret: BigInt(`0x${Buffer.from(k.secret).toString("hex")}`) })
    if (solveCoalition(dims, keys).rank >= want) break
  }
  return keys
}

describe.each([
  [{ rows: 4, columns: 4 }],
  [{ rows: 8, columns: 8 }]
])("linear collusion, %o", (dims) => {
  const deployment = deploymentOf(dims, ["pay"], "collusion")
  const selKey = deployment.selectionKeys.get("pay")!
  const bound = collusionBound(dims.rows, dims.columns)

  it(`claimed: ${collusionBound(dims.rows, dims.columns)} independent keys forge a signature the project's verifier accepts, in both backends`, () => {
    const run = runner(3)
    const kmc = makeKmc({ policy: claimed, deployment })
    const keys = coalition(dims, (id) => Either.getOrThrow(run(kmc.issue(id, "pay"))), selKey, bound)
    const solved = solveCoalition(dims, keys)
    expect(solved.rank).toBe(bound)
    const target = select(selKey, dims, "pay", "zhang")
    expect(solved.inSpan(target)).toBe(true)
    const forged = scalarToBytes(forgeKey(solved, target))
    const directory = makeDirectory({ policy: claimed, parameters: deployment.parameters, subdomains: ["pay"] })
    for (const layer of [CryptoNoble, CryptoNode]) {
      const r = runner(4, layer)
      const signature = Either.getOrThrow(r(Effect.flatMap(Crypto, (c) => c.ecdsaP256Sign(forged, message))))
      const pk = Either.getOrThrow(r(directory.publicKey("zhang", "pay", new Uint8Array(0), new Uint8Array(0))))
      expect(Either.isRight(r(verifyWith(pk, message, signature)))).toBe(true)
    }
    console.info(`P4 collusion ${dims.rows}×${dims.columns}: ${keys.length} keys issued, rank ${solved.rank} = m(h−1)+1; forged zhang's key; 32×32 bound ${collusionBound(32, 32)}`)
  })

  it("claimed: the rank never exceeds m(h−1)+1, so fewer keys cannot determine every identity", () => {
    const run = runner(3)
    const kmc = makeKmc({ policy: claimed, deployment })
    const keys = coalition(dims, (id) => Either.getOrThrow(run(kmc.issue(id, "pay"))), selKey, bound + 5, bound + 5)
    expect(solveCoalition(dims, keys).rank).toBe(bound)
    expect(solveCoalition(dims, keys.slice(0, bound - 1)).rank).toBeLessThan(bound)
  })

  it("hardened: the same computation yields a key that the target's certified public key refuses", () => {
    const run = runner(3)
    const kmc = makeKmc({ policy: hardened, deployment })
    const keys = coalition(dims, (id) => Either.getOrThrow(run(kmc.issue(id, "pay"))), selKey, bound)
    const solved = solveCoalition(dims, keys)
    const target = Either.getOrThrow(run(kmc.issue("zhang", "pay")))
    const forged = scalarToBytes(forgeKey(solved, select(selKey, dims, "pay", "zhang")))
    const signature = Either.getOrThrow(run(Effect.flatMap(Crypto, (c) => c.ecdsaP256Sign(forged, message))))
    const directory = makeDirectory({ policy: hardened, parameters: deployment.parameters, subdomains: ["pay"] })
    const pk = Either.getOrThrow(run(directory.publicKey("zhang", "pay", target.sepPoint, target.cert)))
    expect(Either.isLeft(run(verifyWith(pk, message, signature)))).toBe(true)
  })
})

it("the bound for the deployed 32×32 matrix is 993 keys", () => {
  expect(collusionBound(32, 32)).toBe(993)
})

it("a selection whose columns pair up (two columns always select the same row) collapses the bound: 4×4 falls from 13 keys to 7", () => {
  const dims = { rows: 4, columns: 4 }
  const deployment = deploymentOf(dims, ["pay"], "collusion")
  const selKey = deployment.selectionKeys.get("pay")!
  const paired = (id: string) => select(selKey, dims, "pay", id).map((_, j, s) => s[j & ~1]!)
  const secret = deployment.secrets.get("pay")!
  const keys = Array.from({ length: 12 }, (_, i) => {
    const selection = paired(`c${i}`)
    return { selection, secret: selection.reduce((a, row, j) => a + secret.r[row]![j]!, 0n) }
  })
  expect(solveCoalition(dims, keys).rank).toBe(collusionBound(dims.rows, dims.columns / 2))
})
