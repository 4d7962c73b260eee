/**
 * Mermaid diagrams generated from the artefacts themselves, never drawn by hand:
 * - `sequenceDiagram` of a protocol trace (a counterexample, or the honest run): `Send` is an
 *   arrow from the sender to the network, `Deliver` one from the network to the receiver (the
 *   network is the attacker, Dolev–Yao); replays and injections are dashed; claims, verdicts,
 *   signals, crashes and ticks are notes; the violating event is highlighted. Drawn to be read in
 *   a 980 px column: at most `MAX_LANES` lanes per diagram (a larger cast is drawn in consecutive
 *   parts), labels that wrap inside narrow lanes, short labels numbered as the trace beside it.
 * - `stateDiagram-v2` of a participant machine, walked from the XState v5 `machine.root` state
 *   nodes: initial and final states, nested states, each transition labelled `event [guard]`.
 *
 * State-diagram labels go through `escapeLabel` (sequence labels through `sequenceText`, which
 * needs fewer): Mermaid splits statements on `;`, reads `:` as the label
 * separator, `#…;` as an entity and `%%` as a comment, and quotes and angle brackets end up in
 * HTML, so each of those characters is written as its entity code (`#59;` …), which Mermaid decodes.
 */
import type { AnyStateMachine } from "xstate"
import type { Violation } from "../../spec/property.ts"
import type { Trace, TraceEvent } from "../../spec/trace.ts"

