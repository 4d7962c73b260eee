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
 * The list is written as bytes (`KeyWriter`), which Node's latin1 decoding turns into a short
 * one-byte string.
 */
import { Buffer } from "node:buffer"

/**
 * One table of ids and everything keyed by them (./transition.ts keeps its memo here too). The
 * explorer starts a new one per exploration, so an audit that explores many systems in one
 * thread does not keep every state it ever met; nothing holds an id across explorations.
 */
interface KeySpace {
  readonly ids: Map<string, number>
  readonly byObject: WeakMap<object, number>
  readonly bySnapshot: WeakMap<object, number>
  readonly byEvent: WeakMap<object, number>
  /** Parts up to a renaming of fresh names (`namedPart`), by object. */
  readonly named: WeakMap<object, NamedPart>
  readonly memos: MemoTree
}

/** Memo tables by a chain of owner objects (`memoOf(a, b)` is a's table for b). */
type MemoTree = WeakMap<object, { memo?: Map<string | number, unknown>; readonly within: MemoTree }>

const emptySpace = (): KeySpace => ({ ids: new Map(), byObject: new WeakMap(), bySnapshot: new WeakMap(), byEvent: new WeakMap(), named: new WeakMap(), memos: new WeakMap() })

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
export const memoOf = <V, K extends string | number = string>(owner: object, ...within: ReadonlyArray<object>): Map<K, V> => {
  let tree = space.memos
  let node: { memo?: Map<string | number, unknown>; readonly within: MemoTree } | undefined
  for (const o of [owner, ...within]) {
    node = tree.get(o)
    if (node === undefined) tree.set(o, (node = { within: new WeakMap() }))
    tree = node.within
  }
  return (node!.memo ??= new Map()) as Map<K, V>
}

/**
 * The same string, flat: a string built by `+=` or a template is a tree of its pieces in V8 (a
 * "cons string"), and a Map that keeps it as a key keeps the whole tree — measured: 100,000 keys of
 * 40 pieces each held 206 MB as trees and 20 MB flat. `charCodeAt` makes V8 flatten the string in
 * place (the garbage collector then drops the tree); `Number(s)` and a one-element `join` do not.
 * For strings kept long (the explorer's seen states, the memo keys).
 */
export const flatten = (text: string): string => {
  text.charCodeAt(0)
  return text
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
    id = intern(snapshotJson(snapshot))
    space.bySnapshot.set(snapshot, id)
  }
  return id
}

const snapshotJson = (snapshot: SnapshotLike): string =>
  JSON.stringify([snapshot.value, snapshot.context, snapshot.status, snapshot.historyValue ?? null], functionsByIdentity)

/**
 * Push an object's fields onto a key's ids: their count, then each field's name and value as ids
 * (a string by its interned text, any other value by `termId`; parity keeps the two apart, so
 * `"5"` and `5` differ). For the flat records the explorer keys often — an XState event, a trace
 * event — without writing their JSON.
 */
export const pushFields = (ids: Array<number>, value: object): void => {
  const at = ids.length
  ids.push(0)
  for (const name in value) {
    const field = (value as Record<string, unknown>)[name]
    ids[at]!++
    ids.push(intern(name), typeof field === "string" ? 2 * intern(field) : 2 * termId(field) + 1)
  }
}

/**
 * The id of an event object by its fields (`pushFields`), remembered per object: a system that
 * hands the same event object to a transition again (P5 makes one per message and fresh name)
 * has its key at the cost of a lookup.
 */
export const eventId = (event: object): number => {
  let id = space.byEvent.get(event)
  if (id === undefined) {
    const ids: Array<number> = []
    pushFields(ids, event)
    id = intern(keyOf(ids))
    space.byEvent.set(event, id)
  }
  return id
}

/** A key made of parts' ids (kept by the explorer's seen-set, so not interned here), written as bytes (`KeyWriter`). */
export const keyOf = (parts: ReadonlyArray<number>): string => {
  key.start()
  key.uint(parts.length)
  for (const p of parts) key.int(p)
  return key.text()
}


/**
 * The id of a network: each message's sender, addressee and body (by content id), in order, and
 * `extra(m)` for what else a system's key must tell apart (e.g. a delivered-once flag).
 */
