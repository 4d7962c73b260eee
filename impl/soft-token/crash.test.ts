/**
 * P1 crash consistency, for real: the hardened service runs in a child process on a SQLite file
 * (crash-child.ts) and is SIGKILLed at every step of a scripted issuance — inside the step's
 * transaction (after its writes, before COMMIT), after COMMIT but before the reply, and between
 * steps — then started again on the same file, and the device and the PC (here, in the test) go
 * on as they would: retransmit, or start a new issuance on a new C1.
 *
 * Judged on what the device and the PC see (replies, a token that verifies under the issuer's key
 * and binds alice to the device's key) and on the file itself (read between runs, as an auditor
 * would):
 * - a kill inside the transaction leaves the state before the step, and the retransmission is
 *   then accepted;
 * - a kill after COMMIT loses only the reply, and what the step spent stays spent: a request's
 *   nonce (its retransmission is a duplicate, a refused request's nonce is gone for the genuine
 *   one), the OTP (typed again it is refused), the card read (its retransmission is unexpected);
 *   the device gets through by a new issuance (P1.issuance-liveness);
 * - nothing acknowledged is lost: after every kill between steps, the next step builds on the
 *   acknowledged one (the nonce signed, the OTP shown, the read answered);
 * - every single-use message ever sent, replayed at the end, is refused; then one more clean
 *   issuance goes through.
 */
import { Effect, Layer, Redacted, Schema } from "effect"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { IssueRequest } from "../../spec/soft-token/messages.ts"
import { hardened } from "../../spec/soft-token/variants.ts"
import { CryptoNode } from "../crypto/node.ts"
import { SecureRandomSystem } from "../crypto/random.ts"
import type { Crypto, SecureRandom } from "../crypto/services.ts"
import { verificationKeyOf, verifyJwt } from "../jws/jws.ts"
import { CrashRig, type CrashPoint, type Outcome, readRow } from "../sqlite/crash-harness.ts"
import { CRASH_CHIP_KEY, CRASH_ISSUER_KEY, CRASH_PIN } from "./crash-deployment.ts"
import { makeDevice } from "./device.ts"
import { makeIdToken } from "./id-token.ts"
import { makeSecureElement } from "./secure-element.ts"
import { jwkOf, unverifiedClaims } from "./token.ts"
import { makeUserComputer } from "./user-computer.ts"

const services = Layer.merge(CryptoNode, SecureRandomSystem)
const run = <A, E>(effect: Effect.Effect<A, E, Crypto | SecureRandom>) => Effect.runPromise(Effect.provide(effect, services))

interface Disk {
  readonly records: number
  readonly live: number
  readonly nonces: number
  readonly reads: number
}

