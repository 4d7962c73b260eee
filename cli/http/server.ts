/**
 * `authlab serve`'s HTTP app (@effect/platform's HttpRouter, served by @effect/platform-node): a
 * protocol's server-side participants, as its definition declares them (`ProtocolDefinition.serve`),
 * behind the binding of cli/http/binding.ts.
 *
 * The served state is one provisioning: the participants `serve.build` makes, in a scope of their
 * own. At start they take the protocol's standing provisioning over whatever the store holds (a
 * SQLite file survives a restart); `POST /reset` closes that state, empties the store and builds
 * one from the fixture in the body, which is what lets `authlab conform` start every run from a
 * known state.
 * Participants handle requests concurrently; a step of our in-memory participants never suspends,
 * so each runs whole, as in the implementation world.
 */
import { FileSystem, HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Data, Effect, Exit, Option, Ref, Scope } from "effect"
import type { ProtocolDefinition, ServedAnswer, ServedParticipants, ServedStore } from "../../properties/definition.ts"
import { steppedClock } from "../../impl/clock.ts"
import { CONNECTION_NAME, DELIVER, encodeDeliveries, type Health, headers, MAX_BODY_BYTES, OCTETS, routes, statusOf } from "./binding.ts"

export class ServeError extends Data.TaggedError("ServeError")<{ readonly message: string }> {}

export interface ServedSubject {
  readonly definition: ProtocolDefinition
  readonly variant: "claimed" | "hardened"
  /** A mutant of the hardened protocol, by name (its flaw must be in a served participant). */
  readonly mutant?: string
  readonly store: ServedStore
}

/** Empty a SQLite store for a reset: the file and its rollback journal go (the old state's scope is closed first). */
const emptied = (store: ServedStore) =>
  Effect.gen(function* () {
    if (store._tag !== "sqlite") return
    const fs = yield* FileSystem.FileSystem
    for (const file of [store.file, `${store.file}-journal`]) yield* fs.remove(file, { force: true })
  }).pipe(Effect.mapError((e) => new ServeError({ message: `cannot empty ${store._tag === "sqlite" ? store.file : "the store"}: ${e.message}` })))

/** A plain-text answer for what is not a protocol step (a wrong route, media type or size). */
const problem = (status: number, message: string) => HttpServerResponse.text(`${message}\n`, { status })

const answered = (answer: ServedAnswer) => {
  const header = answer._tag === "Step" ? { [headers.outcome]: answer.outcome } : { [headers.refusal]: answer.reason }
  // A step that sends on other connections too answers with all its messages (spec/HTTP-BINDING.md §Connections and deliveries).
  if (answer.deliveries !== undefined) return HttpServerResponse.uint8Array(encodeDeliveries(answer.deliveries), { status: statusOf(answer), contentType: DELIVER, headers: header })
  return HttpServerResponse.uint8Array(answer.reply ?? new Uint8Array(0), { status: statusOf(answer), contentType: OCTETS, headers: header })
}

/** The request body, at most MAX_BODY_BYTES of `application/octet-stream`, or the response refusing it. */
const octets = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const type = (request.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase()
  if (type !== OCTETS) return yield* Effect.fail(problem(415, `expected a body of type ${OCTETS}, got ${type === "" ? "none" : type}`))
  const declared = Number(request.headers["content-length"] ?? "0")
  if (declared > MAX_BODY_BYTES) return yield* Effect.fail(problem(413, `a body of at most ${MAX_BODY_BYTES} bytes, got ${declared}`))
  const body = yield* request.arrayBuffer.pipe(
    HttpServerRequest.withMaxBodySize(Option.some(MAX_BODY_BYTES)),
    Effect.mapError((e) => (String(e.cause).includes("maxBytes") ? problem(413, `a body of at most ${MAX_BODY_BYTES} bytes`) : problem(400, "the body could not be read")))
  )
  return new Uint8Array(body)
})

