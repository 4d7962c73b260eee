/**
 * Canonical binary encoding of wire messages and of the byte strings that get MACed or signed.
 *
 * Wire format of a message: `version (1 byte = 1) ‖ message code (1 byte) ‖ field₁ ‖ … ‖ fieldₙ`
 * where every field is `u16be length ‖ bytes`, in the order the spec declares them. Decoding is
 * strict: wrong version or code, a truncated field, a length outside the field's bounds, bad
 * UTF-8, trailing bytes or an oversized frame are all refused before any field reaches crypto or
 * state. Each message type is an Effect Schema from `Uint8Array` to its typed form, so decoding at
 * the edge is a single `Schema.decodeUnknown(wire)` and failures are `ParseError`s.
 *
 * MAC / signature inputs use `transcript(label, fields)`: the domain-separation label
 * `authlab/<protocol>/<message>/v1` followed by length-prefixed fields (u32be), so no two
 * different field lists encode to the same bytes.
 */
import { Either, ParseResult, Schema } from "effect"

export const WIRE_VERSION = 1
/** No message of ours is larger; anything bigger is refused before parsing. */
export const MAX_FRAME_BYTES = 4096

// `ignoreBOM: true` keeps a leading U+FEFF in the text instead of silently dropping it (the
// default), so decoding never loses bytes; `hasBom` below refuses it outright, because a text
// field that starts with an invisible character is never what a peer meant to send.
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** A UTF-8 byte-order mark (EF BB BF) at the start: refused in every text field. */
const hasBom = (bytes: Uint8Array): boolean => bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf
const utf8Encoder = new TextEncoder()

/** How one field is represented on the wire and in memory. */
export interface FieldCodec<A> {
  readonly schema: Schema.Schema<A>
  readonly encode: (value: A) => Uint8Array
  readonly decode: (bytes: Uint8Array) => Either.Either<A, string>
  readonly describe: string
  /**
   * What well-formed bytes of this field look like: their lengths, and for text fields some
   * values. Not used to decode (that is `decode`'s job); a fuzzer uses it to make inputs that get
   * past the length checks, so the deeper checks are exercised too.
   */
  readonly shape?: { readonly lengths: ReadonlyArray<number>; readonly samples?: ReadonlyArray<string> }
}

const lengthIn = (min: number, max: number) => (bytes: Uint8Array) =>
  bytes.length >= min && bytes.length <= max

/** Exactly `n` bytes (keys, nonces, MAC tags). */
export const fixedBytes = (n: number): FieldCodec<Uint8Array> => ({
  schema: Schema.Uint8ArrayFromSelf.pipe(Schema.filter(lengthIn(n, n), { message: () => `expected ${n} bytes` })),
  encode: (value) => value,
  decode: (bytes) => (bytes.length === n ? Either.right(bytes) : Either.left(`expected ${n} bytes, got ${bytes.length}`)),
  describe: `${n} bytes`,
  shape: { lengths: [n] }
})

/** Between `min` and `max` bytes. */
export const boundedBytes = (min: number, max: number): FieldCodec<Uint8Array> => ({
  schema: Schema.Uint8ArrayFromSelf.pipe(
    Schema.filter(lengthIn(min, max), { message: () => `expected ${min}..${max} bytes` })
  ),
  encode: (value) => value,
  decode: (bytes) =>
    lengthIn(min, max)(bytes) ? Either.right(bytes) : Either.left(`expected ${min}..${max} bytes, got ${bytes.length}`),
  describe: `${min}..${max} bytes`,
  shape: { lengths: [min, max, Math.floor((min + max) / 2)] }
})

/** Either empty (the field is unused in this variant) or exactly `n` bytes. */
export const emptyOrFixed = (n: number): FieldCodec<Uint8Array> => ({
  schema: Schema.Uint8ArrayFromSelf.pipe(
    Schema.filter((b) => b.length === 0 || b.length === n, { message: () => `expected 0 or ${n} bytes` })
  ),
  encode: (value) => value,
  decode: (bytes) =>
    bytes.length === 0 || bytes.length === n ? Either.right(bytes) : Either.left(`expected 0 or ${n} bytes, got ${bytes.length}`),
  describe: `0 or ${n} bytes`,
  shape: { lengths: [0, n] }
})

