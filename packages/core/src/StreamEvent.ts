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
 * @category schemas
 */
export const FinishReason = Schema.Literal("stop", "length", "tool_calls", "content_filter", "other")

/**
 * @since 0.1.0
 * @category models
 */
export type FinishReason = typeof FinishReason.Type

/**
 * A piece of the visible answer.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TextDelta = Schema.TaggedStruct("TextDelta", { text: Schema.String })

/**
 * A piece of the model's reasoning ("thinking") text, when the provider streams it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ReasoningDelta = Schema.TaggedStruct("ReasoningDelta", { text: Schema.String })

/**
 * A tool call begins. `id` is the provider's call id (or one made up when the
 * provider has none, e.g. Gemini and Ollama).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolCallStart = Schema.TaggedStruct("ToolCallStart", { id: Schema.String, name: Schema.String })

/**
 * A piece of a tool call's JSON arguments, as the provider streamed it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolCallDelta = Schema.TaggedStruct("ToolCallDelta", { id: Schema.String, argumentsDelta: Schema.String })

/**
 * A tool call is complete; `arguments` is the parsed JSON (`{}` when the
 * provider sent none).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolCallEnd = Schema.TaggedStruct("ToolCallEnd", {
  id: Schema.String,
  name: Schema.String,
  arguments: Schema.Unknown,
  /** An opaque token the provider attached to the call (Gemini's thought signature), absent otherwise. */
  signature: Schema.optional(Schema.String),
  /** The provider the `signature` belongs to (set with it). */
  provider: Schema.optional(Schema.String)
})

/**
 * The end of a block of reasoning: the `ReasoningDelta`s since the previous
 * `ReasoningEnd` (or the start) form one block, and this event carries the
 * provider's opaque data for it, which must go back unchanged on the next turn:
 * `signature` (Anthropic thinking signature, Gemini thought signature),
 * `redactedData` (Anthropic redacted thinking: a block with no text), `id` and
 * `encryptedContent` (an OpenAI Responses reasoning item). `provider` is the
 * adapter's name. `Provider.collect` turns each block into a reasoning part.
 *
 * @since 0.2.0
 * @category schemas
 */
export const ReasoningEnd = Schema.TaggedStruct("ReasoningEnd", {
  provider: Schema.String,
  signature: Schema.optional(Schema.String),
  redactedData: Schema.optional(Schema.String),
  id: Schema.optional(Schema.String),
  encryptedContent: Schema.optional(Schema.String)
})

/**
 * Token usage as last reported by the provider. `inputTokens` counts every
 * input token, cached or not; `cachedInputTokens` (read from the cache) and
 * `cacheWriteTokens` (written to it) are the parts of it the provider reports.
 * `outputTokens` counts every output token; `reasoningTokens` is the part spent
 * on reasoning. The detail fields are absent where a provider does not report them.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Usage = Schema.TaggedStruct("Usage", {
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  cachedInputTokens: Schema.optional(Schema.Number),
  cacheWriteTokens: Schema.optional(Schema.Number),
  reasoningTokens: Schema.optional(Schema.Number)
})

/**
 * What a provider returns beyond the answer, kept rather than dropped:
 * `kind` says what it is and `data` is the provider's own value. The kinds
 * adapters emit: `"citations"` (Anthropic citations, OpenAI annotations),
 * `"grounding"` (Gemini grounding metadata), `"safety"` (Gemini safety
 * ratings), `"response"` (the provider's response id and model version).
 *
 * @since 0.2.0
 * @category schemas
 */
export const ProviderMetadata = Schema.TaggedStruct("ProviderMetadata", {
  provider: Schema.String,
  kind: Schema.String,
  data: Schema.Unknown
})

/**
 * The last event of every stream that succeeds. `raw` is the provider's own
 * value (`end_turn`, `STOP`, `completed`…), or `null` when it sent none.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Finish = Schema.TaggedStruct("Finish", {
  reason: FinishReason,
  raw: Schema.NullOr(Schema.String)
})

/**
 * @since 0.1.0
 * @category schemas
 */
