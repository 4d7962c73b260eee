/**
 * HOTP / TOTP in layers: every RFC 4226 Appendix D and RFC 6238 Appendix B vector (with the
 * per-hash TOTP seeds of RFC 6238's reference code: 20, 32 and 64 bytes — the RFC's prose says
 * otherwise, the known erratum); then properties of the verifier (look-ahead window, spent
 * counters, resynchronisation, drift); then a cross-check against the independent `otpauth`
 * library on random secrets, counters and times, and its Key URI parser on ours.
 */
import { assert, describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import fc from "fast-check"
import * as OTPAuth from "otpauth"
import { runs } from "../../properties/harness/config.ts"
import { loadVectors, toHex } from "../crypto/vectors.ts"
import { hotp, type OtpHash, resyncHotp, timeStep, totp, verifyHotp, verifyTotp } from "./otp.ts"
import { base32Decode, base32Encode, formatKeyUri, KeyUriError, parseKeyUri } from "./uri.ts"

interface OtpVectors {
  readonly hotp: {
    readonly secret_ascii: string
    readonly digits: number
    readonly vectors: ReadonlyArray<{ readonly count: number; readonly hotp: string }>
  }
  readonly totp: {
    readonly X: number
    readonly T0: number
    readonly digits: number
    readonly seeds_ascii: Readonly<Record<OtpHash, string>>
    readonly vectors: ReadonlyArray<{ readonly time: number; readonly T: string } & Readonly<Record<OtpHash, string>>>
  }
}

const file = loadVectors<OtpVectors>("otp/rfc4226-rfc6238.json", "RFC 4226 / RFC 6238 OTP vectors")
const ascii = (s: string) => new TextEncoder().encode(s)
const HASHES: ReadonlyArray<OtpHash> = ["SHA1", "SHA256", "SHA512"]
const params = { numRuns: runs }
const verdict = <A>(e: Effect.Effect<A, { readonly _tag: string }>) =>
  Either.match(Effect.runSync(Effect.either(e)), { onLeft: (l) => l._tag, onRight: (r) => r })

describe.skipIf(!file.available)("RFC vectors", () => {
  const data = file.available ? file.data : (undefined as never)

  it("RFC 4226 Appendix D: all ten HOTP values", () => {
    assert.strictEqual(data.hotp.vectors.length, 10)
    for (const v of data.hotp.vectors) assert.strictEqual(hotp(ascii(data.hotp.secret_ascii), v.count, { digits: data.hotp.digits }), v.hotp)
  })

  it("RFC 6238 Appendix B: all eighteen TOTP values, per-hash seeds, and the time steps", () => {
    let checked = 0
    for (const v of data.totp.vectors) {
      assert.strictEqual(timeStep(v.time, { period: data.totp.X, t0: data.totp.T0 }), Number.parseInt(v.T, 16))
      for (const hash of HASHES) {
        const got = totp(ascii(data.totp.seeds_ascii[hash]), v.time, { hash, digits: data.totp.digits, period: data.totp.X, t0: data.totp.T0 })
        assert.strictEqual(got, v[hash], `${hash} at ${v.time}`)
        checked++
      }
    }
    assert.strictEqual(checked, 18)
  })

  it("each vector also verifies, and only once (its counter is spent)", () => {
    const secret = ascii(data.hotp.secret_ascii)
    let counter = 0
    for (const v of data.hotp.vectors) {
      const m = verdict(verifyHotp(secret, v.hotp, { counter, window: 1 }))
      assert.deepStrictEqual(m, { matched: v.count, nextCounter: v.count + 1 })
      counter = v.count + 1
      assert.strictEqual(verdict(verifyHotp(secret, v.hotp, { counter, window: 10 })), "OtpRejected")
    }
  })
})

const secretArb = fc.uint8Array({ minLength: 16, maxLength: 64 })
const hashArb = fc.constantFrom<OtpHash>(...HASHES)
const digitsArb = fc.integer({ min: 6, max: 8 })

describe("HOTP verifier (RFC 4226 §7.2, §7.4)", () => {
  it("accepts exactly the counters in [counter, counter + window) and returns matched + 1", () => {
    fc.assert(
      fc.property(secretArb, fc.nat({ max: 1e6 }), fc.integer({ min: 1, max: 10 }), fc.integer({ min: -3, max: 13 }), (secret, counter, window, offset) => {
        const c = counter + offset
        if (c < 0) return
        const code = hotp(secret, c)
        const r = verdict(verifyHotp(secret, code, { counter, window }))
        // a chance collision with another counter (10^-6 per candidate) is allowed only as a
        // genuine match of that counter, earlier in the window (the first match wins)
        if (offset >= 0 && offset < window) {
          assert.notStrictEqual(r, "OtpRejected")
          const m = r as { matched: number; nextCounter: number }
          assert.isTrue(m.matched <= c && hotp(secret, m.matched) === code && m.nextCounter === m.matched + 1)
        } else if (r !== "OtpRejected") {
          const m = r as { matched: number }
          assert.isTrue(m.matched !== c && m.matched >= counter && m.matched < counter + window && hotp(secret, m.matched) === code)
        }
      }),
      params
    )
  })

  it("resynchronises on two consecutive codes beyond the window, within the bounded resync window only", () => {
    fc.assert(
      fc.property(secretArb, fc.nat({ max: 1e6 }), fc.integer({ min: 0, max: 40 }), (secret, counter, ahead) => {
        const c = counter + ahead
        const r = verdict(resyncHotp(secret, hotp(secret, c), hotp(secret, c + 1), { counter, resyncWindow: 20 }))
        if (ahead < 20) assert.deepStrictEqual(r, { matched: c + 1, nextCounter: c + 2 })
        else assert.strictEqual(r, "OtpRejected")
        // two codes that are not consecutive never resynchronise
        // (a chance match needs two 6-digit collisions at once, ~10^-12 per counter: not flaky)
        assert.strictEqual(verdict(resyncHotp(secret, hotp(secret, c + 1), hotp(secret, c), { counter, resyncWindow: 20 })), "OtpRejected")
      }),
      params
    )
  })

  it("refuses malformed codes and bad parameters with distinct errors", () => {
    const secret = new Uint8Array(20)
    for (const bad of ["", "12345", "1234567", "12345a", " 123456", "１２３４５６"]) assert.strictEqual(verdict(verifyHotp(secret, bad, { counter: 0, window: 5 })), "OtpRejected")
    assert.strictEqual(verdict(verifyHotp(new Uint8Array(15), "123456", { counter: 0, window: 5 })), "OtpInputError")
    assert.strictEqual(verdict(verifyHotp(secret, "123456", { counter: 0, window: 0 })), "OtpInputError")
    assert.strictEqual(verdict(verifyHotp(secret, "123456", { counter: 0, window: 5, digits: 9 })), "OtpInputError")
    assert.strictEqual(verdict(verifyHotp(secret, "123456", { counter: -1, window: 5 })), "OtpInputError")
  })
})

describe("TOTP verifier (RFC 6238 §5.2)", () => {
  it("accepts ±drift steps, never a step at or before the last accepted one", () => {
    fc.assert(
      fc.property(secretArb, hashArb, fc.integer({ min: 1e9, max: 2e9 }), fc.integer({ min: -3, max: 3 }), fc.option(fc.integer({ min: -3, max: 3 })), (secret, hash, now, offset, lastOffset) => {
        const step = timeStep(now)
        const code = hotp(secret, step + offset, { hash })
        const lastStep = lastOffset === null ? undefined : step + lastOffset
        const r = verdict(verifyTotp(secret, code, { now, hash, drift: 1, ...(lastStep === undefined ? {} : { lastStep }) }))
        const allowed = Math.abs(offset) <= 1 && (lastStep === undefined || step + offset > lastStep)
        // as above: a chance collision may match another allowed step, never a refused one
        if (allowed) assert.isTrue(r === step + offset || (typeof r === "number" && r < step + offset && hotp(secret, r, { hash }) === code))
        else if (r !== "OtpRejected") assert.isTrue(typeof r === "number" && r !== step + offset && hotp(secret, r, { hash }) === code)
      }),
      params
    )
  })
})

describe("replay: what the verifier must remember (RFC 4226 §7.2, RFC 6238 §5.2)", () => {
  // P3's claim stores nothing about an OTP it validated (SPEC.md §3). For HOTP that cannot be read
  // literally: validation needs the counter, and RFC 4226 §7.2 moves it past the match, so a code
  // never verifies twice. For TOTP it can: a stateless check against now ± drift accepts the same
  // code again for up to 2·drift + 1 steps, until the verifier keeps the last accepted step.
  it("TOTP with no last-step memory accepts one code twice; with it, once", () => {
    fc.assert(
      fc.property(secretArb, fc.integer({ min: 1e9, max: 2e9 }), fc.integer({ min: 0, max: 29 }), (secret, now, later) => {
        const code = totp(secret, now)
        const first = verdict(verifyTotp(secret, code, { now }))
        assert.strictEqual(first, timeStep(now))
        assert.strictEqual(verdict(verifyTotp(secret, code, { now: now + later })), first, "a stateless verifier replays")
        const again = verdict(verifyTotp(secret, code, { now: now + later, lastStep: first as number }))
        // a chance collision with the next step's code may match it, never the spent step
        assert.isTrue(again === "OtpRejected" || (typeof again === "number" && again > (first as number)))
      }),
      params
    )
  })

  it("HOTP: the counter returned after a match is past it, so the code never verifies again", () => {
    fc.assert(
      fc.property(secretArb, fc.integer({ min: 0, max: 1e6 }), (secret, counter) => {
        const m = Effect.runSync(verifyHotp(secret, hotp(secret, counter), { counter, window: 3 }))
        assert.strictEqual(m.nextCounter, counter + 1)
        const again = verdict(verifyHotp(secret, hotp(secret, counter), { counter: m.nextCounter, window: 3 }))
        // a chance collision with a later counter's code may match that counter, never the spent one
        assert.isTrue(again === "OtpRejected" || (typeof again === "object" && again.matched > counter))
      }),
      params
    )
  })
})

describe("cross-check with the otpauth library", () => {
  it("HOTP: same codes on random secrets, counters, hashes and digits", () => {
    fc.assert(
      fc.property(secretArb, fc.nat({ max: 2 ** 40 }), hashArb, digitsArb, (secret, counter, hash, digits) => {
        const theirs = OTPAuth.HOTP.generate({ secret: OTPAuth.Secret.fromHex(toHex(secret)), algorithm: hash, digits, counter })
        assert.strictEqual(hotp(secret, counter, { hash, digits }), theirs)
      }),
      params
    )
  })

  it("TOTP: same codes on random secrets, times and periods", () => {
    fc.assert(
      fc.property(secretArb, fc.integer({ min: 0, max: 4e9 }), hashArb, digitsArb, fc.constantFrom(30, 60, 15), (secret, seconds, hash, digits, period) => {
        const theirs = OTPAuth.TOTP.generate({ secret: OTPAuth.Secret.fromHex(toHex(secret)), algorithm: hash, digits, period, timestamp: seconds * 1000 })
        assert.strictEqual(totp(secret, seconds, { hash, digits, period }), theirs)
      }),
      params
    )
  })

  it("Key URI: otpauth parses ours to the same parameters, and we parse theirs", () => {
    fc.assert(
      fc.property(secretArb, hashArb, digitsArb, fc.nat({ max: 1e6 }), fc.boolean(), (secret, algorithm, digits, n, isHotp) => {
        const key = isHotp
          ? { type: "hotp" as const, issuer: "authlab", account: "alice@example.com", secret, algorithm, digits, counter: n }
          : { type: "totp" as const, issuer: "authlab", account: "alice@example.com", secret, algorithm, digits, period: 30 }
        const uri = formatKeyUri(key)
        const theirs = OTPAuth.URI.parse(uri)
        assert.strictEqual(theirs.secret.hex.toLowerCase(), toHex(secret))
        assert.strictEqual(theirs.algorithm, algorithm)
        assert.strictEqual(theirs.digits, digits)
        assert.strictEqual(theirs.issuer, "authlab")
        assert.strictEqual(theirs.label, "alice@example.com")
        const back = parseKeyUri(theirs.toString())
        assert.deepStrictEqual({ ...back, secret: toHex(back.secret) }, { ...key, secret: toHex(secret) })
      }),
      params
    )
  })

  it("Key URI: refuses a short secret, unknown algorithm, bad digits, HOTP without counter", () => {
    const s = base32Encode(new Uint8Array(20))
    for (const bad of [
      `otpauth://hotp/a:b?secret=${base32Encode(new Uint8Array(10))}&counter=0`,
      `otpauth://totp/a:b?secret=${s}&algorithm=MD5`,
      `otpauth://totp/a:b?secret=${s}&digits=5`,
      `otpauth://hotp/a:b?secret=${s}`,
      `otpauth://totp/a:b?secret=not*base32`,
      `otpauth://totp/a:b?secret=${s}&issuer=c`,
      `https://example.com/?secret=${s}`
    ])
      assert.throws(() => parseKeyUri(bad))
    assert.deepStrictEqual(base32Decode(base32Encode(Uint8Array.of(1, 2, 3, 4, 5, 6))), Uint8Array.of(1, 2, 3, 4, 5, 6))
  })
})

describe("Key URI edges", () => {
  const key = { type: "totp", issuer: "Example Bank", account: "alice@example.com", secret: new Uint8Array(20).fill(1), algorithm: "SHA1", digits: 6, period: 30 } as const

  it("writes a space as %20 in the issuer parameter, as in the label, and parses it back", () => {
    const uri = formatKeyUri(key)
    expect(uri).toContain("issuer=Example%20Bank")
    expect(uri).not.toContain("+")
    expect(parseKeyUri(uri).issuer).toBe("Example Bank")
  })

  it("refuses an account or issuer that a parser would change (leading or trailing space)", () => {
    expect(() => formatKeyUri({ ...key, account: " alice" })).toThrow(KeyUriError)
    expect(() => formatKeyUri({ ...key, issuer: "Bank " })).toThrow(KeyUriError)
  })

  it("fails with KeyUriError, not URIError, on a bad percent-escape", () => {
    expect(() => parseKeyUri("otpauth://totp/Bank:%E0%A4%A?secret=AEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIB")).toThrow(KeyUriError)
    expect(() => parseKeyUri("otpauth://totp/Bank:alice?secret=%ZZ")).toThrow(KeyUriError)
  })
})
