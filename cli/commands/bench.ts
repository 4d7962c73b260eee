/**
 * `authlab bench`: runs `bench/run.ts` (ops/s of the primitives and of P5 server authentications,
 * each with its ratio to a raw baseline) and writes `bench/results/latest.json`. Loaded lazily, so
 * the audit never pays for importing the benchmarks.
 */
import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import { Output } from "../output.ts"

export const benchCommand = Command.make(
  "bench",
  {
    ms: Options.integer("ms").pipe(Options.optional, Options.withDescription("Time budget per figure, in ms (default AUTHLAB_BENCH_MS, else 1000).")),
    only: Options.text("only").pipe(Options.optional, Options.withDescription("Only the figures whose group or operation contains this, e.g. hmac, rolling-key."))
  },
  ({ ms, only }) =>
    Effect.gen(function* () {
      const io = yield* Output
      const ran = yield* Effect.tryPromise(async () => {
        const { runBench } = await import("../../bench/run.ts")
        const { definitions } = await import("../protocols.ts")
        return runBench({
          protocols: await Promise.all(definitions.flatMap((d) => (d.bench === undefined ? [] : [d.bench()]))),
          ...(Option.isSome(ms) ? { ms: ms.value } : {}),
          ...(Option.isSome(only) ? { only: only.value } : {}),
          log: (line) => io.out(`${line}\n`),
          progress: (line) => io.err(`${line}\n`)
        })
      }).pipe(Effect.either)
      if (ran._tag === "Left") {
        const cause = ran.left.cause
        io.err(`authlab bench: ${cause instanceof Error ? cause.message : String(cause)}\n`)
        io.setExitCode(1)
      }
    })
).pipe(Command.withDescription("Benchmark the primitives (our layers against raw noble and node:crypto) and P5 server authentications; writes bench/results/latest.json."))
