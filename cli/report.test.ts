/**
 * The diagrams and the `diagram` command: Mermaid generated from a trace and from an XState
 * machine, with the characters Mermaid chokes on escaped.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { and, not, or, setup } from "xstate"
import type { Trace } from "../spec/trace.ts"
import { variants } from "../spec/property.ts"
import { suites } from "./protocols.ts"
import {
  briefData,
  escapeLabel,
  guardLabel,
  LABEL_CHARS,
  LANE_MARGIN,
  LANE_WIDTH,
  MAX_LANES,
  mermaidId,
  SEQUENCE_LAYOUT,
  type SequencePart,
  sequenceDiagrams,
  sequenceText,
  stateDiagram
} from "./report/mermaid.ts"
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
  const parts = sequenceDiagrams(trace, { violation: { at: 4, reason: "accepted twice: req1@k0" } })
  const diagram = parts[0]!.diagram

  it("is one diagram for three actors, laid out to wrap labels inside narrow lanes", () => {
    assert.strictEqual(parts.length, 1)
    assert.deepInclude(parts[0], { from: 0, to: trace.length - 1 })
    assert.isTrue(diagram.startsWith(`${SEQUENCE_LAYOUT}\nsequenceDiagram\n`))
  })

  it("declares the actors, with the network (the attacker) between them", () => {
    assert.include(diagram, "participant client as client\n  participant attacker as attacker (network)\n  participant server as server")
  })

  it("draws Send and Deliver as arrows numbered as in the trace, a replay dashed", () => {
    assert.include(diagram, "client->>attacker: 1. authRequest(req1@k0) → server")
    assert.include(diagram, "attacker->>server: 2. authRequest(req1@k0)")
    assert.include(diagram, "attacker-->>server: 4. authRequest(req1@k0) [replay]")
  })

  it("draws claims, signals and crashes as notes, and highlights the violation", () => {
    assert.include(diagram, "Note over server: Signal (clone-suspected)")
    assert.include(diagram, "Note over client: Crash")
    assert.include(diagram, "rect rgba(220, 38, 38, 0.15)\n    Note over server: Commit (client, req1@k0)\n    Note over server: ✗ accepted twice: req1@k0\n  end")
  })

  it("keeps labels short: long data is left to the numbered trace, or cut to its identifier", () => {
    assert.strictEqual(briefData("refresh;user=alice;rt=F1.2;otp=tA#3"), undefined)
    assert.strictEqual(briefData("s0|pk=dev|nonce=n1"), "s0…")
    assert.strictEqual(briefData("req1@k0"), "req1@k0")
    const long: Trace = [
      { _tag: "Send", from: "device", to: "authorisation-server", ref: 3, label: "RefreshRequestWithAVeryLongName", data: "refresh;user=alice;rt=F1.2" },
      { _tag: "Commit", actor: "auth", peer: "device", data: "refresh;user=alice;rt=F1.2;otp=tA#3;new=F1.3" }
    ]
    const labels = labelsOf(sequenceDiagrams(long))
    assert.lengthOf(labels, 2)
    for (const label of labels) assert.isAtMost(label.length, MESSAGE_BOUND, label)
  })

  it("escapes only what ends a label, and never lets Mermaid wrap a label through an entity code", () => {
    assert.strictEqual(sequenceText(`a:b "q" {x} |y|`), `a:b "q" {x} |y|`)
    assert.strictEqual(sequenceText("pay;n=1 <b> #2"), "pay#59; n=1 #60;b#62; #35;2")
    assert.match(sequenceText("✗ accepted pay;payer=zhang;payee=li twice"), /^nowrap:/)
    assert.isAtMost(sequenceText("✗ accepted pay;payer=zhang;payee=li twice and more").replace(/#\d+;/g, "x").length, "nowrap:".length + 28)
  })
})

/** The longest arrow label: the event's number, the clipped message, the clipped receiver. */
const MESSAGE_BOUND = "999. ".length + LABEL_CHARS + " → ".length + 10

