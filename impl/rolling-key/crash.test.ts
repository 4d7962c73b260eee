/**
 * P5 crash consistency, for real: the hardened server runs in a child process on a SQLite file
 * (crash-child.ts) and is SIGKILLed at every step of a scripted exchange — inside the step's
 * transaction (after its writes, before COMMIT), after COMMIT but before the reply, and between
 * steps — then started again on the same file, and the exchange goes on with the device (here,
 * in the test) doing what a device does: retransmit, or start a new attempt.
 *
 * Judged on what the device sees (replies, grants whose proof verifies under its key) and on the
 * file itself (read with better-sqlite3 between runs, as an auditor would):
 * - a kill inside the transaction leaves the state before the step (the file shows it, and the
 *   retransmitted request is then accepted);
 * - a kill after COMMIT loses only the reply: the request is spent (its retransmission is refused
 *   as stale, so a challenge is never usable twice), and the device recovers by a new attempt
 *   under its older key (P5.liveness after a lost grant);
 * - nothing acknowledged is lost: after every kill between steps, the next login verifies under
 *   the key the last acknowledged grant gave the device;
 * - every AuthRequest ever sent, replayed after every restart, is refused.
 */
import { Effect, Layer, Redacted } from "effect"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { hardened } from "../../spec/rolling-key/variants.ts"
import { CryptoNode } from "../crypto/node.ts"
import { SecureRandomSystem } from "../crypto/random.ts"
import type { Crypto, SecureRandom } from "../crypto/services.ts"
import { CrashRig, type CrashPoint, type Outcome, readRow } from "../sqlite/crash-harness.ts"
import { makeClient, type RollingKeyClient } from "./client.ts"
import { makeInMemoryClientStore } from "./store.ts"

const PASSWORD = Redacted.make("correct horse battery staple")
const LOGINS = 2

const services = Layer.merge(CryptoNode, SecureRandomSystem)
const run = <A, E>(effect: Effect.Effect<A, E, Crypto | SecureRandom>) => Effect.runPromise(Effect.provide(effect, services))

interface DeviceRow {
  readonly n: number
  readonly epoch: number | null
  readonly challenge: number
}

describe("rolling-key hardened server: SIGKILL at every step, restarted on the same file", () => {
  let rig: CrashRig
  beforeAll(async () => void (rig = await CrashRig.start("impl/rolling-key/crash-child.ts", ["hardened"])))
  afterAll(() => rig?.close())

  /** The server's row for the device registered last, read from the file. */
  const onDisk = (): DeviceRow =>
    readRow<DeviceRow>(
      rig.file,
      `SELECT (SELECT count(*) FROM rolling_key_devices) AS n, current_epoch AS epoch, challenge IS NOT NULL AS challenge
       FROM rolling_key_devices ORDER BY seq DESC LIMIT 1`
    ) ?? { n: 0, epoch: null, challenge: 0 }

  /** Send `bytes` with the child told to die at `point`: it must die without replying; then restart it. */
  const crashAt = async (bytes: Uint8Array, point: CrashPoint) => {
    assert.isUndefined(await rig.child.send(bytes, { crash: point }), `no reply from a server killed ${point}`)
    await rig.restart()
  }

  /** Send `bytes`, expect a reply, and kill the server between this step and the next. */
  const acknowledged = async (bytes: Uint8Array): Promise<Outcome> => {
    const outcome = await rig.child.send(bytes)
    assert.isDefined(outcome)
    await rig.restart()
    return outcome!
  }

  const replyOf = (o: Outcome) => o.replies[0]!.bytes

  it("registration, then logins: nothing acknowledged lost, no request accepted twice, the device always gets in", async () => {
    const client: RollingKeyClient = await run(makeClient({ policy: hardened, store: makeInMemoryClientStore() }))
    const sentRequests: Array<Uint8Array> = []

    // Registration.
    const register = await run(client.register("alice", PASSWORD))
    await crashAt(register, "in-transaction")
    assert.strictEqual(onDisk().n, 0, "a registration killed before COMMIT stores nothing")
    await crashAt(register, "before-reply")
    assert.strictEqual(onDisk().n, 1, "a registration killed after COMMIT is stored (its reply lost)")
    const registered = await acknowledged(register)
    assert.isTrue(registered.ok)
    await run(client.receive(replyOf(registered)))
    assert.deepStrictEqual(onDisk(), { n: 2, epoch: 0, challenge: 0 })

    /** An attempt's AuthRequest, its AuthBegin sent through every kill (`crashes`) or once. */
    const challenged = async (crashes: boolean): Promise<Uint8Array> => {
      const begin = await run(client.beginAuth)
      if (!crashes) return answer(begin)
      const before = onDisk()
      await crashAt(begin, "in-transaction")
      assert.deepStrictEqual(onDisk(), before, "an AuthBegin killed before COMMIT stores no challenge")
      await crashAt(begin, "before-reply")
      assert.strictEqual(onDisk().challenge, 1, "an AuthBegin killed after COMMIT left its challenge")
      return answer(begin, await acknowledged(begin))
    }
    const answer = async (begin: Uint8Array, challenge?: Outcome) => {
      const outcome = challenge ?? (await rig.child.send(begin))!
      assert.isTrue(outcome.ok)
      const request = (await run(client.receive(replyOf(outcome)))).sends[0]!
      sentRequests.push(request)
      return request
    }

    let epoch = 0
    for (let login = 0; login < LOGINS; login++) {
      const request = await challenged(true)
      await crashAt(request, "in-transaction")
      assert.deepStrictEqual(onDisk(), { n: 2, epoch, challenge: 1 }, "an AuthRequest killed before COMMIT neither rolls nor spends the challenge")
      await crashAt(request, "before-reply")
      assert.deepStrictEqual(onDisk(), { n: 2, epoch: epoch + 1, challenge: 0 }, "the retransmission was accepted after COMMIT: rolled, challenge spent")

      // The grant is lost. The retransmission is refused: the challenge was spent exactly once.
      const again = await rig.child.send(request)
      assert.deepInclude(again, { ok: false, reason: "stale-challenge" })

      // The device recovers with a new attempt under its (now previous) key.
      const retry = await challenged(false)
      const granted = await acknowledged(retry)
      assert.deepInclude(granted, { ok: true })
      assert.deepInclude(granted.event, { _tag: "authenticated", via: "previous", epoch })
      await run(client.receive(replyOf(granted))) // the proof verifies under the device's key, or this fails
      epoch++

      // Every request ever sent, replayed on the restarted server: all refused.
      for (const old of sentRequests) assert.deepInclude(await rig.child.send(old), { ok: false })
    }

    // Nothing acknowledged was lost: a clean login verifies under the key the last grant gave.
    const last = (await rig.child.send(await challenged(false)))!
    assert.deepInclude(last.event, { _tag: "authenticated", via: "current", epoch })
    await run(client.receive(replyOf(last)))
    assert.deepStrictEqual(await run(client.observe), { phase: "ready", epoch: epoch + 1 })
    assert.strictEqual(rig.restarts, 3 + LOGINS * 6)
  })
})
