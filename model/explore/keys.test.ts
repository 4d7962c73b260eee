/**
 * `symmetricKey` merges exactly the states that differ by a renaming of fresh names and the order
 * of unordered parts: renamed or permuted states share a key, and a change a renaming cannot
 * explain (a name used twice where the other uses two, another shape, an ordered part moved) does
 * not.
 */
import { describe, expect, it } from "vitest"
import { keyOf, keyShapes, namedPart, newKeySpace, pushFields, symmetricKey } from "./keys.ts"

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

  it("writes numbers so that no two sequences share a key (varints, signed, large)", () => {
    // In decimal without separators these would run together; the varint code is prefix-free.
    expect(key([1, 23], [], [])).not.toBe(key([12, 3], [], []))
    expect(key([-1], [], [])).not.toBe(key([1], [], []))
    expect(key([127], [], [])).not.toBe(key([128], [], []))
    expect(key([2 ** 40], [], [])).not.toBe(key([2 ** 40 + 1], [], []))
    expect(key([0, 0], [], [])).not.toBe(key([0], [], [0 as never]))
    expect(() => key([0.5], [], [])).toThrow(RangeError)
    // One byte per character: V8 keeps such a string at one byte a character.
    expect([...key([2 ** 40, -5, { v: "n1" }], [], [])].every((c) => c.charCodeAt(0) < 256)).toBe(true)
  })

  it("reads back as its parts' shapes without the names (keyShapes)", () => {
    const renamed = key([{ holds: "K0(dh(n7e,n1s))", nonce: "n0" }, 3], ["grant n9g"], [{ begin: "n0" }, { challenge: "n2", for: "n0" }])
    expect(keyShapes(renamed)).toBe(keyShapes(base))
    expect(keyShapes(base)).toMatch(/^\d+,#3,\|,\d+,\|,\d+,\d+$/)
    expect(keyShapes(key([-1, 2 ** 40], [], []))).toBe("#-1,#1099511627776,|,|")
    expect(keyShapes(key([{ holds: "n1" }], [], []))).not.toBe(keyShapes(key([{ held: "n1" }], [], [])))
    expect(() => keyShapes(base.slice(0, -1) + String.fromCharCode(0x80))).toThrow(RangeError)
  })
})

describe("pushFields", () => {
  const fields = (...values: ReadonlyArray<object>): string => {
    const ids: Array<number> = []
    for (const v of values) pushFields(ids, v)
    return keyOf(ids)
  }
  it("keys records by their fields' names and values, objects by content", () => {
    newKeySpace()
    expect(fields({ type: "msg", message: { a: [1] } })).toBe(fields({ type: "msg", message: { a: [1] } }))
    expect(fields({ ref: "5" })).not.toBe(fields({ ref: 5 }))
    expect(fields({ a: "x", b: "y" })).not.toBe(fields({ a: "y", b: "x" }))
    expect(fields({ a: "x" }, { b: "y" })).not.toBe(fields({ a: "x", b: "y" }))
    expect(fields({ message: { a: [1] } })).not.toBe(fields({ message: { a: [2] } }))
  })
})
