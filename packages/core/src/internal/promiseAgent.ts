/**
 * The promise facade of agent turns: `streamAgent` runs `AgentTurn`'s loop
 * over tools with `async execute(args, { signal })` and hands its events out
 * through `streamText`'s iterator, so `break`, `return()`, the `AbortSignal`
 * and the garbage-collection backstop behave exactly as there — and cancelling
 * aborts the `signal` of every `execute` still running. `promiseToolkit` is
 * the one conversion of such tools to a `Toolkit` and its handlers, shared by
 * `streamAgent` and the supervisor's promise face.
 *
 * Exported from `@streamvisor/core/promise`.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { AgentEvent } from "../AgentEvent.js"
import * as AgentTurn from "../AgentTurn.js"
import type { Input as ChatRequestInput } from "../ChatRequest.js"
import type * as Ledger from "../Ledger.js"
import type { LlmError } from "../LlmError.js"
import { streamText } from "../promise.js"
import type { Provider } from "../Provider.js"
import { retry, type RetryOptions } from "../Retry.js"
import type { StreamEvent } from "../StreamEvent.js"
import { timeouts, type TimeoutsOptions } from "../Timeouts.js"
import * as Tool from "../Tool.js"
import * as Toolkit from "../Toolkit.js"

export type { AgentEvent } from "../AgentEvent.js"

/**
 * A tool for `streamAgent`. `parameters` is an `effect/Schema` (arguments are
 * decoded with it, and ones that do not decode go back to the model as an
 * error result) or a JSON Schema object (arguments are passed as the model
 * sent them). What `execute` returns is sent to the model as JSON (a string as
 * it is); what it throws is sent as an error result, or fails the turn with
 * `ToolError` when `failureMode` is `"error"`. `signal` aborts when the turn is
 * cancelled or the tool times out.
 *
 * @since 0.3.0
 * @category models
 */
export interface PromiseTool<A = any> {
  readonly description?: string | undefined
  readonly parameters?: Schema.Schema<A, any, never> | Readonly<Record<string, unknown>> | undefined
  readonly execute: (args: A, options: { readonly signal: AbortSignal }) => unknown
  readonly failureMode?: Tool.FailureMode | undefined
}

/**
 * @since 0.3.0
 * @category models
 */
export interface StreamAgentOptions {
  /** The tools, by name. */
  readonly tools: Readonly<Record<string, PromiseTool>>
  /** The most steps in the turn (default 10). */
  readonly maxSteps?: number | undefined
  /** End the turn after a step when any holds (see `AgentTurn.stepCountIs`, `hasToolCall`). */
  readonly stopWhen?: AgentTurn.Options["stopWhen"]
  /** How many tools of one step run at once (default 8). */
  readonly concurrency?: number | "unbounded" | undefined
  /** Longest run of one `execute` (ms or a Duration); past it the turn throws `ToolTimeout`. */
  readonly toolTimeout?: AgentTurn.Options["toolTimeout"]
  /** Aborting it cancels the turn: the stream is released and every running `execute` sees its signal abort. */
  readonly signal?: AbortSignal | undefined
  /** Bound each step's stream (see `timeouts`). */
  readonly timeouts?: TimeoutsOptions | undefined
  /** Retry a step's stream that fails before its first event (see `retry`). */
  readonly retry?: RetryOptions | undefined
  /** The ledger to record in; the process-wide one by default. */
  readonly ledger?: Ledger.Service | undefined
}

/**
 * The iterator `streamAgent` returns: `streamText`'s, over agent events.
 *
 * @since 0.3.0
 * @category models
 */
export interface AgentEventIterator extends AsyncIterableIterator<AgentEvent> {
  /** Cancel the turn now; later `next()` calls report the end. */
  return(): Promise<IteratorResult<AgentEvent, undefined>>
}

/**
 * A set of `PromiseTool`s in Effect's form: the `Toolkit` the model is shown
 * and the `Context` holding its handlers (each runs `execute`, its `signal`
 * aborting when the handler is interrupted: the turn cancelled, the tool
 * timed out, a supervised session crashed or stopped). Provide `handlers`
 * wherever a turn over `toolkit` runs, e.g. around a supervisor's `spawn`.
 *
 * @since 0.3.0
 * @category models
 */
export interface PromiseToolkit {
  readonly toolkit: Toolkit.Toolkit<Record<string, Tool.Any>>
  readonly handlers: Context.Context<Toolkit.Handlers<Toolkit.Toolkit<Record<string, Tool.Any>>>>
}

const message = (thrown: unknown): string => (thrown instanceof Error ? thrown.message : String(thrown))

const NO_PARAMETERS = { type: "object", properties: {} }

/**
 * The tool's definition: with a Schema, `Tool.make`'s (arguments decoded with
 * it); with a JSON Schema or none, that JSON Schema shown to the model and the
 * arguments passed on as the model sent them (`Schema.Unknown`).
 */
