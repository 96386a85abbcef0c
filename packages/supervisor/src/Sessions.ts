/**
 * Sessions addressed by id, wherever they run: the one API over the local
 * supervisor and the `@effect/cluster` entities of `@streamvisor/cluster`, so
 * an application moves from one to the other by changing a Layer.
 *
 * ```ts
 * import { Sessions } from "@streamvisor/supervisor"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const sessions = yield* Sessions.Sessions
 *   yield* sessions.create({ id: "chat-1", provider: "anthropic", model: "claude-sonnet-4-5" })
 *   return sessions.get("chat-1").send("Hello") // Stream<StreamEvent, TurnError>
 * })
 * ```
 *
 * A session is created with a provider **name**: a `Provider` is not
 * serialisable, so every process maps names to providers through the
 * {@link ProviderRegistry} its layer is given.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { ChatRequest, LlmError, Provider, StreamEvent } from "@streamvisor/core"
import type * as Session from "./Session.js"
import { type SessionError, SessionStopped } from "./SessionError.js"
import * as Supervisor from "./Supervisor.js"
import type * as SessionStore from "./SessionStore.js"
import type * as SupervisorError from "./SupervisorError.js"

/**
 * Why a session could not be reached or could not keep a turn, besides
 * `LlmError` and `SessionError`:
 *
 * - `NotFound`: no session has this id (`create` it first).
 * - `AlreadyExists`: `create` of an id that is taken.
 * - `UnknownProvider`: the provider name is not in this process's registry.
 * - `RunnerLost`: the runner running this turn died; the turn was not
 *   committed and is not run again.
 * - `Store`: the session store failed, or another writer committed first.
 * - `Cluster`: the cluster refused the message (mailbox full, storage error).
 *
 * @since 0.1.0
 * @category errors
 */
export class SessionUnavailable extends Schema.TaggedError<SessionUnavailable>(
  "@streamvisor/supervisor/SessionUnavailable"
)("SessionUnavailable", {
  sessionId: Schema.String,
  reason: Schema.Literal("NotFound", "AlreadyExists", "UnknownProvider", "RunnerLost", "Store", "Cluster"),
  turn: Schema.optional(Schema.Number),
  detail: Schema.String
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const turn = this.turn === undefined ? "" : ` (turn ${this.turn})`
    return `session ${this.sessionId}${turn}: ${this.reason}: ${this.detail}`
  }
}

/**
 * Every way a turn can fail.
 *
 * @since 0.1.0
 * @category errors
 */
export type TurnError = LlmError.LlmError | SessionError | SessionUnavailable

/**
 * What `create` takes: the settings a session is stored and resumed with.
 *
 * @since 0.1.0
 * @category models
 */
export interface CreateOptions {
  readonly id: string
  /** A name in the {@link ProviderRegistry}. */
  readonly provider: string
  readonly model: string
  readonly system?: string | undefined
  /** Keep only the newest `maxTurns` turns (see `SessionStore.trim`); where a store is used. */
  readonly maxTurns?: number | undefined
}

/**
 * A session, by id. Nothing is looked up until a method runs: a handle on an
 * id nobody created fails each call with `SessionUnavailable` `NotFound`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Handle {
  readonly id: string
  /** Ask, as `SessionRef.send`: the stream ends successfully exactly when the turn was committed. */
  readonly send: (text: string) => Stream.Stream<StreamEvent.StreamEvent, TurnError>
  /** Tell: enqueue `text` and succeed with its turn number. */
  readonly tell: (text: string) => Effect.Effect<number, SessionError | SessionUnavailable>
  /** The committed history, oldest first. */
  readonly history: Effect.Effect<ReadonlyArray<ChatRequest.Message>, SessionUnavailable>
  /**
   * Graceful stop: queued turns fail with `SessionStopped`, the current one
   * finishes, later turns are refused. In the cluster the refusal lasts as
   * long as the session's entity stays in memory; the history stays stored.
   */
  readonly stop: Effect.Effect<void, SessionUnavailable>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Sessions {
  /**
   * Fails with `InvalidOptions` when the local supervisor refuses the options (bad model, system
   * prompt…), and with `ResumeMismatch` / `SessionStoreError` when its store disagrees or fails.
   */
  readonly create: (
    options: CreateOptions
  ) => Effect.Effect<
    Handle,
    | SessionUnavailable
    | SessionError
    | SupervisorError.InvalidOptions
    | SupervisorError.ResumeMismatch
    | SessionStore.SessionStoreError
  >
  readonly get: (id: string) => Handle
}

