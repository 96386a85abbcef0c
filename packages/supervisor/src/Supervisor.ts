/**
 * An OTP-style supervisor for chat sessions. It runs sessions as actors,
 * restarts crashed ones by policy, caps open provider streams across all
 * sessions, and, when its scope closes, stops accepting work, drains within
 * `shutdownTimeout`, interrupts the rest and reports.
 *
 * Built from Effect's own parts: a `FiberMap` of session fibers (one key per spawn)
 * (a session has a fiber while it has work, and is passivated when idle), a
 * `Semaphore` for `maxConcurrentStreams`, a `Queue` mailbox and a `SynchronizedRef` of
 * state per session, a `PubSub` per observed session, a `Schedule` driver for
 * backoff, `Deferred`s for the shutdown report and escalation, and
 * `effect/Metric` for metrics.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type * as Metric from "effect/Metric"
import type * as Option from "effect/Option"
import type { Pipeable } from "effect/Pipeable"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { Toolkit } from "@streamvisor/core"
import * as internal from "./internal/supervisor.js"
import * as metricsInternal from "./internal/metrics.js"
import type * as Session from "./Session.js"
import type * as SessionStore from "./SessionStore.js"
import type {
  InvalidOptions,
  NameInUse,
  RestartIntensityExceeded,
  ResumeMismatch,
  SessionIdInUse,
  SupervisorClosed
} from "./SupervisorError.js"

/**
 * Every way `spawn` can fail: bad options, an id in use, a closed
 * supervisor, and with a store a resume whose settings differ or a store
 * that failed.
 *
 * @since 0.1.0
 * @category errors
 */
export type SpawnError =
  | SessionIdInUse
  | SupervisorClosed
  | InvalidOptions
  | ResumeMismatch
  | SessionStore.SessionStoreError

/**
 * Options of {@link make}. Every option has a default.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Tags metrics (`supervisor=<name>`) and logs. Unique among the
   * supervisors running in this process: `make` fails with `NameInUse` while
   * another live supervisor holds it (metrics are process-wide, so two would
   * add into each other); free again once that supervisor's scope has
   * closed. Default: `"supervisor"`, or `"supervisor-2"`, `"-3"`… while the
   * lower ones are held. Use a fixed set of names: each is a set of series.
   */
  readonly name?: string | undefined
  /**
   * At most this many provider streams open at once across all sessions; a
   * turn holds a permit while its stream is open and waits for one before.
   * Default: unbounded.
   */
  readonly maxConcurrentStreams?: number | undefined
  /** Default restart type of sessions (see `Session.Restart`). Default `"transient"`. */
  readonly restart?: Session.Restart | undefined
  /**
   * Restart intensity: a session may be restarted at most `maxRestarts` times
   * within `window`; one more crash and it is stopped and reported `failed`.
   * Defaults: 3 within 5 seconds.
   */
  readonly maxRestarts?: number | undefined
  readonly window?: Duration.DurationInput | undefined
  /**
   * The delay before each restart, as a `Schedule` (its delays are used; when
   * it is done the session gives up as if past its intensity). The schedule
   * starts over after a window without restarts. Default: exponential from
   * 100 ms, capped at 5 s.
   */
  readonly backoff?: Schedule.Schedule<unknown> | undefined
  /**
   * When a session exceeds its restart intensity, fail the supervisor too:
   * it shuts down (closing every session) and {@link Supervisor.join} fails
   * with `RestartIntensityExceeded`. Default `false`.
   */
  readonly escalate?: boolean | undefined
  /**
   * How long a stop (a session's `stop`, or the supervisor's shutdown) lets
   * turns in flight finish before interrupting them. Default 10 seconds.
   */
  readonly shutdownTimeout?: Duration.DurationInput | undefined
  /**
   * A session with an empty mailbox for this long exits normally: a
   * `permanent` session passivates (drops its fiber and timer, keeps its id,
   * history and mailbox; the next message starts it again), others stop.
   * An idle exit is never a crash: it does not count toward `maxRestarts`
   * and never escalates. Default: never.
   */
  readonly idleTimeout?: Duration.DurationInput | undefined
  /**
   * How many terminated sessions' final `Info` the snapshot keeps (the most
   * recent ones). A session is removed from the registry as soon as it
   * terminates (stopped, idle exit, or failed past its restart intensity), so
   * a supervisor that runs for months spawning sessions with ever-new ids
   * holds memory only for the sessions running now plus this many records;
   * `snapshot.stopped` / `snapshot.failed` count every one. `0` keeps none.
   * Default 100.
   */
  readonly retainTerminated?: number | undefined
  /**
   * Where sessions' conversations are kept (a `SessionStore`, e.g.
   * `yield* SessionStore.SessionStore`, the SQL one from
   * `@streamvisor/cluster`). With a store, `spawn` of a stored id resumes
   * it (see `Session.SpawnOptions`), a new id is created in the store, and
   * each turn is committed to the store, in one transaction, before its
   * `send` stream ends successfully; memory is updated with the commit, never
   * without it. Failed and cancelled turns write nothing; `stop` and shutdown
   * delete nothing. Messages queued but not started live in memory only: a
   * process that dies loses them. Default: none (sessions live in memory).
   *
   * @example
   * ```ts
   * import { SessionStore, Supervisor } from "@streamvisor/supervisor"
   * import { Effect, Stream } from "effect"
   * import type { Provider } from "@streamvisor/core"
   *
   * declare const claude: Provider.Provider
   *
   * // SessionStore.layerMemory here; SqliteSessionStore.layer({ filename }) from
   * // @streamvisor/cluster/sqlite for a store that outlives the process
   * const program = Effect.gen(function*() {
   *   const store = yield* SessionStore.SessionStore
   *   const supervisor = yield* Supervisor.make({ name: "chat", store })
   *   // creates "alice", or resumes her stored conversation (provider given again)
   *   const chat = yield* supervisor.spawn({ id: "alice", provider: claude, model: "claude-sonnet-4-5" })
   *   yield* Stream.runDrain(chat.send("Hello!")) // ends once the turn is in the store
   * }).pipe(Effect.scoped, Effect.provide(SessionStore.layerMemory))
   * ```
   */
  readonly store?: SessionStore.SessionStore | undefined
}