describe("soft-token hardened service: SIGKILL at every step, restarted on the same file", () => {
  let rig: CrashRig
  beforeAll(async () => void (rig = await CrashRig.start("impl/soft-token/crash-child.ts")))
  afterAll(() => rig?.close())

  /** Issuance records (and those whose OTP is still valid), nonces and pending reads in the file. */
  const onDisk = (): Disk =>
    readRow<Disk>(
      rig.file,
      `SELECT (SELECT count(*) FROM soft_token_records) AS records, (SELECT count(*) FROM soft_token_records WHERE otp IS NOT NULL) AS live,
              (SELECT count(*) FROM soft_token_nonces) AS nonces, (SELECT count(*) FROM soft_token_reads) AS reads`
    )!

  const crashAt = (bytes: Uint8Array, conn: string, point: CrashPoint) => rig.crashAt(bytes, point, { conn })

  /** Send `bytes` on `conn`, expect a step, and kill the service between this step and the next. */
  const acknowledged = async (bytes: Uint8Array, conn: string): Promise<Outcome> => {
    const outcome = await rig.acknowledged(bytes, { conn })
    assert.deepInclude(outcome, { ok: true })
    return outcome
  }

  /** The one message `outcome` sends on `conn`. */
  const on = (outcome: Outcome, conn: string): Uint8Array => {
    const sent = outcome.replies.filter((r) => r.conn === conn)
    assert.lengthOf(sent, 1, `one message on ${conn}`)
    return sent[0]!.bytes
  }

  it("issuance: nothing acknowledged lost, no nonce, OTP or card read accepted twice, the device always gets its token", async () => {
    const se = await run(makeSecureElement)
    const device = makeDevice({ policy: hardened, se, name: "alice-phone" })
    const idToken = await run(makeIdToken({ attributes: { name: "alice" }, pin: Redacted.make(CRASH_PIN), chipKey: Redacted.make(CRASH_CHIP_KEY) }))
    const pc = makeUserComputer({ idToken, pin: Redacted.make(CRASH_PIN) })
    /** Every single-use message sent (a request on its C1, an OTP, a card read on its C2), for the replays at the end. */
    const requests: Array<{ readonly conn: string; readonly bytes: Uint8Array }> = []
    const otps: Array<Uint8Array> = []
    const reads: Array<{ readonly conn: string; readonly bytes: Uint8Array }> = []
    let c2 = 0

    /** A new issuance on C1 `conn` up to its IssueRequest (the IssueBegin acknowledged). */
    const requestOn = async (conn: string): Promise<Uint8Array> => {
      const nonce = on(await acknowledged(await run(device.request(conn)), conn), conn)
      const request = (await run(device.receive(nonce))).sends[0]!
      requests.push({ conn, bytes: request })
      return request
    }
    /** The device's request on `conn` acknowledged: the OTP it shows. */
    const otpOn = async (conn: string): Promise<string> => {
      const request = await requestOn(conn)
      await run(device.receive(on(await acknowledged(request, conn), conn)))
      return (await run(device.observe)).display!.otp
    }
    /** The user types `otp` on a new C2, the PC answers the read after she compares fingerprints. */
    const readOn = async (otp: string): Promise<{ readonly conn: string; readonly read: Uint8Array }> => {
      const conn = `t${c2++}`
      const submit = await run(pc.type(otp))
      otps.push(submit)
      await run(pc.receive(on(await acknowledged(submit, conn), conn)))
      const shown = (await run(pc.observe)).shown!
      assert.strictEqual(shown.fingerprint, (await run(device.observe)).display!.fingerprint, "the PC shows the device's fingerprint")
      const read = (await run(pc.confirm))[0]!
      reads.push({ conn, bytes: read })
      return { conn, read }
    }
    /** A whole clean issuance on C1 `c1`: the token on C1, stored by the device. */
    const issuance = async (c1: string): Promise<string> => {
      const { conn, read } = await readOn(await otpOn(c1))
      const issued = await acknowledged(read, conn)
      assert.deepStrictEqual(issued.replies.map((r) => r.conn), [c1], "the token goes on C1 only")
      await run(device.receive(on(issued, c1)))
      return (await run(device.observe)).token!
    }

    // IssueBegin on s0, through every kill.
    const begin = await run(device.request("s0"))
    await crashAt(begin, "s0", "in-transaction")
    assert.deepStrictEqual(onDisk(), { records: 0, live: 0, nonces: 0, reads: 0 }, "an IssueBegin killed before COMMIT stores no nonce")
    await crashAt(begin, "s0", "before-reply")
    assert.strictEqual(onDisk().nonces, 1, "an IssueBegin killed after COMMIT left its nonce")
    const request0 = (await run(device.receive(on(await acknowledged(begin, "s0"), "s0")))).sends[0]!
    requests.push({ conn: "s0", bytes: request0 })

    // Its IssueRequest, through every kill: the OTP is recorded once and goes with the lost reply.
    await crashAt(request0, "s0", "in-transaction")
    assert.deepStrictEqual(onDisk(), { records: 0, live: 0, nonces: 1, reads: 0 }, "a request killed before COMMIT neither records an OTP nor spends the nonce")
    await crashAt(request0, "s0", "before-reply")
    assert.deepStrictEqual(onDisk(), { records: 1, live: 1, nonces: 0, reads: 0 }, "the retransmission was recorded after COMMIT, its nonce spent")
    assert.deepInclude(await rig.child.send(request0, { conn: "s0" }), { ok: false, reason: "duplicate-request" })

    // A refused request spends its nonce by design: killed after COMMIT, the nonce is still gone.
    const request1 = await requestOn("s1")
    const frame = Schema.decodeSync(IssueRequest.wire)(request1)
    const forged = IssueRequest.encode(IssueRequest.make({ ...frame, pop: Uint8Array.from(frame.pop, (b, i) => (i === frame.pop.length - 1 ? b ^ 1 : b)) }))
    await crashAt(forged, "s1", "in-transaction")
    assert.strictEqual(onDisk().nonces, 1, "a refusal killed before COMMIT leaves the nonce")
    await crashAt(forged, "s1", "before-reply")
    assert.strictEqual(onDisk().nonces, 0, "a refusal killed after COMMIT has spent the nonce")
    assert.deepInclude(await rig.child.send(request1, { conn: "s1" }), { ok: false, reason: "bad-pop" })
    requests.push({ conn: "s1", bytes: forged })

    // A new issuance on s2; the typed OTP through every kill: accepted once, then spent.
    const otp2 = await otpOn("s2")
    assert.deepStrictEqual(onDisk(), { records: 2, live: 2, nonces: 0, reads: 0 })
    const submit = await run(pc.type(otp2))
    otps.push(submit)
    await crashAt(submit, "t90", "in-transaction")
    assert.deepStrictEqual(onDisk(), { records: 2, live: 2, nonces: 0, reads: 0 }, "an OTP killed before COMMIT is still valid and opened no read")
    await crashAt(submit, "t90", "before-reply")
    assert.deepStrictEqual(onDisk(), { records: 2, live: 1, nonces: 0, reads: 1 }, "the retransmission was accepted after COMMIT: the OTP spent, the read open")
    assert.deepInclude(await rig.child.send(submit, { conn: "t90" }), { ok: false, reason: "unexpected" })
    assert.deepInclude(await rig.child.send(submit, { conn: "t91" }), { ok: false, reason: "bad-otp" })

    // The read's nonce went with the lost reply: a new issuance on s3; its card read through every kill.
    const { conn, read } = await readOn(await otpOn("s3"))
    await crashAt(read, conn, "in-transaction")
    assert.strictEqual(onDisk().reads, 2, "a card read killed before COMMIT leaves the read pending")
    await crashAt(read, conn, "before-reply")
    assert.strictEqual(onDisk().reads, 1, "the retransmission was answered after COMMIT: the read closed, the token lost")
    assert.deepInclude(await rig.child.send(read, { conn }), { ok: false, reason: "unexpected" })

    // The device gets through with a new issuance: a token the issuer signed, alice bound to its key.
    const token = await issuance("s4")
    const verified = await run(Effect.flatMap(verificationKeyOf(CRASH_ISSUER_KEY), (key) => verifyJwt(token, [key])))
    assert.deepStrictEqual(verified.claims["attrs"], { name: "alice" })
    assert.deepStrictEqual(unverifiedClaims(token)?.["cnf"], { jwk: jwkOf(se.publicKey) })

    // Every single-use message ever sent, replayed on the restarted service: all refused.
    for (const r of requests) assert.deepInclude(await rig.child.send(r.bytes, { conn: r.conn }), { ok: false })
    for (const otp of otps) assert.deepInclude(await rig.child.send(otp, { conn: `t${c2++}` }), { ok: false, reason: "bad-otp" })
    for (const r of reads) assert.deepInclude(await rig.child.send(r.bytes, { conn: r.conn }), { ok: false, reason: "unexpected" })

    // And the next clean issuance still goes through.
    assert.isString(await issuance("s5"))
    // Kills inside a step (10: five steps at both points) and between steps (one per acknowledged step, 15).
    assert.strictEqual(rig.restarts, 25)
  })
})
