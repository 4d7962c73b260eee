/**
 * P2a participant state behind a `Store` (impl/store.ts: one atomic read-check-write per input; in
 * memory here, the server's also in SQLite: ./store-sqlite.ts). Sessions are volatile in the
 * worlds: a crash-restart of the SE or the server starts an empty session store (the static keys
 * and certificates are fixed at enrolment). A server over SQLite keeps its channels across a
 * restart instead, which only makes it remember more (a replayed SeOpen stays a duplicate).
 */
import { Context, Layer } from "effect"
import { fingerprint as storeFingerprint, inMemoryStore, type Store } from "../store.ts"
import type { ChannelKeys } from "./keys.ts"

export { inMemoryStore, type Store }

export interface SeSession {
  readonly channel: Uint8Array
  /** What the SE checked: the certificate's subject and key, and the identity data's origin. */
  readonly subject: string
  readonly serverKey: Uint8Array
  readonly origin: string
  readonly ephemeralSecret: Uint8Array
  readonly ephemeral: Uint8Array
  readonly status: "pending" | "open"
  readonly serverEphemeral?: Uint8Array
  readonly keys?: ChannelKeys
  /** Records sent and accepted on this channel. */
  readonly sent: number
  readonly received: number
}

export interface ServerSession {
  readonly channel: Uint8Array
  readonly seId: string
  readonly seEphemeral: Uint8Array
  readonly ephemeral: Uint8Array
  readonly keys: ChannelKeys
  readonly status: "pending" | "open"
  readonly sent: number
  readonly received: number
}

export interface ChannelState<S> {
  /** By channel id (hex). */
  readonly sessions: ReadonlyMap<string, S>
  /** The channel opened last: where the user's next record goes. */
  readonly latest?: string
}

export type SeState = ChannelState<SeSession>
export type ServerState = ChannelState<ServerSession>

export const emptyChannels = <S>(): ChannelState<S> => ({ sessions: new Map() })

/** `state` with `session` stored under its channel id, and made the latest channel if `latest`. */
export const putSession = <S extends { readonly channel: Uint8Array }>(state: ChannelState<S>, session: S, latest: boolean): ChannelState<S> => ({
  sessions: new Map([...state.sessions, [hex(session.channel), session]]),
  ...(latest ? { latest: hex(session.channel) } : state.latest === undefined ? {} : { latest: state.latest })
})

/** The server's store as a service (`authlab serve`, the crash test); the SQLite layer is `layerSqlite` of ./store-sqlite.ts. */
export class ServerStoreService extends Context.Tag("authlab/se-channel/ServerStore")<ServerStoreService, Store<ServerState>>() {
  static readonly layerInMemory: Layer.Layer<ServerStoreService> = Layer.effect(ServerStoreService, inMemoryStore(emptyChannels<ServerSession>()))
}

/** A comparable rendering, for "a refusal changed nothing" checks. */
export const fingerprint = (state: SeState | ServerState): string => storeFingerprint(state)

export const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex")
