/**
 * A promise face of the supervisor, for code that does not use Effect: no
 * `Scope` to manage by hand. `startSupervisor` runs a supervisor in a scope
 * of its own, `close()` (or `await using`) shuts it down and returns the
 * shutdown report. A session's `send` is an `AsyncIterable` whose `break`,
 * `return()` and `signal` cancel the turn and release its connection, as
 * `streamText` in `@streamvisor/core/promise` does (it is the same
 * iterator). Typed errors are thrown as themselves (`error._tag`).
 *
 * @example
 * ```ts
 * import { startSupervisor } from "@streamvisor/supervisor/promise"
 * import type { Provider } from "@streamvisor/core"
 *
 * declare const claude: Provider.Provider
 *
 * await using sup = await startSupervisor({ maxConcurrentStreams: 8 })
 * const chat = await sup.spawn({ id: "alice", provider: claude, model: "claude-sonnet-4-5" })
 * for await (const event of chat.send("Hello!")) {
 *   if (event._tag === "TextDelta") process.stdout.write(event.text)
 * }
 * ```
 *
 * A session spawned with `tools` (core's `PromiseTool`s) runs every turn as
 * an agent turn; `sendAgent` iterates its steps, tool results and end:
 *
 * @example
 * ```ts
 * import { startSupervisor } from "@streamvisor/supervisor/promise"
 * import type { Provider } from "@streamvisor/core"
 *
 * declare const claude: Provider.Provider
 *
 * await using sup = await startSupervisor()
 * const agent = await sup.spawn({
 *   provider: claude,
 *   model: "claude-sonnet-4-5",
 *   tools: {
 *     add: {
 *       parameters: { type: "object", properties: { a: { type: "number" }, b: { type: "number" } } },
 *       execute: async ({ a, b }: { a: number; b: number }) => a + b
 *     }
 *   },
 *   maxSteps: 4
 * })
 * for await (const event of agent.sendAgent("What is 2 + 40?")) {
 *   if (event._tag === "StepStart") console.log(`step ${event.step}`)
 *   if (event._tag === "ToolResult") console.log(`${event.name}: ${event.outcome} in ${event.durationMs} ms`)
 * }
 * ```
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { ChatRequest, LlmError, Provider, StreamEvent } from "@streamvisor/core"
import { Ledger } from "@streamvisor/core"
import { type AgentEventIterator, type EventIterator, type PromiseTool, promiseToolkit, streamText } from "@streamvisor/core/promise"
import type * as Session from "./Session.js"
import * as Validation from "./internal/Validation.js"
import * as Supervisor from "./Supervisor.js"

export type { AgentEvent, AgentEventIterator, EventIterator, PromiseTool } from "@streamvisor/core/promise"

/**
 * @since 0.1.0
 * @category models
 */
