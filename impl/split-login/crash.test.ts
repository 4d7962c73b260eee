/**
 * P2b crash consistency, for real: the hardened server runs in a child process on a SQLite file
 * (crash-child.ts) and is SIGKILLed at every step of a scripted login — Open, LoginStart,
 * LoginFinish, Poll — inside the step's transaction (after its writes, before COMMIT), after
 * COMMIT but before the reply, and between steps; then started again on the same file, and alice's
 * Device and Machine (here, in the test) go on as they do: retransmit, or start a new login.
 *
 * Judged on what the Device and the Machine see (replies, the token) and on the file itself (read
 * between runs, as an auditor would):
 * - a kill inside the transaction leaves the state before the step, and the retransmission is
 *   then taken;
 * - a kill after COMMIT loses only the reply: the step happened once, and an SID is never usable
 *   twice — a second OPAQUE attempt, a second login and a second release are refused after the
 *   restart, so single use survives the crash; alice gets in by a new login (liveness);
 * - nothing acknowledged is lost: after every kill between steps the next step of the login
 *   succeeds — the OPAQUE state of a login under way survives, a completed login is released to
 *   the Device's poll, and a released token is in the file by its digest only;
 * - every login message and poll ever sent, replayed after the restarts, is refused.
 */
import { Effect, Layer, Schema } from "effect"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { LoginChallenge, Opened, Result } from "../../spec/split-login/messages.ts"
import { hardened, PASSWORD, USERNAME } from "../../spec/split-login/variants.ts"
import { CryptoNode } from "../crypto/node.ts"
import { SecureRandomSystem } from "../crypto/random.ts"
import type { Crypto, SecureRandom } from "../crypto/services.ts"
import { added, CrashRig, type CrashPoint, type Outcome, readRow } from "../sqlite/crash-harness.ts"
import { hex, tokenDigest } from "./credentials.ts"
import { type Device, makeDevice } from "./device.ts"
import { makeMachine, type MachineUser } from "./machine.ts"
import { KeyStretching, type Opaque, OpaqueLayer } from "./opaque.ts"

const services = Layer.mergeAll(CryptoNode, OpaqueLayer(KeyStretching.light).pipe(Layer.provideMerge(SecureRandomSystem)))
const run = <A, E>(effect: Effect.Effect<A, E, Crypto | SecureRandom | Opaque>) => Effect.runPromise(Effect.provide(effect, services))

interface Disk {
  readonly sessions: number
  readonly challenges: number
  readonly logins: number
  readonly releases: number
  readonly tokens: number
}

const decodeOpened = Schema.decodeSync(Opened.wire)
const decodeChallenge = Schema.decodeSync(LoginChallenge.wire)
const decodeResult = Schema.decodeSync(Result.wire)

