/**
 * P5 rolling-key: the durable state of each participant (spec/rolling-key/SPEC.md §Participants,
 * design §Participants), behind store interfaces, with in-memory implementations.
 *
 * The client keeps one record (device id, current key and its epoch, username); the server keeps
 * one record per device with at most three keys — current, previous, retired — and the single
 * outstanding challenge. Everything a participant holds outside its store is volatile: a crash is
 * modelled by discarding the participant and building a new one over the same store.
 *
 * The in-memory stores copy every byte array on the way in and on the way out, so a record saved
 * by one participant can never be changed through a reference another one (or the harness) holds,
 * and "the clone gets a COPY of the device's record" means what it says.
 */
import { Context, Effect, Layer, Option, Redacted } from "effect"

/** A key and the number of rolls since registration that produced it. */
export interface StoredKey {
  readonly key: Redacted.Redacted<Uint8Array>
  readonly epoch: number
}

/** What the device keeps across restarts. */
export interface ClientRecord {
  readonly deviceId: Uint8Array
  readonly key: Redacted.Redacted<Uint8Array>
  readonly epoch: number
  readonly username: string
}

export interface ClientStore {
  readonly load: Effect.Effect<Option.Option<ClientRecord>>
  readonly save: (record: ClientRecord) => Effect.Effect<void>
  readonly clear: Effect.Effect<void>
}

/** A challenge the server issued and no request has been checked against yet, with the attempt's client nonce. */
export interface OutstandingChallenge {
  readonly challenge: Uint8Array
  readonly clientNonce: Uint8Array
}

/** What the server keeps per device. Old keys beyond `retired` are erased, never archived. */
export interface ServerDeviceRecord {
  readonly deviceId: Uint8Array
  readonly username: string
  readonly current: StoredKey
  readonly previous: Option.Option<StoredKey>
  readonly retired: Option.Option<StoredKey>
  /** The one outstanding challenge (`server-challenge` input); a new one replaces it. */
  readonly challenge: Option.Option<OutstandingChallenge>
}

export interface ServerStore {
  readonly get: (deviceId: Uint8Array) => Effect.Effect<Option.Option<ServerDeviceRecord>>
  readonly put: (record: ServerDeviceRecord) => Effect.Effect<void>
  readonly all: Effect.Effect<ReadonlyArray<ServerDeviceRecord>>
}

/**
 * A copy of the bytes the store keeps or hands out, so no caller shares an array with it
 * (`new Uint8Array(view)` copies, a Buffer's included; a third of `Uint8Array.from`'s cost).
 */
const copyBytes = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes)

export const toHex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")

export const copyClientRecord = (r: ClientRecord): ClientRecord => ({
  deviceId: copyBytes(r.deviceId),
  key: Redacted.make(copyBytes(Redacted.value(r.key))),
  epoch: r.epoch,
  username: r.username
})

/** An independent client store; `initial` (e.g. a copy of the device's record, for a clone) is copied. */
export const makeInMemoryClientStore = (initial?: ClientRecord): ClientStore => {
  let record: Option.Option<ClientRecord> = initial === undefined ? Option.none() : Option.some(copyClientRecord(initial))
  return {
    load: Effect.sync(() => Option.map(record, copyClientRecord)),
    save: (r) => Effect.sync(() => void (record = Option.some(copyClientRecord(r)))),
    clear: Effect.sync(() => void (record = Option.none()))
  }
}

/**
 * A server record as the in-memory store keeps it: copies of the bytes, keys unwrapped (wrapping
 * each key in a fresh `Redacted` on the way in as well as out cost a sixth of the store's share of
 * a P5 authentication; only what leaves the store needs the wrapper).
 */
interface HeldRecord {
  readonly deviceId: Uint8Array
  readonly username: string
  readonly keys: ReadonlyArray<{ readonly key: Uint8Array; readonly epoch: number } | null>
  readonly challenge: OutstandingChallenge | null
}

const heldKey = (k: StoredKey) => ({ key: copyBytes(Redacted.value(k.key)), epoch: k.epoch })
const storedKey = (k: { readonly key: Uint8Array; readonly epoch: number }): StoredKey => ({ key: Redacted.make(copyBytes(k.key)), epoch: k.epoch })

