/**
 * The events a provider stream emits, one tagged union for every provider.
 *
 * Events are plain immutable objects (no class instances) so that the hot path
 * allocates one small object per delta and nothing else. The `Schema`s below
 * describe the same shapes for serialisation (session history, logs, cluster
 * messages); the constructors never validate.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The raw finish reasons a provider reports, mapped onto one vocabulary.
 *
 * @since 0.1.0
 */
export const FinishReason = Schema.Literal("stop", "length", "tool_calls", "content_filter", "other")

/**
 * @since 0.1.0
 */
export type FinishReason = typeof FinishReason.Type

/**
 * A piece of the visible answer.
 *
 * @since 0.1.0
 */
export const TextDelta = Schema.TaggedStruct("TextDelta", { text: Schema.String })

/**
 * A piece of the model's reasoning ("thinking") text, when the provider streams it.
 *
 * @since 0.1.0
 */
export const ReasoningDelta = Schema.TaggedStruct("ReasoningDelta", { text: Schema.String })

/**
 * A tool call begins. `id` is the provider's call id (or one made up when the
 * provider has none, e.g. Gemini and Ollama).
 *
 * @since 0.1.0
 */
export const ToolCallStart = Schema.TaggedStruct("ToolCallStart", { id: Schema.String, name: Schema.String })

/**
 * A piece of a tool call's JSON arguments, as the provider streamed it.
 *
 * @since 0.1.0
 */
export const ToolCallDelta = Schema.TaggedStruct("ToolCallDelta", { id: Schema.String, argumentsDelta: Schema.String })

/**
 * A tool call is complete; `arguments` is the parsed JSON (`{}` when the
 * provider sent none).
 *
 * @since 0.1.0
 */
export const ToolCallEnd = Schema.TaggedStruct("ToolCallEnd", {
  id: Schema.String,
  name: Schema.String,
  arguments: Schema.Unknown
})

/**
 * Token usage as last reported by the provider.
 *
 * @since 0.1.0
 */
export const Usage = Schema.TaggedStruct("Usage", { inputTokens: Schema.Number, outputTokens: Schema.Number })

/**
 * The last event of every stream that succeeds. `raw` is the provider's own
 * value (`end_turn`, `STOP`, `completed`…), or `null` when it sent none.
 *
 * @since 0.1.0
 */
export const Finish = Schema.TaggedStruct("Finish", {
  reason: FinishReason,
  raw: Schema.NullOr(Schema.String)
})

/**
 * @since 0.1.0
 */
export const StreamEvent = Schema.Union(
  TextDelta,
  ReasoningDelta,
  ToolCallStart,
  ToolCallDelta,
  ToolCallEnd,
  Usage,
  Finish
)

/**
 * @since 0.1.0
 */
export type TextDelta = typeof TextDelta.Type
/**
 * @since 0.1.0
 */
export type ReasoningDelta = typeof ReasoningDelta.Type
/**
 * @since 0.1.0
 */
export type ToolCallStart = typeof ToolCallStart.Type
/**
 * @since 0.1.0
 */
export type ToolCallDelta = typeof ToolCallDelta.Type
/**
 * @since 0.1.0
 */
export type ToolCallEnd = typeof ToolCallEnd.Type
/**
 * @since 0.1.0
 */
export type Usage = typeof Usage.Type
/**
 * @since 0.1.0
 */
export type Finish = typeof Finish.Type
/**
 * @since 0.1.0
 */
export type StreamEvent = typeof StreamEvent.Type

/**
 * @since 0.1.0
 */
export const textDelta = (text: string): TextDelta => ({ _tag: "TextDelta", text })

/**
 * @since 0.1.0
 */
export const reasoningDelta = (text: string): ReasoningDelta => ({ _tag: "ReasoningDelta", text })

/**
 * @since 0.1.0
 */
export const toolCallStart = (id: string, name: string): ToolCallStart => ({ _tag: "ToolCallStart", id, name })

/**
 * @since 0.1.0
 */
export const toolCallDelta = (id: string, argumentsDelta: string): ToolCallDelta => ({
  _tag: "ToolCallDelta",
  id,
  argumentsDelta
})

/**
 * @since 0.1.0
 */
export const toolCallEnd = (id: string, name: string, args: unknown): ToolCallEnd => ({
  _tag: "ToolCallEnd",
  id,
  name,
  arguments: args
})

/**
 * @since 0.1.0
 */
export const usage = (inputTokens: number, outputTokens: number): Usage => ({
  _tag: "Usage",
  inputTokens,
  outputTokens
})

/**
 * @since 0.1.0
 */
export const finish = (reason: FinishReason, raw: string | null): Finish => ({ _tag: "Finish", reason, raw })

/**
 * @since 0.1.0
 * @category guards
 */
export const isFinish = (event: StreamEvent): event is Finish => event._tag === "Finish"

/**
 * @since 0.1.0
 * @category guards
 */
export const isTextDelta = (event: StreamEvent): event is TextDelta => event._tag === "TextDelta"