export const StreamEvent = Schema.Union(
  TextDelta,
  ReasoningDelta,
  ToolCallStart,
  ToolCallDelta,
  ToolCallEnd,
  ReasoningEnd,
  Usage,
  ProviderMetadata,
  Finish
)

/**
 * @since 0.1.0
 * @category models
 */
export type TextDelta = typeof TextDelta.Type
/**
 * @since 0.1.0
 * @category models
 */
export type ReasoningDelta = typeof ReasoningDelta.Type
/**
 * @since 0.1.0
 * @category models
 */
export type ToolCallStart = typeof ToolCallStart.Type
/**
 * @since 0.1.0
 * @category models
 */
export type ToolCallDelta = typeof ToolCallDelta.Type
/**
 * @since 0.1.0
 * @category models
 */
export type ToolCallEnd = typeof ToolCallEnd.Type
/**
 * @since 0.1.0
 * @category models
 */
export type Usage = typeof Usage.Type
/**
 * @since 0.2.0
 * @category models
 */
export type ReasoningEnd = typeof ReasoningEnd.Type
/**
 * @since 0.2.0
 * @category models
 */
export type ProviderMetadata = typeof ProviderMetadata.Type
/**
 * The detail fields of `Usage`.
 *
 * @since 0.2.0
 * @category models
 */
export interface UsageDetail {
  readonly cachedInputTokens?: number | undefined
  readonly cacheWriteTokens?: number | undefined
  readonly reasoningTokens?: number | undefined
}
/**
 * @since 0.1.0
 * @category models
 */
export type Finish = typeof Finish.Type
/**
 * @since 0.1.0
 * @category models
 */
export type StreamEvent = typeof StreamEvent.Type

/**
 * @since 0.1.0
 * @category constructors
 */
export const textDelta = (text: string): TextDelta => ({ _tag: "TextDelta", text })

/**
 * @since 0.1.0
 * @category constructors
 */
export const reasoningDelta = (text: string): ReasoningDelta => ({ _tag: "ReasoningDelta", text })

/**
 * @since 0.1.0
 * @category constructors
 */
export const toolCallStart = (id: string, name: string): ToolCallStart => ({ _tag: "ToolCallStart", id, name })

/**
 * @since 0.1.0
 * @category constructors
 */
export const toolCallDelta = (id: string, argumentsDelta: string): ToolCallDelta => ({
  _tag: "ToolCallDelta",
  id,
  argumentsDelta
})

/**
 * @since 0.1.0
 * @category constructors
 */
export const toolCallEnd = (id: string, name: string, args: unknown, signature?: string, provider?: string): ToolCallEnd =>
  signature === undefined
    ? { _tag: "ToolCallEnd", id, name, arguments: args }
    : provider === undefined
    ? { _tag: "ToolCallEnd", id, name, arguments: args, signature }
    : { _tag: "ToolCallEnd", id, name, arguments: args, signature, provider }

/**
 * @since 0.2.0
 * @category constructors
 */
export const reasoningEnd = (
  provider: string,
  data?: Omit<ReasoningEnd, "_tag" | "provider">
): ReasoningEnd => ({ _tag: "ReasoningEnd", provider, ...data })

/**
 * `Usage`; the detail fields are set only when given.
 *
 * @since 0.1.0
 * @category constructors
 */
export const usage = (inputTokens: number, outputTokens: number, detail?: UsageDetail): Usage => {
  if (detail === undefined) return { _tag: "Usage", inputTokens, outputTokens }
  const out: { -readonly [K in keyof Usage]: Usage[K] } = { _tag: "Usage", inputTokens, outputTokens }
  if (detail.cachedInputTokens !== undefined) out.cachedInputTokens = detail.cachedInputTokens
  if (detail.cacheWriteTokens !== undefined) out.cacheWriteTokens = detail.cacheWriteTokens
  if (detail.reasoningTokens !== undefined) out.reasoningTokens = detail.reasoningTokens
  return out
}

/**
 * @since 0.2.0
 * @category constructors
 */
export const providerMetadata = (provider: string, kind: string, data: unknown): ProviderMetadata => ({
  _tag: "ProviderMetadata",
  provider,
  kind,
  data
})

/**
 * @since 0.1.0
 * @category constructors
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
