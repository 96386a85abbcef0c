/**
 * A session is an actor holding one conversation: a mailbox of user messages,
 * processed one turn at a time, in order, against one provider and model.
 * History is committed only when a turn completes with `Finish`; a turn that
 * fails or is cut leaves it as it was.
 *
 * Sessions are made by `Supervisor.spawn` and addressed by id. Their durable
 * state ({@link State}) is a `Schema`, so an `@effect/cluster` entity could
 * own it later.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type { Pipeable } from "effect/Pipeable"
import type * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { ChatRequest, LlmError, StreamEvent } from "@streamvisor/core"
import type { AgentEvent, Provider, Toolkit } from "@streamvisor/core"
import { type InvalidMessage, SessionError, type SessionStopped } from "./SessionError.js"

/**
 * OTP restart types. `permanent` and `transient`: restarted after a crash (a
 * defect); `temporary`: never restarted. An idle exit (`idleTimeout`) is a
 * normal exit, never a crash and never counted toward the restart intensity:
 * a `permanent` session passivates (it keeps its id, history and mailbox,
 * shows `idle`, and its next message starts it again), a `transient` or
 * `temporary` one stops (`stopped`, reason `idle`). A session stopped on
 * request (`stop`, supervisor shutdown) is never restarted.
 *
 * @since 0.1.0
 * @category models
 */
export type Restart = "permanent" | "transient" | "temporary"

/**
 * A session's lifecycle state.
 *
 * - `idle`: waiting for a message.
 * - `waiting`: a turn is waiting for a stream permit (`maxConcurrentStreams`).
 * - `streaming`: a turn's provider stream is open.
 * - `tools`: an agent turn is running the tools its last step called (no
 *   stream is open; see `Info.runningTools`).
 * - `restarting`: crashed, waiting out the backoff before it runs again.
 * - `stopping`: `stop` was called; finishing the current turn.
 * - `stopped`: ended on request, after an idle exit, or at shutdown.
 * - `failed`: died of a defect and was not restarted (temporary, or past the
 *   restart intensity).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Status = Schema.Literal("idle", "waiting", "streaming", "tools", "restarting", "stopping", "stopped", "failed")

/**
 * @since 0.1.0
 * @category models
 */
export type Status = typeof Status.Type

/**
 * A session's durable state: what must survive a restart, or a move to
 * another machine. `nextTurn` is the number the next message will get.
 * Its fields are spawn options: `supervisor.spawn({ ...state, provider })`
 * continues the conversation (same id, model, system and history; turn
 * numbers going on from `nextTurn`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const State = Schema.Struct({
  id: Schema.String,
  model: Schema.String,
  system: Schema.optional(Schema.String),
  history: Schema.Array(ChatRequest.Message),
  nextTurn: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export type State = typeof State.Type

/**
 * One line of `Supervisor.snapshot`: a session as it is right now.
 * `turns` counts committed turns (a session resumed from a store starts
 * from the turns its stored history holds); `pending` the messages waiting in the
 * mailbox (a queued turn whose caller left stays counted until the session
 * reaches and skips it); `currentTurn` the number of the turn in flight;
 * `liveStreams` whether its turn holds a stream permit, i.e. its provider
 * stream is open or opening (0 or 1). A session with `tools` also shows
 * `step`, the step of the turn in flight (`null` between turns), and
 * `runningTools`, how many of that step's tool calls are still running.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Info = Schema.Struct({
  id: Schema.String,
  provider: Schema.String,
  model: Schema.String,
  status: Status,
  restart: Schema.Literal("permanent", "transient", "temporary"),
  turns: Schema.Number,
  pending: Schema.Number,
  currentTurn: Schema.NullOr(Schema.Number),
  restarts: Schema.Number,
  liveStreams: Schema.Number,
  step: Schema.optional(Schema.NullOr(Schema.Number)),
  runningTools: Schema.optional(Schema.Number)
})

/**
 * @since 0.1.0
 * @category models
 */
export type Info = typeof Info.Type

/**
 * A turn was taken from the mailbox and started.
 *
 * @since 0.2.0
 * @category schemas
 */
export const TurnStarted = Schema.TaggedStruct("TurnStarted", { turn: Schema.Number, text: Schema.String })

/**
 * One event of a turn's provider stream.
 *
 * @since 0.2.0
 * @category schemas
 */
export const TurnEvent = Schema.TaggedStruct("TurnEvent", { turn: Schema.Number, event: StreamEvent.StreamEvent })