export const networkId = <M extends { readonly from: string; readonly to: string; readonly message: unknown }>(
  network: ReadonlyArray<M>,
  extra: (m: M) => string = () => ""
): number => intern(network.map((m) => `${m.from}>${m.to}:${termId(m.message)}${extra(m)}`).join(","))

/**
 * Keys up to a symmetry: fresh names and the order of messages.
 *
 * A system whose fresh values are the names `n<number>` (with an optional one-letter suffix:
 * `n3e`), and whose machines and properties only ever compare them for equality, behaves the same
 * from two states that differ by a one-to-one renaming of those names: every future of one is a
 * future of the other with the names renamed, and no property can tell them apart. Likewise for
 * two orders of the same messages on the network, where nothing reads the order. A key that
 * forgets both merges such states (P5: ./README.md measures it and says why it is sound there).
 *
 * A part is kept as its shape — its JSON with each fresh name's number masked — and the masked
 * numbers in order. From the shape and the names the JSON is rebuilt exactly, so two parts share
 * a shape and names only if they are equal; `symmetricKey` renames the names of all parts
 * together, by first appearance, so two states share a key only if one is the other renamed (and
 * its unordered messages permuted): a key never merges states that differ otherwise.
 */
export interface NamedPart {
  /** The interned JSON with every fresh name's number replaced by a NUL (which JSON escapes, so never holds). */
  readonly shape: number
  /** The fresh names' numbers, in order of appearance in the JSON. */
  readonly names: ReadonlyArray<number>
}

/** A fresh name's number: `n12` in `"n12"`, `"n12e"`, `"K0(dh(n12e,n3s))"`. */
const FRESH_NAME = /\bn(\d+)(?=[a-z]?\b)/g

const partOfJson = (json: string): NamedPart => {
  const names: Array<number> = []
  const masked = json.replace(FRESH_NAME, (_match, digits: string) => {
    names.push(Number(digits))
    return "n\u0000"
  })
  return { shape: intern(masked), names }
}

/**
 * The part of an immutable value (`json` is how it is written, e.g. a message's ready-made
 * content string), remembered per object like `termId`.
 */
export const namedPart = (value: object, json: () => string = () => JSON.stringify(value)): NamedPart => {
  let part = space.named.get(value)
  if (part === undefined) {
    part = partOfJson(json())
    space.named.set(value, part)
  }
  return part
}

/** The part of a participant snapshot (what `snapshotId` reads). */
export const snapshotPart = (snapshot: SnapshotLike): NamedPart => namedPart(snapshot, () => snapshotJson(snapshot))

/**
 * A state's key up to a renaming of fresh names: `fixed` parts in place (or plain numbers),
 * `ordered` parts in their order (those whose order the system reads), `unordered` parts as a
 * multiset (sorted by shape, then by the names already renamed; among parts still equal their
 * order stays, which may miss a merge but never makes a wrong one). Names are renamed by first
 * appearance across all parts in that order.
 */
export const symmetricKey = (fixed: ReadonlyArray<NamedPart | number>, ordered: ReadonlyArray<NamedPart>, unordered: ReadonlyArray<NamedPart>): string => {
  // The key is written as bytes (`KeyWriter`), not as decimal text: it is the explorer's hottest
  // path, and P5's keys were 353 characters of digits and separators on average, each number
  // converted to text and the pieces joined; as bytes they are 186.
  try {
    key.start()
    // The two counts make the encoding prefix-free: fixed, ordered and unordered parts cannot trade places.
    key.uint(fixed.length)
    for (const p of fixed) writePart(p)
    key.uint(ordered.length)
    for (const p of ordered) writePart(p)
    for (const p of unordered.length < 2 ? unordered : [...unordered].sort(byShapeThenNames)) writePart(p)
    return key.text()
  } finally {
    for (const name of renamedNames) renaming[name] = undefined
    renamedNames.length = 0
  }
}

/**
 * A part in a key: a plain number as 0 and the number; a named part as its shape + 1, the count
 * of its names and each name renamed by first appearance. The renaming is an array indexed by
 * name (names are a system's fresh counter values: small integers); `renamedNames` lists what to
 * clear afterwards.
 */
