/**
 * P3 crash consistency, for real: the hardened AuthServer runs in a child process on a SQLite
 * file (crash-child.ts) and is SIGKILLed at every step of a scripted session — inside the step's
 * transaction (after its writes, before COMMIT), after COMMIT but before the reply, and between
 * steps — then started again on the same file, and the device (here, in the test) goes on as a
 * device does: retransmit, or log in again with its API key and a fresh OTP.
 *
 * Judged on what the device sees (grants it can use, refusals) and on the file itself (read
 * between runs, as an auditor would):
 * - a kill inside the transaction leaves the state before the step (the OTP unspent, no refresh
 *   token issued or consumed), and the retransmission is then accepted;
 * - a kill after COMMIT loses only the reply: a login's OTP is spent (its retransmission is a bad
 *   OTP); a refresh token spent just before the kill is refused after the restart as a reuse, and
 *   the reuse revokes its whole family, the successor issued in the lost reply included; the
 *   device gets back in by logging in again (P3's grace rule: none);
 * - nothing acknowledged is lost: after every kill between steps, the refresh token of the last
 *   acknowledged grant is accepted;
 * - every login and refresh ever sent, replayed at the end, is refused; the device still gets in.
 */
import { Effect, Redacted } from "effect"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { CrashRig, type CrashPoint, type Outcome, readRow } from "../sqlite/crash-harness.ts"
import { CRASH_USER } from "./crash-deployment.ts"
import { makeUserDevice } from "./device.ts"
import { makeHardwareToken } from "./token.ts"

interface Disk {
  /** The next HOTP counter the server expects, and its consecutive failures. */
  readonly counter: number
  readonly failures: number
  readonly families: number
  /** Refresh tokens by status. */
  readonly active: number
  readonly used: number
  readonly revoked: number
}

