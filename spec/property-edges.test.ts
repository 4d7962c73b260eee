/**
 * Trace predicates on hand-written traces, for the branches this round added that no definition
 * mutant reaches unguided (the source mutants of tools/mutation-trial reach them on hardened):
 * each must be able to fail, and must hold where the design allows what it sees.
 */
import { describe, expect, it } from "vitest"
import { tamperedInput as splitLoginTampered } from "./split-login/properties.ts"
import { accessExpiry } from "./hw-token-2fa/properties.ts"
import { otpSingleUse } from "./soft-token/properties.ts"
import type { Trace } from "./trace.ts"

describe("P2b.tampered-input: an edited fingerprint is judged by the server's verdict on the Machine's answer", () => {
  const upTo = (verdict: Trace): Trace => [
    { _tag: "Send", from: "attacker", to: "machine", ref: 8, label: "tampered:LoginChallenge.fingerprint" },
    { _tag: "Deliver", to: "machine", ref: 8, label: "tampered:LoginChallenge.fingerprint", how: "injected" },
    { _tag: "Running", actor: "machine", peer: "server", data: "login;sid=s2" },
    { _tag: "Send", from: "machine", to: "server", ref: 9, label: "LoginFinish" },
    { _tag: "Deliver", to: "server", ref: 9, label: "LoginFinish", how: "first" },
    ...verdict
  ]
  it("holds when the server refuses the answer", () => {
    expect(splitLoginTampered.check(upTo([{ _tag: "Reject", actor: "server", reason: "bad-approval" }]))).toBeUndefined()
  })
  it("fails when the server accepts it", () => {
    expect(splitLoginTampered.check(upTo([{ _tag: "Commit", actor: "server", peer: "machine", data: "login;sid=s2;opener=evil" }]))?.reason).toMatch(/answer to a tampered message/)
  })
  it("still fails when the Machine accepts any other edited challenge", () => {
    const trace: Trace = [
      { _tag: "Deliver", to: "machine", ref: 8, label: "tampered:LoginChallenge", how: "injected" },
      { _tag: "Send", from: "machine", to: "server", ref: 9, label: "LoginFinish" },
      { _tag: "Deliver", to: "server", ref: 9, label: "LoginFinish", how: "first" },
      { _tag: "Reject", actor: "server", reason: "bad-approval" }
    ]
    expect(splitLoginTampered.check(trace)).toBeDefined()
  })
})

describe("P3.access-expiry reads the trace's clock, not the token's exp", () => {
  const issued: Trace = [{ _tag: "Commit", actor: "auth", peer: "device", data: "login;user=alice;otp=tA#0;new=F1.0" }]
  const access = (exp: number, now: number): Trace => [{ _tag: "Commit", actor: "rs", peer: "device", data: `access;at=a1.0;sub=alice;exp=${exp};now=${now}` }]
  it("holds in the tick the token was issued in", () => {
    expect(accessExpiry.check([...issued, ...access(1, 0)])).toBeUndefined()
  })
  it("fails a tick later, whatever exp the ResourceServer read from the token", () => {
    expect(accessExpiry.check([...issued, { _tag: "Tick", actor: "clock" }, ...access(99, 0)])?.reason).toMatch(/issued at tick 0/)
  })
})

describe("P1.otp-single-use counts tokens per OTP, not only the service's Accepts", () => {
  it("fails on a second token from one OTP with one Accept", () => {
    const trace: Trace = [
      { _tag: "Running", actor: "evilpc", peer: "service", data: "t1|otp-of=s1|attrs=mallory" },
      { _tag: "Accept", actor: "service", data: "otp:s1@t1" },
      { _tag: "Commit", actor: "service", peer: "evilpc", data: "token|t1|attrs=mallory|pk=evil" },
      { _tag: "Commit", actor: "service", peer: "evilpc", data: "token|t1|attrs=mallory|pk=evil" }
    ]
    expect(otpSingleUse.check(trace)?.reason).toMatch(/second token from the OTP of s1/)
    expect(otpSingleUse.check(trace.slice(0, 3))).toBeUndefined()
  })
})