const hold = (r: ServerDeviceRecord): HeldRecord => ({
  deviceId: copyBytes(r.deviceId),
  username: r.username,
  keys: [heldKey(r.current), Option.isSome(r.previous) ? heldKey(r.previous.value) : null, Option.isSome(r.retired) ? heldKey(r.retired.value) : null],
  challenge: Option.isSome(r.challenge) ? { challenge: copyBytes(r.challenge.value.challenge), clientNonce: copyBytes(r.challenge.value.clientNonce) } : null
})

const release = (h: HeldRecord): ServerDeviceRecord => {
  const [current, previous, retired] = h.keys
  return {
    deviceId: copyBytes(h.deviceId),
    username: h.username,
    current: storedKey(current!),
    previous: previous == null ? Option.none() : Option.some(storedKey(previous)),
    retired: retired == null ? Option.none() : Option.some(storedKey(retired)),
    challenge: h.challenge === null ? Option.none() : Option.some({ challenge: copyBytes(h.challenge.challenge), clientNonce: copyBytes(h.challenge.clientNonce) })
  }
}

/** An independent, empty server store. Records come back in the order devices were first stored. */
export const makeInMemoryServerStore = (): ServerStore => {
  const records = new Map<string, HeldRecord>()
  return {
    get: (deviceId) =>
      Effect.sync(() => {
        const held = records.get(toHex(deviceId))
        return held === undefined ? Option.none() : Option.some(release(held))
      }),
    // Replacing the whole record drops the references to keys older than `retired`; a durable
    // backend must overwrite them in place (the forward-secrecy claim of SECURITY.md rests on it).
    put: (r) => Effect.sync(() => void records.set(toHex(r.deviceId), hold(r))),
    all: Effect.sync(() => Array.from(records.values(), release))
  }
}

/** A client store's content as plain hex, for "state unchanged" checks. Holds key bytes: never log it. */
export interface ClientSnapshot {
  readonly deviceId: string
  readonly key: string
  readonly epoch: number
  readonly username: string
}

export const snapshotClientStore = (store: ClientStore): Effect.Effect<ClientSnapshot | null> =>
  Effect.map(store.load, (r) =>
    Option.match(r, {
      onNone: () => null,
      onSome: (x) => ({ deviceId: toHex(x.deviceId), key: toHex(Redacted.value(x.key)), epoch: x.epoch, username: x.username })
    })
  )

export interface StoredKeySnapshot {
  readonly key: string
  readonly epoch: number
}

export interface ServerRecordSnapshot {
  readonly deviceId: string
  readonly username: string
  readonly current: StoredKeySnapshot
  readonly previous: StoredKeySnapshot | null
  readonly retired: StoredKeySnapshot | null
  readonly challenge: string | null
}

const snapshotKey = (k: StoredKey): StoredKeySnapshot => ({ key: toHex(Redacted.value(k.key)), epoch: k.epoch })

/** Every device record as plain hex, sorted by device id. Holds key bytes: never log it. */
export const snapshotServerStore = (store: ServerStore): Effect.Effect<ReadonlyArray<ServerRecordSnapshot>> =>
  Effect.map(store.all, (records) =>
    records
      .map((r) => ({
        deviceId: toHex(r.deviceId),
        username: r.username,
        current: snapshotKey(r.current),
        previous: Option.getOrNull(Option.map(r.previous, snapshotKey)),
        retired: Option.getOrNull(Option.map(r.retired, snapshotKey)),
        challenge: Option.getOrNull(Option.map(r.challenge, (c) => `${toHex(c.clientNonce)}:${toHex(c.challenge)}`))
      }))
      .sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0))
  )

/** The device's store as a service, for the single-client case. */
export class ClientStoreService extends Context.Tag("authlab/rolling-key/ClientStore")<ClientStoreService, ClientStore>() {
  static readonly layerInMemory = (initial?: ClientRecord): Layer.Layer<ClientStoreService> =>
    Layer.sync(ClientStoreService, () => makeInMemoryClientStore(initial))
}

/** The server's store as a service. */
export class ServerStoreService extends Context.Tag("authlab/rolling-key/ServerStore")<ServerStoreService, ServerStore>() {
  static readonly layerInMemory: Layer.Layer<ServerStoreService> = Layer.sync(ServerStoreService, makeInMemoryServerStore)
}
