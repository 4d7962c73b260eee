/**
 * `authlab serve`: a protocol's server-side participants over HTTP on 127.0.0.1 (cli/http/server.ts,
 * binding in spec/HTTP-BINDING.md), until SIGINT / SIGTERM: the interrupt closes the listener
 * (in-flight requests finish, idle connections close), then the served state's scope, and the
 * process exits 130 / 143 as every command does (cli/main.ts).
 *
 * Exit status: 2 when it cannot serve as asked (unknown protocol or mutant, a protocol with no
 * served participants, a mutant of the device, a port in use); otherwise it runs until stopped.
 */
import { Command, Options } from "@effect/cli"
import { HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, Option } from "effect"
import { createServer } from "node:http"
import type { ProtocolDefinition, ServedStore } from "../../properties/definition.ts"
import { Output } from "../output.ts"
import { routes } from "../http/binding.ts"
import { servedApp } from "../http/server.ts"

export const SERVE_HOST = "127.0.0.1"
export const DEFAULT_PORT = 8470

/** What a test or a script waits for on stdout: the line with the URL (the port, when `--port 0` picked one). */
export const LISTENING = "listening on "

const options = {
  protocol: Options.text("protocol").pipe(Options.withDescription("The protocol whose server-side participants to serve, e.g. rolling-key.")),
  variant: Options.choice("variant", ["claimed", "hardened"] as const).pipe(Options.withDefault("hardened" as const), Options.withDescription("The variant served (default hardened).")),
  mutant: Options.text("mutant").pipe(Options.optional, Options.withDescription("Serve this mutant of the hardened protocol instead (its flaw must be in a served participant).")),
  store: Options.text("store").pipe(Options.optional, Options.withDescription("Keep the served state in this SQLite file (default: in memory).")),
  port: Options.integer("port").pipe(Options.withDefault(DEFAULT_PORT), Options.withDescription(`TCP port on ${SERVE_HOST} (default ${DEFAULT_PORT}; 0 picks a free one and prints it).`))
}

export const serveCommand = (definitions: ReadonlyArray<ProtocolDefinition>) =>
  Command.make("serve", options, (o) =>
    Effect.gen(function* () {
      const io = yield* Output
      const usage = (message: string) =>
        Effect.sync(() => {
          io.err(`authlab serve: ${message}\n`)
          io.setExitCode(2)
        })
      const definition = definitions.find((d) => d.protocol === o.protocol)
      if (definition === undefined) return yield* usage(`unknown protocol ${JSON.stringify(o.protocol)}; known: ${definitions.map((d) => d.protocol).join(", ")}`)
      if (definition.serve === undefined)
        return yield* usage(`${definition.protocol} has no server-side participants bound to HTTP; served: ${definitions.filter((d) => d.serve !== undefined).map((d) => d.protocol).join(", ")}`)
      if (!Number.isSafeInteger(o.port) || o.port < 0 || o.port > 65535) return yield* usage(`--port must be an integer from 0 to 65535, got ${o.port}`)
      if (Option.isSome(o.mutant) && o.variant !== "hardened") return yield* usage("a mutant is a flaw of the hardened protocol: give --mutant without --variant claimed")
      const store: ServedStore = Option.match(o.store, { onNone: () => ({ _tag: "memory" as const }), onSome: (file) => ({ _tag: "sqlite" as const, file }) })

      const served = yield* Effect.either(
        Effect.gen(function* () {
          const app = yield* servedApp({
            definition,
            variant: o.variant,
            ...(Option.isSome(o.mutant) ? { mutant: o.mutant.value } : {}),
            store
          })
          yield* HttpServer.serveEffect(app)
          const address = yield* HttpServer.addressWith((a) => Effect.succeed(a._tag === "TcpAddress" ? `http://${SERVE_HOST}:${a.port}` : HttpServer.formatAddress(a)))
          const what = Option.isSome(o.mutant) ? `mutant ${o.mutant.value}` : o.variant
          io.out(`${LISTENING}${address} — ${definition.protocol} ${what}: ${definition.serve!.participants.map((p) => `POST ${routes.participant(p)}`).join(", ")}; GET ${routes.health}; POST ${routes.reset}; store ${store._tag === "memory" ? "in memory" : store.file}\n`)
          yield* Effect.addFinalizer(() => Effect.sync(() => io.err("authlab serve: stopped\n")))
          return yield* Effect.never
        }).pipe(Effect.scoped, Effect.provide(Layer.fresh(NodeHttpServer.layer(createServer, { port: o.port, host: SERVE_HOST }))))
      )
      if (served._tag === "Left") {
        // Ours say what was wrong; the platform's (a port in use) carry the listener's error as the cause.
        const { cause, message } = served.left as { readonly cause?: unknown; readonly message?: string }
        return yield* usage(cause instanceof Error ? `cannot listen on ${SERVE_HOST}:${o.port}: ${cause.message}` : (message ?? String(served.left)))
      }
    })
  ).pipe(
    Command.withDescription(
      `Serve a protocol's server-side participants over HTTP on ${SERVE_HOST} (one POST route per participant, wire bytes as application/octet-stream; GET ${routes.health}; POST ${routes.reset} provisions a fresh state), until SIGINT or SIGTERM. ` +
        "Test your own client against it, or run `authlab conform` at it. Exit 2 when it cannot serve as asked."
    )
  )
