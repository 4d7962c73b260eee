/**
 * P2b mutants: the hardened participants with exactly one deliberate flaw each, applied from
 * outside the shipped code — decorators of the server's store, its decoder, its crypto and its
 * OPAQUE service, and of alice's Machine. Where the flaw exists symbolically, the model side is a
 * machine override (`machine.provide`). Each must be killed by the properties it names, on the
 * implementation unguided (properties/harness/suite-tests.ts).
 */
import { Effect, Schema } from "effect"
import { enqueueActions } from "xstate"
import { ToServer } from "../../../spec/split-login/messages.ts"
import type { Machines } from "../../../model/split-login/system.ts"
import { refusalOf, verdict } from "../../../model/split-login/server.machine.ts"
import type { MutantDefinition } from "../../definition.ts"
import { lenientDecoder } from "../../harness/lenient-decoder.ts"
import { hex } from "../../../impl/split-login/credentials.ts"
import type { ServerState, ServerStore } from "../../../impl/split-login/store.ts"
import { type SplitLoginImplFlaw, constantRandomness } from "../impl-world.ts"

export type SplitLoginModelFlaw = Partial<{ readonly [K in keyof Machines]: Parameters<Machines[K]["provide"]>[0] }>

export type SplitLoginMutant = MutantDefinition<SplitLoginModelFlaw, SplitLoginImplFlaw>

/** A store whose every write goes through `rewrite(before, after)` first. */
const rewriting = (inner: ServerStore, rewrite: (before: ServerState, after: ServerState) => ServerState): ServerStore => ({
  snapshot: inner.snapshot,
  transact: <A>(f: (state: ServerState) => readonly [A, ServerState]) =>
    inner.transact((state) => {
      const [a, next] = f(state)
      return [a, rewrite(state, next)] as const
    })
})

const strictServer = Schema.decodeUnknown(ToServer)

export const mutants: ReadonlyArray<SplitLoginMutant> = [
  {
    name: "device-key-compared-over-poll",
    flaw: "The server compares the device key byte by byte over the length of the key the poll carries, so a poll with an empty key matches any session (implementation only).",
    expectedKilledBy: ["P2b.result-to-opener"],
    impl: {
      // the edge replaces an empty poll key by the session's: what a comparison over the shorter array amounts to
      decode: (store) => (bytes) =>
        Effect.flatMap(strictServer(bytes), (m) =>
          m._tag !== "Poll" || m.deviceKey.length > 0 ? Effect.succeed<ToServer>(m) : Effect.map(store.snapshot, (s): ToServer => ({ ...m, deviceKey: s.sessions.get(hex(m.sid))?.deviceKey ?? m.deviceKey }))
        )
    }
  },
  {
    name: "username-case-folded-on-server",
    flaw: "The server upper-cases the username before its OPAQUE calls and the Machine does not, so the OPRF key and the bound identities differ and every login fails (implementation only).",
    expectedKilledBy: ["P2b.liveness"],
    impl: { serverOpaque: (real) => ({ ...real, serverStart: (setup, username, record, ke1) => real.serverStart(setup, username.toUpperCase(), record, ke1) }) }
  },
  {
    name: "machine-randomness-constant",
    flaw: "The Machine's OPAQUE draws its blind, nonce and key share from a constant source (a WASM whose getrandom is stubbed), so KE1 is a deterministic function of the password (implementation only).",
    expectedKilledBy: ["P2b.no-offline-guessing"],
    impl: { machineRandomness: constantRandomness }
  },
  {
    name: "lenient-decoder",
    flaw: "The server's decoder ignores trailing bytes after a well-formed message (implementation only).",
    expectedKilledBy: ["P2b.malformed-input"],
    impl: { decode: () => lenientDecoder(strictServer) }
  },
  {
    name: "challenge-cleared-on-decode",
    flaw: "The server's edge clears a session's pending OPAQUE challenge as soon as it decodes a LoginFinish for it, before KE3 is checked, so a refused login still changes the session (implementation only).",
    expectedKilledBy: ["P2b.tampered-input"],
    impl: {
      decode: (store) => (bytes) =>
        Effect.tap(strictServer(bytes), (m) =>
          m._tag !== "LoginFinish"
            ? Effect.void
            : store.transact((s) => {
                const r = s.sessions.get(hex(m.sid))
                if (r?.challenge === undefined) return [undefined, s] as const
                const { challenge: _, ...rest } = r
                return [undefined, { ...s, sessions: new Map([...s.sessions, [hex(m.sid), rest]]) }] as const
              })
        )
    }
  },
  {
    name: "poll-key-unchecked",
    flaw: "The server answers a poll without comparing the device key with the opener's, as claim 2 reads.",
    expectedKilledBy: ["P2b.result-to-opener"],
    model: {
      server: {
        guards: {
          refused: ({ context, event }) => event.type === "msg" && refusalOf({ ...context, policy: { ...context.policy, poll: event.message._tag === "Poll" ? "sid" : context.policy.poll } }, event) !== undefined
        },
        actions: {
          refuse: enqueueActions(({ context, event, enqueue }) => {
            if (event.type === "msg") enqueue(verdict({ _tag: "refused", reason: refusalOf({ ...context, policy: { ...context.policy, poll: event.message._tag === "Poll" ? "sid" : context.policy.poll } }, event)! }))
          })
        }
      }
    },
    impl: {
      // the edge fills a poll's device key in from the session the SID names, so the comparison that follows always holds
      decode: (store) => (bytes) =>
        Effect.flatMap(strictServer(bytes), (m) =>
          m._tag !== "Poll" ? Effect.succeed<ToServer>(m) : Effect.map(store.snapshot, (s): ToServer => ({ ...m, deviceKey: s.sessions.get(hex(m.sid))?.deviceKey ?? m.deviceKey }))
        )
    }
  },
  {
    name: "no-consent-screen",
    flaw: "The Machine sends KE3 without asking the user to compare the fingerprint, so a phished SID is approved.",
    expectedKilledBy: ["P2b.intent"],
    model: {
      machine: {
        actions: {
          challenge: enqueueActions(({ context, event, enqueue }) => {
            if (event.type !== "msg") return
            const m = event.message
            const p = context.pending
            if (m._tag !== "LoginChallenge" || p === null || p.sid !== m.sid) {
              enqueue({ type: "verdict", params: { refused: m._tag === "LoginChallenge" ? "unexpected" : "malformed" } } as never)
              return
            }
            enqueue.assign({ pending: null })
            if (m.ke2.ke1 !== p.ke1) enqueue({ type: "verdict", params: { refused: "bad-server" } } as never)
            else enqueue({ type: "verdict", params: { sent: { _tag: "LoginFinish", sid: m.sid, ke3: m.ke2, approval: { key: m.ke2, sid: m.sid, fp: m.fp } }, running: true } } as never)
          })
        }
      }
    },
    impl: { machine: (real) => ({ ...real, receive: (bytes, user) => real.receive(bytes, { ...user, approves: () => true }) }) }
  }
]

