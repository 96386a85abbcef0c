/**
 * One tool call, from the model's arguments to the result message: decode,
 * run the handler (with its timeout), encode, classify, record the metrics.
 * What the model can fix becomes an error result; what it cannot fails the
 * turn with `ToolError` / `ToolTimeout`.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as AgentEvent from "../AgentEvent.js"
import type * as ChatRequest from "../ChatRequest.js"
import type * as Tool from "../Tool.js"
import { ToolError, ToolTimeout } from "../ToolError.js"
import { type Outcome, toolCalls, toolLatency } from "../ToolMetrics.js"

/**
 * A tool ready to run: the definition the provider sees and the functions the
 * loop calls. Built from a `Tool` and its handler, or from the promise
 * facade's `execute`.
 *
 * @internal
 */
export interface RunnableTool {
  readonly name: string
  readonly definition: ChatRequest.Tool
  readonly failureMode: Tool.FailureMode
  /** The decoded parameters, or the message for the model. */
  readonly decode: (args: unknown) => Either.Either<unknown, string>
  /** The handler, its requirements provided; a typed failure in the error channel. */
  readonly handle: (params: unknown) => Effect.Effect<unknown, unknown>
  readonly encodeSuccess: (value: unknown) => Either.Either<unknown, string>
  readonly encodeFailure: (value: unknown) => Either.Either<unknown, string>
}

const readable = <A>(result: Either.Either<A, ParseResult.ParseError>): Either.Either<A, string> =>
  Either.mapLeft(result, (error) => ParseResult.TreeFormatter.formatErrorSync(error))

/** @internal */
export const fromTool = (tool: Tool.Any, handle: (params: unknown) => Effect.Effect<unknown, unknown>): RunnableTool => {
  const decode = Schema.decodeUnknownEither(tool.parameters as Schema.Schema<unknown, unknown>, { errors: "all" })
  const encodeSuccess = Schema.encodeUnknownEither(tool.success as Schema.Schema<unknown, unknown>)
  const encodeFailure = Schema.encodeUnknownEither(tool.failure as Schema.Schema<unknown, unknown>)
  return {
    name: tool.name,
    definition: tool.definition,
    failureMode: tool.failureMode,
    decode: (args) => readable(decode(args)),
    handle,
    encodeSuccess: (value) => readable(encodeSuccess(value)),
    encodeFailure: (value) => readable(encodeFailure(value))
  }
}

/** What one call produced: the event for the consumer and the message for the model. */
export interface Executed {
  readonly event: AgentEvent.ToolResult
  readonly message: ChatRequest.ToolResultMessage
}

/** Options of the loop that apply to each call. */
export interface CallOptions {
  readonly timeout: Duration.Duration | undefined
}

const content = (value: unknown): string => {
  if (typeof value === "string") return value
  // `Schema.Void` encodes to undefined; a tool result must say something.
  return JSON.stringify(value) ?? "null"
}

const record = (tool: string, outcome: Outcome, durationMs: number | undefined): Effect.Effect<void> => {
  const calls = Metric.increment(Metric.tagged(Metric.tagged(toolCalls, "tool", tool), "outcome", outcome))
  return durationMs === undefined ? calls : Effect.zipRight(calls, Metric.update(Metric.tagged(toolLatency, "tool", tool), durationMs))
}

const message = (call: ChatRequest.ToolCall, text: string, isError: boolean): ChatRequest.ToolResultMessage =>
  isError
    ? { role: "tool", toolCallId: call.id, name: call.name, content: text, isError: true }
    : { role: "tool", toolCallId: call.id, name: call.name, content: text }

const answered = (
  step: number,
  call: ChatRequest.ToolCall,
  outcome: AgentEvent.ToolOutcome,
  value: unknown,
  durationMs: number
): Executed => {
  const ok = outcome === "success"
  const event: AgentEvent.ToolResult = ok
    ? { _tag: "ToolResult", step, id: call.id, name: call.name, outcome, result: value, durationMs }
    : { _tag: "ToolResult", step, id: call.id, name: call.name, outcome, error: value, durationMs }
  return { event, message: message(call, content(value), !ok) }
}