/** A UTF-8 string of min..max bytes (min 1 unless an empty string is meaningful); invalid UTF-8 is refused, not replaced. */
export const utf8 = (max: number, min = 1): FieldCodec<string> => ({
  schema: Schema.String.pipe(
    Schema.filter((s) => {
      const n = utf8Encoder.encode(s).length
      return n >= min && n <= max
    }, { message: () => `expected ${min}..${max} UTF-8 bytes` })
  ),
  encode: (value) => utf8Encoder.encode(value),
  decode: (bytes) => {
    if (bytes.length < min || bytes.length > max) return Either.left(`expected ${min}..${max} UTF-8 bytes, got ${bytes.length}`)
    if (hasBom(bytes)) return Either.left("a byte-order mark at the start of a text field")
    try {
      return Either.right(utf8Decoder.decode(bytes))
    } catch {
      return Either.left("invalid UTF-8")
    }
  },
  describe: `UTF-8, ${min}..${max} bytes`,
  shape: { lengths: [min, max], samples: ["alice", "12345678", "123456", "\uFEFFalice", "café"] }
})

/** One of a closed set of reason codes, carried as a UTF-8 string. */
export const literal = <const L extends string>(...values: ReadonlyArray<L>): FieldCodec<L> => ({
  schema: Schema.Literal(...values),
  encode: (value) => utf8Encoder.encode(value),
  decode: (bytes) => {
    const text = safeUtf8(bytes)
    return text !== undefined && (values as ReadonlyArray<string>).includes(text)
      ? Either.right(text as L)
      : Either.left(`expected one of ${values.join(", ")}`)
  },
  describe: values.join(" | "),
  shape: { lengths: values.map((v) => utf8Encoder.encode(v).length), samples: values }
})

const safeUtf8 = (bytes: Uint8Array): string | undefined => {
  if (hasBom(bytes)) return undefined
  try {
    return utf8Decoder.decode(bytes)
  } catch {
    return undefined
  }
}

type Fields = Record<string, FieldCodec<any>>
type FieldValues<F extends Fields> = { readonly [K in keyof F]: F[K] extends FieldCodec<infer A> ? A : never }

export type MessageOf<Tag extends string, F extends Fields> = { readonly _tag: Tag } & FieldValues<F>

export interface MessageCodec<Tag extends string, F extends Fields> {
  readonly tag: Tag
  readonly code: number
  readonly fields: F
  /** The in-memory form (what participants take and return). */
  readonly schema: Schema.Schema<MessageOf<Tag, F>>
  /** Bytes ⇄ in-memory form; decoding is strict (see the module doc). */
  readonly wire: Schema.Schema<MessageOf<Tag, F>, Uint8Array>
  readonly make: (fields: FieldValues<F>) => MessageOf<Tag, F>
  readonly encode: (message: MessageOf<Tag, F>) => Uint8Array
  /** The frame's checks alone (code, framing, every field's), as `wire` runs them, before its schema validation. */
  readonly decodeFrame: (bytes: Uint8Array) => Either.Either<MessageOf<Tag, F>, string>
}

/**
 * V8 keeps a typed array of at most this many bytes inside its heap; a longer one gets a backing
 * store of its own outside it: ~0.65 µs to make (0.02 µs inside), and more work for the collector,
 * which sweeps each one. Most frames and transcripts are 80–200 bytes, made on every message and
 * every MAC.
 */
const IN_HEAP_BYTES = 64
/** The shared block `freshBytes` carves its views from, and the longest view it carves. */
const BLOCK_BYTES = 8192
const LONGEST_CARVED = 1024
let block = new Uint8Array(BLOCK_BYTES)
let blockAt = 0

/**
 * Zeroed bytes the caller fills and then owns, for a frame or a transcript: up to 64 bytes a
 * typed array of their own, longer ones (up to 1 KiB) a view into a shared block, as Node's Buffer
 * pool hands out `Buffer.allocUnsafe`'s. No region is handed out twice; a block is dropped when
 * full and lives as long as a view into it. Measured on a P5 server authentication: −4 µs on the
 * node layer, −7 µs on the noble one, of 50–60 µs (bench/README.md).
 *
 * The price, as with Node's pool: a view's `.buffer` is the whole block, neighbours included, so
 * code reads a view through its `byteOffset` and `byteLength` (all of ours does), never hands its
 * `.buffer` to a transfer list (that would detach the neighbours), and a structured clone of a view
 * copies its block. None of this is visible outside the process.
 *
 * Not `Buffer.allocUnsafe` itself: spec/ is platform-neutral (it imports Effect only), a Buffer is
 * not a plain `Uint8Array` to the tests' deep equality, and its pool hands out uninitialised bytes.
 */
