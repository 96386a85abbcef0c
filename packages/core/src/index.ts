/**
 * @since 0.1.0
 */
export * from "./Acquire.js"

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
export * as Provider from "./Provider.js"

/**
 * @since 0.1.0
 */
export * as StreamEvent from "./StreamEvent.js"

/**
 * @since 0.1.0
 */
export * as Metrics from "./Metrics.js"

/**
 * @since 0.1.0
 */
export * from "./Timeouts.js"

/**
 * @since 0.1.0
 */
export * from "./Retry.js"

/**
 * @since 0.1.0
 */
export * from "./Fallback.js"

/**
 * @since 0.1.0
 */
export * from "./Hedge.js"

/**
 * For adapter authors: scrubbing API keys from messages, causes and SDK logs.
 *
 * @since 0.1.0
 */
export * as Redaction from "./Redaction.js"

/**
 * For adapter authors: the provider's `retry-after` hint as a `Duration`.
 *
 * @since 0.1.0
 */
export * as RetryAfter from "./RetryAfter.js"

/**
 * For adapter authors: recognising a failed or cut connection.
 *
 * @since 0.1.0
 */
export * as Transport from "./Transport.js"
