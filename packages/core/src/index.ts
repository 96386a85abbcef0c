/**
 * `@streamvisor/core`: every module as a namespace (`Ledger.snapshot`,
 * `Retry.retry`), plus the five policies the design names flat (`acquire`,
 * `timeouts`, `retry`, `fallback`, `hedge`) as shortcuts, the way Effect
 * exports `pipe` flat beside `Function`.
 *
 * @since 0.1.0
 */

/**
 * The events of an agent turn: steps, tool results, the turn's end.
 *
 * @since 0.3.0
 */
export * as AgentEvent from "./AgentEvent.js"

/**
 * One agent turn: the model, its tool calls, their results, until it is done.
 *
 * @since 0.3.0
 */
export * as AgentTurn from "./AgentTurn.js"

/**
 * For decoders: recognise a JSON string inside a known line without parsing the line.
 *
 * @since 0.3.0
 */
export * as JsonScan from "./JsonScan.js"

/**
 * The one door a provider stream opens through.
 *
 * @since 0.2.0
 */
export * as Acquire from "./Acquire.js"

/**
 * For adapter authors: keys, option validation, the common error tail, layers.
 *
 * @since 0.2.0
 */
export * as AdapterKit from "./AdapterKit.js"

/**
 * @since 0.2.0
 */
export * as Capabilities from "./Capabilities.js"

/**
 * What an adapter writes: decoders and framings for `acquire`. Flat, so the
 * `Decoder<A, B>` type keeps its name.
 *
 * @since 0.1.0
 */
export * from "./Decoder.js"

/**
 * Server-sent events, parsed synchronously with a bounded buffer.
 *
 * @since 0.2.0
 */
export * as Sse from "./Sse.js"

/**
 * @since 0.1.0
 */
export * as ChatRequest from "./ChatRequest.js"

/**
 * The parts of a message's content (also re-exported by `ChatRequest`).
 *
 * @since 0.2.0
 */
export * as ContentPart from "./ContentPart.js"

/**
 * @since 0.2.0
 */
export * as Fallback from "./Fallback.js"

/**
 * @since 0.2.0
 */
export * as Hedge from "./Hedge.js"

/**
 * The error every adapter raises for bad options.
 *
 * @since 0.2.0
 */
export * as InvalidOptions from "./InvalidOptions.js"

/**
 * @since 0.2.0
 */
export * as InvalidOutput from "./InvalidOutput.js"

/**
 * @since 0.1.0
 */
export * as Ledger from "./Ledger.js"

/**
 * @since 0.1.0
 */
export * as LlmError from "./LlmError.js"

/**
 * @since 0.1.0
 */
export * as StructuredOutput from "./StructuredOutput.js"

/**
 * @since 0.1.0
 */
export * as Metrics from "./Metrics.js"

/**
 * @since 0.1.0
 */
export * as Provider from "./Provider.js"

/**
 * For adapter authors: scrubbing API keys from messages, causes and SDK logs.
 *
 * @since 0.1.0
 */
export * as Redaction from "./Redaction.js"

/**
 * @since 0.2.0
 */
export * as Retry from "./Retry.js"

/**
 * For adapter authors: the provider's `retry-after` hint as a `Duration`.
 *
 * @since 0.1.0
 */
export * as RetryAfter from "./RetryAfter.js"

/**
 * @since 0.1.0
 */
export * as StreamEvent from "./StreamEvent.js"

/**
 * @since 0.2.0
 */
export * as Timeouts from "./Timeouts.js"

/**
 * A tool the model may call, defined with `effect/Schema`.
 *
 * @since 0.3.0
 */
export * as Tool from "./Tool.js"

/**
 * @since 0.3.0
 */
export * as ToolError from "./ToolError.js"

/**
 * Tools grouped, with their handlers provided by a Layer.
 *
 * @since 0.3.0
 */
export * as Toolkit from "./Toolkit.js"

/**
 * Tool calls by outcome and tool latency.
 *
 * @since 0.3.0
 */
export * as ToolMetrics from "./ToolMetrics.js"

/**
 * For adapter authors: recognising a failed or cut connection.
 *
 * @since 0.1.0
 */
export * as Transport from "./Transport.js"

/**
 * Flat shortcuts for the five policies (also `Acquire.acquire`,
 * `Timeouts.timeouts`, `Retry.retry`, `Fallback.fallback`, `Hedge.hedge`),
 * with their option types.
 *
 * @since 0.1.0
 */
export { acquire, type AcquireOptions, type Body, type BodyOptions, type IterableOptions } from "./Acquire.js"

/**
 * What an adapter writes for `acquire`: its decoder, and the framing of a
 * response body (`bytesFraming`, or `Sse.framing()`). Flat, because adapters
 * name these types in every decoder.
 *
 * @since 0.2.0
 */
export {
  bytesFraming,
  type Decoder,
  type DecoderContext,
  type FrameParser,
  type Framing,
  mapDecoderInput
} from "./Decoder.js"

/**
 * @since 0.1.0
 */
export { fallback, type FallbackOptions } from "./Fallback.js"

/**
 * @since 0.1.0
 */
export { hedge, type HedgeOptions } from "./Hedge.js"

/**
 * @since 0.1.0
 */
export { retry, type RetryOptions } from "./Retry.js"

/**
 * @since 0.1.0
 */
export { timeouts, type TimeoutsOptions } from "./Timeouts.js"
