/**
 * Protocol traces: the common language of the model and the implementation.
 *
 * A trace is the sequence of action facts a run produced, in the style of Tamarin / Verifpal
 * (Running, Commit, Secret, Reveal, …) plus the network and fault events of our attacker. A
 * security property (see `property.ts`) is a predicate over a trace, so the same predicate
 * judges a path of the symbolic model and a fast-check run of the real implementation.
 *
 * Data in events is symbolic on both sides: request ids, key names (`k2`) and reasons, never
 * key bytes. The implementation's harness maps bytes to these names; secrets stay out.
 */

/** A participant's role name, e.g. `client`, `server`, `attacker`. */
export type Actor = string

export type TraceEvent =
  /** A participant put message `ref` (its index in the network log) on the wire. */
  | {
      readonly _tag: "Send"
      readonly from: Actor
      readonly to: Actor
      readonly ref: number
      readonly label: string
      /** The run this message belongs to, when it carries one (a request id like `req2@k1`). */
      readonly data?: string
    }
  /** Message `ref` was delivered to `to` (maybe a replay, maybe redirected, maybe injected). */
  | {
      readonly _tag: "Deliver"
      readonly to: Actor
      readonly ref: number
      readonly label: string
      readonly how: DeliveryKind
      readonly data?: string
    }
  /** `actor` starts a run with `peer` about `data` (agreement claim, sender side). */
  | { readonly _tag: "Running"; readonly actor: Actor; readonly peer: Actor; readonly data: string }
  /** `actor` completes a run with `peer` about `data` (agreement claim, receiver side). */
  | { readonly _tag: "Commit"; readonly actor: Actor; readonly peer: Actor; readonly data: string }
  /** `actor` accepted an input; `data` names what it accepted (e.g. `req3@k2`). */
  | { readonly _tag: "Accept"; readonly actor: Actor; readonly data: string }
  /** `actor` refused an input, with the error's reason code. */
  | { readonly _tag: "Reject"; readonly actor: Actor; readonly reason: string }
  /** `actor` holds the secret named `name` (claim: the attacker never learns it). */
  | { readonly _tag: "Secret"; readonly actor: Actor; readonly name: string }
  /** The attacker learned the secret named `name` (from the wire or a compromise). */
  | { readonly _tag: "Reveal"; readonly name: string; readonly via: "wire" | "compromise" }
  /** `actor` raised a security signal (e.g. `clone-suspected`). */
  | { readonly _tag: "Signal"; readonly actor: Actor; readonly signal: string }
  /** `actor` crashed and restarted from its durable state. */
  | { readonly _tag: "Crash"; readonly actor: Actor }
  /** Time advanced (a timeout fired for `actor`, or a clock step). */
  | { readonly _tag: "Tick"; readonly actor: Actor }
  /** The attacker stops interfering: from here on every message is delivered once, in order. */
  | { readonly _tag: "FaultsEnd" }

export type DeliveryKind = "first" | "replay" | "injected"

export type Trace = ReadonlyArray<TraceEvent>

/** Narrow a trace to one event kind, keeping each event's index in the trace. */
export const eventsOf = <T extends TraceEvent["_tag"]>(
  trace: Trace,
  tag: T
): ReadonlyArray<{ readonly at: number; readonly event: Extract<TraceEvent, { _tag: T }> }> =>
  trace.flatMap((event, at) => (event._tag === tag ? [{ at, event: event as Extract<TraceEvent, { _tag: T }> }] : []))

/**
 * The network references of the messages `events` put on the wire to or from `actor`, in order:
 * what an honest exchange delivers next. (A message identical to one already on the wire keeps
 * its first reference, so following the `Send` events, not the end of the network, is what
 * finds them.)
 */
export const sentTo = (events: Trace, actor: Actor): Array<number> =>
  events.flatMap((e) => (e._tag === "Send" && (e.from === actor || e.to === actor) ? [e.ref] : []))

/** One line per event, for counterexamples and logs. */
export const formatEvent = (e: TraceEvent): string => {
  switch (e._tag) {
    case "Send":
      return `${e.from} → ${e.to}: ${e.label}${e.data ? `(${e.data})` : ""} #${e.ref}`
    case "Deliver":
      return `deliver #${e.ref} ${e.label}${e.data ? `(${e.data})` : ""} to ${e.to}${e.how === "first" ? "" : ` [${e.how}]`}`
    case "Running":
      return `Running(${e.actor}, ${e.peer}, ${e.data})`
    case "Commit":
      return `Commit(${e.actor}, ${e.peer}, ${e.data})`
    case "Accept":
      return `Accept(${e.actor}, ${e.data})`
    case "Reject":
      return `Reject(${e.actor}, ${e.reason})`
    case "Secret":
      return `Secret(${e.actor}, ${e.name})`
    case "Reveal":
      return `Reveal(${e.name}) via ${e.via}`
    case "Signal":
      return `Signal(${e.actor}, ${e.signal})`
    case "Crash":
      return `Crash(${e.actor})`
    case "Tick":
      return `Tick(${e.actor})`
    case "FaultsEnd":
      return "FaultsEnd"
  }
}