/**
 * @since 0.1.0
 * @category tags
 */
export const Sessions: Context.Tag<Sessions, Sessions> = Context.GenericTag<Sessions>("@streamvisor/supervisor/Sessions")

/**
 * Provider names to providers, per process.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProviderRegistry {
  readonly get: (name: string) => Option.Option<Provider.Provider>
}

/**
 * @since 0.1.0
 * @category tags
 */
export const ProviderRegistry: Context.Tag<ProviderRegistry, ProviderRegistry> = Context.GenericTag<ProviderRegistry>(
  "@streamvisor/supervisor/ProviderRegistry"
)

/**
 * A registry of the given providers, by the names given (a record) or by
 * each provider's own `name` (an array).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerProviders = (
  providers: Readonly<Record<string, Provider.Provider>> | ReadonlyArray<Provider.Provider>
): Layer.Layer<ProviderRegistry> => {
  const byName = new Map(
    Array.isArray(providers)
      ? (providers as ReadonlyArray<Provider.Provider>).map((provider) => [provider.name, provider] as const)
      : Object.entries(providers)
  )
  return Layer.succeed(ProviderRegistry, { get: (name) => Option.fromNullable(byName.get(name)) })
}

/**
 * The provider a registry holds under `name`, or `UnknownProvider`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const provider = (
  registry: ProviderRegistry,
  sessionId: string,
  name: string
): Effect.Effect<Provider.Provider, SessionUnavailable> =>
  Option.match(registry.get(name), {
    onNone: () =>
      Effect.fail(new SessionUnavailable({ sessionId, reason: "UnknownProvider", detail: `no provider named ${name}` })),
    onSome: Effect.succeed
  })

const notFound = (sessionId: string) => new SessionUnavailable({ sessionId, reason: "NotFound", detail: "no such session" })

/**
 * Sessions on a local `Supervisor` (made with `options`, closed with the
 * scope): one process, history in memory. `maxTurns` is not applied here.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeLocal = (
  options?: Supervisor.Options
): Effect.Effect<Sessions, SupervisorError.InvalidOptions | SupervisorError.NameInUse, ProviderRegistry | Scope.Scope> =>
  Effect.gen(function*() {
    const registry = yield* ProviderRegistry
    const supervisor = yield* Supervisor.make(options)
    const ref = (id: string): Effect.Effect<Session.SessionRef, SessionUnavailable> =>
      Effect.flatMap(supervisor.get(id), Option.match({ onNone: () => Effect.fail(notFound(id)), onSome: Effect.succeed }))
    const get = (id: string): Handle => ({
      id,
      send: (text) => Stream.unwrap(Effect.map(ref(id), (session) => session.send(text))),
      tell: (text) => Effect.flatMap(ref(id), (session) => session.tell(text)),
      history: Effect.flatMap(ref(id), (session) => session.history),
      stop: Effect.flatMap(ref(id), (session) => session.stop)
    })
    const create = (create: CreateOptions) =>
      Effect.gen(function*() {
        const chosen = yield* provider(registry, create.id, create.provider)
        yield* supervisor.spawn({ id: create.id, provider: chosen, model: create.model, system: create.system }).pipe(
          Effect.catchTags({
            SessionIdInUse: () =>
              Effect.fail(new SessionUnavailable({ sessionId: create.id, reason: "AlreadyExists", detail: "id in use" })),
            SupervisorClosed: () => Effect.fail(new SessionStopped({ sessionId: create.id, reason: "shutdown" }))
          })
        )
        return get(create.id)
      })
    return Sessions.of({ create, get })
  })

/**
 * {@link makeLocal} as a layer: swap it for `ClusterSessions.layerEmbedded`
 * (or a runner layer) and the code using `Sessions` stays as it is.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerLocal = (
  options?: Supervisor.Options
): Layer.Layer<Sessions, SupervisorError.InvalidOptions | SupervisorError.NameInUse, ProviderRegistry> =>
  Layer.scoped(Sessions, makeLocal(options))