export interface StartOptions extends Supervisor.Options {
  /** The ledger the supervisor's streams are recorded in; the process-wide one by default. */
  readonly ledger?: Ledger.Service | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface SendOptions {
  /** Aborting it cancels the turn and releases its connection; the pending `next()` rejects with `signal.reason`. */
  readonly signal?: AbortSignal | undefined
}

/**
 * What the promise face's `spawn` takes: `Session.SpawnOptions`, with
 * `tools` given as core's `PromiseTool`s (the ones `streamAgent` takes).
 * With them every turn is an agent turn (up to `maxSteps`); each `execute`
 * gets a `signal` that aborts when its handler is cut: the turn cancelled
 * (`break`, `return()`, the send's `signal`), the session crashed or stopped,
 * the supervisor closed, or the call past `toolTimeout`.
 *
 * @since 0.3.0
 * @category models
 */
export interface SpawnOptions extends Omit<Session.SpawnOptions, "tools"> {
  /** The session's tools, by name; refused with `InvalidOptions` unless each has an `execute` function. */
  readonly tools?: Readonly<Record<string, PromiseTool>> | undefined
}

/**
 * A session, as the promise face shows it.
 *
 * @since 0.1.0
 * @category models
 */
export interface PromiseSession {
  readonly id: string
  /** Ask; iterate the answer. Throws `InvalidMessage` at once for text that is not a non-empty string. */
  readonly send: (text: string, options?: SendOptions) => EventIterator
  /**
   * Ask; iterate the turn's agent events (`StepStart`, provider events,
   * `ToolResult`, `StepFinish`, `TurnEnd`), as `streamAgent`'s iterator does.
   * Cancelling and errors are `send`'s; a turn can also throw `ToolError` or
   * `ToolTimeout`. A session without tools answers in one step.
   */
  readonly sendAgent: (text: string, options?: SendOptions) => AgentEventIterator
  /** Tell; resolves with the turn number. */
  readonly tell: (text: string) => Promise<number>
  readonly history: () => Promise<ReadonlyArray<ChatRequest.Message>>
  readonly info: () => Promise<Session.Info>
  /** Graceful stop (see `SessionRef.stop`). */
  readonly stop: () => Promise<void>
  /** The Effect handle, for code that has Effect after all. */
  readonly ref: Session.SessionRef
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PromiseSupervisor extends AsyncDisposable {
  readonly name: string
  /** Start a session (see `Supervisor.spawn`); `tools` are `PromiseTool`s (see {@link SpawnOptions}). */
  readonly spawn: (options: SpawnOptions) => Promise<PromiseSession>
  readonly get: (id: string) => Promise<PromiseSession | undefined>
  readonly snapshot: () => Promise<Supervisor.Snapshot>
  /** Shut down (idempotent) and resolve with the shutdown report. */
  readonly close: () => Promise<Supervisor.ShutdownReport>
  /** Resolves with the report once shut down; rejects with `RestartIntensityExceeded` after an escalation. */
  readonly join: () => Promise<Supervisor.ShutdownReport>
  /** The Effect supervisor. */
  readonly supervisor: Supervisor.Supervisor
}

/** Run an Effect; a failure rejects with the typed error itself, not a `FiberFailure`. */
const run = async <A, E>(effect: Effect.Effect<A, E>): Promise<A> => {
  const exit = await Effect.runPromiseExit(effect)
  if (Exit.isSuccess(exit)) return exit.value
  const failure = Cause.failureOption(exit.cause)
  throw Option.isSome(failure) ? failure.value : Cause.squash(exit.cause)
}

/**
 * `streamText`'s iterator over a turn's stream: its release is the turn's
 * cancellation. Bad text throws the same typed error `tell` gives, where the
 * call is made. (The iterator only passes events and errors on: a turn's
 * agent events and `SessionError`s travel as they are.)
 */
const iterate = (
  ref: Session.SessionRef,
  text: string,
  events: () => Stream.Stream<unknown, unknown>,
  options: SendOptions
): EventIterator => {
  const checked = Effect.runSyncExit(Validation.messageText(ref.id, text))
  if (Exit.isFailure(checked)) throw Option.getOrThrow(Cause.failureOption(checked.cause))
  const turn: Provider.Provider = {
    name: ref.id,
    stream: events as () => Stream.Stream<StreamEvent.StreamEvent, LlmError.LlmError>,
    generate: () => Effect.die("unused")
  }
  return streamText(turn, { model: "", messages: [] }, { signal: options.signal })
}

const session = (ref: Session.SessionRef): PromiseSession => ({
  id: ref.id,
  send: (text, options = {}) => iterate(ref, text, () => ref.send(text), options),
  sendAgent: (text, options = {}) => iterate(ref, text, () => ref.sendAgent(text), options) as unknown as AgentEventIterator,
  tell: (text) => run(ref.tell(text)),
  history: () => run(ref.history),
  info: () => run(ref.info),
  stop: () => run(ref.stop),
  ref
})

/** Spawn; `tools` (checked first) become a toolkit whose handlers the session keeps (core's `promiseToolkit`). */
const spawn = (supervisor: Supervisor.Supervisor, options: SpawnOptions): Effect.Effect<Session.SessionRef, Supervisor.SpawnError> => {
  const tools = typeof options === "object" && options !== null ? options.tools : undefined
  if (tools === undefined) return supervisor.spawn(options as Session.SpawnOptions)
  return Effect.flatMap(Validation.promiseTools(options), () => {
    const { handlers, toolkit } = promiseToolkit(tools)
    return Effect.provide(supervisor.spawn({ ...options, tools: toolkit }), handlers)
  })
}

/**
 * Start a supervisor in a scope of its own. Rejects with `InvalidOptions`
 * for options it cannot run with, `NameInUse` while a supervisor of the same
 * `name` runs in this process (`close()` frees the name).
 *
 * @since 0.1.0
 * @category constructors
 */
export const startSupervisor = async (options: StartOptions = {}): Promise<PromiseSupervisor> => {
  const { ledger, ...supervisorOptions } = options
  const scope = Effect.runSync(Scope.make())
  const make = Scope.extend(Supervisor.make(supervisorOptions), scope)
  const supervisor = await run(
    (ledger === undefined ? make : Effect.provideService(make, Ledger.Ledger, ledger)).pipe(
      Effect.onError(() => Scope.close(scope, Exit.void))
    )
  )
  const close = () => run(Effect.zipRight(Scope.close(scope, Exit.void), supervisor.shutdownReport))
  return {
    name: supervisor.name,
    spawn: (spawnOptions) => run(Effect.map(spawn(supervisor, spawnOptions), (ref) => session(ref))),
    get: (id) => run(Effect.map(supervisor.get(id), (ref) => Option.getOrUndefined(Option.map(ref, (r) => session(r))))),
    snapshot: () => run(supervisor.snapshot),
    close,
    join: () => run(supervisor.join),
    supervisor,
    [Symbol.asyncDispose]: async () => {
      await close()
    }
  }
}
