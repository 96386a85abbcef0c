/**
 * `Sessions` on `@effect/cluster`: the same `create` / `get(id).send` /
 * `tell` / `history` / `stop` as `Sessions.layerLocal`, with each session a
 * `StreamvisorSession` entity (see `SessionEntity`) on whichever runner owns
 * its shard, and its state in the `SessionStore`.
 *
 * - {@link layerEmbedded}: one runner in this process, SQLite, no server.
 * - {@link layerRunner}: one of N runners, over the cluster's socket
 *   transport, runner and message tables in the given SQL database
 *   (PostgreSQL for a deployment).
 * - {@link layerClient}: a process that only sends (no entities).
 *
 * @since 0.1.0
 */
import { RunnerAddress } from "@effect/cluster/RunnerAddress"
import type * as Sharding from "@effect/cluster/Sharding"
import type * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SingleRunner from "@effect/cluster/SingleRunner"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import type { SocketServerError } from "@effect/platform/SocketServer"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { ConfigError } from "effect/ConfigError"
import type { DurationInput } from "effect/Duration"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { StreamEvent } from "@streamvisor/core"
import { Sessions, type SessionStore } from "@streamvisor/supervisor"
import * as SqlSessionStore from "./SqlSessionStore.js"
import { SessionEntity } from "./SessionEntity.js"
import * as internal from "./internal/sessionEntity.js"

const clusterError = (sessionId: string) => (error: { readonly _tag: string; readonly message: string }) =>
  new Sessions.SessionUnavailable({ sessionId, reason: "Cluster", detail: `${error._tag}: ${error.message}` })

/**
 * When the runner of a turn in flight dies, the cluster's client ends the
 * reply by interrupting it (its connection to that runner is dropped) or,
 * racing with that, by a defect in the dropped client: both mean the turn was
 * lost with its runner. Our own caller's interruption never reaches here (it
 * interrupts this fiber, which no recovery overrides).
 */
const isCut = (cause: Cause.Cause<unknown>) =>
  Cause.isInterruptedOnly(cause) || (Cause.isDie(cause) && !Cause.isFailure(cause))

// A dead runner's shards move within its lock expiry plus a refresh (a few
// seconds with PostgreSQL's session locks): 100 tries 100 ms apart cover 10 s.
const RETRIES = 100
const RETRY_EVERY = "100 millis"

/** An idempotent call, tried again while the cluster cuts it (a runner died or handed its shard on). */
const retryCut = <A, E>(sessionId: string, call: Effect.Effect<A, E>): Effect.Effect<A, E | Sessions.SessionUnavailable> => {
  const attempt = (left: number): Effect.Effect<A, E | Sessions.SessionUnavailable> =>
    Effect.catchAllCause(call, (cause) =>
      left > 0 && isCut(cause)
        ? Effect.zipRight(Effect.sleep(RETRY_EVERY), attempt(left - 1))
        : Effect.failCause(lost(sessionId, cause)))
  return attempt(RETRIES)
}

const lost = <E>(sessionId: string, cause: Cause.Cause<E>): Cause.Cause<E | Sessions.SessionUnavailable> => {
  if (!isCut(cause)) return cause
  return Cause.fail(new Sessions.SessionUnavailable({ sessionId, reason: "RunnerLost", detail: "the reply was cut" }))
}

/**
 * `Sessions` through the cluster: every call is a message to the session's
 * entity, wherever it runs. Needs only `Sharding` (a runner or a client).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Sessions.Sessions, never, Sharding.Sharding> = Effect.gen(function*() {
  const client = yield* SessionEntity.client
  const get = (id: string): Sessions.Handle => {
    const entity = client(id)
    const cluster = clusterError(id)
    return {
      id,
      send: (text) =>
        Stream.suspend(() => {
          // The same key on every attempt: a runner that started this turn
          // claimed it, so a retry after its death is refused, never run twice.
          const key = crypto.randomUUID()
          const attempt = (left: number): Stream.Stream<StreamEvent.StreamEvent, Sessions.TurnError> =>
            entity.Send({ text, key }).pipe(
              Stream.catchTags({ MailboxFull: cluster, AlreadyProcessingMessage: cluster, PersistenceError: cluster }),
              Stream.catchAllCause((cause) =>
                left > 0 && isCut(cause)
                  ? Stream.unwrap(Effect.as(Effect.sleep(RETRY_EVERY), attempt(left - 1)))
                  : Stream.failCause(lost(id, cause))
              )
            )
          return attempt(RETRIES)
        }),
      // Not retried: a cut tell may have been enqueued (see the README on queued messages).
      tell: (text) =>
        entity.Tell({ text }).pipe(
          Effect.catchTags({ MailboxFull: cluster, AlreadyProcessingMessage: cluster, PersistenceError: cluster }),
          Effect.catchAllCause((cause) => Effect.failCause(lost(id, cause)))
        ),
      history: retryCut(id, entity.History()).pipe(
        Effect.catchTags({ MailboxFull: cluster, AlreadyProcessingMessage: cluster, PersistenceError: cluster })
      ),
      stop: retryCut(id, entity.Stop()).pipe(
        Effect.catchTags({ MailboxFull: cluster, AlreadyProcessingMessage: cluster, PersistenceError: cluster })
      )
    }
  }
  const create = (options: Sessions.CreateOptions) => {
    const cluster = clusterError(options.id)
    const payload = {
      provider: options.provider,
      model: options.model,
      ...(options.system === undefined ? {} : { system: options.system }),
      ...(options.maxTurns === undefined ? {} : { maxTurns: options.maxTurns })
    }
    let cut = false
    // A cut Create may have been stored: on a retry, AlreadyExists is our own.
    const attempt = client(options.id).Create(payload).pipe(
      Effect.catchIf(
        (error) => cut && error._tag === "SessionUnavailable" && error.reason === "AlreadyExists",
        () => Effect.void
      ),
      Effect.onExit((exit) => Effect.sync(() => {
        if (exit._tag === "Failure" && isCut(exit.cause)) cut = true
      }))
    )
    return retryCut(options.id, attempt).pipe(
      Effect.catchTags({ MailboxFull: cluster, AlreadyProcessingMessage: cluster, PersistenceError: cluster }),
      Effect.as(get(options.id))
    )
  }
  return Sessions.Sessions.of({ create, get })
})

/**
 * What the runner layers take.
 *
 * @since 0.1.0
 * @category models
 */
