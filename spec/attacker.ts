/**
 * The attacker's moves and the faults, as one vocabulary shared by the model's explorer and the
 * implementation's harness: a schedule of moves is a scenario both worlds can run, which is what
 * makes step-by-step conformance and exact replay possible. See each protocol's SECURITY.md for
 * which moves its attacker has.
 */
import type { Actor } from "./trace.ts"

export type Move =
  /** A user action of an honest participant (e.g. the device starts a login). */
  | { readonly _tag: "User"; readonly actor: Actor; readonly action: string }
  /** The same user action run to completion with every message delivered once, in order. */
  | { readonly _tag: "Honest"; readonly actor: Actor; readonly action: string }
  /** Deliver network message `ref` (first time, or again: a replay); `to` redirects it. */
  | { readonly _tag: "Deliver"; readonly ref: number; readonly to?: Actor }
  /** Crash-restart `actor`: volatile state is lost, durable storage survives. */
  | { readonly _tag: "Crash"; readonly actor: Actor }
  /** `actor`'s timer fires (it gives up waiting for a reply). */
  | { readonly _tag: "Timeout"; readonly actor: Actor }
  /** The attacker copies `actor`'s durable storage and runs it as `into` (a clone). */
  | { readonly _tag: "Compromise"; readonly actor: Actor; readonly into: Actor }
  /** The attacker sends `to` a message it built itself; `forge` names the recipe (protocol-specific). */
  | { readonly _tag: "Inject"; readonly to: Actor; readonly forge: string }

export const formatMove = (m: Move): string => {
  switch (m._tag) {
    case "User":
      return `${m.actor}: ${m.action}`
    case "Honest":
      return `${m.actor}: ${m.action} (whole exchange, no interference)`
    case "Deliver":
      return `attacker delivers message #${m.ref}${m.to === undefined ? "" : ` to ${m.to}`}`
    case "Crash":
      return `${m.actor} crashes and restarts`
    case "Timeout":
      return `${m.actor} times out`
    case "Compromise":
      return `attacker copies ${m.actor}'s storage into ${m.into}`
    case "Inject":
      return `attacker injects ${m.forge} to ${m.to}`
  }
}

/** Compact, parseable form (`D3>clone`, `U:client:login`, `C:server`, …) for replay paths. */
export const encodeMove = (m: Move): string => {
  switch (m._tag) {
    case "User":
      return `U:${m.actor}:${m.action}`
    case "Honest":
      return `H:${m.actor}:${m.action}`
    case "Deliver":
      return `D${m.ref}${m.to === undefined ? "" : `>${m.to}`}`
    case "Crash":
      return `C:${m.actor}`
    case "Timeout":
      return `T:${m.actor}`
    case "Compromise":
      return `X:${m.actor}>${m.into}`
    case "Inject":
      return `I:${m.to}:${m.forge}`
  }
}

export const decodeMove = (s: string): Move | undefined => {
  let m: RegExpExecArray | null
  if ((m = /^U:([\w-]+):([\w-]+)$/.exec(s))) return { _tag: "User", actor: m[1]!, action: m[2]! }
  if ((m = /^H:([\w-]+):([\w-]+)$/.exec(s))) return { _tag: "Honest", actor: m[1]!, action: m[2]! }
  if ((m = /^D(\d+)(?:>([\w-]+))?$/.exec(s))) return m[2] === undefined ? { _tag: "Deliver", ref: Number(m[1]) } : { _tag: "Deliver", ref: Number(m[1]), to: m[2] }
  if ((m = /^C:([\w-]+)$/.exec(s))) return { _tag: "Crash", actor: m[1]! }
  if ((m = /^T:([\w-]+)$/.exec(s))) return { _tag: "Timeout", actor: m[1]! }
  if ((m = /^X:([\w-]+)>([\w-]+)$/.exec(s))) return { _tag: "Compromise", actor: m[1]!, into: m[2]! }
  if ((m = /^I:([\w-]+):([\w:-]+)$/.exec(s))) return { _tag: "Inject", to: m[1]!, forge: m[2]! }
  return undefined
}
