/**
 * The diagrams and the `diagram` command: Mermaid generated from a trace and from an XState
 * machine, with the characters Mermaid chokes on escaped.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { and, not, or, setup } from "xstate"
import type { Trace } from "../spec/trace.ts"
import { escapeLabel, guardLabel, mermaidId, sequenceDiagram, stateDiagram } from "./report/mermaid.ts"
import { makeFakeSuite } from "../properties/testing/fake-suite.ts"
import { recordingConsole } from "./testing/console.ts"
import { runCli } from "./testing/run-cli.ts"

describe("escapeLabel", () => {
  it("writes ; : # quotes and angle brackets as Mermaid entity codes", () => {
    assert.strictEqual(escapeLabel(`a;b:c#d"e'f<g>h%i`), "a#59;b#58;c#35;d#34;e#39;f#60;g#62;h#37;i")
  })

  it("keeps a label on one line", () => {
    assert.strictEqual(escapeLabel("two\n  lines"), "two lines")
  })

  it("never leaves a bare statement separator or label separator", () => {
    const nasty = `x; end: "y" <script> %% #1;`
    assert.notMatch(escapeLabel(nasty), /[;:"'<>%](?<!#\d+;)/u)
  })
})

describe("mermaidId", () => {
  it("makes identifiers out of names, avoiding keywords", () => {
    assert.strictEqual(mermaidId("clone-1"), "clone_1")
    assert.strictEqual(mermaidId("end"), "end_")
    assert.strictEqual(mermaidId("2fa"), "s2fa")
  })
})

describe("sequenceDiagram", () => {
  const trace: Trace = [
    { _tag: "Send", from: "client", to: "server", ref: 0, label: "authRequest", data: "req1@k0" },
    { _tag: "Deliver", to: "server", ref: 0, label: "authRequest", how: "first", data: "req1@k0" },
    { _tag: "Commit", actor: "server", peer: "client", data: "req1@k0" },
    { _tag: "Deliver", to: "server", ref: 0, label: "authRequest", how: "replay", data: "req1@k0" },
    { _tag: "Commit", actor: "server", peer: "client", data: "req1@k0" },
    { _tag: "Signal", actor: "server", signal: "clone-suspected" },
    { _tag: "Crash", actor: "client" }
  ]
  const diagram = sequenceDiagram(trace, { violation: { at: 4, reason: "accepted twice: req1@k0" } })

  it("declares the actors, with the network (the attacker) between them", () => {
    assert.include(diagram, "participant client as client\n  participant attacker as attacker (network)\n  participant server as server")
  })

  it("draws Send and Deliver as arrows, a replay dashed", () => {
    assert.include(diagram, "client->>attacker: #35;0 authRequest(req1@k0) → server")
    assert.include(diagram, "attacker->>server: #35;0 authRequest(req1@k0)")
    assert.include(diagram, "attacker-->>server: #35;0 authRequest(req1@k0) [replay]")
  })

  it("keeps every label short, so five lanes fit a 980 px column (details are in the numbered trace)", () => {
    const long: Trace = [
      { _tag: "Send", from: "device", to: "auth", ref: 3, label: "RefreshRequest", data: "refresh;user=alice;rt=F1.2;otp=tA#3;new=F1.3" },
      { _tag: "Commit", actor: "auth", peer: "device", data: "refresh;user=alice;rt=F1.2;otp=tA#3;new=F1.3" }
    ]
    const labels = sequenceDiagram(long).split("\n").flatMap((l) => (l.includes(": ") ? [l.slice(l.indexOf(": ") + 2).replaceAll(/#\d+;/g, "x")] : []))
    for (const label of labels) assert.isAtMost(label.length, 48, label)
  })

  it("draws claims, signals and crashes as notes, and highlights the violation", () => {
    assert.include(diagram, "Note over server: Signal(clone-suspected)")
    assert.include(diagram, "Note over client: Crash")
    assert.include(diagram, "rect rgba(220, 38, 38, 0.15)\n    Note over server: Commit(client, req1@k0)\n    Note over server: ✗ accepted twice#58; req1@k0\n  end")
  })
})

describe("stateDiagram", () => {
  const machine = setup({
    types: { events: {} as { type: "msg.a" } | { type: "msg.b" } },
    guards: { fresh: () => true, signed: () => true }
  }).createMachine({
    id: "device",
    initial: "idle",
    states: {
      idle: { on: { "msg.a": "busy" } },
      busy: {
        initial: "waiting",
        states: { waiting: { on: { "msg.b": [{ target: "checked", guard: { type: "fresh" } }] } }, checked: { type: "final" } },
        on: { "msg.a": [{ target: "done", guard: "signed" }, { target: "idle" }] }
      },
      done: { type: "final" }
    }
  })
  const diagram = stateDiagram(machine)

  it("has the initial state, the final states and nested states", () => {
    assert.include(diagram, "  [*] --> idle")
    assert.include(diagram, "  done --> [*]")
    assert.include(diagram, "  state busy {\n    [*] --> busy_waiting")
    assert.include(diagram, `    state "waiting" as busy_waiting`)
  })

  it("labels each transition with its event and guard, the unguarded fallback as else", () => {
    assert.include(diagram, "idle --> busy : msg.a")
    assert.include(diagram, "busy --> done : msg.a [signed]")
    assert.include(diagram, "busy --> idle : msg.a [else]")
    assert.include(diagram, "busy_waiting --> busy_checked : msg.b [fresh]")
  })

  it("names parameterised guards and the transition's actions, UML-style", () => {
    const server = setup({
      types: { events: {} as { type: "msg.req" } },
      guards: { codeUnder: (_: unknown, _params: { slot: string }) => true },
      actions: { grant: (_: unknown, _params: { slot: string }) => {}, refuse: (_: unknown, _params: { reason: string; consume: boolean }) => {} }
    }).createMachine({
      initial: "serving",
      states: {
        serving: {
          on: {
            "msg.req": [
              { guard: { type: "codeUnder", params: { slot: "current" } }, actions: { type: "grant", params: { slot: "current" } } },
              { actions: { type: "refuse", params: { reason: "bad-code", consume: true } } }
            ]
          }
        }
      }
    })
    const d = stateDiagram(server)
    assert.include(d, "serving --> serving : msg.req [codeUnder(current)] / grant(current)")
    assert.include(d, "serving --> serving : msg.req [else] / refuse(reason=bad-code, consume=true)")
  })

  it("reads XState's guard combinators", () => {
    assert.strictEqual(guardLabel(and(["signed", not("fresh")])), "(signed && !fresh)")
    assert.strictEqual(guardLabel(or([{ type: "signed" }, "fresh"])), "(signed || fresh)")
  })
})

describe("authlab diagram", () => {
  it.effect("prints the participants' state diagrams and the honest runs as Mermaid", () =>
    Effect.gen(function* () {
      const r = yield* runCli([makeFakeSuite()], ["diagram", "soft-token"])
      assert.strictEqual(r.exitCode, undefined)
      assert.include(r.stdout, "## client (state machine)\n\n```mermaid\nstateDiagram-v2")
      assert.include(r.stdout, "## server (state machine)")
      assert.include(r.stdout, "## Honest run (hardened)\n\n```mermaid\nsequenceDiagram")
      assert.include(r.stdout, "## Honest run (claimed)")
    }))

  it.effect("exits 2 on an unknown protocol, naming the known ones", () =>
    Effect.gen(function* () {
      const r = yield* runCli([makeFakeSuite()], ["diagram", "nope"])
      assert.strictEqual(r.exitCode, 2)
      assert.include(r.stderr, "known: soft-token")
    }))
})

describe("authlab --help", () => {
  for (const command of [[], ["audit"], ["diagram"], ["bench"]])
    it.effect(`works on ${["authlab", ...command].join(" ")}`, () =>
      Effect.gen(function* () {
        // @effect/cli prints help through the Console service.
        const recording = recordingConsole()
        const r = yield* runCli([makeFakeSuite()], [...command, "--help"]).pipe(Effect.withConsole(recording.console))
        assert.strictEqual(r.exitCode, undefined)
        assert.include(recording.text(), "USAGE")
      }))
})
