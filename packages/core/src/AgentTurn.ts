/**
 * One agent turn: the model answers, and while it calls tools, the tools run
 * and the model answers again with their results — several steps, one turn.
 *
 * What the turn guarantees, whatever ends it (the model finishing, `maxSteps`,
 * a stop condition, a failure, or the consumer cancelling at any point):
 *
 * - each step's provider stream is released exactly once, and before that
 *   step's tool handlers start — a turn waiting on tools holds no connection;
 * - a cancelled turn interrupts the handlers still running, and their
 *   finalizers (`acquireRelease`, `ensuring`) run before the stream ends;
 * - the messages it appended (`TurnEnd.messages`: every assistant step, with
 *   reasoning signatures and tool calls, and every tool result) arrive once,
 *   at the end, so a caller commits the whole turn or nothing.
 *
 * Events: see `AgentEvent`. Errors: a provider failure in any step
 * (`LlmError`), or a tool the model cannot fix (`ToolError`, `ToolTimeout`);
 * a tool's typed failure, arguments that do not decode and an unknown tool are
 * error results the model sees instead.
 *
 * Policies apply per step: pass `policies: (events) => events.pipe(timeouts(…),
 * retry(…))`, and give a `fallback` or `hedge` provider as the provider.
 *
 * @example
 * ```ts
 * import { AgentTurn, type Provider, Tool, Toolkit } from "@streamvisor/core"
 * import { Effect, Schema, Stream } from "effect"
 *
 * const Add = Tool.make("add", { parameters: { a: Schema.Number, b: Schema.Number }, success: Schema.Number })
 * const tools = Toolkit.make(Add)
 * const ToolsLive = Toolkit.toLayer(tools, { add: ({ a, b }) => Effect.succeed(a + b) })
 *
 * declare const claude: Provider.Provider
 * const program = AgentTurn.stream(claude, {
 *   model: "claude-sonnet-4-5",
 *   messages: [{ role: "user", content: "What is 2 + 40?" }]
 * }, tools, { maxSteps: 5 }).pipe(
 *   Stream.runForEach((event) => Effect.log(event._tag)),
 *   Effect.provide(ToolsLive)
 * )
 * ```
 *
 * @since 0.3.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as AgentEvent from "./AgentEvent.js"
import type * as ChatRequest from "./ChatRequest.js"
import { loop, type LoopOptions, type StepResult as LoopStepResult } from "./internal/agentLoop.js"
import { Disconnected, InvalidRequest, type LlmError } from "./LlmError.js"
import type * as Provider from "./Provider.js"
import type * as StreamEvent from "./StreamEvent.js"
import type { ToolError, ToolTimeout } from "./ToolError.js"
import * as Toolkit from "./Toolkit.js"

/**
 * A finished step, as stop conditions see it: the model's answer (text,
 * reasoning, tool calls, usage, finish) and the results of its tool calls.
 *
 * @since 0.3.0
 * @category models
 */
export interface StepResult extends LoopStepResult {}

/**
 * Whether to end the turn after a step whose tools have run (a step without
 * tool calls ends it anyway). Sees every step so far, the last one last.
 *
 * @since 0.3.0
 * @category models
 */
export type StopCondition = (steps: ReadonlyArray<StepResult>) => boolean

/**
 * What a turn fails with: a provider failure in any step, or a tool failure
 * the model cannot fix.
 *
 * @since 0.3.0
 * @category models
 */
export type AgentError = LlmError | ToolError | ToolTimeout

/**
 * @since 0.3.0
 * @category models
 */
