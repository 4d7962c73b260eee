/**
 * P5 mutants: the hardened participants with exactly one deliberate flaw each. Every mutant must
 * be caught ("killed") by at least one property, in the model or on the implementation; the test
 * suite and the audit both check it. A flaw in a policy switch applies to model and
 * implementation alike; a flaw in byte handling exists only in the implementation.
 */
import { Schema } from "effect"
import { ToServer } from "../../../spec/rolling-key/messages.ts"
import type { Policy } from "../../../spec/rolling-key/variants.ts"
import type { ServerOptions } from "../../../impl/rolling-key/server.ts"
import type { MutantDefinition } from "../../definition.ts"
import { lenientDecoder } from "../../harness/lenient-decoder.ts"

export interface RollingKeyModelFlaw {
  readonly policy: Partial<Policy>
}
export interface RollingKeyImplFlaw {
  readonly policy?: Partial<Policy>
  /** The server's edge decoder. */
  readonly decode?: ServerOptions["decode"]
}

type RollingKeyMutant = MutantDefinition<RollingKeyModelFlaw, RollingKeyImplFlaw>

/** The same flaw in both worlds. */
const flawed = (name: string, change: Partial<Policy>): Pick<RollingKeyMutant, "model" | "impl"> => ({ model: { policy: { ...change, name: `mutant:${name}` } }, impl: { policy: { ...change, name: `mutant:${name}` } } })

const strict = Schema.decodeUnknown(ToServer)

const lenientDecode: NonNullable<ServerOptions["decode"]> = lenientDecoder(strict)

export const mutants: ReadonlyArray<RollingKeyMutant> = [
  {
    name: "no-freshness",
    flaw: "The server verifies codes over a client-chosen input and issues no challenge.",
    expectedKilledBy: ["P5.no-replay"],
    ...flawed("no-freshness", { input: "client-random" })
  },
  {
    name: "challenge-not-consumed",
    flaw: "The server leaves the challenge outstanding after checking a request against it.",
    expectedKilledBy: ["P5.no-replay"],
    ...flawed("challenge-not-consumed", { consumeChallenge: false })
  },
  {
    name: "previous-not-kept",
    flaw: "The server forgets the previous key when it rolls, so a device whose grant was lost cannot log in.",
    expectedKilledBy: ["P5.desync-liveness"],
    ...flawed("previous-not-kept", { keepPrevious: false })
  },
  {
    name: "retired-accepted",
    flaw: "The server still accepts the retired key (the previous key after the current one was used) instead of signalling a clone.",
    expectedKilledBy: ["P5.clone-detection"],
    ...flawed("retired-accepted", { retired: "accept" })
  },
  {
    name: "unauthenticated-grant",
    flaw: "The client rolls its key on any grant for its device id, without checking the grant's proof.",
    expectedKilledBy: ["P5.desync-liveness", "P5.injective-agreement"],
    ...flawed("unauthenticated-grant", { authenticatedGrant: false })
  },
  {
    name: "key-on-wire",
    flaw: "Registration sends the initial rolling key back to the server instead of deriving it on both sides.",
    expectedKilledBy: ["P5.key-secrecy"],
    ...flawed("key-on-wire", { initialKey: "sent-back" })
  },
  {
    name: "key-used-before-stored",
    flaw: "The client uses a new key before writing it to storage (it persists a key only once it has been accepted), so a crash restarts it with a key the server has retired.",
    expectedKilledBy: ["P5.desync-liveness"],
    ...flawed("key-used-before-stored", { persistBeforeUse: false })
  },
  {
    name: "lenient-decoder",
    flaw: "The server's decoder ignores trailing bytes after a well-formed message.",
    expectedKilledBy: ["P5.malformed-input"],
    impl: { decode: lenientDecode }
  }
]
