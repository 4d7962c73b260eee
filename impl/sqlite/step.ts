/**
 * One protocol step = one transaction, and the reply only after COMMIT.
 *
 * A participant's `receive` is a step: decode, check, write its store, compute the reply. Under
 * SQLite the whole step runs inside one `sql.withTransaction`, so a crash anywhere in it leaves the
 * state before the step, and the reply the caller gets back has already been committed — a caller
 * that sends it on never acknowledges state that a crash could take back.
 *
 * A typed failure is a protocol verdict, not an accident: several refusals change state by design
 * (P5 consumes the checked challenge on a bad code, P1 counts a wrong OTP, P3 revokes a refresh
 * family on reuse). So the transaction COMMITS on a typed failure as on a success, and rolls back
 * only on a defect or an interruption — the step then did not happen, and there is no reply.
 *
 * The participants stay storage-agnostic: the step boundary is put around them by `transactional`
 * (the serve command and the crash test do), and the in-memory layer's boundary is the identity.
 */
import { SqlClient } from "@effect/sql/SqlClient"
import { Context, Effect, Either, Layer } from "effect"

export interface StepTransactionShape {
  /** Run `step`; what it wrote is committed before this returns, whatever its verdict. */
  readonly run: <A, E, R>(step: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

export class StepTransaction extends Context.Tag("authlab/StepTransaction")<StepTransaction, StepTransactionShape>() {
  /** In memory every write is visible as soon as it is made: nothing to wait for. */
  static readonly layerInMemory: Layer.Layer<StepTransaction> = Layer.succeed(StepTransaction, { run: (step) => step })

  /** Each step in one transaction of the `SqlClient` in context (see the module doc for what commits). */
  static readonly layerSqlite: Layer.Layer<StepTransaction, never, SqlClient> = Layer.effect(
    StepTransaction,
    Effect.map(SqlClient, (sql): StepTransactionShape => ({
      run: (step) =>
        sql.withTransaction(Effect.either(step)).pipe(
          // BEGIN or COMMIT failing (disk full, a corrupt file) is a defect: no reply for this step.
          Effect.orDie,
          Effect.flatMap(Either.match({ onLeft: Effect.fail, onRight: Effect.succeed }))
        )
    }))
  )
}

/** The members of `P` that are steps: an Effect, or a function returning one. */
export type StepMember<P> = {
  [K in keyof P]: P[K] extends Effect.Effect<infer _A, infer _E, infer _R> ? K
    : P[K] extends (...args: ReadonlyArray<never>) => Effect.Effect<infer _A, infer _E, infer _R> ? K
    : never
}[keyof P]

/**
 * `participant` with each member named in `steps` run through `tx`. Name every member that reads
 * the store under the participant's own lock (P5's `observe` as well as `receive`): the transaction
 * holds the connection, so a read that took the lock first and then waited for the connection
 * would deadlock with a step that holds the connection and waits for the lock.
 */
export const transactional = <P extends object>(participant: P, tx: StepTransactionShape, steps: ReadonlyArray<StepMember<P>>): P => {
  const wrapped: Record<PropertyKey, unknown> = { ...(participant as Record<PropertyKey, unknown>) }
  for (const key of steps) {
    const member: unknown = participant[key]
    if (Effect.isEffect(member)) wrapped[key] = tx.run(member)
    else if (typeof member === "function")
      wrapped[key] = (...args: ReadonlyArray<unknown>) => tx.run((member as (...a: ReadonlyArray<unknown>) => Effect.Effect<unknown, unknown, unknown>)(...args))
    else throw new TypeError(`transactional: ${String(key)} is not a step`)
  }
  return wrapped as P
}