export const freshBytes = (length: number): Uint8Array => {
  if (length <= IN_HEAP_BYTES || length > LONGEST_CARVED) return new Uint8Array(length)
  if (blockAt + length > BLOCK_BYTES) {
    block = new Uint8Array(BLOCK_BYTES)
    blockAt = 0
  }
  const out = block.subarray(blockAt, blockAt + length)
  // 8-byte aligned, so a view can be read as wider words
  blockAt += (length + 7) & ~7
  return out
}

/** A frame in one allocation, written in place: every message a protocol sends is framed here. */
const writeFrame = (version: number, code: number, fieldBytes: ReadonlyArray<Uint8Array>): Uint8Array => {
  let length = 2
  for (const b of fieldBytes) length += 2 + b.length
  const out = freshBytes(length)
  out[0] = version
  out[1] = code
  let at = 2
  for (const b of fieldBytes) {
    out[at] = (b.length >>> 8) & 0xff
    out[at + 1] = b.length & 0xff
    out.set(b, at + 2)
    at += 2 + b.length
  }
  return out
}

const encodeFrame = (code: number, fieldBytes: ReadonlyArray<Uint8Array>): Uint8Array => writeFrame(WIRE_VERSION, code, fieldBytes)

/** Split a frame into its code and raw fields, refusing anything not exactly well-formed. */
const splitFrame = (bytes: Uint8Array, fieldCount: number): Either.Either<ReadonlyArray<Uint8Array>, string> => {
  if (bytes.length > MAX_FRAME_BYTES) return Either.left(`frame of ${bytes.length} bytes exceeds ${MAX_FRAME_BYTES}`)
  if (bytes.length < 2) return Either.left("truncated header")
  if (bytes[0] !== WIRE_VERSION) return Either.left(`unknown wire version ${bytes[0]}`)
  const fields: Array<Uint8Array> = []
  let offset = 2
  for (let i = 0; i < fieldCount; i++) {
    if (offset + 2 > bytes.length) return Either.left(`truncated before field ${i + 1}`)
    const length = (bytes[offset]! << 8) | bytes[offset + 1]!
    offset += 2
    if (offset + length > bytes.length) return Either.left(`field ${i + 1} truncated`)
    fields.push(bytes.subarray(offset, offset + length))
    offset += length
  }
  if (offset !== bytes.length) return Either.left(`${bytes.length - offset} trailing bytes`)
  return Either.right(fields)
}

/** Define one message type: its tag, its one-byte code on the wire, and its ordered fields. */
export const message = <const Tag extends string, const F extends Fields>(
  tag: Tag,
  code: number,
  fields: F
): MessageCodec<Tag, F> => {
  const names = Object.keys(fields)
  const schemaFields = Object.fromEntries(names.map((n) => [n, fields[n]!.schema]))
  const schema = Schema.TaggedStruct(tag, schemaFields) as unknown as Schema.Schema<MessageOf<Tag, F>>
  const encode = (m: MessageOf<Tag, F>) =>
    encodeFrame(code, names.map((n) => fields[n]!.encode((m as Record<string, unknown>)[n])))
  const decode = (bytes: Uint8Array): Either.Either<MessageOf<Tag, F>, string> => {
    if (bytes.length >= 2 && bytes[1] !== code) return Either.left(`expected message code ${code} (${tag}), got ${bytes[1]}`)
    return Either.flatMap(splitFrame(bytes, names.length), (raw) => {
      const out: Record<string, unknown> = { _tag: tag }
      for (let i = 0; i < names.length; i++) {
        const r = fields[names[i]!]!.decode(raw[i]!)
        if (Either.isLeft(r)) return Either.left(`${tag}.${names[i]}: ${r.left}`)
        out[names[i]!] = r.right
      }
      return Either.right(out as MessageOf<Tag, F>)
    })
  }
  const wire = Schema.transformOrFail(Schema.Uint8ArrayFromSelf, Schema.typeSchema(schema), {
    strict: true,
    decode: (bytes, _, ast) =>
      Either.match(decode(bytes), {
        onLeft: (why) => ParseResult.fail(new ParseResult.Type(ast, bytes, why)),
        onRight: (m) => ParseResult.succeed(m)
      }),
    encode: (m) => ParseResult.succeed(encode(m))
  })
  return { tag, code, fields, schema, wire, make: (f) => ({ _tag: tag, ...f }) as MessageOf<Tag, F>, encode, decodeFrame: decode }
}

// `any` here is a variance escape: a list of codecs of different message types.
type AnyCodec = MessageCodec<any, any>
export type MessageOfCodec<C> = C extends MessageCodec<infer T, infer F> ? MessageOf<T, F> : never

