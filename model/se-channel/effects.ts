/**
 * What the P2a machines ask the system to do (model/se-channel/system.ts interprets them): put a
 * message on the wire, refuse an input, or state a trace fact. A fact may name a channel key term;
 * the system names it (`K1…`, spec/se-channel/properties.ts) and appends it to the data as `k=…`,
 * and after a `Commit` or a `hold` states `Secret(actor, K)`.
 */
import type { KeyTerm, SymMessage } from "./terms.ts"

export type Effect =
  | { readonly type: "send"; readonly params: { readonly to: string; readonly message: SymMessage } }
  | { readonly type: "reject"; readonly params: { readonly reason: string } }
  | {
      readonly type: "fact"
      readonly params: { readonly kind: "Running" | "Commit" | "Accept"; readonly peer?: string; readonly data: string; readonly key?: KeyTerm; readonly named?: boolean }
    }
  | { readonly type: "hold"; readonly params: { readonly key: KeyTerm } }

export const send = (to: string, message: SymMessage): never => ({ type: "send", params: { to, message } }) as never
export const reject = (reason: string): never => ({ type: "reject", params: { reason } }) as never
/** A fact; with `key`, the key's name is appended to the data when `named` (default), and a Commit is followed by its Secret. */
export const fact = (kind: "Running" | "Commit" | "Accept", data: string, options: { readonly peer?: string; readonly key?: KeyTerm; readonly named?: boolean } = {}): never =>
  ({ type: "fact", params: { kind, data, ...options } }) as never
export const hold = (key: KeyTerm): never => ({ type: "hold", params: { key } }) as never

/** The action implementations are the system's: machines only enqueue them. */
export const effectActions = {
  send: (_: unknown, _params: unknown) => {},
  reject: (_: unknown, _params: unknown) => {},
  fact: (_: unknown, _params: unknown) => {},
  hold: (_: unknown, _params: unknown) => {}
}