/** Replace the characters Mermaid chokes on by Mermaid entity codes; newlines become spaces. */
export const escapeLabel = (text: string): string =>
  text.replace(/\s*[\r\n]+\s*/g, " ").replace(/[#;:"'<>%{}|`\\]/g, (c) => `#${c.charCodeAt(0)};`)

const reserved = new Set([
  "end", "box", "loop", "alt", "else", "opt", "par", "and", "rect", "critical", "break", "note", "participant", "actor",
  "activate", "deactivate", "autonumber", "title", "state", "direction", "default", "create", "destroy", "over", "left", "right", "of", "as"
])

/** A Mermaid identifier for a name: letters, digits and `_`, never a keyword. */
export const mermaidId = (name: string): string => {
  const id = name.replace(/[^A-Za-z0-9_]/g, "_").replace(/^(?=[0-9_])/, "s")
  return reserved.has(id.toLowerCase()) ? `${id}_` : id
}

// ---------------------------------------------------------------------------------------------
// Sequence diagram of a trace

/** The network: every message passes through it, and it is the attacker. */
const NETWORK = "attacker"

/** Every actor an event names, in the order a reader meets them (for the order of the lanes). */
const actorsOf = (e: TraceEvent): ReadonlyArray<string> => {
  switch (e._tag) {
    case "Send":
      return [e.from, NETWORK, e.to]
    case "Deliver":
      return [NETWORK, e.to]
    case "Running":
    case "Commit":
      return [e.actor, e.peer]
    case "Accept":
    case "Reject":
    case "Secret":
    case "Signal":
    case "Crash":
    case "Tick":
      return [e.actor]
    case "Reveal":
      return [NETWORK]
    case "FaultsEnd":
      return []
  }
}

/**
 * The lanes an event is drawn on. A claim's peer is named in its note, not given a lane, and an
 * actor that only ticks (the clock) has no lane: its ticks are notes across the diagram.
 */
const lanesOf = (e: TraceEvent, tickOnly: ReadonlySet<string>): ReadonlyArray<string> => {
  switch (e._tag) {
    case "Send":
      return [e.from, NETWORK]
    case "Deliver":
      return [NETWORK, e.to]
    case "Tick":
      return tickOnly.has(e.actor) ? [] : [e.actor]
    case "Reveal":
      return [NETWORK]
    case "FaultsEnd":
      return []
    default:
      return [e.actor]
  }
}

/**
 * At most this many lanes in one diagram, the network's included; a trace among more actors is
 * drawn as consecutive parts. With the layout below, five lanes take at most
 * 2·50 + 5·LANE_WIDTH + 4·LANE_MARGIN = 870 px.
 */
export const MAX_LANES = 5
/** Mermaid's lane (actor box) width and the gap between two lanes, px; labels wrap to the lane width. */
export const LANE_WIDTH = 130
export const LANE_MARGIN = 30
/** Mermaid layout for every sequence diagram: labels wrap inside a lane instead of widening it. */
export const SEQUENCE_LAYOUT = `%%{init: {"sequence": {"wrap": true, "width": ${LANE_WIDTH}, "actorMargin": ${LANE_MARGIN}}}}%%`

/**
 * Labels are short (details are in the numbered trace beside the diagram: every arrow carries the
 * number of its event there), and avoid characters that need an entity code: Mermaid measures a
 * label before decoding them (`#59;` counts as seven characters).
 */
export const LABEL_CHARS = 26
const DATA_CHARS = 12
/** The broken property's reason wraps in its lane, so it may be longer. */
const VIOLATION_CHARS = 72
const clip = (text: string, max = LABEL_CHARS) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`)

/**
 * A message's or claim's data, briefly: whole when short, else its first field when that is an
 * identifier (`s0` of `s0|pk=dev|…`), else nothing (a bare message name).
 */
export const briefData = (data: string | undefined): string | undefined => {
  if (data === undefined || data === "" || data.length <= DATA_CHARS) return data || undefined
  const head = data.split(/[;|:,=#@]/)[0]!
  return head.length < DATA_CHARS && /\d/.test(head) ? `${head}…` : undefined
}

/** `Name (a, b)`: the space lets a wrapped note break after the name rather than inside a word. */
const claim = (name: string, ...args: ReadonlyArray<string | undefined>) => {
  const given = args.filter((a): a is string => a !== undefined)
  return clip(given.length > 0 ? `${name} (${given.join(", ")})` : name)
}

const message = (label: string, data: string | undefined, at: number) => {
  const brief = briefData(data)
  return `${at + 1}. ${clip(brief === undefined ? label : `${label}(${brief})`)}`
}

/** A word longer than this (in characters as Mermaid measures them) is cut when a label wraps. */
const WRAPPABLE_WORD = 15
/** A label Mermaid must not wrap is clipped shorter instead. */
const NOWRAP_CHARS = 28

/**
 * Text after a sequence diagram's `:`. Only `#` and `;` end it there (and angle brackets would be
 * read as HTML), so only those become entity codes. Mermaid wraps a label before it decodes the
 * codes (each measures as its seven-character placeholder) and cuts a word too long for the lane
 * in pieces, code and all: so a `;` is followed by a space to keep words short, and a label that
 * still has a long word with a code is not wrapped but clipped.
 */
export const sequenceText = (text: string): string => {
  const plain = text.replace(/\s*[\r\n]+\s*/g, " ").replace(/;(?=\S)/g, "; ")
  const coded = /[#;<>]/g
  const escape = (t: string) => t.replace(coded, (c) => `#${c.charCodeAt(0)};`)
  const measured = (word: string) => word.length + 6 * (word.match(coded)?.length ?? 0)
  const unwrappable = plain.split(" ").some((word) => measured(word) > WRAPPABLE_WORD && word.match(coded) !== null)
  return unwrappable ? `nowrap:${escape(clip(plain, NOWRAP_CHARS))}` : escape(plain)
}

export interface SequenceOptions {
  /** Highlight this event as where the property broke. */
  readonly violation?: Violation
  /** Number the arrows with Mermaid's own counter (besides the event numbers in the labels). */
  readonly autonumber?: boolean
  readonly title?: string
}

/** One diagram of a trace drawn in parts: the events `from`–`to` (0-based, inclusive). */
export interface SequencePart {
  readonly from: number
  readonly to: number
  readonly diagram: string
}

/**
 * The trace as `sequenceDiagram`s of at most `MAX_LANES` lanes each, cut where the next event
 * needs a lane the current part has no room for; each part keeps the lanes' order of the whole.
 */
export const sequenceDiagrams = (trace: Trace, options: SequenceOptions = {}): ReadonlyArray<SequencePart> => {
  const tickOnly = new Set(trace.flatMap((e) => (e._tag === "Tick" ? [e.actor] : [])))
  for (const e of trace) if (e._tag !== "Tick") for (const a of lanesOf(e, new Set())) tickOnly.delete(a)
  const laneSet = new Set(trace.flatMap((e) => lanesOf(e, tickOnly)))
  // A trace of ticks alone still needs a lane to draw them on.
  const ticksOnLanes = laneSet.size === 0 ? new Set<string>() : tickOnly
  if (laneSet.size === 0) for (const a of tickOnly) laneSet.add(a)
  const order = lanesInOrder(trace, laneSet)

  const parts: Array<{ from: number; to: number; lanes: Set<string> }> = []
  trace.forEach((e, at) => {
    const needs = lanesOf(e, ticksOnLanes)
    const current = parts[parts.length - 1]
    if (current !== undefined && new Set([...current.lanes, ...needs]).size <= MAX_LANES) {
      needs.forEach((l) => current.lanes.add(l))
      current.to = at
    } else parts.push({ from: at, to: at, lanes: new Set(needs) })
  })
  return parts.map(({ from, to, lanes }) => ({
    from,
    to,
    // A trace with no lane at all (`FaultsEnd` alone) is drawn on the network's.
    diagram: drawPart(trace, from, to, lanes.size > 0 ? order.filter((l) => lanes.has(l)) : [NETWORK], ticksOnLanes, options)
  }))
}

/** Senders and receivers first, in order of appearance, then the rest; the network second, so honest parties stand on both sides of it. */
const lanesInOrder = (trace: Trace, lanes: ReadonlySet<string>): ReadonlyArray<string> => {
  const order: Array<string> = []
  for (const e of trace) if (e._tag === "Send") for (const a of actorsOf(e)) if (lanes.has(a) && !order.includes(a)) order.push(a)
  for (const e of trace) for (const a of actorsOf(e)) if (lanes.has(a) && !order.includes(a)) order.push(a)
  for (const a of lanes) if (!order.includes(a)) order.push(a)
  const honest = order.filter((a) => a !== NETWORK)
  return order.includes(NETWORK) && honest.length > 1 ? [honest[0]!, NETWORK, ...honest.slice(1)] : order
}

const drawPart = (
  trace: Trace,
  from: number,
  to: number,
  participants: ReadonlyArray<string>,
  tickOnly: ReadonlySet<string>,
  options: SequenceOptions
): string => {
  const id = (actor: string) => mermaidId(actor)
  const lines = [SEQUENCE_LAYOUT, "sequenceDiagram"]
  if (options.autonumber) lines.push("  autonumber")
  if (options.title) lines.push(`  title ${escapeLabel(options.title)}`)
  for (const p of participants) lines.push(`  participant ${id(p)} as ${escapeLabel(p === NETWORK ? `${NETWORK} (network)` : p)}`)
  const everyone = participants.length > 1 ? `${id(participants[0]!)},${id(participants[participants.length - 1]!)}` : id(participants[0]!)

  for (let at = from; at <= to; at++) {
    const e = trace[at]!
    const out: Array<string> = []
    const note = (over: string, text: string) => out.push(`  Note over ${over}: ${sequenceText(text)}`)
    switch (e._tag) {
      case "Send":
        out.push(`  ${id(e.from)}->>${id(NETWORK)}: ${sequenceText(`${message(e.label, e.data, at)} → ${clip(e.to, 10)}`)}`)
        break
      case "Deliver":
        out.push(`  ${id(NETWORK)}${e.how === "first" ? "->>" : "-->>"}${id(e.to)}: ${sequenceText(`${message(e.label, e.data, at)}${e.how === "first" ? "" : ` [${e.how}]`}`)}`)
        break
      case "Running":
        note(id(e.actor), claim("Running", e.peer, briefData(e.data)))
        break
      case "Commit":
        note(id(e.actor), claim("Commit", e.peer, briefData(e.data)))
        break
      case "Accept":
        note(id(e.actor), claim("Accept", briefData(e.data)))
        break
      case "Reject":
        note(id(e.actor), claim("Reject", e.reason))
        break
      case "Secret":
        note(id(e.actor), claim("Secret", briefData(e.name)))
        break
      case "Reveal":
        note(id(NETWORK), clip(`learns ${briefData(e.name) ?? "a secret"} (${e.via})`))
        break
      case "Signal":
        note(id(e.actor), claim("Signal", e.signal))
        break
      case "Crash":
        note(id(e.actor), "Crash → restart")
        break
      case "Tick":
        if (tickOnly.has(e.actor)) note(everyone, `${e.actor} ticks`)
        else note(id(e.actor), "Tick")
        break
      case "FaultsEnd":
        note(everyone, "faults end")
        break
    }
    if (options.violation?.at === at) {
      lines.push("  rect rgba(220, 38, 38, 0.15)", ...out.map((l) => `  ${l}`))
      const lanes = lanesOf(e, tickOnly)
      const where = lanes.length === 0 ? everyone : id(lanes[lanes.length - 1]!)
      lines.push(`    Note over ${where}: ${sequenceText(clip(`✗ ${options.violation.reason}`, VIOLATION_CHARS))}`, "  end")
    } else lines.push(...out)
  }
  return lines.join("\n")
}

// ---------------------------------------------------------------------------------------------
// State diagram of a machine

/** The few fields of an XState v5 StateNode the walk reads (see xstate's StateNode.d.ts). */
interface NodeLike {
  readonly key: string
  readonly id: string
  readonly path: ReadonlyArray<string>
  readonly type: "atomic" | "compound" | "parallel" | "final" | "history"
  readonly description?: string
  readonly meta?: unknown
  readonly states: Record<string, NodeLike>
  readonly initial?: { readonly target: ReadonlyArray<NodeLike> } | undefined
  readonly transitions: Map<string, ReadonlyArray<TransitionLike>>
  readonly always?: ReadonlyArray<TransitionLike> | undefined
}

interface TransitionLike {
  readonly eventType: string
  readonly target?: ReadonlyArray<NodeLike> | undefined
  readonly guard?: unknown
  readonly actions?: ReadonlyArray<unknown>
  readonly description?: string
}

/**
 * A guard as text: a named guard (`"fresh"` or `{ type: "fresh" }`), or XState's `and` / `or` /
 * `not` combinators (functions carrying their operands in `guards`), or an inline predicate.
 */
export const guardLabel = (guard: unknown): string => {
  if (typeof guard === "string") return guard
  if (typeof guard === "function") {
    const operands = (guard as { guards?: ReadonlyArray<unknown> }).guards
    if (Array.isArray(operands)) {
      const parts = operands.map(guardLabel)
      if (guard.name === "not") return parts.length === 1 ? `!${parts[0]}` : `!(${parts.join(" || ")})`
      const join = guard.name === "or" ? " || " : " && "
      return `(${parts.join(join)})`
    }
    return guard.name && guard.name !== "guard" ? `${guard.name}()` : "inline guard"
  }
  if (guard !== null && typeof guard === "object" && "type" in guard) return named(guard as { type: unknown; params?: unknown })
  return "guard"
}

/** `name`, or `name(value)` / `name(k=v, …)` for a parameterised guard or action. */
const named = ({ type, params }: { type: unknown; params?: unknown }): string => {
  if (params === null || typeof params !== "object") return String(type)
  const entries = Object.entries(params).filter(([, v]) => v === null || ["string", "number", "boolean"].includes(typeof v))
  const args = entries.length === 1 ? String(entries[0]![1]) : entries.map(([k, v]) => `${k}=${String(v)}`).join(", ")
  return `${String(type)}(${args})`
}

/**
 * The named actions of a transition, as UML writes them after a `/`. Inline functions and
 * XState's built-ins (`assign`, …) carry no name worth showing and are left out.
 */
export const actionLabels = (actions: ReadonlyArray<unknown> | undefined): ReadonlyArray<string> =>
  (actions ?? []).flatMap((a) => {
    if (typeof a === "string") return [a]
    if (a !== null && typeof a === "object" && "type" in a) {
      const type = String((a as { type: unknown }).type)
      return type.startsWith("xstate.") ? [] : [named(a as { type: unknown; params?: unknown })]
    }
    return []
  })

const transitionLabel = (t: TransitionLike): string => {
  const event = t.eventType === "" ? "always" : t.eventType
  return t.guard === undefined ? event : `${event} [${guardLabel(t.guard).replace(/^\((.*)\)$/, "$1")}]`
}

const withActions = (label: string, t: TransitionLike): string => {
  const actions = actionLabels(t.actions)
  return actions.length === 0 ? label : `${label} / ${actions.join(", ")}`
}

/** A state's spec reference, when its `meta` carries one (`{ spec: "§3.2" }`). */
const specOf = (meta: unknown): string | undefined => {
  if (meta === null || typeof meta !== "object") return undefined
  const spec = (meta as Record<string, unknown>).spec ?? (meta as Record<string, unknown>).section
  return typeof spec === "string" ? spec : undefined
}

export interface StateDiagramOptions {
  /** Add a note with each state's spec reference from `meta.spec` (default true). */
  readonly notes?: boolean
  /** Write each transition's named actions after a `/`, UML-style (default true). */
  readonly actions?: boolean
}

/**
 * A `stateDiagram-v2` of an XState v5 machine, generated from its state nodes. A state's Mermaid
 * id is its path (`awaitingGrant`, `waiting_retry`), so top-level states read as their keys and
 * nested ones stay unique; a nested or renamed state gets its key back as a label.
 */
export const stateDiagram = (machine: AnyStateMachine, options: StateDiagramOptions = {}): string => {
  const root = machine.root as unknown as NodeLike
  const lines = ["stateDiagram-v2"]
  const sid = (node: NodeLike) => (node === root ? "root_" : mermaidId(node.path.join("_")))
  const notes = options.notes ?? true
  const actions = options.actions ?? true
  let fromAnywhere = false

  const walk = (node: NodeLike, indent: string): void => {
    const children = Object.values(node.states)
    const initial = node.initial?.target[0]
    if (node.type === "parallel") {
      children.forEach((child, i) => {
        if (i > 0) lines.push(`${indent}--`)
        declare(child, indent)
      })
    } else {
      if (initial !== undefined) lines.push(`${indent}[*] --> ${sid(initial)}`)
      for (const child of children) declare(child, indent)
    }
    for (const child of children) edges(child, indent)
    // Notes last: Mermaid (11) fails to lay out a note on a state its edges have not drawn yet.
    for (const child of children) {
      const spec = specOf(child.meta)
      if (notes && spec) lines.push(`${indent}note right of ${sid(child)} : ${escapeLabel(spec)}`)
    }
  }

  const declare = (node: NodeLike, indent: string): void => {
    const id = sid(node)
    if (Object.keys(node.states).length > 0) {
      lines.push(`${indent}state ${id} {`)
      walk(node, `${indent}  `)
      lines.push(`${indent}}`)
    } else if (id !== node.key) lines.push(`${indent}state "${escapeLabel(node.key)}" as ${id}`)
  }

  const edges = (node: NodeLike, indent: string): void => {
    if (node.type === "final") lines.push(`${indent}${sid(node)} --> [*]`)
    for (const candidates of [...node.transitions.values(), node.always ?? []]) {
      candidates.forEach((t, i) => {
        // XState takes the first candidate whose guard passes: an unguarded later one is the "else".
        const label = t.guard === undefined && candidates.slice(0, i).some((c) => c.guard !== undefined) ? `${transitionLabel(t)} [else]` : transitionLabel(t)
        // A transition without a target stays in the state (actions only, or a refused input).
        const targets = t.target && t.target.length > 0 ? t.target : [node]
        for (const target of targets) lines.push(`${indent}${sid(node)} --> ${sid(target)} : ${escapeLabel(actions ? withActions(label, t) : label)}`)
      })
    }
  }

  walk(root, "  ")
  // Transitions on the root apply in every state: drawn from one pseudo-state, not from each.
  for (const t of [...root.transitions.values()].flat()) {
    if (!fromAnywhere) lines.push(`  state "(any state)" as any_state_`)
    fromAnywhere = true
    for (const target of t.target ?? []) lines.push(`  any_state_ --> ${sid(target)} : ${escapeLabel(actions ? withActions(transitionLabel(t), t) : transitionLabel(t))}`)
  }
  return lines.join("\n")
}

/** Each state's path, description and spec reference, for a table next to the diagram. */
export const stateRows = (machine: AnyStateMachine): ReadonlyArray<{ readonly state: string; readonly description?: string; readonly spec?: string }> => {
  const rows: Array<{ state: string; description?: string; spec?: string }> = []
  const visit = (node: NodeLike) => {
    for (const child of Object.values(node.states)) {
      const spec = specOf(child.meta)
      rows.push({ state: child.path.join("."), ...(child.description ? { description: child.description } : {}), ...(spec ? { spec } : {}) })
      visit(child)
    }
  }
  visit(machine.root as unknown as NodeLike)
  return rows
}
