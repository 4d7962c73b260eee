/**
 * Mermaid diagrams generated from the artefacts themselves, never drawn by hand:
 * - `sequenceDiagram` of a protocol trace (a counterexample, or the honest run): `Send` is an
 *   arrow from the sender to the network, `Deliver` one from the network to the receiver (the
 *   network is the attacker, Dolev–Yao); replays and injections are dashed; claims, verdicts,
 *   signals, crashes and ticks are notes; the violating event is highlighted.
 * - `stateDiagram-v2` of a participant machine, walked from the XState v5 `machine.root` state
 *   nodes: initial and final states, nested states, each transition labelled `event [guard]`.
 *
 * Labels go through `escapeLabel`: Mermaid splits statements on `;`, reads `:` as the label
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
 * Labels are kept short so a diagram of five participants fits a 980 px column (Mermaid widens a
 * lane to its longest label): the full data of every event is in the numbered trace beside it.
 */
const LABEL_CHARS = 28
const clip = (text: string, max = LABEL_CHARS) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`)

const message = (label: string, data: string | undefined, ref: number) => `#${ref} ${clip(`${label}${data ? `(${data})` : ""}`)}`

export interface SequenceOptions {
  /** Highlight this event as where the property broke. */
  readonly violation?: Violation
  /** Number the events as in the numbered list next to the diagram. */
  readonly autonumber?: boolean
  readonly title?: string
}

/** A `sequenceDiagram` of a trace; participants are the trace's actors in order of appearance. */
export const sequenceDiagram = (trace: Trace, options: SequenceOptions = {}): string => {
  // Senders and receivers first, in order of appearance, so the diagram reads left to right.
  const order: Array<string> = []
  for (const e of trace) if (e._tag === "Send") for (const a of actorsOf(e)) if (!order.includes(a)) order.push(a)
  for (const e of trace) for (const a of actorsOf(e)) if (!order.includes(a)) order.push(a)
  // Keep the network in the middle when there is one: honest parties on both sides of it.
  const participants = order.includes(NETWORK) && order.length > 2 ? [order.filter((a) => a !== NETWORK)[0]!, NETWORK, ...order.filter((a) => a !== NETWORK).slice(1)] : order
  const id = (actor: string) => mermaidId(actor)
  const lines = ["sequenceDiagram"]
  if (options.title) lines.push(`  title ${escapeLabel(options.title)}`)
  for (const p of participants) lines.push(`  participant ${id(p)} as ${escapeLabel(p === NETWORK ? `${NETWORK} (network)` : p)}`)
  const everyone = participants.length > 1 ? `${id(participants[0]!)},${id(participants[participants.length - 1]!)}` : participants[0] ? id(participants[0]) : undefined

  trace.forEach((e, at) => {
    const out: Array<string> = []
    const note = (actor: string, text: string) => out.push(`  Note over ${id(actor)}: ${escapeLabel(text)}`)
    switch (e._tag) {
      case "Send":
        out.push(`  ${id(e.from)}->>${id(NETWORK)}: ${escapeLabel(`${message(e.label, e.data, e.ref)} → ${clip(e.to, 12)}`)}`)
        break
      case "Deliver":
        out.push(`  ${id(NETWORK)}${e.how === "first" ? "->>" : "-->>"}${id(e.to)}: ${escapeLabel(`${message(e.label, e.data, e.ref)}${e.how === "first" ? "" : ` [${e.how}]`}`)}`)
        break
      case "Running":
        note(e.actor, clip(`Running(${e.peer}, ${e.data})`))
        break
      case "Commit":
        note(e.actor, clip(`Commit(${e.peer}, ${e.data})`))
        break
      case "Accept":
        note(e.actor, clip(`Accept(${e.data})`))
        break
      case "Reject":
        note(e.actor, clip(`Reject(${e.reason})`))
        break
      case "Secret":
        note(e.actor, `Secret(${e.name})`)
        break
      case "Reveal":
        note(NETWORK, `learns ${e.name} via ${e.via}`)
        break
      case "Signal":
        note(e.actor, clip(`Signal(${e.signal})`))
        break
      case "Crash":
        note(e.actor, "Crash → restart")
        break
      case "Tick":
        note(e.actor, "Tick")
        break
      case "FaultsEnd":
        if (everyone) out.push(`  Note over ${everyone}: ${escapeLabel("faults end")}`)
        break
    }
    if (options.violation?.at === at) {
      lines.push("  rect rgba(220, 38, 38, 0.15)", ...out.map((l) => `  ${l}`))
      const where = e._tag === "FaultsEnd" || e._tag === "Reveal" || e._tag === "Deliver" || e._tag === "Send" ? NETWORK : e.actor
      lines.push(`    Note over ${id(where)}: ${escapeLabel(clip(`✗ ${options.violation.reason}`, 48))}`, "  end")
    } else lines.push(...out)
  })
  if (options.autonumber) lines.splice(1, 0, "  autonumber")
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
