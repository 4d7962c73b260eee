/**
 * P4 crash consistency, for real: the hardened backend runs in a child process on a SQLite file
 * (crash-child.ts) and is SIGKILLed at every step of a scripted run of online payments — inside
 * the step's transaction (after the registry write, before COMMIT), after COMMIT but before the
 * reply, and between steps — then started again on the same file, and the payer goes on:
 * - a kill inside the transaction credits nothing (the file shows it), and the retransmitted
 *   payment is then processed;
 * - a kill after COMMIT loses only the reply: the retransmission is refused as a replay, so a
 *   payment nonce is never usable twice, and the payer's next payment goes through (liveness);
 * - nothing acknowledged is lost: every credited payment is in the ledger after every restart;
 * - every payment ever sent, replayed on the restarted backend, is refused; the ledger holds each
 *   nonce once.
 */
import { Effect, Either } from "effect"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { hardened } from "../../spec/cpk-payment/variants.ts"
import { CrashRig, readRow } from "../sqlite/crash-harness.ts"
import { CRASH_SUBDOMAIN, crashDirectory, crashKmc } from "./crash-deployment.ts"
import { runner } from "./deployment.ts"
import { emptyPayee, inMemoryStore } from "./store.ts"
import { makePayeeWallet, makePayerWallet } from "./wallet.ts"

const PAYMENTS = 3

describe("cpk-payment hardened backend: SIGKILL at every step, restarted on the same file", () => {
  let rig: CrashRig
  beforeAll(async () => void (rig = await CrashRig.start("impl/cpk-payment/crash-child.ts")))
  afterAll(() => rig?.close())

  const ledger = () =>
    readRow<{ n: number; nonces: number; used: number }>(
      rig.file,
      "SELECT (SELECT count(*) FROM cpk_ledger) AS n, (SELECT count(DISTINCT nonce) FROM cpk_ledger) AS nonces, (SELECT count(*) FROM cpk_used) AS used"
    )!

  it("online payments: nothing acknowledged lost, no nonce usable twice, the payer always gets paid through", async () => {
    const run = runner(7)
    const ok = <A>(e: Effect.Effect<A, unknown, never> | Parameters<typeof run>[0]) => Either.getOrThrow(run(e as never)) as A
    const kmc = crashKmc()
    const payer = makePayerWallet({ policy: hardened, id: "zhang", keys: new Map([[CRASH_SUBDOMAIN, ok(kmc.issue("zhang", CRASH_SUBDOMAIN))]]), directory: crashDirectory() })
    const payee = makePayeeWallet({
      policy: hardened,
      id: "li",
      keys: new Map([[CRASH_SUBDOMAIN, ok(kmc.issue("li", CRASH_SUBDOMAIN))]]),
      directory: crashDirectory(),
      store: ok(inMemoryStore(emptyPayee))
    })
    const pay = (amount: number) => ok<Uint8Array>(payer.payOnline(ok(payee.request(`${amount}`, "CNY", CRASH_SUBDOMAIN))))
    const sent: Array<Uint8Array> = []
    let credited = 0

    for (let i = 0; i < PAYMENTS; i++) {
      const payment = pay(100 + i)
      sent.push(payment)
      assert.isUndefined(await rig.child.send(payment, { crash: "in-transaction" }))
      await rig.restart()
      assert.deepStrictEqual(ledger(), { n: credited, nonces: credited, used: credited }, "a payment killed before COMMIT credits nothing")
      assert.isUndefined(await rig.child.send(payment, { crash: "before-reply" }))
      await rig.restart()
      credited++
      assert.deepStrictEqual(ledger(), { n: credited, nonces: credited, used: credited }, "the retransmission was credited, then the reply lost")
      assert.deepInclude(await rig.child.send(payment), { ok: false, reason: "replay" })

      // The payer's next payment goes through, acknowledged; a kill between steps loses nothing.
      const next = pay(200 + i)
      sent.push(next)
      const outcome = await rig.child.send(next)
      assert.deepInclude(outcome, { ok: true })
      assert.deepInclude(outcome!.event, { _tag: "credited", amount: `${200 + i}` })
      credited++
      await rig.restart()
      assert.deepStrictEqual(ledger(), { n: credited, nonces: credited, used: credited }, "an acknowledged payment survives the kill")

      for (const old of sent) assert.deepInclude(await rig.child.send(old), { ok: false, reason: "replay" })
    }
    assert.strictEqual(rig.restarts, PAYMENTS * 3)
  })
})