const writePart = (part: NamedPart | number): void => {
  if (typeof part === "number") {
    key.uint(0)
    key.int(part)
    return
  }
  key.uint(part.shape + 1)
  const names = part.names
  key.uint(names.length)
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!
    let canonical = renaming[name]
    if (canonical === undefined) {
      renaming[name] = canonical = renamedNames.length
      renamedNames.push(name)
    }
    key.uint(canonical)
  }
}

/**
 * A key as a string of bytes (char codes 0–255: V8 keeps it at one byte a character, and flat, as
 * a sequential string, where `+=` makes a tree of pieces). Numbers are LEB128 varints (seven bits
 * a byte, the high bit saying "more"), signed ones zigzag-mapped first: a prefix-free code, so a
 * sequence of numbers is read back from its bytes in one way only, and two keys are equal iff they
 * wrote the same numbers. The bytes become the string by Node's latin1 decoding (one byte, one
 * character): 50 ns for a P5 key, where `String.fromCharCode.apply` took 500.
 */
class KeyWriter {
  private bytes = Buffer.alloc(1024)
  private length = 0
  start(): void {
    this.length = 0
  }
  uint(n: number): void {
    if (this.length + 8 > this.bytes.length) {
      const grown = Buffer.alloc(this.bytes.length * 2)
      this.bytes.copy(grown)
      this.bytes = grown
    }
    if (n >= 0 && n < 0x80) {
      this.bytes[this.length++] = n
      return
    }
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`a key part must be a non-negative integer, got ${n}`)
    while (n >= 0x80) {
      this.bytes[this.length++] = (n % 0x80) | 0x80
      n = Math.floor(n / 0x80)
    }
    this.bytes[this.length++] = n
  }
  int(n: number): void {
    if (!Number.isSafeInteger(n) || Math.abs(n) > 2 ** 51) throw new RangeError(`a key number must be an integer below 2^51, got ${n}`)
    this.uint(n < 0 ? -2 * n - 1 : 2 * n)
  }
  text(): string {
    return this.bytes.toString("latin1", 0, this.length)
  }
}
/** The one writer: a key is written start to `text()` with no other key in between (nothing a key's writer calls builds one; one isolate, one explorer). */
const key = new KeyWriter()

/**
 * A symmetric key with its renamed names dropped: the parts' shapes (and plain numbers), in the
 * key's order — for a test that compares states by shape, where equal-shaped parts that tie may
 * be ordered differently (see `symmetricKey`).
 */
export const keyShapes = (symmetric: string): string => {
  let at = 0
  const uint = (): number => {
    let n = 0
    for (let scale = 1; ; scale *= 0x80) {
      if (at >= symmetric.length) throw new RangeError("keyShapes: not a symmetric key (truncated)")
      const byte = symmetric.charCodeAt(at++)
      n += (byte & 0x7f) * scale
      if (byte < 0x80) return n
    }
  }
  const out: Array<string> = []
  const part = () => {
    const shape = uint()
    if (shape === 0) {
      const zigzag = uint()
      return void out.push(`#${zigzag % 2 === 0 ? zigzag / 2 : -(zigzag + 1) / 2}`)
    }
    const names = uint()
    for (let i = 0; i < names; i++) uint()
    out.push(String(shape - 1))
  }
  for (let i = uint(); i > 0; i--) part()
  out.push("|")
  for (let i = uint(); i > 0; i--) part()
  out.push("|")
  while (at < symmetric.length) part()
  return out.join(",")
}

/** `symmetricKey`'s renaming in progress (one key at a time: the explorer is single-threaded per isolate). */
const renaming: Array<number | undefined> = []
const renamedNames: Array<number> = []

// Equal shapes are ordered by the names the parts before them already renamed, so that states
// that differ only in the order of such parts still meet; a name not renamed yet sorts last.
const rank = (name: number) => renaming[name] ?? Number.MAX_SAFE_INTEGER
const byShapeThenNames = (a: NamedPart, b: NamedPart): number => {
  if (a.shape !== b.shape) return a.shape - b.shape
  for (let i = 0; i < a.names.length && i < b.names.length; i++) {
    const d = rank(a.names[i]!) - rank(b.names[i]!)
    if (d !== 0) return d
  }
  return 0
}