describe("hw-token-2fa hardened AuthServer: SIGKILL at every step, restarted on the same file", () => {
  let rig: CrashRig
  beforeAll(async () => void (rig = await CrashRig.start("impl/hw-token-2fa/crash-child.ts")))
  afterAll(() => rig?.close())

  const onDisk = (): Disk =>
    readRow<Disk>(
      rig.file,
      `SELECT counter, failures, (SELECT coalesce(max(families), 0) FROM hw_families) AS families,
              (SELECT count(*) FROM hw_refresh WHERE status = 'active') AS active,
              (SELECT count(*) FROM hw_refresh WHERE status = 'used') AS used,
              (SELECT count(*) FROM hw_refresh WHERE status = 'revoked') AS revoked
       FROM hw_tokens`
    )!
  /** Refresh tokens of `family` not revoked. */
  const unrevoked = (family: number) => readRow<{ n: number }>(rig.file, `SELECT count(*) AS n FROM hw_refresh WHERE family = ${family} AND status != 'revoked'`)!.n

  const crashAt = (bytes: Uint8Array, point: CrashPoint) => rig.crashAt(bytes, point)

  /** Send `bytes`, expect a step, and kill the server between this step and the next. */
  const acknowledged = async (bytes: Uint8Array): Promise<Outcome> => {
    const outcome = await rig.acknowledged(bytes)
    assert.deepInclude(outcome, { ok: true })
    return outcome
  }

  const replyOf = (o: Outcome) => o.replies[0]!.bytes

  it("logins and refreshes: nothing acknowledged lost, no OTP or refresh token accepted twice, reuse revokes the family, the device always gets back in", async () => {
    const token = await Effect.runPromise(makeHardwareToken(CRASH_USER.keyId, Redacted.make(Uint8Array.from(CRASH_USER.secret))))
    const device = await Effect.runPromise(makeUserDevice({ apiKey: Uint8Array.from(CRASH_USER.apiKey), token }))
    const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)
    /** Every login and refresh sent, for the replays at the end. */
    const logins: Array<Uint8Array> = []
    const refreshes: Array<Uint8Array> = []

    /** The device's login, acknowledged: it holds the grant. */
    const login = async () => {
      const bytes = await run(device.login)
      logins.push(bytes)
      assert.strictEqual((await run(device.receive(replyOf(await acknowledged(bytes)), "auth"))).event, "stored")
    }
    /** The device's refresh up to its RefreshRequest (the prompt acknowledged). */
    const refreshRequest = async (): Promise<Uint8Array> => {
      const prompt = await acknowledged(await run(device.refresh))
      const bytes = (await run(device.receive(replyOf(prompt), "auth"))).sends[0]!.bytes
      refreshes.push(bytes)
      return bytes
    }
    /** A whole refresh, acknowledged: the device holds the new pair. */
    const refresh = async () => {
      const bytes = await refreshRequest()
      assert.strictEqual((await run(device.receive(replyOf(await acknowledged(bytes)), "auth"))).event, "stored")
    }

    // A login through every kill: the OTP is checked once, its family issued with the lost reply.
    const first = await run(device.login)
    logins.push(first)
    await crashAt(first, "in-transaction")
    assert.deepStrictEqual(onDisk(), { counter: 0, failures: 0, families: 0, active: 0, used: 0, revoked: 0 }, "a login killed before COMMIT spends no OTP and issues nothing")
    await crashAt(first, "before-reply")
    assert.deepStrictEqual(onDisk(), { counter: 1, failures: 0, families: 1, active: 1, used: 0, revoked: 0 }, "the retransmission was accepted after COMMIT: the OTP spent, a family issued")
    assert.deepInclude(await rig.child.send(first), { ok: false, reason: "bad-otp" })
    // The device logs in again with a fresh OTP.
    await login()
    assert.deepInclude(onDisk(), { counter: 2, failures: 0, families: 2, active: 2 })

    // A refresh prompt lost to a kill is asked for again (it changes nothing).
    const begin = await run(device.refresh)
    await crashAt(begin, "in-transaction")
    await crashAt(begin, "before-reply")
    assert.deepInclude(onDisk(), { counter: 2, families: 2, active: 2, used: 0 }, "a prompt changes nothing")
    const spent = (await run(device.receive(replyOf(await acknowledged(begin)), "auth"))).sends[0]!.bytes
    refreshes.push(spent)

    // The refresh through every kill: spent once; its retransmission is a reuse that revokes the family.
    await crashAt(spent, "in-transaction")
    assert.deepStrictEqual(onDisk(), { counter: 2, failures: 0, families: 2, active: 2, used: 0, revoked: 0 }, "a refresh killed before COMMIT consumes nothing and issues nothing")
    await crashAt(spent, "before-reply")
    assert.deepStrictEqual(onDisk(), { counter: 3, failures: 0, families: 2, active: 2, used: 1, revoked: 0 }, "the retransmission was accepted after COMMIT: spent, its successor issued")
    const reused = await rig.child.send(spent)
    assert.deepInclude(reused, { ok: false, reason: "reused" })
    assert.strictEqual(unrevoked(2), 0, "the reuse revoked the whole family, the successor of the lost reply included")
    assert.strictEqual(unrevoked(1), 1, "and no other family")
    assert.strictEqual((await run(device.receive(replyOf(reused!), "auth"))).event, "denied")

    // The device gets back in, and every acknowledged grant survives the kill after it.
    await login()
    await refresh()
    await refresh()
    assert.deepStrictEqual(onDisk(), { counter: 6, failures: 0, families: 3, active: 2, used: 2, revoked: 2 })

    // Every refresh ever sent, replayed on the restarted server: all refused (a used one revokes its family again).
    for (const bytes of refreshes) assert.deepInclude(await rig.child.send(bytes), { ok: false })
    assert.strictEqual(unrevoked(3), 0, "replaying a spent refresh token revoked the device's family")
    // Its current refresh token went with the family: the device is denied, and logs in again.
    const stale = await refreshRequest()
    const denied = (await rig.child.send(stale))!
    assert.deepInclude(denied, { ok: false, reason: "bad-refresh" })
    assert.strictEqual((await run(device.receive(replyOf(denied), "auth"))).event, "denied")
    await login()
    await refresh()

    // Every login ever sent, replayed: all refused (their OTPs spent; the last ones throttled).
    for (const bytes of logins) assert.deepInclude(await rig.child.send(bytes), { ok: false })
    // Kills inside a step (6: three steps at both points) and between steps (one per acknowledged step, 11).
    assert.strictEqual(rig.restarts, 17)
  })
})
