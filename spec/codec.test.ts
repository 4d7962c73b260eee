/**
 * The canonical codec at every protocol's edge: a round trip for any field values, and a strict
 * refusal of truncated, extended, re-labelled or badly encoded frames.
 */
import { Either, Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { boundedBytes, emptyOrFixed, fixedBytes, freshBytes, MAX_FRAME_BYTES, message, transcript, utf8, wireUnion } from "./codec.ts"

const Sample = message("Sample", 42, { id: fixedBytes(4), body: boundedBytes(0, 8), proof: emptyOrFixed(2), name: utf8(6, 0) })
const Other = message("Other", 43, { id: fixedBytes(4) })
const decode = (bytes: Uint8Array) => Schema.decodeUnknownEither(wireUnion(Sample, Other))(bytes)
const sample = Sample.make({ id: new Uint8Array([1, 2, 3, 4]), body: new Uint8Array([9]), proof: new Uint8Array(0), name: "é" })

describe("codec", () => {
  it("refuses a byte-order mark at the start of a text field (it would decode to a message that re-encodes differently)", () => {
    const Otp = message("Otp", 7, { otp: utf8(16) })
    // 01 07 | 00 0b | EF BB BF "12345678": once decoded, silently, to Otp("12345678").
    const withBom = Uint8Array.from([1, 7, 0, 11, 0xef, 0xbb, 0xbf, ...new TextEncoder().encode("12345678")])
    expect(Either.isLeft(Schema.decodeUnknownEither(Otp.wire)(withBom))).toBe(true)
    expect(Either.isRight(Schema.decodeUnknownEither(Otp.wire)(Otp.encode(Otp.make({ otp: "12345678" }))))).toBe(true)
  })

  it("round-trips any valid message", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.uint8Array({ maxLength: 8 }),
        fc.constantFrom(0, 2).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
        fc.string({ maxLength: 6 }).filter((s) => new TextEncoder().encode(s).length <= 6),
        (id, body, proof, name) => {
          const m = Sample.make({ id, body, proof, name })
          expect(Either.getOrThrow(decode(Sample.encode(m)))).toEqual(m)
        }
      ),
      { numRuns: 200 }
    )
  })

  it("refuses every truncation and any trailing byte", () => {
    const bytes = Sample.encode(sample)
    for (let n = 0; n < bytes.length; n++) expect(Either.isLeft(decode(bytes.subarray(0, n))), `truncated to ${n}`).toBe(true)
    expect(Either.isLeft(decode(Uint8Array.from([...bytes, 0])))).toBe(true)
  })

  it("refuses a wrong version, an unknown code, a wrong field length, an oversized frame", () => {
    const bytes = Sample.encode(sample)
    const edit = (i: number, v: number) => Uint8Array.from(bytes, (b, j) => (j === i ? v : b))
    expect(Either.isLeft(decode(edit(0, 2)))).toBe(true)
    expect(Either.isLeft(decode(edit(1, 99)))).toBe(true)
    expect(Either.isLeft(decode(Other.encode(Other.make({ id: new Uint8Array(4) })).subarray(0, 7)))).toBe(true)
    const wrongProof = Sample.encode({ ...sample, proof: new Uint8Array(1) })
    expect(Either.isLeft(decode(wrongProof))).toBe(true)
    expect(Either.isLeft(decode(new Uint8Array(MAX_FRAME_BYTES + 1)))).toBe(true)
  })

  it("refuses invalid UTF-8 instead of replacing it", () => {
    const bytes = Sample.encode({ ...sample, name: "ab" })
    const bad = Uint8Array.from(bytes)
    bad[bad.length - 1] = 0xff
    expect(Either.isLeft(decode(bad))).toBe(true)
  })

  it("gives different field lists different transcripts", () => {
    expect(transcript("l", ["ab", "c"])).not.toEqual(transcript("l", ["a", "bc"]))
    expect(transcript("l", ["a"])).not.toEqual(transcript("m", ["a"]))
  })

  it("writes a transcript as u32be(length) ‖ bytes for the label and each field, at every length (in a shared block or not)", () => {
    const reference = (label: string, fields: ReadonlyArray<Uint8Array | string>) => {
      const parts = [label, ...fields].map((f) => (typeof f === "string" ? new TextEncoder().encode(f) : f))
      return Uint8Array.from(parts.flatMap((p) => [p.length >>> 24, (p.length >>> 16) & 0xff, (p.length >>> 8) & 0xff, p.length & 0xff, ...p]))
    }
    fc.assert(
      fc.property(fc.string(), fc.array(fc.oneof(fc.string(), fc.integer({ min: 0, max: 600 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))), { maxLength: 5 }), (label, fields) => {
        const made = transcript(label, fields)
        expect(made).toEqual(reference(label, fields))
        expect(made.byteLength).toBe(reference(label, fields).length)
      })
    )
  })

  it("hands out fresh bytes that are zeroed and never overlap earlier ones, whatever their length", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 1, maxLength: 60 }), (lengths) => {
        const views = lengths.map((n) => {
          const v = freshBytes(n)
          expect(v.length).toBe(n)
          expect(v.every((b) => b === 0)).toBe(true)
          v.fill(0xff)
          return v
        })
        for (const [i, a] of views.entries())
          for (const b of views.slice(i + 1)) {
            if (a.buffer !== b.buffer) continue
            const apart = a.byteOffset + a.byteLength <= b.byteOffset || b.byteOffset + b.byteLength <= a.byteOffset
            expect(apart).toBe(true)
          }
      })
    )
  })
})