/**
 * What {@link Supervisor.snapshot} returns.
 *
 * @since 0.1.0
 * @category models
 */
export interface Snapshot {
  readonly state: "running" | "shutting-down" | "closed"
  /**
   * All sessions: {@link runningSessions}, then {@link terminatedSessions}.
   * An id appears at most once: spawning an id again drops the record of
   * the earlier session.
   */
  readonly sessions: ReadonlyArray<Session.Info>
  /** The running sessions (`idle`, `waiting`, `streaming`, `restarting`, `stopping`). */
  readonly runningSessions: ReadonlyArray<Session.Info>
  /**
   * The last `retainTerminated` terminated sessions (`stopped`, `failed`),
   * oldest first, as they were when they terminated.
   */
  readonly terminatedSessions: ReadonlyArray<Session.Info>
  /** How many sessions are running: `runningSessions.length`. */
  readonly running: number
  /** Sessions that have terminated `stopped` since the supervisor was made (retained or not). */
  readonly stopped: number
  /** Sessions that have terminated `failed` since the supervisor was made (retained or not). */
  readonly failed: number
  /** Provider streams open across sessions. */
  readonly liveStreams: number
  /** Session fibers alive: sessions with work (idle sessions are passivated and hold none). */
  readonly fibers: number
}

/**
 * What a shutdown did. Logged at `Info` and available from
 * {@link Supervisor.shutdownReport}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ShutdownReport {
  /** `"closed"`: the scope closed or `shutdown` was called; `"escalated"`: a session exceeded its restart intensity. */
  readonly reason: "closed" | "escalated"
  /** Sessions that were running when the shutdown began; all are stopped now. */
  readonly sessionsStopped: number
  /** Sessions still busy at the deadline, interrupted. */
  readonly sessionsInterrupted: number
  /** Queued turns dropped plus turns in flight cut at the deadline. */
  readonly turnsCancelled: number
  /** Turns in flight when the shutdown began that finished during the drain. */
  readonly turnsFinished: number
  /** Provider streams open when the shutdown began; all released since. */
  readonly streamsReleased: number
  /** Streams still live in the supervisor's `Ledger` afterwards (0 unless someone else uses that ledger). */
  readonly streamsLive: number
  /** The drain did not finish within `shutdownTimeout`. */
  readonly timedOut: boolean
  readonly durationMs: number
}

/**
 * The supervisor's metrics, tagged `supervisor=<name>` (and `direction` for
 * tokens, `outcome` for turns): never by session id, so their number does
 * not grow with the sessions run.
 *
 * @since 0.1.0
 * @category models
 */