const toTool = (name: string, tool: PromiseTool): Tool.Any => {
  const parameters = tool.parameters
  const options = { description: tool.description, success: Schema.Unknown, failure: Schema.Unknown, failureMode: tool.failureMode }
  if (parameters !== undefined && Schema.isSchema(parameters)) {
    return Tool.make(name, { ...options, parameters: parameters as Schema.Schema<unknown, unknown> })
  }
  const made = Tool.make(name, { ...options, parameters: Schema.Unknown })
  const json = (parameters as Record<string, unknown> | undefined) ?? NO_PARAMETERS
  const definition = tool.description === undefined
    ? { name, parameters: json }
    : { name, description: tool.description, parameters: json }
  return Object.assign(Object.create(Object.getPrototypeOf(made)), made, { definition })
}

/**
 * Turn `PromiseTool`s into a `Toolkit` and the `Context` of its handlers (see
 * {@link PromiseToolkit}): what `streamAgent` runs, and what the supervisor's
 * promise face gives a session spawned with `tools`. What `execute` returns
 * is the tool's success (sent to the model as JSON, a string as it is); what
 * it throws, its failure (the thrown error's message).
 *
 * @example
 * ```ts
 * import { AgentTurn, type Provider } from "@streamvisor/core"
 * import { promiseToolkit } from "@streamvisor/core/promise"
 * import { Stream } from "effect"
 *
 * declare const claude: Provider.Provider
 * const { handlers, toolkit } = promiseToolkit({
 *   add: {
 *     parameters: { type: "object", properties: { a: { type: "number" }, b: { type: "number" } } },
 *     execute: async ({ a, b }: { a: number; b: number }) => a + b
 *   }
 * })
 * const turn = AgentTurn.stream(claude, { model: "claude-sonnet-4-5", messages: [{ role: "user", content: "2+40?" }] }, toolkit)
 *   .pipe(Stream.provideSomeContext(handlers))
 * ```
 *
 * @since 0.3.0
 * @category constructors
 */
export const promiseToolkit = (tools: Readonly<Record<string, PromiseTool>>): PromiseToolkit => {
  const made: Array<Tool.Any> = []
  let handlers: Context.Context<never> = Context.empty()
  for (const [name, tool] of Object.entries(tools)) {
    const definition = toTool(name, tool)
    made.push(definition)
    const service: Tool.HandlerService = {
      handle: (args) =>
        Effect.tryPromise({
          try: async (signal) => await tool.execute(args, { signal }),
          catch: message
        })
    }
    handlers = Context.add(handlers, Tool.handlerTag(definition), service) as Context.Context<never>
  }
  return {
    toolkit: Toolkit.make(...made) as Toolkit.Toolkit<Record<string, Tool.Any>>,
    handlers: handlers as PromiseToolkit["handlers"]
  }
}

/**
 * Stream one agent turn as a plain `AsyncIterable` of agent events (see
 * `AgentEvent`): the model's events of each step between `StepStart` and
 * `StepFinish`, a `ToolResult` as each tool ends, and `TurnEnd` last with the
 * messages to append to the conversation.
 *
 * - `break`, `return()` and `signal` cancel the turn at once, whatever it is
 *   doing: the step's stream is released, running tools see their signal abort.
 * - A failure rejects `next()` with the error itself: an `LlmError`,
 *   `ToolError` or `ToolTimeout` (check `error._tag`).
 *
 * @example
 * ```ts
 * import { streamAgent } from "@streamvisor/core/promise"
 * import { Ollama } from "@streamvisor/ollama"
 *
 * const turn = streamAgent(Ollama.make(), { model: "llama3.2", messages: [{ role: "user", content: "2+40?" }] }, {
 *   tools: {
 *     add: {
 *       parameters: { type: "object", properties: { a: { type: "number" }, b: { type: "number" } } },
 *       execute: async ({ a, b }: { a: number; b: number }) => a + b
 *     }
 *   },
 *   maxSteps: 4
 * })
 * for await (const event of turn) {
 *   if (event._tag === "TextDelta") process.stdout.write(event.text)
 * }
 * ```
 *
 * @since 0.3.0
 */
export const streamAgent = (
  provider: Provider,
  request: ChatRequestInput,
  options: StreamAgentOptions
): AgentEventIterator => {
  const { handlers, toolkit } = promiseToolkit(options.tools)
  const policies = (events: Stream.Stream<StreamEvent, LlmError>) => {
    let out = events
    if (options.timeouts !== undefined) out = timeouts({ provider: provider.name, ...options.timeouts })(out)
    if (options.retry !== undefined) out = retry(options.retry)(out)
    return out
  }
  const turn = AgentTurn.stream(provider, request, toolkit, {
    maxSteps: options.maxSteps,
    stopWhen: options.stopWhen,
    concurrency: options.concurrency,
    toolTimeout: options.toolTimeout,
    policies
  }).pipe(Stream.provideSomeContext(handlers))
  // `streamText`'s iterator, over the turn: a provider whose one stream is the
  // turn. Its events are a superset of `StreamEvent`; the iterator only passes
  // them on.
  const asProvider: Provider = {
    name: provider.name,
    stream: () => turn as unknown as Stream.Stream<StreamEvent, LlmError>,
    generate: () => Effect.dieMessage("streamAgent: generate is not used")
  }
  return streamText(asProvider, request, { signal: options.signal, ledger: options.ledger }) as unknown as AgentEventIterator
}
