/**
 * The classic lenient parser, for the `lenient-decoder` mutants: it decodes the longest prefix of
 * the input that parses, so up to 8 trailing bytes after a well-formed message pass unnoticed.
 * Every protocol's malformed-input property must catch it.
 */
import { Effect } from "effect"

export const lenientDecoder =
  <A, E>(strict: (bytes: Uint8Array) => Effect.Effect<A, E>) =>
  (bytes: Uint8Array): Effect.Effect<A, E> =>
    Effect.firstSuccessOf([0, 1, 2, 3, 4, 5, 6, 7, 8].filter((cut) => cut === 0 || cut < bytes.length).map((cut) => strict(bytes.subarray(0, bytes.length - cut))))
