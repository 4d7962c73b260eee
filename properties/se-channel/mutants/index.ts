/**
 * P2a mutants: the hardened participants with exactly one deliberate flaw each, applied from
 * outside the shipped code — decorators of the SE's and the server's checks, of the key schedule,
 * of the record layer, of the edge decoder, of ECDH. The model side, where the flaw exists
 * symbolically, is a machine override (`machine.provide`) or the symbolic key schedule. Each must
 * be killed by the properties it names, on the implementation unguided
 * (properties/harness/suite-tests.ts).
 */
import { Effect, Schema } from "effect"
import { enqueueActions } from "xstate"
import { ToSe, ToServer } from "../../../spec/se-channel/messages.ts"
import { type KeySchedule, keySchedule } from "../../../impl/se-channel/keys.ts"
import { recordLayer, type RecordLayer } from "../../../impl/se-channel/records.ts"
import type { SeOptions } from "../../../impl/se-channel/secure-element.ts"
import type { ServerOptions } from "../../../impl/se-channel/server.ts"
import { reject } from "../../../model/se-channel/effects.ts"
import { type SeCheck, seMachine, seRefusal } from "../../../model/se-channel/secure-element.machine.ts"
import { type ServerCheck, serverMachine, serverRefusal } from "../../../model/se-channel/server.machine.ts"
import { dh, schedule, type SymSchedule } from "../../../model/se-channel/terms.ts"
import type { MutantDefinition } from "../../definition.ts"
import { lenientDecoder } from "../../harness/lenient-decoder.ts"
import { unvalidatedEcdh } from "./unvalidated-ecdh.ts"

export interface SeChannelModelFlaw {
  readonly se?: Parameters<typeof seMachine.provide>[0]
  readonly server?: Parameters<typeof serverMachine.provide>[0]
  readonly schedule?: SymSchedule
}

export interface SeChannelImplFlaw {
  readonly se?: (real: SeOptions) => SeOptions
  readonly server?: (real: ServerOptions) => ServerOptions
  readonly schedule?: KeySchedule
  readonly records?: RecordLayer
}

export type SeChannelMutant = MutantDefinition<SeChannelModelFlaw, SeChannelImplFlaw>

/**
 * A machine override whose guard and refusal follow `rule` (the shipped rule with some checks left
 * out). Written once for both machines; the cast is the machines' own event and context types,
 * which `rule` already has.
 */
const refusingBy = <C, E>(rule: (context: C, event: E) => string | undefined) => ({
  guards: { refused: ({ context, event }: { readonly context: C; readonly event: E }) => rule(context, event) !== undefined },
  actions: { refuse: enqueueActions(({ context, event, enqueue }) => enqueue(reject(rule(context as C, event as E)!))) }
})

const seSkipping = (...skip: ReadonlyArray<SeCheck>) => refusingBy(seRefusal(new Set(skip))) as unknown as SeChannelModelFlaw["se"]
const serverSkipping = (...skip: ReadonlyArray<ServerCheck>) => refusingBy(serverRefusal(new Set(skip))) as unknown as SeChannelModelFlaw["server"]

const strictServer = Schema.decodeUnknown(ToServer)
const strictSe = Schema.decodeUnknown(ToSe)