/**
 * The turn completed with `Finish`; its messages joined the history.
 *
 * @since 0.2.0
 * @category schemas
 */
export const TurnCommitted = Schema.TaggedStruct("TurnCommitted", { turn: Schema.Number })

/**
 * The turn failed with the provider's `LlmError` or a `SessionError`; history
 * is as it was before it.
 *
 * @since 0.2.0
 * @category schemas
 */
export const TurnFailed: Schema.TaggedStruct<"TurnFailed", {
  turn: typeof Schema.Number
  error: Schema.Union<[typeof LlmError.LlmError, typeof SessionError]>
}> = Schema.TaggedStruct("TurnFailed", {
  turn: Schema.Number,
  error: Schema.Union(LlmError.LlmError, SessionError)
})

/**
 * The caller of the turn left (or interrupted it) before it completed.
 *
 * @since 0.2.0
 * @category schemas
 */
export const TurnCancelled = Schema.TaggedStruct("TurnCancelled", { turn: Schema.Number })

/**
 * The session crashed with `defect` and is being restarted (restart number
 * `restarts`). The defect travels as `Schema.Defect` encodes it: an `Error`
 * as `{ name, message }`, anything else as itself or its text.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Restarting = Schema.TaggedStruct("Restarting", { restarts: Schema.Number, defect: Schema.Defect })

/**
 * The session ended; the last event of its `events`.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Terminated = Schema.TaggedStruct("Terminated", { status: Schema.Literal("stopped", "failed") })

/**
 * What a session publishes to its `events` subscribers, every event tagged
 * with the number of the turn it belongs to. A `Schema`, so events can be
 * sent to another process: `Schema.encode(Session.Event)` gives plain JSON
 * (errors as their `Schema.TaggedError` encodings), `Schema.decode` gives the
 * events back, errors as instances of their classes.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Event: Schema.Union<[
  typeof TurnStarted,
  typeof TurnEvent,
  typeof TurnCommitted,
  typeof TurnFailed,
  typeof TurnCancelled,
  typeof Restarting,
  typeof Terminated
]> = Schema.Union(TurnStarted, TurnEvent, TurnCommitted, TurnFailed, TurnCancelled, Restarting, Terminated)

/**
 * @since 0.1.0
 * @category models
 */
export type Event = typeof Event.Type

/**
 * An event as it travels: plain JSON.
 *
 * @since 0.2.0
 * @category models
 */
export type EventEncoded = typeof Event.Encoded

/**
 * A stream policy applied to every turn's provider stream, e.g.
 * `(events) => events.pipe(timeouts({ idle: "30 seconds" }), retry({ times: 2 }))`.
 *
 * @since 0.1.0
 * @category models
 */
export type Policies = (
  events: Stream.Stream<StreamEvent.StreamEvent, LlmError.LlmError>
) => Stream.Stream<StreamEvent.StreamEvent, LlmError.LlmError>

/**
 * The request settings a session sends with every turn besides its model,
 * system prompt and messages: `maxTokens`, `temperature`, `stop`, `tools`
 * (every other field of core's `ChatRequest`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const RequestOptions = ChatRequest.ChatRequest.from.omit("model", "messages", "system")

/**
 * @since 0.1.0
 * @category models
 */
export type RequestOptions = typeof RequestOptions.Type

/**
 * What `Supervisor.spawn` takes.
 *
 * With a supervisor `store`, `spawn` of an id the store knows **resumes**
 * that conversation: its history (as trimmed by `maxTurns`), turn numbering,
 * model, system prompt, options and `maxTurns` come from the store.
 * `provider` must be given again (the store holds its name only, and a
 * provider of another name is refused with `ResumeMismatch`); `model`,
 * `system`, `options`, `maxTurns` may be left out, and when given must equal
 * the stored ones. `history` and `nextTurn` are refused with a store (it is
 * where both come from). An id the store does not know is created there.
 *
 * With `tools`, every turn is a whole agent turn (`AgentTurn.stream`): the
 * model answers, the toolkit's handlers run its tool calls, and it answers
 * again, up to `maxSteps`. `spawn` then requires the toolkit's handlers
 * (`Toolkit.Handlers<TK>`, e.g. `Effect.provide(Toolkit.toLayer(tools, …))`
 * around the spawn): the session keeps the context it was spawned in, and
 * its turns run their handlers with it.
 *
 * @since 0.1.0
 * @category models
 */