export interface EntityOptions {
  /** An idle session's entity leaves memory after this (default the cluster's, 1 minute). */
  readonly maxIdleTime?: DurationInput | undefined
  /** Passed to the cluster (shard lock timings, `entityTerminationTimeout`…). */
  readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Type"]> | undefined
}

/**
 * The session entity registered with this runner's `Sharding`, and `Sessions`
 * over it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSessions = (
  options?: EntityOptions
): Layer.Layer<
  Sessions.Sessions,
  never,
  Sharding.Sharding | SessionStore.SessionStore | Sessions.ProviderRegistry | SqlClient.SqlClient
> =>
  // The drain is built after the entity, so it is released before it (and before Sharding).
  internal.layerDrain(options?.shardingConfig?.entityTerminationTimeout ?? "15 seconds").pipe(
    Layer.provideMerge(Layer.merge(internal.layer(options), Layer.effect(Sessions.Sessions, make))),
    Layer.provideMerge(internal.ActiveTurns.layer)
  )

/**
 * The embedded default: one runner in this process, the session store and
 * the cluster's tables in one SQLite file (or `:memory:`). Needs a
 * `ProviderRegistry`. `@effect/sql-sqlite-node` is loaded when the layer is built.
 *
 * @example
 * ```ts
 * import { ClusterSessions } from "@streamvisor/cluster"
 * import { Sessions } from "@streamvisor/supervisor"
 * import { Layer } from "effect"
 *
 * declare const providers: Layer.Layer<Sessions.ProviderRegistry>
 * const SessionsLive = ClusterSessions.layerEmbedded({ filename: "sessions.db" }).pipe(Layer.provide(providers))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerEmbedded = (
  options: EntityOptions & { readonly filename: string }
): Layer.Layer<Sessions.Sessions | SessionStore.SessionStore, unknown, Sessions.ProviderRegistry> =>
  Layer.unwrapEffect(
    Effect.map(
      Effect.promise(() => import("@effect/sql-sqlite-node/SqliteClient")),
      (SqliteClient) => layerSingleRunner(options).pipe(Layer.provide(SqliteClient.layer({ filename: options.filename })))
    )
  )

/**
 * One runner in this process over any `SqlClient` (the session store is
 * migrated and provided too).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSingleRunner = (
  options?: EntityOptions
): Layer.Layer<Sessions.Sessions | SessionStore.SessionStore, unknown, Sessions.ProviderRegistry | SqlClient.SqlClient> =>
  layerSessions(options).pipe(
    Layer.provideMerge(SqlSessionStore.layer),
    Layer.provide(SingleRunner.layer({ shardingConfig: options?.shardingConfig, runnerStorage: "memory" }))
  )

/**
 * One runner of many: listens on `address` for the other runners, keeps
 * runners, shard locks and the session store in the database of the
 * `SqlClient` it is given (PostgreSQL for a deployment: `PgClient.layer`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerRunner = (
  options: EntityOptions & {
    readonly address: { readonly host: string; readonly port: number }
  }
): Layer.Layer<
  Sessions.Sessions | SessionStore.SessionStore,
  unknown,
  Sessions.ProviderRegistry | SqlClient.SqlClient
> =>
  layerSessions(options).pipe(
    Layer.provideMerge(SqlSessionStore.layer),
    Layer.provide(
      NodeClusterSocket.layer({
        storage: "sql",
        shardingConfig: {
          ...options.shardingConfig,
          runnerAddress: Option.some(RunnerAddress.make(options.address))
        }
      }) as Layer.Layer<Sharding.Sharding, SocketServerError | ConfigError, SqlClient.SqlClient>
    )
  )

/**
 * A process that only sends: no entities, no listening socket. Reads the
 * runners and shard assignments from the database the runners share.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClient = (
  options?: Pick<EntityOptions, "shardingConfig">
): Layer.Layer<Sessions.Sessions, ConfigError, SqlClient.SqlClient> =>
  Layer.effect(Sessions.Sessions, make).pipe(
    Layer.provide(
      NodeClusterSocket.layer({
        clientOnly: true,
        storage: "sql",
        shardingConfig: { ...options?.shardingConfig, runnerAddress: Option.none() }
      }) as Layer.Layer<Sharding.Sharding, ConfigError, SqlClient.SqlClient>
    )
  )
