import { Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { claimed, hardened } from "../../spec/cpk-payment/variants.ts"
import { CryptoNoble } from "../crypto/noble.ts"
import { combinedPublic, combinedPublicNaive, combinedSecret, Point, pointBytes, publicTable, select } from "./cpk.ts"
import { makeDirectory, makeKmc, signWith, verifyWith } from "./keys.ts"
import { deploymentOf, runner } from "./deployment.ts"

const dims = { rows: 8, columns: 8 }
const deployment = deploymentOf(dims, ["pay", "transit"], "cpk-test")
const pay = deployment.parameters.matrices.get("pay")!
const ids = fc.stringMatching(/^[a-z0-9]{1,16}$/)

describe("CPK derivation", () => {
  it("the table, the naive sum and the private key agree: Σ selected R = (Σ selected r)·G", () => {
    const table = publicTable(pay)
    fc.assert(
      fc.property(ids, (id) => {
        const sel = select(pay.selectionKey, dims, "pay", id)
        const expected = Point.BASE.multiply(combinedSecret(deployment.secrets.get("pay")!, sel))
        expect(combinedPublic(table, sel).equals(expected)).toBe(true)
        expect(combinedPublicNaive(pay, sel).equals(expected)).toBe(true)
      }),
      { numRuns: 30 }
    )
  })

  it("selection is domain-separated: the same ID selects independently in another subdomain", () => {
    const transit = deployment.parameters.matrices.get("transit")!
    const differ = ["alice", "bob", "carol", "dave"].filter((id) => select(pay.selectionKey, dims, "pay", id).join() !== select(transit.selectionKey, dims, "transit", id).join())
    expect(differ.length).toBe(4)
  })

  it("odd column counts use a single-column last pair", () => {
    const d = { rows: 4, columns: 5 }
    const dep = deploymentOf(d, ["pay"], "odd")
    const m = dep.parameters.matrices.get("pay")!
    const sel = select(m.selectionKey, d, "pay", "zhang")
    expect(combinedPublic(publicTable(m), sel).equals(Point.BASE.multiply(combinedSecret(dep.secrets.get("pay")!, sel)))).toBe(true)
  })
})

describe.each([["claimed", claimed], ["hardened", hardened]] as const)("derived-key signatures, %s", (_name, policy) => {
  const run = runner(7, CryptoNoble)
  const kmc = makeKmc({ policy, deployment })
  const directory = makeDirectory({ policy, parameters: deployment.parameters, subdomains: ["pay"] })
  const key = Either.getOrThrow(run(kmc.issue("zhang", "pay")))
  const message = new TextEncoder().encode("authlab/cpk-payment/test/v1")
  const signature = Either.getOrThrow(run(signWith(key, message)))
  const derived = Either.getOrThrow(run(directory.publicKey("zhang", "pay", key.sepPoint, key.cert)))

  it("a signature by the issued key verifies under the key derived from the ID", () => {
    expect(Either.isRight(run(verifyWith(derived, message, signature)))).toBe(true)
  })

  it("a flipped bit of the signature is refused", () => {
    fc.assert(
      fc.property(fc.nat({ max: 63 }), fc.nat({ max: 7 }), (byte, bit) => {
        const bad = Uint8Array.from(signature)
        bad[byte]! ^= 1 << bit
        expect(Either.isLeft(run(verifyWith(derived, message, bad)))).toBe(true)
      }),
      { numRuns: 20 }
    )
  })

  it("another identity's derived key does not verify it", () => {
    const other = Either.getOrThrow(run(kmc.issue("li", "pay")))
    const otherKey = Either.getOrThrow(run(directory.publicKey("li", "pay", other.sepPoint, other.cert)))
    expect(Either.isLeft(run(verifyWith(otherKey, message, signature)))).toBe(true)
  })

  it("the directory refuses a subdomain it does not serve", () => {
    const r = run(directory.publicKey("zhang", "transit", key.sepPoint, key.cert))
    expect(Either.isLeft(r) && r.left.reason).toBe("wrong-subdomain")
  })

  if (policy.separatingKey)
    it("a separating point without the KMC's certificate is refused", () => {
      const forged = pointBytes(Point.BASE.multiply(12345n))
      const r = run(directory.publicKey("zhang", "pay", forged, key.cert))
      expect(Either.isLeft(r) && r.left.reason).toBe("bad-cert")
    })
})

it("the public key is the private key's: noble's getPublicKey of the issued secret (claimed)", () => {
  const run = runner(1)
  const key = Either.getOrThrow(run(makeKmc({ policy: claimed, deployment }).issue("li", "pay")))
  const derived = Either.getOrThrow(run(makeDirectory({ policy: claimed, parameters: deployment.parameters, subdomains: ["pay"] }).publicKey("li", "pay", key.sepPoint, key.cert)))
  expect(Buffer.from(derived).toString("hex")).toBe(Buffer.from(Point.BASE.multiply(BigInt(`0x${Buffer.from(key.secret).toString("hex")}`)).toBytes(true)).toString("hex"))
  void Effect.void
})
