/**
 * P2b server state behind a `Store` (impl/store.ts: one atomic read-check-write per input; in memory
 * here, in SQLite in ./store-sqlite.ts): every open session and the tokens released. All of it is
 * durable: a crashed server restarts with its sessions, their pending OPAQUE challenges and their
 * counts.
 */
import { Context, Layer } from "effect"
import type { LoginState } from "./opaque.ts"
import { fingerprint as storeFingerprint, inMemoryStore, type Store } from "../store.ts"

export { inMemoryStore, type Store }

export interface SessionRecord {
  readonly username: string
  /** The connection that opened the session (what the TLS layer names; the attacker cannot forge it). */
  readonly opener: string
  /** `hardened`: the key the opening Device sent; empty in `claimed`. */
  readonly deviceKey: Uint8Array
  readonly openedAt: number
  /** `hardened`: the OPAQUE server state of the one login attempt this SID allows. */
  readonly challenge?: { readonly state: LoginState; readonly fingerprint: Uint8Array }
  readonly logins: number
  readonly releases: number
}

export interface ServerState {
  /** By SID (hex). */
  readonly sessions: ReadonlyMap<string, SessionRecord>
  /** Released session tokens, by the hex of their SHA-256 (`tokenDigest`) → the username and SID they log in. */
  readonly tokens: ReadonlyMap<string, { readonly username: string; readonly sid: string }>
}

export type ServerStore = Store<ServerState>

export const emptyServer: ServerState = { sessions: new Map(), tokens: new Map() }

/** The server's store as a service (`authlab serve`, the crash test); the SQLite layer is `layerSqlite` of ./store-sqlite.ts. */
export class ServerStoreService extends Context.Tag("authlab/split-login/ServerStore")<ServerStoreService, ServerStore>() {
  static readonly layerInMemory: Layer.Layer<ServerStoreService> = Layer.effect(ServerStoreService, inMemoryStore(emptyServer))
}

/** A comparable rendering, for "a refusal changed nothing" checks. */
export const fingerprint = (state: ServerState): string => storeFingerprint(state)