/** The text after `: ` of every arrow and note. */
const labelsOf = (parts: ReadonlyArray<SequencePart>) =>
  parts.flatMap((p) => p.diagram.split("\n").flatMap((l) => (/(->>|-->>|Note over)/.test(l) ? [l.slice(l.indexOf(": ") + 2).replace(/^nowrap:/, "").replaceAll(/#\d+;/g, "x")] : [])))

/** The lanes each part declares. */
const lanesOf = (parts: ReadonlyArray<SequencePart>) => parts.map((p) => [...p.diagram.matchAll(/^ {2}participant (\S+) as /gm)].map((m) => m[1]!))

/**
 * The widest a part can be with its layout: Mermaid's 50 px margins, the lanes, the gaps between
 * them (labels wrap to the lane width, so they do not widen a gap). Renders in Chromium measured
 * 580–897 px for every diagram of a full report.
 */
const widthBound = (lanes: number) => 2 * 50 + lanes * LANE_WIDTH + (lanes - 1) * LANE_MARGIN

describe("sequence diagrams fit a 980 px column", () => {
  it("the layout's bound for the most lanes a part may have is under 980 px", () => {
    assert.isAtMost(widthBound(MAX_LANES), 980)
  })

  it("a trace among more actors is cut into parts of at most five lanes, every event drawn once, in order", () => {
    const actors = ["device", "service", "rp", "evil", "evilpc", "pc", "user"]
    const trace: Trace = actors.flatMap((from, i) => {
      const to = actors[(i + 3) % actors.length]!
      return [
        { _tag: "Send", from, to, ref: i, label: "Hello", data: `h${i}` },
        { _tag: "Deliver", to, ref: i, label: "Hello", how: "first", data: `h${i}` },
        { _tag: "Commit", actor: to, peer: from, data: `h${i}` }
      ] satisfies Trace
    })
    const parts = sequenceDiagrams(trace, { violation: { at: 10, reason: "broken" } })
    assert.isAbove(parts.length, 1)
    for (const lanes of lanesOf(parts)) assert.isAtMost(lanes.length, MAX_LANES)
    assert.deepStrictEqual(parts.map((p) => [p.from, p.to]).flat(), parts.flatMap((p, i) => [i === 0 ? 0 : parts[i - 1]!.to + 1, p.to]))
    assert.strictEqual(parts[parts.length - 1]!.to, trace.length - 1)
    const numbers = labelsOf(parts).flatMap((l) => (/^\d+\. /.test(l) ? [Number(l.slice(0, l.indexOf(".")))] : []))
    assert.deepStrictEqual(numbers, trace.flatMap((e, i) => (e._tag === "Send" || e._tag === "Deliver" ? [i + 1] : [])))
    assert.strictEqual(parts.filter((p) => p.diagram.includes("rect rgba")).length, 1)
  })

  it("gives no lane to a claim's peer, nor to a clock that only ticks", () => {
    const trace: Trace = [
      { _tag: "Running", actor: "device", peer: "nobody-drawn", data: "x" },
      { _tag: "Tick", actor: "clock" },
      { _tag: "Send", from: "device", to: "auth", ref: 0, label: "Hi" }
    ]
    const [diagram] = sequenceDiagrams(trace).map((p) => p.diagram)
    assert.deepStrictEqual(lanesOf(sequenceDiagrams(trace)), [["device", "attacker"]])
    assert.include(diagram, "Note over device,attacker: clock ticks")
  })

  it("holds for the honest runs of every registered protocol", () => {
    for (const suite of suites)
      for (const variant of variants) {
        const parts = sequenceDiagrams(suite.honestRun(variant))
        for (const lanes of lanesOf(parts)) assert.isAtMost(widthBound(lanes.length), 980, `${suite.protocol} ${variant}`)
        for (const label of labelsOf(parts)) assert.isAtMost(label.length, MESSAGE_BOUND, `${suite.protocol} ${variant}: ${label}`)
      }
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
      assert.include(r.stdout, `## Honest run (hardened)\n\n\`\`\`mermaid\n${SEQUENCE_LAYOUT}\nsequenceDiagram`)
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