describe("split-login hardened server: SIGKILL at every step of a login, restarted on the same file", () => {
  let rig: CrashRig
  beforeAll(async () => void (rig = await CrashRig.start("impl/split-login/crash-child.ts")))
  afterAll(() => rig?.close())

  const onDisk = (): Disk =>
    readRow<Disk>(
      rig.file,
      `SELECT count(*) AS sessions, count(challenge_state) AS challenges, coalesce(sum(logins), 0) AS logins, coalesce(sum(releases), 0) AS releases,
              (SELECT count(*) FROM split_login_tokens) AS tokens
       FROM split_login_sessions`
    )!

  const crashAt = (bytes: Uint8Array, conn: string, point: CrashPoint) => rig.crashAt(bytes, point, { conn })
  const acknowledged = (bytes: Uint8Array, conn: string) => rig.acknowledged(bytes, { conn })
  /**
   * A step sent through every kill: inside the transaction (nothing of it stored), after COMMIT
   * (`stored` on disk, the reply lost), and — if the step is one that may be retransmitted
   * (`again`) — taken once more and acknowledged; else the retransmission is refused as `refusal`.
   */
  const throughKills = async (bytes: Uint8Array, conn: string, stored: Partial<Disk>, retransmitted: { readonly again: true } | { readonly refusal: string }) => {
    const before = onDisk()
    await crashAt(bytes, conn, "in-transaction")
    assert.deepStrictEqual(onDisk(), before, "a step killed before COMMIT stores nothing")
    await crashAt(bytes, conn, "before-reply")
    assert.deepStrictEqual(onDisk(), added(before, stored), "a step killed after COMMIT is stored, its reply lost")
    const again = await acknowledged(bytes, conn)
    if ("refusal" in retransmitted) assert.deepInclude(again, { ok: false, reason: retransmitted.refusal }, "the step was taken once: its retransmission is refused")
    else assert.isTrue(again.ok, `the retransmission is taken: ${again.reason}`)
    return again
  }

  const replyOf = (o: Outcome) => o.replies[0]!.bytes

  it("every step of a login killed three ways: nothing acknowledged lost, no SID usable twice, alice always gets in", async () => {
    const sent: Array<{ readonly bytes: Uint8Array; readonly conn: string }> = []
    const remember = (bytes: Uint8Array, conn: string) => (sent.push({ bytes, conn }), bytes)
    /** A fresh Device (a new page) and alice's Machine; she approves only her own Device's fingerprint. */
    const login = async () => {
      const device: Device = await run(makeDevice(hardened))
      const machine = await run(makeMachine(hardened, USERNAME))
      const alice: MachineUser = { password: PASSWORD, approves: (shown) => hex(shown) === hex(Effect.runSync(device.screen)!.fingerprint) }
      return { device, machine, alice, open: await run(device.open(USERNAME)) }
    }
    const showing = async (device: Device, o: Outcome) => {
      await run(device.receive(replyOf(o)))
      return decodeOpened(replyOf(o)).sid
    }

    // Open: a retransmission after a lost reply opens a second session (the first expires unused).
    const a = await login()
    const opened = await throughKills(a.open, "device", { sessions: 1 }, { again: true })
    assert.deepStrictEqual(onDisk(), { sessions: 2, challenges: 0, logins: 0, releases: 0, tokens: 0 })
    const sidA = await showing(a.device, opened)

    // LoginStart: one OPAQUE attempt per SID, which the kill after COMMIT used up.
    const startA = remember(await run(a.machine.scan(sidA, PASSWORD)), "machine")
    await throughKills(startA, "machine", { challenges: 1 }, { refusal: "sid-used" })

    // alice starts again; this time the challenge is acknowledged, and the server killed after it.
    const b = await login()
    const sidB = await showing(b.device, await acknowledged(b.open, "device"))
    const challenge = await acknowledged(remember(await run(b.machine.scan(sidB, PASSWORD)), "machine"), "machine")
    assert.isTrue(challenge.ok)
    assert.deepStrictEqual(decodeChallenge(replyOf(challenge)).sid, sidB)

    // LoginFinish: the OPAQUE state stored before the kill finishes the login; once, never twice.
    const finish = remember((await run(b.machine.receive(replyOf(challenge), b.alice))).reply, "machine")
    const logins = onDisk().logins
    await throughKills(finish, "machine", { logins: 1, challenges: -1 }, { refusal: "sid-used" })
    assert.strictEqual(onDisk().logins, logins + 1, "one login for the SID, whatever was retransmitted")

    // Poll: the login committed before the lost reply is released — once.
    const poll = remember(await run(b.device.poll), "device")
    await throughKills(poll, "device", { releases: 1, tokens: 1 }, { refusal: "sid-used" })

    // A clean login through kills between every step: the token reaches the Device, by digest on disk.
    const c = await login()
    const sidC = await showing(c.device, await acknowledged(c.open, "device"))
    const challengeC = await acknowledged(remember(await run(c.machine.scan(sidC, PASSWORD)), "machine"), "machine")
    const finishC = await acknowledged(remember((await run(c.machine.receive(replyOf(challengeC), c.alice))).reply, "machine"), "machine")
    assert.deepInclude(finishC, { ok: true })
    assert.deepInclude(finishC.event, { _tag: "logged-in", sid: hex(sidC) })
    const result = await acknowledged(remember(await run(c.device.poll), "device"), "device")
    assert.deepInclude(result.event, { _tag: "released", sid: hex(sidC) })
    const { token } = decodeResult(replyOf(result))
    assert.deepInclude(await run(c.device.receive(replyOf(result))), { _tag: "session" })
    assert.isDefined(readRow(rig.file, `SELECT 1 FROM split_login_tokens WHERE digest = '${hex(tokenDigest(token))}'`), "the released token's digest is on disk")
    assert.isUndefined(readRow(rig.file, `SELECT 1 FROM split_login_tokens WHERE digest = '${hex(token)}'`), "the token itself is not")

    // Every login message and poll ever sent, replayed on the restarted server: all refused.
    for (const old of sent) assert.deepInclude(await rig.child.send(old.bytes, { conn: old.conn }), { ok: false })
    // three kills at each of the four steps, two between alice's second login's steps, four between her last's
    assert.strictEqual(rig.restarts, 4 * 3 + 2 + 4)
  })
})