const now = Effect.map(Clock.currentTimeNanos, (nanos) => Number(nanos) / 1e6)

const defectMessage = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  return error instanceof Error ? error.message : String(error)
}

/**
 * Run one call. Never fails for what the model can fix; fails with
 * `ToolError` / `ToolTimeout` otherwise. Interruption (the turn cancelled)
 * interrupts the handler, whose finalizers run, and is counted.
 *
 * @internal
 */
export const execute = (
  tools: ReadonlyMap<string, RunnableTool>,
  call: ChatRequest.ToolCall,
  step: number,
  options: CallOptions
): Effect.Effect<Executed, ToolError | ToolTimeout> =>
  Effect.suspend(() => {
    const tool = tools.get(call.name)
    if (tool === undefined) {
      const available = [...tools.keys()].join(", ")
      const text = `Unknown tool "${call.name}". The tools are: ${available || "(none)"}.`
      return Effect.as(record(call.name, "unknown_tool", undefined), answered(step, call, "unknown_tool", text, 0))
    }
    const params = tool.decode(call.arguments)
    if (Either.isLeft(params)) {
      const text = `Invalid arguments for tool "${call.name}":\n${params.left}`
      return Effect.as(record(call.name, "invalid_arguments", undefined), answered(step, call, "invalid_arguments", text, 0))
    }
    return Effect.flatMap(now, (start) => {
      const handler = tool.handle(params.right)
      const run = options.timeout === undefined ? Effect.asSome(handler) : Effect.timeoutOption(handler, options.timeout)
      const finish = (outcome: Outcome) =>
        Effect.flatMap(now, (end) => Effect.as(record(tool.name, outcome, end - start), end - start))
      return Effect.exit(run).pipe(
        Effect.flatMap((exit): Effect.Effect<Executed, ToolError | ToolTimeout> => {
          if (exit._tag === "Success") {
            if (Option.isNone(exit.value)) {
              const ms = Duration.toMillis(options.timeout!)
              return Effect.zipRight(
                finish("timeout"),
                new ToolTimeout({
                  tool: tool.name,
                  callId: call.id,
                  timeoutMs: ms,
                  message: `tool "${tool.name}" ran past its timeout of ${ms} ms`
                })
              )
            }
            const encoded = tool.encodeSuccess(exit.value.value)
            if (Either.isLeft(encoded)) {
              return Effect.zipRight(finish("defect"), defect(tool, call, `its result does not match its success Schema:\n${encoded.left}`))
            }
            return Effect.map(finish("success"), (ms) => answered(step, call, "success", encoded.right, ms))
          }
          const failure = Cause.failureOption(exit.cause)
          if (Option.isNone(failure)) {
            return Effect.zipRight(finish("defect"), defect(tool, call, `it died: ${defectMessage(exit.cause)}`))
          }
          const encoded = tool.encodeFailure(failure.value)
          if (Either.isLeft(encoded)) {
            return Effect.zipRight(finish("defect"), defect(tool, call, `its failure does not match its failure Schema:\n${encoded.left}`))
          }
          if (tool.failureMode === "error") {
            return Effect.zipRight(
              finish("failure"),
              new ToolError({
                tool: tool.name,
                callId: call.id,
                reason: "failure",
                message: `tool "${tool.name}" failed: ${content(encoded.right)}`,
                failure: encoded.right
              })
            )
          }
          return Effect.map(finish("failure"), (ms) => answered(step, call, "failure", encoded.right, ms))
        }),
        Effect.onInterrupt(() => Effect.flatMap(now, (end) => record(tool.name, "interrupted", end - start)))
      )
    })
  })

const defect = (tool: RunnableTool, call: ChatRequest.ToolCall, why: string): Effect.Effect<never, ToolError> =>
  new ToolError({ tool: tool.name, callId: call.id, reason: "defect", message: `tool "${tool.name}" failed: ${why}` })
