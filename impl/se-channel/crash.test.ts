/**
 * P2a crash consistency, for real: the hardened bank server runs in a child process on a SQLite
 * file (crash-child.ts) and is SIGKILLed at every step of a scripted channel — SeOpen, SeFinish, a
 * record from the SE, a record the bank's application sends — inside the step's transaction (after
 * its writes, before COMMIT), after COMMIT but before the reply, and between steps; then started
 * again on the same file, and the user's SE and browser (here, in the test) go on: retransmit, or
 * visit the bank's page again.
 *
 * Judged on what the SE sees (receipts it checks, records it opens) and on the file itself:
 * - a kill inside the transaction leaves the state before the step, and the retransmission is
 *   then taken;
 * - a kill after COMMIT loses only the reply, and nothing is taken twice: a retransmitted SeOpen
 *   is a duplicate (one server ephemeral per SE ephemeral), a retransmitted SeFinish finds no
 *   pending channel, a retransmitted record is out of sequence; a record the application sent
 *   whose reply was lost used up its sequence number, so the SE refuses the server's later records
 *   on that channel — and a new visit opens a channel that carries records both ways (liveness);
 * - nothing acknowledged is lost: after every kill between steps the channel's next step succeeds
 *   (the receipt checks against the keys in the file, the counters go on where they were).
 */
import { Effect, Layer } from "effect"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { hardened } from "../../spec/se-channel/variants.ts"
import { CryptoNode } from "../crypto/node.ts"
import { SecureRandomSystem } from "../crypto/random.ts"
import type { Crypto, SecureRandom } from "../crypto/services.ts"
import { added, CrashRig, type Outcome, readRow } from "../sqlite/crash-harness.ts"
import { makeBrowser } from "./browser.ts"
import { makeDeployment } from "./deployment.ts"
import { makeSecureElement } from "./secure-element.ts"
import { emptyChannels, inMemoryStore, type SeSession } from "./store.ts"

const services = Layer.merge(CryptoNode, SecureRandomSystem)
const run = <A, E>(effect: Effect.Effect<A, E, Crypto | SecureRandom>) => Effect.runPromise(Effect.provide(effect, services))
const text = new TextEncoder()

interface Disk {
  readonly channels: number
  readonly open: number
  readonly sent: number
  readonly received: number
}