/** Bytes ⇄ one of several message types, chosen by the code byte (what a participant may receive). */
export const wireUnion = <const Cs extends ReadonlyArray<AnyCodec>>(
  ...codecs: Cs
): Schema.Schema<MessageOfCodec<Cs[number]>, Uint8Array> => {
  const byCode = new Map(codecs.map((c) => [c.code, c]))
  const byTag = new Map(codecs.map((c) => [c.tag, c]))
  const typeSchema = Schema.Union(...codecs.map((c) => Schema.typeSchema(c.schema)))
  return Schema.transformOrFail(Schema.Uint8ArrayFromSelf, typeSchema, {
    strict: false,
    // The message's own frame checks, then this union's schema validation of what they made: the
    // same checks as decoding with `codec.wire`, whose own validation of its output would repeat
    // the union's (0.75 µs of a 1.7 µs P5 AuthRequest decode).
    decode: (bytes, _, ast) => {
      const codec = bytes.length >= 2 ? byCode.get(bytes[1]!) : undefined
      if (codec === undefined) return ParseResult.fail(new ParseResult.Type(ast, bytes, "unknown or missing message code"))
      return Either.match(codec.decodeFrame(bytes), {
        onLeft: (why) => ParseResult.fail(new ParseResult.Type(ast, bytes, why)),
        onRight: (m) => ParseResult.succeed(m)
      })
    },
    encode: (m, _, ast) => {
      const codec = byTag.get((m as { _tag: string })._tag)
      return codec === undefined
        ? ParseResult.fail(new ParseResult.Type(ast, m, "unknown message"))
        : ParseResult.succeed(codec.encode(m))
    }
  }) as unknown as Schema.Schema<MessageOfCodec<Cs[number]>, Uint8Array>
}

/** Labels are a few constants: encode each once (bounded, in case a caller builds them). */
const labelBytes = new Map<string, Uint8Array>()
const encodedLabel = (label: string): Uint8Array => {
  let bytes = labelBytes.get(label)
  if (bytes === undefined) {
    bytes = utf8Encoder.encode(label)
    if (labelBytes.size < 256) labelBytes.set(label, bytes)
  }
  return bytes
}

/**
 * The byte string a MAC or signature covers: `u32be(len) ‖ label` then `u32be(len) ‖ field` for
 * each field. The label names protocol, message and version (`authlab/rolling-key/auth-code/v1`).
 */
export const transcript = (label: string, fields: ReadonlyArray<Uint8Array | string>): Uint8Array => {
  const first = encodedLabel(label)
  // strings are encoded once, here; byte fields are used as they are
  const parts: Array<Uint8Array> = [first]
  let length = 4 + first.length
  for (const f of fields) {
    const bytes = typeof f === "string" ? utf8Encoder.encode(f) : f
    parts.push(bytes)
    length += 4 + bytes.length
  }
  // one allocation: a transcript is built on every MAC of a protocol run
  const out = freshBytes(length)
  let at = 0
  for (const p of parts) {
    const n = p.length
    out[at] = n >>> 24
    out[at + 1] = (n >>> 16) & 0xff
    out[at + 2] = (n >>> 8) & 0xff
    out[at + 3] = n & 0xff
    out.set(p, at + 4)
    at += 4 + n
  }
  return out
}

/**
 * The raw fields of a well-formed frame of any message type, with its two header bytes; undefined
 * when the bytes are not a frame. For the attacker, which edits a captured message field by field
 * (participants decode with their strict schemas).
 */
export const splitAnyFrame = (bytes: Uint8Array): { readonly header: Uint8Array; readonly fields: ReadonlyArray<Uint8Array> } | undefined => {
  if (bytes.length < 2 || bytes.length > MAX_FRAME_BYTES || bytes[0] !== WIRE_VERSION) return undefined
  const fields: Array<Uint8Array> = []
  let offset = 2
  while (offset < bytes.length) {
    if (offset + 2 > bytes.length) return undefined
    const length = (bytes[offset]! << 8) | bytes[offset + 1]!
    offset += 2
    if (offset + length > bytes.length) return undefined
    fields.push(bytes.subarray(offset, offset + length))
    offset += length
  }
  return { header: bytes.subarray(0, 2), fields }
}

/** The frame with these header bytes and raw fields (the inverse of `splitAnyFrame`). */
export const joinAnyFrame = (header: Uint8Array, fields: ReadonlyArray<Uint8Array>): Uint8Array => writeFrame(header[0]!, header[1]!, fields)