export interface SpawnOptions<TK extends Toolkit.Any = never> {
  /**
   * Unique among running sessions; generated when absent (`session-N`; with
   * a store `session-<uuid>`, so a new process never meets a stored id).
   */
  readonly id?: string | undefined
  readonly provider: Provider.Provider
  /** Required for a new session; may be left out when resuming a stored one. */
  readonly model?: string | undefined
  readonly system?: string | undefined
  /** Sent with every turn's request (see {@link RequestOptions}). */
  readonly options?: RequestOptions | undefined
  /**
   * Bound history to the newest `maxTurns` committed turns: older turns are
   * dropped whole after each commit, in memory and in the store, by
   * `SessionStore.trim`'s rule. Default: unbounded.
   */
  readonly maxTurns?: number | undefined
  /** Applied to every turn's provider stream. */
  readonly policies?: Policies | undefined
  /** History to start from, e.g. a saved {@link State}'s. Not with a store. */
  readonly history?: ReadonlyArray<ChatRequest.Message> | undefined
  /**
   * The number the first message will get (default 1), e.g. a saved
   * {@link State}'s `nextTurn`, so a restored session goes on numbering
   * where it left off. `spawn` fails with `InvalidOptions` unless it is a
   * positive integer. Not with a store.
   */
  readonly nextTurn?: number | undefined
  /** Overrides the supervisor's `restart` for this session. */
  readonly restart?: Restart | undefined
  /** Overrides the supervisor's `idleTimeout` for this session. */
  readonly idleTimeout?: Duration.DurationInput | undefined
  /**
   * Run each turn as an agent turn over this toolkit (see above). Its
   * handlers are not stored: a session resumed from a store is given its
   * tools again at `spawn`.
   */
  readonly tools?: TK | undefined
  /** With `tools`: the most steps (model answers) per turn, default 10 (`AgentTurn.Options.maxSteps`). */
  readonly maxSteps?: number | undefined
  /** With `tools`: the longest run of one handler; past it the turn fails with `ToolTimeout`. */
  readonly toolTimeout?: Duration.DurationInput | undefined
}

/**
 * A handle on a session, addressed by its id. Every method is safe to call
 * after the session has stopped: turns are refused with `SessionStopped`.
 *
 * @since 0.1.0
 * @category models
 */
export interface SessionRef extends Pipeable {
  readonly id: string
  /**
   * Ask: enqueue `text` when the stream is run and stream the answer's events.
   * The turn waits for the turns before it. Interrupting the consumer (or
   * ending it early) cancels the turn and closes its provider stream; the
   * consumer's finalizer returns once the connection is released. The stream
   * ends successfully exactly when the turn was committed to history.
   * In a session with `tools`, it streams every step's provider events, each
   * step ending with its own `Finish`, and the turn commits at its end.
   */
  readonly send: (text: string) => Stream.Stream<StreamEvent.StreamEvent, LlmError.LlmError | SessionError>
  /**
   * Ask, as `send`, and stream the turn's whole `AgentEvent`s: each step's
   * `StepStart`, provider events, `ToolResult`s (outcome, `durationMs`) and
   * `StepFinish`, then `TurnEnd` with the messages committed after the
   * user's. A session without tools answers in one step (`TurnEnd` reason
   * `"finished"`). Cancelling, errors and the end are `send`'s; leaving after
   * `TurnEnd` lets the turn commit. Subscribers still see provider events only.
   */
  readonly sendAgent: (text: string) => Stream.Stream<AgentEvent.AgentEvent, LlmError.LlmError | SessionError>
  /**
   * Tell: enqueue `text` and return its turn number at once; the answer goes
   * to `events` subscribers. Fails with `InvalidMessage` unless `text` is a
   * non-empty string (`send`'s stream fails the same way, before enqueuing).
   */
  readonly tell: (text: string) => Effect.Effect<number, SessionStopped | InvalidMessage>
  /** The committed history: user and assistant messages, in order. */
  readonly history: Effect.Effect<ReadonlyArray<ChatRequest.Message>>
  /**
   * A subscription to every turn's events (tagged with the turn number), for
   * as long as the scope is open. `Terminated` is the last event; a
   * subscription made after the session terminated is shut down at once.
   * See {@link eventStream} for a `Stream` that ends by itself.
   */
  readonly events: Effect.Effect<Queue.Dequeue<Event>, never, Scope.Scope>
  /**
   * Graceful stop: refuse new turns, drop the queued ones (their callers get
   * `SessionStopped`), let the current turn finish within the supervisor's
   * `shutdownTimeout`, then interrupt it. Returns once the session has
   * terminated. Never restarted afterwards.
   */
  readonly stop: Effect.Effect<void>
  /** The session as `snapshot` shows it. */
  readonly info: Effect.Effect<Info>
  /** The durable state (see {@link State}). */
  readonly state: Effect.Effect<State>
  /**
   * **For tests and chaos drills.** Kill the session with `defect`, as if it
   * had died of a bug: a turn in flight is cut and fails to its caller with
   * `SessionCrashed` (it is not replayed), and the supervisor's restart policy
   * applies; queued messages wait for the restarted session. Returns once the
   * kill is delivered; the session dies right after. Does nothing while the
   * session is restarting (it is already dead: the crash in progress is the
   * one counted, and `info.restarts` already includes it), stopping or
   * terminated.
   */
  readonly crash: (defect?: unknown) => Effect.Effect<void>
}