describe("se-channel hardened server: SIGKILL at every step of a channel, restarted on the same file", () => {
  let rig: CrashRig
  beforeAll(async () => void (rig = await CrashRig.start("impl/se-channel/crash-child.ts")))
  afterAll(() => rig?.close())

  const onDisk = (): Disk =>
    readRow<Disk>(
      rig.file,
      `SELECT count(*) AS channels, coalesce(sum(status = 'open'), 0) AS open, coalesce(sum(sent), 0) AS sent, coalesce(sum(received), 0) AS received FROM se_server_sessions`
    )!

  /** A step through the three kills: nothing stored before COMMIT, `stored` after it, and the retransmission then refused as `refusal`. */
  const throughKills = async (bytes: Uint8Array, stored: Partial<Disk>, refusal: string, conn?: string) => {
    const before = onDisk()
    await rig.crashAt(bytes, "in-transaction", conn === undefined ? {} : { conn })
    assert.deepStrictEqual(onDisk(), before, "a step killed before COMMIT stores nothing")
    await rig.crashAt(bytes, "before-reply", conn === undefined ? {} : { conn })
    assert.deepStrictEqual(onDisk(), added(before, stored), "a step killed after COMMIT is stored, its reply lost")
    assert.deepInclude(await rig.acknowledged(bytes, conn === undefined ? {} : { conn }), { ok: false, reason: refusal }, "the step was taken once")
  }

  const replyOf = (o: Outcome) => o.replies[0]!.bytes

  it("every step of a channel killed three ways: nothing acknowledged lost, nothing taken twice, a new visit always gets a channel", async () => {
    const d = await run(makeDeployment)
    const se = makeSecureElement({ policy: hardened, seId: d.se.id, staticSecret: d.se.secret, cert: d.se.cert, caKey: d.caKey, pairingKey: d.pairingKey, store: await run(inMemoryStore(emptyChannels<SeSession>())) })
    const browser = makeBrowser({ policy: hardened, pairingKey: d.pairingKey })
    /** The user opens the bank's page: the SE's SeOpen for it. */
    const visit = async () => {
      const opening = await run(se.receive(await run(browser.visit(d.identities.bank!, d.certs.bank!))))
      assert.strictEqual(opening._tag, "Opening")
      return opening._tag === "Opening" ? opening.open : new Uint8Array()
    }
    /** The SE takes the ServerHello and answers with its SeFinish. */
    const finishOf = async (hello: Uint8Array) => {
      const opened = await run(se.receive(hello))
      assert.strictEqual(opened._tag, "Opened")
      return opened._tag === "Opened" ? opened.finish! : new Uint8Array()
    }
    const seAccepts = async (record: Uint8Array) => {
      const r = await run(Effect.either(se.receive(record)))
      return r._tag === "Right" && r.right._tag === "Received" ? new TextDecoder().decode(r.right.plaintext) : r._tag === "Left" ? r.left.reason : r.right._tag
    }

    // SeOpen: once answered, the SE's ephemeral is spent; the user visits again.
    await throughKills(await visit(), { channels: 1 }, "duplicate-channel")

    // A second visit, answered, the server killed after; its SeFinish through the kills.
    const answered = await rig.acknowledged(await visit())
    assert.deepInclude(answered.event, { _tag: "Answered", opened: false })
    await throughKills(await finishOf(replyOf(answered)), { open: 1 }, "unknown-channel")

    // The SE's records: the counter in the file refuses the retransmission; the next one goes on.
    await throughKills(await run(se.send(text.encode("se-1"))), { received: 1 }, "bad-sequence")
    assert.deepInclude((await rig.acknowledged(await run(se.send(text.encode("se-2"))))).event, { _tag: "Received", plaintext: "se-2" })

    // The application's records: acknowledged ones reach the SE in order across kills.
    assert.strictEqual(await seAccepts(replyOf(await rig.acknowledged(text.encode("srv-1"), { conn: "application" }))), "srv-1")
    assert.strictEqual(await seAccepts(replyOf(await rig.acknowledged(text.encode("srv-2"), { conn: "application" }))), "srv-2")
    // One whose reply is lost after COMMIT used its sequence number: the SE refuses what follows on this channel.
    const before = onDisk()
    await rig.crashAt(text.encode("srv-lost"), "in-transaction", { conn: "application" })
    assert.deepStrictEqual(onDisk(), before)
    await rig.crashAt(text.encode("srv-lost"), "before-reply", { conn: "application" })
    assert.deepStrictEqual(onDisk(), added(before, { sent: 1 }))
    assert.strictEqual(await seAccepts(replyOf(await rig.acknowledged(text.encode("srv-4"), { conn: "application" }))), "bad-sequence")

    // Liveness: a new visit opens a channel that carries a record each way, through kills between steps.
    const again = await rig.acknowledged(await visit())
    assert.deepInclude(await rig.acknowledged(await finishOf(replyOf(again))), { ok: true, event: { _tag: "Opened" } })
    assert.deepInclude((await rig.acknowledged(await run(se.send(text.encode("se-3"))))).event, { _tag: "Received", plaintext: "se-3" })
    assert.strictEqual(await seAccepts(replyOf(await rig.acknowledged(text.encode("srv-5"), { conn: "application" }))), "srv-5")
    // srv-4 was sealed and counted, the SE refused it
    assert.deepStrictEqual(onDisk(), { channels: 3, open: 2, sent: 5, received: 3 })
    // three kills at each of three steps, two at the lost record, one after each of nine acknowledged steps
    assert.strictEqual(rig.restarts, 3 * 3 + 2 + 9)
  })
})