export interface Options {
  /**
   * The most steps (model answers) in the turn, default 10. The tools of the
   * last step still run, so every tool call in the history is answered; the
   * turn then ends with `TurnEnd { reason: "max_steps" }`.
   */
  readonly maxSteps?: number | undefined
  /** End the turn after a step when any of these holds (`stepCountIs`, `hasToolCall`, your own). */
  readonly stopWhen?: StopCondition | ReadonlyArray<StopCondition> | undefined
  /** How many tool handlers of one step run at once (default 8). */
  readonly concurrency?: number | "unbounded" | undefined
  /** Longest run of one handler; past it the handler is interrupted and the turn fails with `ToolTimeout`. */
  readonly toolTimeout?: Duration.DurationInput | undefined
  /**
   * Stream policies applied to each step's model stream (`timeouts`, `retry`,
   * a permit…). A `fallback` or `hedge` is a provider: pass it as the provider.
   */
  readonly policies?:
    | ((events: Stream.Stream<StreamEvent.StreamEvent, LlmError>) => Stream.Stream<StreamEvent.StreamEvent, LlmError>)
    | undefined
}

const DEFAULT_MAX_STEPS = 10
// Eight handlers at once: tools are usually I/O bound, and models rarely
// call more than a handful in one step; unbounded fan-out is opt-in.
const DEFAULT_CONCURRENCY = 8

const loopOptions = (provider: string, options: Options): Effect.Effect<LoopOptions, InvalidRequest> => {
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS
  if (!Number.isInteger(maxSteps) || maxSteps < 1) {
    return new InvalidRequest({ provider, message: `${provider}: maxSteps must be a positive integer, got ${maxSteps}` })
  }
  const stopWhen = options.stopWhen
  return Effect.succeed({
    maxSteps,
    stopWhen: stopWhen === undefined ? [] : typeof stopWhen === "function" ? [stopWhen] : stopWhen,
    concurrency: options.concurrency ?? DEFAULT_CONCURRENCY,
    toolTimeout: options.toolTimeout === undefined ? undefined : Duration.decode(options.toolTimeout),
    policies: options.policies ?? ((events: Stream.Stream<StreamEvent.StreamEvent, LlmError>) => events)
  })
}

/**
 * Stream one agent turn over `toolkit`, whose handlers the stream requires
 * (provide them with `Toolkit.toLayer`). The request's own `tools` are sent as
 * well (their calls get an `unknown_tool` error result). See the module
 * documentation for the events and guarantees.
 *
 * @since 0.3.0
 * @category streaming
 */
export const stream = <TK extends Toolkit.Any>(
  provider: Provider.Provider,
  request: ChatRequest.Input,
  toolkit: TK,
  options: Options = {}
): Stream.Stream<AgentEvent.AgentEvent, AgentError, Toolkit.Handlers<TK>> =>
  Stream.unwrap(
    Effect.zipWith(
      Toolkit.runnable(toolkit),
      loopOptions(provider.name, options),
      (tools, valid) => loop(provider, request, tools, valid)
    )
  )

/**
 * Run a turn to its end and return its `TurnEnd`: the messages to commit, the
 * last text, the reason and the usage.
 *
 * @since 0.3.0
 * @category running
 */
export const run = <TK extends Toolkit.Any>(
  provider: Provider.Provider,
  request: ChatRequest.Input,
  toolkit: TK,
  options: Options = {}
): Effect.Effect<AgentEvent.TurnEnd, AgentError, Toolkit.Handlers<TK>> =>
  Effect.flatMap(
    Stream.runLast(Stream.filter(stream(provider, request, toolkit, options), (event) => event._tag === "TurnEnd")),
    (last) =>
      Option.isSome(last)
        ? Effect.succeed(last.value as AgentEvent.TurnEnd)
        : new Disconnected({ provider: provider.name, message: `${provider.name}: the turn ended without a TurnEnd` })
  )

/**
 * Stop once the turn has made `count` steps (like `maxSteps`, but combinable
 * with other conditions).
 *
 * @since 0.3.0
 * @category stop conditions
 */
export const stepCountIs = (count: number): StopCondition => (steps) => steps.length >= count

/**
 * Stop after a step in which the model called the tool `name` (e.g. a
 * `final_answer` tool), once its result is in.
 *
 * @since 0.3.0
 * @category stop conditions
 */
export const hasToolCall = (name: string): StopCondition => (steps) =>
  steps.at(-1)?.generation.toolCalls.some((call) => call.name === name) ?? false