/**
 * Ask a session and stream the answer.
 *
 * @example
 * ```ts
 * import { Session } from "@streamvisor/supervisor"
 * import { Stream, pipe } from "effect"
 *
 * declare const ref: Session.SessionRef
 * const answer = pipe(ref, Session.send("Hello"), Stream.runCollect)
 * ```
 *
 * @since 0.1.0
 */
export const send: {
  (text: string): (self: SessionRef) => Stream.Stream<StreamEvent.StreamEvent, LlmError.LlmError | SessionError>
  (self: SessionRef, text: string): Stream.Stream<StreamEvent.StreamEvent, LlmError.LlmError | SessionError>
} = dual(2, (self: SessionRef, text: string) => self.send(text))

/**
 * Ask a session and stream the turn's agent events (see {@link SessionRef.sendAgent}).
 *
 * @example
 * ```ts
 * import { Session } from "@streamvisor/supervisor"
 * import { Effect, Stream, pipe } from "effect"
 *
 * declare const ref: Session.SessionRef
 * const steps = pipe(
 *   ref,
 *   Session.sendAgent("What is 2 + 40?"),
 *   Stream.runForEach((event) => event._tag === "StepStart" ? Effect.log(`step ${event.step}`) : Effect.void)
 * )
 * ```
 *
 * @since 0.3.0
 */
export const sendAgent: {
  (text: string): (self: SessionRef) => Stream.Stream<AgentEvent.AgentEvent, LlmError.LlmError | SessionError>
  (self: SessionRef, text: string): Stream.Stream<AgentEvent.AgentEvent, LlmError.LlmError | SessionError>
} = dual(2, (self: SessionRef, text: string) => self.sendAgent(text))

/**
 * Tell a session (fire and forget); succeeds with the turn's number.
 *
 * @since 0.1.0
 */
export const tell: {
  (text: string): (self: SessionRef) => Effect.Effect<number, SessionStopped | InvalidMessage>
  (self: SessionRef, text: string): Effect.Effect<number, SessionStopped | InvalidMessage>
} = dual(2, (self: SessionRef, text: string) => self.tell(text))

/**
 * @since 0.1.0
 */
export const history = (self: SessionRef): Effect.Effect<ReadonlyArray<ChatRequest.Message>> => self.history

/**
 * @since 0.1.0
 */
export const events = (self: SessionRef): Effect.Effect<Queue.Dequeue<Event>, never, Scope.Scope> => self.events

/**
 * The session's events as a `Stream`, subscribed when the stream starts and
 * ending after `Terminated`.
 *
 * @since 0.1.0
 */
export const eventStream = (self: SessionRef): Stream.Stream<Event> =>
  Stream.unwrapScoped(Effect.map(self.events, (queue) =>
    Stream.takeUntil(Stream.fromQueue(queue), (event: Event) => event._tag === "Terminated")))

/**
 * @since 0.1.0
 */
export const stop = (self: SessionRef): Effect.Effect<void> => self.stop

/**
 * **For tests and chaos drills**: see {@link SessionRef.crash}.
 *
 * @since 0.1.0
 */
export const crash: {
  (defect?: unknown): (self: SessionRef) => Effect.Effect<void>
  (self: SessionRef, defect: unknown): Effect.Effect<void>
} = dual((args) => typeof args[0] === "object" && args[0] !== null && "crash" in args[0] && "send" in args[0],
  (self: SessionRef, defect?: unknown) => self.crash(defect))
