/**
 * `symmetricKey` merges exactly the states that differ by a renaming of fresh names and the order
 * of unordered parts: renamed or permuted states share a key, and a change a renaming cannot
 * explain (a name used twice where the other uses two, another shape, an ordered part moved) does
 * not.
 */
import { describe, expect, it } from "vitest"
import { namedPart, newKeySpace, symmetricKey } from "./keys.ts"

const key = (fixed: ReadonlyArray<unknown>, ordered: ReadonlyArray<unknown>, unordered: ReadonlyArray<unknown>): string =>
  symmetricKey(fixed.map((v) => (typeof v === "number" ? v : namedPart({ v }))), ordered.map((v) => namedPart({ v })), unordered.map((v) => namedPart({ v })))

describe("symmetricKey", () => {
  newKeySpace()
  const base = key([{ holds: "K0(dh(n0e,n1s))", nonce: "n2" }, 3], ["grant n4g"], [{ begin: "n2" }, { challenge: "n5", for: "n2" }])

  it("is equal for a state with its fresh names renamed one-to-one", () => {
    expect(key([{ holds: "K0(dh(n7e,n1s))", nonce: "n0" }, 3], ["grant n9g"], [{ begin: "n0" }, { challenge: "n2", for: "n0" }])).toBe(base)
  })

  it("is equal for the unordered parts in another order", () => {
    expect(key([{ holds: "K0(dh(n0e,n1s))", nonce: "n2" }, 3], ["grant n4g"], [{ challenge: "n5", for: "n2" }, { begin: "n2" }])).toBe(base)
  })

  it("differs where no renaming explains the change", () => {
    // Two names become one.
    expect(key([{ holds: "K0(dh(n0e,n0s))", nonce: "n2" }, 3], ["grant n4g"], [{ begin: "n2" }, { challenge: "n5", for: "n2" }])).not.toBe(base)
    // The challenge answers another nonce.
    expect(key([{ holds: "K0(dh(n0e,n1s))", nonce: "n2" }, 3], ["grant n4g"], [{ begin: "n2" }, { challenge: "n5", for: "n6" }])).not.toBe(base)
    // A plain number, a suffix, a field.
    expect(key([{ holds: "K0(dh(n0e,n1s))", nonce: "n2" }, 4], ["grant n4g"], [{ begin: "n2" }, { challenge: "n5", for: "n2" }])).not.toBe(base)
    expect(key([{ holds: "K0(dh(n0e,n1s))", nonce: "n2" }, 3], ["grant n4f"], [{ begin: "n2" }, { challenge: "n5", for: "n2" }])).not.toBe(base)
    expect(key([{ holds: "K0(dh(n0e,n1s))", nonce: "n2" }, 3], ["grant n4g"], [{ begin: "n2" }, { challenge: "n5", by: "n2" }])).not.toBe(base)
    // An unordered part moved into the ordered ones.
    expect(key([{ holds: "K0(dh(n0e,n1s))", nonce: "n2" }, 3], ["grant n4g", { begin: "n2" }], [{ challenge: "n5", for: "n2" }])).not.toBe(base)
  })

  it("leaves words that are not fresh names alone", () => {
    expect(key([{ request: "clone1@k0" }], [], [])).not.toBe(key([{ request: "clone2@k0" }], [], []))
    expect(key([{ text: "n#" }], [], [])).not.toBe(key([{ text: "n1" }], [], []))
  })
})
