/**
 * The deliver framing of spec/HTTP-BINDING.md §Connections and deliveries, read back as conform
 * reads it: every message of a step with its connection, in order, and the sender's own as the
 * reply; a body that is not exactly such a list is no answer at all.
 */
import { assert, describe, it } from "vitest"
import { answerOf, DELIVER, decodeDeliveries, encodeDeliveries, OCTETS } from "./binding.ts"

const token = Uint8Array.of(1, 5, 0, 3, 0x61, 0x62, 0x63)
const deliveries = [
  { to: "s0", bytes: token },
  { to: "t3", bytes: token }
]

describe("the deliver framing", () => {
  it("round-trips every message with its connection, in order", () => {
    const body = encodeDeliveries(deliveries)
    // (u16 ‖ "s0") (u16 ‖ token) (u16 ‖ "t3") (u16 ‖ token)
    assert.strictEqual(body.length, 2 * (2 + 2 + 2 + token.length))
    assert.deepStrictEqual(body.subarray(0, 4), Uint8Array.of(0, 2, 0x73, 0x30))
    assert.deepStrictEqual(decodeDeliveries(body), deliveries)
  })

  it("refuses a cut field, a trailing length, an odd number of fields and a name outside the binding's", () => {
    const body = encodeDeliveries(deliveries)
    assert.isUndefined(decodeDeliveries(body.subarray(0, body.length - 1)))
    assert.isUndefined(decodeDeliveries(Uint8Array.from([...body, 0])))
    assert.isUndefined(decodeDeliveries(body.subarray(0, 4 + 2 + token.length + 4)))
    assert.isUndefined(decodeDeliveries(encodeDeliveries([{ to: "a b", bytes: token }])))
    // A name that is not UTF-8 at all is refused as not an answer, not thrown.
    assert.isUndefined(decodeDeliveries(Uint8Array.from([0, 1, 0xff, 0, 1, 7])))
  })

  it("is read as the step's deliveries, the reply the first on the sender's connection; octets stay the reply", () => {
    const answer = answerOf(200, "token-issued", undefined, encodeDeliveries(deliveries), `${DELIVER}; charset=binary`, "t3")
    assert.deepStrictEqual(answer, { _tag: "Step", outcome: "token-issued", reply: token, deliveries })
    assert.deepStrictEqual(answerOf(200, "token-issued", undefined, encodeDeliveries([deliveries[0]!]), DELIVER, "t3"), { _tag: "Step", outcome: "token-issued", deliveries: [deliveries[0]!] })
    assert.isUndefined(answerOf(200, "token-issued", undefined, Uint8Array.of(0, 9), DELIVER, "t3"))
    assert.deepStrictEqual(answerOf(403, undefined, "bad-otp", token, OCTETS, "t3"), { _tag: "Refusal", reason: "bad-otp", reply: token })
  })
})