export const servedApp = (subject: ServedSubject) =>
  Effect.gen(function* () {
    const { definition } = subject
    const serve = definition.serve
    if (serve === undefined) return yield* new ServeError({ message: `${definition.protocol} has no server-side participants bound to HTTP yet` })
    const mutant = subject.mutant === undefined ? undefined : definition.mutants.find((m) => m.name === subject.mutant)
    if (subject.mutant !== undefined && mutant === undefined)
      return yield* new ServeError({ message: `unknown ${definition.protocol} mutant ${subject.mutant}; known: ${definition.mutants.map((m) => m.name).join(", ")}` })
    if (mutant !== undefined && !serve.serves(mutant.impl))
      return yield* new ServeError({ message: `mutant ${mutant.name} is a flaw of a participant that is not served (${mutant.flaw})` })
    // A mutant is the hardened protocol with one flaw applied from outside (properties/definition.ts).
    const flaw = mutant?.impl
    const policy = serve.policy(definition.policies[mutant === undefined ? subject.variant : "hardened"], flaw)

    const current = yield* Ref.make<{ readonly participants: ServedParticipants; readonly scope: Scope.CloseableScope } | undefined>(undefined)
    /** Replace the served state: the old one is closed (its file released) before the new one opens. */
    const provision = (fixture: Uint8Array | undefined) =>
      Effect.gen(function* () {
        const old = yield* Ref.getAndSet(current, undefined)
        if (old !== undefined) yield* Scope.close(old.scope, Exit.void)
        if (fixture !== undefined) yield* emptied(subject.store)
        const scope = yield* Scope.make()
        const built = yield* Effect.exit(Scope.extend(serve.build({ policy, flaw, fixture, store: subject.store }), scope))
        if (Exit.isFailure(built)) {
          yield* Scope.close(scope, Exit.void)
          return yield* Effect.failCause(built.cause)
        }
        yield* Ref.set(current, { participants: built.value, scope })
      })
    // Resets one at a time; messages meanwhile are told to retry (503).
    const resetting = yield* Effect.makeSemaphore(1)
    yield* provision(undefined)
    yield* Effect.addFinalizer(() => Effect.flatMap(Ref.get(current), (c) => (c === undefined ? Effect.void : Scope.close(c.scope, Exit.void))))

    const health: Health = {
      protocol: definition.protocol,
      variant: mutant === undefined ? subject.variant : "hardened",
      policy,
      ...(mutant === undefined ? {} : { mutant: mutant.name }),
      participants: serve.participants,
      store: subject.store._tag
    }

    const reset = Effect.gen(function* () {
      const fixture = yield* octets
      const done = yield* Effect.either(resetting.withPermits(1)(provision(fixture)))
      return done._tag === "Right" ? HttpServerResponse.empty({ status: 204 }) : problem(400, `the fixture was refused: ${done.left.message}`)
    })

    const message = Effect.gen(function* () {
      const { participant } = yield* HttpRouter.params
      if (participant === undefined || !serve.participants.includes(participant)) return problem(404, `no participant ${participant}; served: ${serve.participants.join(", ")}`)
      const state = yield* Ref.get(current)
      const handle = state?.participants[participant]
      if (handle === undefined) return problem(503, "no served state: a reset is under way or the last one failed")
      const request = yield* HttpServerRequest.HttpServerRequest
      const clock = request.headers[headers.clock]
      const now = clock === undefined ? undefined : Number(clock)
      if (now !== undefined && !Number.isSafeInteger(now)) return problem(400, `${headers.clock} must be Unix milliseconds, got ${JSON.stringify(clock)}`)
      const connection = request.headers[headers.connection]
      if (connection !== undefined && !CONNECTION_NAME.test(connection)) return problem(400, `${headers.connection} must match ${CONNECTION_NAME.source}, got ${JSON.stringify(connection)}`)
      const step = handle(yield* octets, connection)
      return answered(yield* now === undefined ? step : Effect.withClock(step, steppedClock(() => now)))
    })

    return HttpRouter.empty.pipe(
      HttpRouter.get(routes.health, HttpServerResponse.json(health)),
      HttpRouter.post(routes.reset, Effect.catchAll(reset, Effect.succeed)),
      HttpRouter.post(routes.participant(":participant"), Effect.catchAll(message, Effect.succeed))
    )
  })
