/**
 * The events of an agent turn (`AgentTurn.stream`): the provider's own
 * `StreamEvent`s of each step, unchanged, framed by `StepStart` and
 * `StepFinish`, with a `ToolResult` as each tool call ends and one `TurnEnd`,
 * last, carrying the messages the turn appended to the conversation.
 *
 * A step's events are the ones between its `StepStart` and its `StepFinish`:
 * the model's answer (ending with that step's `Finish`), then the results of
 * the tools it called. Framing rather than a `step` field on every event keeps
 * the hot path as it is: a text delta is the provider's object, passed on,
 * with no copy per delta. `ToolResult` carries its `step` as well, since tool
 * results arrive in completion order, concurrently.
 *
 * @since 0.3.0
 */
import * as Schema from "effect/Schema"
import * as ChatRequest from "./ChatRequest.js"
import * as StreamEvent from "./StreamEvent.js"

/**
 * A step begins: the request for it is about to be sent. Steps count from 1.
 *
 * @since 0.3.0
 * @category events
 */
export const StepStart = Schema.TaggedStruct("StepStart", { step: Schema.Number })

/**
 * How a tool call ended, for the model: a `success`, or an error result
 * (`failure`: the handler's typed failure; `invalid_arguments`: the arguments
 * did not decode with the tool's parameters Schema; `unknown_tool`: the model
 * named a tool the turn does not have).
 *
 * @since 0.3.0
 * @category models
 */
export const ToolOutcome = Schema.Literal("success", "failure", "invalid_arguments", "unknown_tool")

/**
 * @since 0.3.0
 * @category models
 */
export type ToolOutcome = typeof ToolOutcome.Type

/**
 * A tool call ended. `result` is the handler's success encoded with the
 * tool's `success` Schema; `error` is its failure encoded with the `failure`
 * Schema, or the message the model gets for arguments that did not decode or
 * an unknown tool. `durationMs` is the handler's run time (0 when none ran).
 *
 * @since 0.3.0
 * @category events
 */
export const ToolResult = Schema.TaggedStruct("ToolResult", {
  step: Schema.Number,
  id: Schema.String,
  name: Schema.String,
  outcome: ToolOutcome,
  result: Schema.optional(Schema.Unknown),
  error: Schema.optional(Schema.Unknown),
  durationMs: Schema.Number
})

/**
 * A step ended: its model stream has been released and its tool calls (if
 * any) have their results. `finish` is the model's finish reason for the step.
 *
 * @since 0.3.0
 * @category events
 */
export const StepFinish = Schema.TaggedStruct("StepFinish", {
  step: Schema.Number,
  finish: StreamEvent.FinishReason,
  toolCalls: Schema.Number,
  usage: Schema.optional(Schema.Struct({ inputTokens: Schema.Number, outputTokens: Schema.Number }))
})

/**
 * Why a turn ended: the model answered without calling a tool (`finished`),
 * the turn reached `maxSteps`, or a `stopWhen` condition held.
 *
 * @since 0.3.0
 * @category models
 */
export const TurnEndReason = Schema.Literal("finished", "max_steps", "stop_condition")

/**
 * @since 0.3.0
 * @category models
 */
export type TurnEndReason = typeof TurnEndReason.Type

/**
 * The last event of a turn that succeeds. `messages` are the messages the turn
 * appended after the request's own — each step's assistant message (reasoning
 * with its signatures, text, tool calls) and the tool results, in order — to
 * be committed to history at once. Every tool call in them is answered. `text`
 * is the last step's text; `usage` sums the steps'.
 *
 * @since 0.3.0
 * @category events
 */
export const TurnEnd = Schema.TaggedStruct("TurnEnd", {
  reason: TurnEndReason,
  steps: Schema.Number,
  text: Schema.String,
  messages: Schema.Array(ChatRequest.Message),
  usage: Schema.Struct({ inputTokens: Schema.Number, outputTokens: Schema.Number })
})

/**
 * @since 0.3.0
 * @category events
 */
export const AgentEvent = Schema.Union(StreamEvent.StreamEvent, StepStart, ToolResult, StepFinish, TurnEnd)

/** @since 0.3.0 @category events */
export type StepStart = typeof StepStart.Type
/** @since 0.3.0 @category events */
export type ToolResult = typeof ToolResult.Type
/** @since 0.3.0 @category events */
export type StepFinish = typeof StepFinish.Type
/** @since 0.3.0 @category events */
export type TurnEnd = typeof TurnEnd.Type
/** @since 0.3.0 @category events */
export type AgentEvent = typeof AgentEvent.Type

/**
 * @since 0.3.0
 * @category guards
 */
export const isTurnEnd = (event: AgentEvent): event is TurnEnd => event._tag === "TurnEnd"

/**
 * @since 0.3.0
 * @category guards
 */
export const isToolResult = (event: AgentEvent): event is ToolResult => event._tag === "ToolResult"
