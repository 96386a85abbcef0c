/**
 * @since 0.1.0
 */
export * from "./Acquire.js"

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
