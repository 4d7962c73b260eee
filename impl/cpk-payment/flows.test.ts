/** The P4 services end to end, per variant: the honest flows, and the claimed reading's redirection and replay. */
import { Effect, Either } from "effect"
import { describe, expect, it } from "vitest"
import { PayOnline } from "../../spec/cpk-payment/messages.ts"
import { claimed, hardened, type Policy } from "../../spec/cpk-payment/variants.ts"
import { makeBackend } from "./backend.ts"
import { makeDirectory, makeKmc } from "./keys.ts"
import { emptyBackend, emptyPayee, inMemoryStore } from "./store.ts"
import { deploymentOf, runner } from "./deployment.ts"
import { makePayeeWallet, makePayerWallet } from "./wallet.ts"

const setup = (policy: Policy) => {
  const run = runner(11)
  const ok = <A>(e: Effect.Effect<A, unknown, never> | Parameters<typeof run>[0]) => Either.getOrThrow(run(e as never)) as A
  const deployment = deploymentOf({ rows: 4, columns: 4 }, ["pay", "transit"], "flows")
  const kmc = makeKmc({ policy, deployment })
  const directory = () => makeDirectory({ policy, parameters: deployment.parameters, subdomains: ["pay"] })
  const payer = makePayerWallet({ policy, id: "zhang", keys: new Map([["pay", ok(kmc.issue("zhang", "pay"))]]), directory: directory() })
  const payee = makePayeeWallet({ policy, id: "li", keys: new Map([["pay", ok(kmc.issue("li", "pay"))]]), directory: directory(), store: ok(inMemoryStore(emptyPayee)) })
  const backend = makeBackend({ policy, directory: directory(), store: ok(inMemoryStore(emptyBackend)) })
  return { run, ok, payer, payee, backend }
}

describe.each([["claimed", claimed], ["hardened", hardened]] as const)("P4 flows, %s", (_name, policy) => {
  it("online: the backend processes zhang's payment to li", () => {
    const { run, ok, payer, payee, backend } = setup(policy)
    const pay = ok<Uint8Array>(payer.payOnline(ok(payee.request("100", "CNY", "pay"))))
    const r = run(backend.receive(pay))
    expect(Either.isRight(r) && r.right).toMatchObject({ kind: "online", payer: "zhang", payee: "li", amount: "100" })
  })

  it("offline: li's offer verifies on zhang's phone, zhang's payment on li's, and settles once", () => {
    const { run, ok, payer, payee, backend } = setup(policy)
    const answered = ok<{ payment: Uint8Array }>(payer.answerOffer(ok(payee.offer("250", "CNY", "pay"))))
    expect(Either.isRight(run(payee.receive(answered.payment)))).toBe(true)
    const [settle] = ok<ReadonlyArray<Uint8Array>>(payee.settle)
    expect(Either.isRight(run(backend.receive(settle!)))).toBe(true)
  })

  it(`a payment redirected to mallory is ${policy.signs === "nonce" ? "accepted (the finding)" : "refused"}`, () => {
    const { run, ok, payer, payee, backend } = setup(policy)
    const bytes = ok<Uint8Array>(payer.payOnline(ok(payee.request("100", "CNY", "pay"))))
    const m = Either.getOrThrow(Effect.runSync(Effect.either(Effect.succeed(bytes).pipe(Effect.flatMap((b) => Effect.try(() => PayOnline.encode({ ...decodePay(b), payee: "mallory" })))))))
    const r = run(backend.receive(m))
    expect(Either.isRight(r)).toBe(policy.signs === "nonce")
  })

  it(`a replayed online payment is ${policy.freshness === "none" ? "processed again (the finding)" : "refused as a replay"}`, () => {
    const { run, ok, payer, payee, backend } = setup(policy)
    const pay = ok<Uint8Array>(payer.payOnline(ok(payee.request("100", "CNY", "pay"))))
    run(backend.receive(pay))
    const again = run(backend.receive(pay))
    if (policy.freshness === "none") expect(Either.isRight(again)).toBe(true)
    else expect(Either.isLeft(again) && again.left.reason).toBe("replay")
  })
})

import { Schema } from "effect"
const decodePay = (b: Uint8Array) => Schema.decodeUnknownSync(PayOnline.wire)(b)