export interface Metrics {
  readonly sessions: Metric.Metric.Gauge<number>
  readonly liveStreams: Metric.Metric.Gauge<number>
  /** Milliseconds from opening a turn's stream to its first event. */
  readonly timeToFirstToken: Metric.Metric.Histogram<number>
  readonly inputTokens: Metric.Metric.Counter<number>
  readonly outputTokens: Metric.Metric.Counter<number>
  readonly restarts: Metric.Metric.Counter<number>
  readonly sessionsFailed: Metric.Metric.Counter<number>
  readonly turns: {
    readonly committed: Metric.Metric.Counter<number>
    readonly failed: Metric.Metric.Counter<number>
    readonly crashed: Metric.Metric.Counter<number>
    readonly cancelled: Metric.Metric.Counter<number>
    readonly dropped: Metric.Metric.Counter<number>
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Supervisor extends Pipeable {
  readonly name: string
  /**
   * Start a session. Fails with `InvalidOptions` (checked with an
   * `effect/Schema`: provider shape, model, `nextTurn`, `idleTimeout`,
   * restart type) before anything starts, `SessionIdInUse` if a running
   * session has that id, `SupervisorClosed` once shutdown has begun. With a
   * `store`, an id the store knows is resumed (`ResumeMismatch` if a given
   * setting differs from the stored one, `SessionStoreError` if the store
   * fails); without, `history` and `nextTurn` continue a saved
   * `Session.State` (see `Session.SpawnOptions`). With `tools`, requires
   * the toolkit's handlers (`Toolkit.Handlers<TK>`): the session's agent
   * turns run them with the context `spawn` ran in.
   */
  readonly spawn: <TK extends Toolkit.Any = never>(
    options: Session.SpawnOptions<TK>
  ) => Effect.Effect<Session.SessionRef, SpawnError, Toolkit.Handlers<TK>>
  /**
   * The running session with this id. A session that has terminated is
   * forgotten (its `Info` may still be in `snapshot`): `None`.
   */
  readonly get: (id: string) => Effect.Effect<Option.Option<Session.SessionRef>>
  readonly snapshot: Effect.Effect<Snapshot>
  /** Shut down now (as closing the scope does) and return the report; idempotent. */
  readonly shutdown: Effect.Effect<ShutdownReport>
  /** Wait for the shutdown report (however the shutdown came about). */
  readonly shutdownReport: Effect.Effect<ShutdownReport>
  /**
   * Wait until the supervisor has shut down: succeeds with the report, or
   * fails with `RestartIntensityExceeded` if it shut down by escalation.
   */
  readonly join: Effect.Effect<ShutdownReport, RestartIntensityExceeded>
  readonly metrics: Metrics
}

/**
 * Make a supervisor whose lifetime is the current scope. Closing the scope
 * shuts it down: no new work, turns in flight drain within
 * `shutdownTimeout`, the rest are interrupted, every finalizer runs, and the
 * report is logged. Fails with `InvalidOptions`, or `NameInUse` while a
 * supervisor of the same `name` runs in this process.
 *
 * @example
 * ```ts
 * import { Supervisor, Session } from "@streamvisor/supervisor"
 * import { Effect, Schedule, Stream } from "effect"
 * import type { Provider } from "@streamvisor/core"
 *
 * declare const claude: Provider.Provider
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const supervisor = yield* Supervisor.make({
 *       maxConcurrentStreams: 8,
 *       restart: "transient",
 *       maxRestarts: 3,
 *       window: "10 seconds",
 *       backoff: Schedule.exponential("200 millis"),
 *       shutdownTimeout: "5 seconds"
 *     })
 *     const chat = yield* supervisor.spawn({ id: "alice", provider: claude, model: "claude-sonnet-4-5" })
 *     yield* chat.send("Hello!").pipe(Stream.runForEach((event) => Effect.log(event)))
 *     return yield* chat.history
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<Supervisor, InvalidOptions | NameInUse, Scope.Scope> = internal.make

/**
 * Start a session under a supervisor.
 *
 * @example
 * ```ts
 * import { Supervisor } from "@streamvisor/supervisor"
 * import { Effect, pipe } from "effect"
 * import type { Provider } from "@streamvisor/core"
 *
 * declare const supervisor: Supervisor.Supervisor
 * declare const openai: Provider.Provider
 *
 * const session = pipe(
 *   supervisor,
 *   Supervisor.spawn({ id: "bob", provider: openai, model: "gpt-4.1-mini", system: "Be brief." })
 * )
 * ```
 *
 * @since 0.1.0
 */
export const spawn: {
  <TK extends Toolkit.Any = never>(options: Session.SpawnOptions<TK>): (
    self: Supervisor
  ) => Effect.Effect<Session.SessionRef, SpawnError, Toolkit.Handlers<TK>>
  <TK extends Toolkit.Any = never>(
    self: Supervisor,
    options: Session.SpawnOptions<TK>
  ): Effect.Effect<Session.SessionRef, SpawnError, Toolkit.Handlers<TK>>
} = dual(2, (self: Supervisor, options: Session.SpawnOptions<Toolkit.Any>) => self.spawn(options))

/**
 * @since 0.1.0
 */
export const snapshot = (self: Supervisor): Effect.Effect<Snapshot> => self.snapshot

/**
 * @since 0.1.0
 */
export const shutdown = (self: Supervisor): Effect.Effect<ShutdownReport> => self.shutdown

/**
 * @since 0.1.0
 */
export const join = (self: Supervisor): Effect.Effect<ShutdownReport, RestartIntensityExceeded> => self.join

/**
 * The metrics every supervisor updates, untagged; a supervisor's own,
 * tagged with its name, are on {@link Supervisor.metrics}.
 *
 * @since 0.1.0
 * @category metrics
 */
export const metrics = metricsInternal.base

/**
 * The default `backoff`: exponential from 100 ms, capped at 5 s.
 *
 * @since 0.1.0
 */
export const defaultBackoff: Schedule.Schedule<unknown> = internal.defaultBackoff