export const mutants: ReadonlyArray<SeChannelMutant> = [
  {
    name: "server-receipt-unchecked",
    flaw: "The SE derives the keys and opens the channel without checking the server's receipt (it sends its own).",
    expectedKilledBy: ["P2a.key-confirmation", "P2a.injective-agreement"],
    model: { se: seSkipping("receipt") },
    impl: { se: (real) => ({ ...real, checkReceipt: () => Effect.void }) }
  },
  {
    name: "identities-outside-transcript",
    flaw: "The transcript (KDF salt and receipts) covers the server key and both ephemerals but neither identity: no SE id, no certificate subject.",
    expectedKilledBy: ["P2a.no-unknown-key-share"],
    model: { schedule: { ...schedule, name: "no-identities", transcript: (h) => `t(${h.serverKey},${h.e},${h.s})` } },
    impl: { schedule: { ...keySchedule, transcriptHash: (h) => keySchedule.transcriptHash({ ...h, seId: "", subject: "" }) } }
  },
  {
    name: "static-dh-only",
    flaw: "The KDF takes ECDH(e_SE, S) alone (SCP11b's one-pass shape): the server's ephemeral never enters the key.",
    expectedKilledBy: ["P2a.forward-secrecy"],
    model: { schedule: { ...schedule, name: "static-dh-only", ikm: (h) => [dh(h.e, h.serverKey)] } },
    impl: { schedule: { ...keySchedule, ikm: (z) => z.es } }
  },
  {
    name: "link-not-checked",
    flaw: "The SE checks the CA's signature on the certificate but not that its link matches the identity data it came with.",
    expectedKilledBy: ["P2a.certificate-binding"],
    model: { se: seSkipping("link") },
    impl: { se: (real) => ({ ...real, linkMatches: () => true }) }
  },
  {
    name: "platform-tag-unchecked",
    flaw: "The SE takes the identity data without checking the browser platform's tag, so the page states it again.",
    expectedKilledBy: ["P2a.origin-binding"],
    model: { se: seSkipping("platform-tag") },
    impl: { se: (real) => ({ ...real, verifyPlatformTag: () => Effect.void }) }
  },
  {
    name: "se-signature-unchecked",
    flaw: "The server takes the SE certificate in a SeOpen as proof of identity and never checks the SE's signature over the ephemeral.",
    expectedKilledBy: ["P2a.injective-agreement", "P2a.key-secrecy"],
    model: { server: serverSkipping("se-signature") },
    impl: { server: (real) => ({ ...real, verifySeOpen: () => Effect.void }) }
  },
  {
    name: "direction-not-bound",
    flaw: "Both directions seal under the SE-to-server key and the associated data omits the direction: each nonce is used twice under one key, and a record reflected to its sender opens (implementation only).",
    expectedKilledBy: ["P2a.channel-integrity"],
    impl: { records: { ...recordLayer, keyFor: (keys) => keys.seToServer, directionLabel: () => "" } }
  },
  {
    name: "receive-counter-unchecked",
    flaw: "The receiver opens a record under the nonce its header names without comparing the sequence number with the one it expects (implementation only).",
    expectedKilledBy: ["P2a.channel-integrity"],
    impl: { records: { ...recordLayer, acceptsSeq: () => true } }
  },
  {
    name: "send-counter-off-by-one",
    flaw: "The sender increments its record counter before sealing, so its first record carries sequence number 1 (implementation only).",
    expectedKilledBy: ["P2a.liveness"],
    impl: { records: { ...recordLayer, sendSeq: (sent) => sent + 1 } }
  },
  {
    name: "point-not-validated",
    flaw: "The SE and the server skip the edge check of a peer's ephemeral and use an ECDH that never validates it (implementation only).",
    expectedKilledBy: ["P2a.invalid-point"],
    impl: {
      se: (real) => ({ ...real, isPoint: () => true, ecdh: unvalidatedEcdh }),
      server: (real) => ({ ...real, isPoint: () => true, ecdh: unvalidatedEcdh })
    }
  },
  {
    name: "hello-closes-channel",
    flaw: "The SE forgets which channel is current as soon as a SeHello decodes, before checking it: a refused hello still closes the user's channel (implementation only).",
    expectedKilledBy: ["P2a.malformed-input", "P2a.tampered-input"],
    impl: {
      se: (real) => ({
        ...real,
        decode: (bytes) => Effect.tap(strictSe(bytes), (m) => (m._tag === "SeHello" ? real.store.transact((s) => [undefined, { sessions: s.sessions }] as const) : Effect.void))
      })
    }
  },
  {
    name: "lenient-decoder",
    flaw: "The server's decoder ignores trailing bytes after a well-formed message (implementation only).",
    expectedKilledBy: ["P2a.malformed-input"],
    impl: { server: (real) => ({ ...real, decode: lenientDecoder(strictServer) }) }
  }
]
