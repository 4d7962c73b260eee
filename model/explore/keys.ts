/**
 * Cheap state keys for the explorer: every distinct value gets a small integer id, computed once.
 *
 * A system state is mostly made of parts shared with its predecessor (participant snapshots,
 * network messages, terms): a step replaces one or two of them. Keying a state by the JSON of all
 * of it cost most of the explorer's time and memory (a few KB per state, kept in the seen-set).
 * Here each immutable part is turned into an id once — remembered per object, so a part shared by
 * many states is serialised once — and a state's key is the short list of its parts' ids.
 *
 * Sound because the ids are an injective function of the content: two parts get the same id iff
 * their canonical JSON is equal (the interning table is exact, not a hash), and the parts are
 * never mutated (the machines and systems build new objects; XState snapshots are immutable).
 */

/**
 * One table of ids and everything keyed by them (./transition.ts keeps its memo here too). The
 * explorer starts a new one per exploration, so an audit that explores many systems in one
 * thread does not keep every state it ever met; nothing holds an id across explorations.
 */
interface KeySpace {
  readonly ids: Map<string, number>
  readonly byObject: WeakMap<object, number>
  readonly bySnapshot: WeakMap<object, number>
  readonly memos: MemoTree
}

/** Memo tables by a chain of owner objects (`memoOf(a, b)` is a's table for b). */
type MemoTree = WeakMap<object, { memo?: Map<string, unknown>; readonly within: MemoTree }>

const emptySpace = (): KeySpace => ({ ids: new Map(), byObject: new WeakMap(), bySnapshot: new WeakMap(), memos: new WeakMap() })

let space = emptySpace()

/** Forget every id and memo (the explorer calls it before each exploration). */
export const newKeySpace = (): void => {
  space = emptySpace()
}

/**
 * The memo table of `owner` (e.g. a machine), or of a chain of owners (a system's machines and
 * its policy), in the current key space. A memo keyed by ids must live here: the ids of one
 * exploration mean other parts in the next.
 */
export const memoOf = <V>(owner: object, ...within: ReadonlyArray<object>): Map<string, V> => {
  let tree = space.memos
  let node: { memo?: Map<string, unknown>; readonly within: MemoTree } | undefined
  for (const o of [owner, ...within]) {
    node = tree.get(o)
    if (node === undefined) tree.set(o, (node = { within: new WeakMap() }))
    tree = node.within
  }
  return (node!.memo ??= new Map()) as Map<string, V>
}

/** The id of a string: equal strings, equal ids; a new string gets the next id. */
export const intern = (text: string): number => {
  let id = space.ids.get(text)
  if (id === undefined) {
    id = space.ids.size
    space.ids.set(text, id)
  }
  return id
}

/**
 * The id of an immutable value by its JSON content, remembered per object: for parts shared
 * between states (a message body, a list kept as is). A tuple built afresh for one key is
 * cheaper as `intern(JSON.stringify(tuple))`.
 */
export const termId = (value: unknown): number => {
  if (value === null || typeof value !== "object") return intern(JSON.stringify(value) ?? "undefined")
  let id = space.byObject.get(value)
  if (id === undefined) {
    id = intern(JSON.stringify(value))
    space.byObject.set(value, id)
  }
  return id
}

/**
 * JSON drops functions; a context that holds one (a schedule, a strategy) must not collide with a
 * context holding another, so each function is written as its own number.
 */
const functionIds = new WeakMap<object, number>()
const functionsByIdentity = (_key: string, value: unknown): unknown => {
  if (typeof value !== "function") return value
  let id = functionIds.get(value)
  if (id === undefined) {
    id = nextFunctionId++
    functionIds.set(value, id)
  }
  return `ƒ${id}`
}
let nextFunctionId = 0

/** What an XState snapshot of our machines is made of (no children: the machines invoke nothing). */
interface SnapshotLike {
  readonly value: unknown
  readonly context: unknown
  readonly status: string
  readonly historyValue?: unknown
}

/**
 * The id of a participant snapshot: its state value, context, status and history. The context's
 * policy is constant within one exploration and is part of the id like the rest; two snapshots of
 * different machines (a mutant) never meet in one exploration.
 */
export const snapshotId = (snapshot: SnapshotLike): number => {
  let id = space.bySnapshot.get(snapshot)
  if (id === undefined) {
    id = intern(JSON.stringify([snapshot.value, snapshot.context, snapshot.status, snapshot.historyValue ?? null], functionsByIdentity))
    space.bySnapshot.set(snapshot, id)
  }
  return id
}

/** A key made of parts' ids (kept by the explorer's seen-set, so not interned here). */
export const keyOf = (parts: ReadonlyArray<number>): string => parts.join(",")


/**
 * The id of a network: each message's sender, addressee and body (by content id), in order, and
 * `extra(m)` for what else a system's key must tell apart (e.g. a delivered-once flag).
 */
export const networkId = <M extends { readonly from: string; readonly to: string; readonly message: unknown }>(
  network: ReadonlyArray<M>,
  extra: (m: M) => string = () => ""
): number => intern(network.map((m) => `${m.from}>${m.to}:${termId(m.message)}${extra(m)}`).join(","))
