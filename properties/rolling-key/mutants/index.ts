/**
 * P5 mutants: the hardened protocol with exactly one deliberate flaw each, applied from outside
 * the shipped code — on the model side as machine overrides (./model.ts), on the implementation
 * side as decorators of the real stores, services or crypto (./impl.ts). Three of them are
 * hardened with one variant switch set as in `claimed` (a mix of real switches: no flaw-only
 * code). Every mutant must be killed by the properties it names, in the model by exploration and
 * on the implementation by unguided random runs; the impl-only ones are mistakes in bytes and
 * effects the symbolic model cannot express.
 */
import { Schema } from "effect"
import { ToServer } from "../../../spec/rolling-key/messages.ts"
import type { Policy } from "../../../spec/rolling-key/variants.ts"
import type { CryptoShape } from "../../../impl/crypto/services.ts"
import type { ServerOptions } from "../../../impl/rolling-key/server.ts"
import type { ClientStore, ServerStore } from "../../../impl/rolling-key/store.ts"
import type { Machines } from "../../../model/rolling-key/system.ts"
import type { MutantDefinition } from "../../definition.ts"
import { lenientDecoder } from "../../harness/lenient-decoder.ts"
import * as impl from "./impl.ts"
import * as model from "./model.ts"

export interface RollingKeyModelFlaw {
  /** Variant switches set as in `claimed` (real switches only). */
  readonly policy?: Partial<Policy>
  /** Overrides of named actions or guards of the shipped machines. */
  readonly machines?: (shipped: Machines) => Machines
}

export interface RollingKeyImplFlaw {
  readonly policy?: Partial<Policy>
  /** A decorator of the server's durable store (the harness still reads the real one). */
  readonly serverStore?: (store: ServerStore) => ServerStore
  /** A decorator of the device's (or clone's) storage, built afresh for every running client instance. */
  readonly clientStore?: (store: ClientStore) => ClientStore
  /** A decorator of the server service. */
  readonly server?: impl.ServerDecorator
  /** A decorator of a client service. */
  readonly client?: impl.ClientDecorator
  /** A decorator of the server's crypto. */
  readonly serverCrypto?: (crypto: CryptoShape) => CryptoShape
  /** A decorator of the clients' crypto. */
  readonly clientCrypto?: (crypto: CryptoShape) => CryptoShape
  /** The server's edge decoder. */
  readonly decode?: ServerOptions["decode"]
}

type RollingKeyMutant = MutantDefinition<RollingKeyModelFlaw, RollingKeyImplFlaw>

/** Hardened with variant switches as in `claimed`, in both worlds. */
const mixed = (change: Partial<Policy>): Pick<RollingKeyMutant, "model" | "impl"> => ({ model: { policy: change }, impl: { policy: change } })

const lenientDecode: NonNullable<ServerOptions["decode"]> = lenientDecoder(Schema.decodeUnknown(ToServer))

export const mutants: ReadonlyArray<RollingKeyMutant> = [
  {
    name: "no-freshness",
    flaw: "The server verifies codes over a client-chosen input and issues no challenge.",
    expectedKilledBy: ["P5.no-replay"],
    ...mixed({ input: "client-random" })
  },
  {
    name: "challenge-not-consumed",
    flaw: "The server leaves the challenge outstanding after checking a request against it.",
    expectedKilledBy: ["P5.no-replay", "P5.single-use-challenge"],
    model: { machines: model.challengeNotConsumed },
    impl: { serverStore: impl.challengeNotConsumed }
  },
  {
    name: "previous-not-kept",
    flaw: "The server forgets the previous key when it rolls, so a device whose grant was lost cannot log in.",
    expectedKilledBy: ["P5.desync-liveness"],
    model: { machines: model.previousNotKept },
    impl: { serverStore: impl.previousNotKept }
  },
  {
    name: "retired-accepted",
    flaw: "The server still accepts the retired key (the previous key after the current one was used) instead of signalling a clone.",
    expectedKilledBy: ["P5.clone-detection"],
    model: { machines: model.retiredAccepted },
    impl: { server: impl.retiredAccepted }
  },
  {
    name: "unauthenticated-grant",
    flaw: "The client rolls its key on any grant for its device id, without checking the grant's proof.",
    expectedKilledBy: ["P5.desync-liveness", "P5.injective-agreement"],
    ...mixed({ authenticatedGrant: false })
  },
  {
    name: "key-on-wire",
    flaw: "Registration sends the initial rolling key back to the server instead of deriving it on both sides.",
    expectedKilledBy: ["P5.key-secrecy"],
    ...mixed({ initialKey: "sent-back" })
  },
  {
    name: "key-used-before-stored",
    flaw: "The client uses a new key before writing it to storage (it persists a key only once it has been accepted), so a crash restarts it with a key the server has retired.",
    expectedKilledBy: ["P5.desync-liveness"],
    model: { machines: model.keyUsedBeforeStored },
    impl: { clientStore: impl.keyUsedBeforeStored }
  },
  {
    name: "lenient-decoder",
    flaw: "The server's decoder ignores trailing bytes after a well-formed message.",
    expectedKilledBy: ["P5.malformed-input"],
    impl: { decode: lenientDecode }
  },
  {
    name: "mac-prefix",
    flaw: "MACs (the server's check of a code, the client's check of a grant proof) are compared on their first 16 bytes only.",
    expectedKilledBy: ["P5.tampered-input"],
    impl: { serverCrypto: impl.macPrefix, clientCrypto: impl.macPrefix }
  },
  {
    name: "code-check-truthy",
    flaw: "The server tests the Either of its MAC check for truthiness, so every code passes.",
    expectedKilledBy: ["P5.tampered-input", "P5.injective-agreement"],
    impl: { serverCrypto: impl.codeCheckTruthy }
  },
  {
    name: "challenge-kept-on-refusal",
    flaw: "On a refused code the server skips the write that consumes the challenge, so the challenge buys another guess.",
    expectedKilledBy: ["P5.single-use-challenge"],
    impl: { serverStore: impl.challengeKeptOnRefusal }
  },
  {
    name: "key-written-before-proof-check",
    flaw: "The client stores the next key derived from a grant before checking the grant's proof, and a failing check leaves it stored.",
    expectedKilledBy: ["P5.malformed-input"],
    impl: { client: impl.keyWrittenBeforeProofCheck }
  },
  {
    name: "roll-not-persisted",
    flaw: "The client builds the write of a rolled key but never runs it, so a crash restarts it with a key the server has moved past.",
    expectedKilledBy: ["P5.desync-liveness"],
    impl: { clientStore: impl.rollNotPersisted }
  }
]
