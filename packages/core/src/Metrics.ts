/**
 * `effect/Metric`s for every provider stream, tagged with `provider`:
 * streams opened, released (by outcome) and live, time to first event,
 * events delivered, errors by tag, tokens. They are updated once when a stream
 * opens and once when it is released, never per event.
 *
 * @example
 * ```ts
 * import { Metrics } from "@streamvisor/core"
 * import { Effect, Metric } from "effect"
 *
 * const report = Effect.gen(function*() {
 *   const live = yield* Metric.value(Metrics.streamsLive)
 *   console.log(`live streams: ${live.count}`)
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import type { Outcome } from "./Ledger.js"

/**
 * @since 0.1.0
 * @category metrics
 */
export const streamsOpened = Metric.counter("streamvisor_streams_opened", {
  description: "Provider streams opened",
  incremental: true
})

/**
 * Tagged with `outcome`: completed, failed or cancelled.
 *
 * @since 0.1.0
 * @category metrics
 */
export const streamsReleased = Metric.counter("streamvisor_streams_released", {
  description: "Provider streams released",
  incremental: true
})

/**
 * @since 0.1.0
 * @category metrics
 */
export const streamsLive = Metric.counter("streamvisor_streams_live", {
  description: "Provider streams open right now"
})

/**
 * @since 0.1.0
 * @category metrics
 */
export const timeToFirstEvent = Metric.histogram(
  "streamvisor_time_to_first_event_ms",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 16 }),
  "Milliseconds from opening a stream to its first event"
)

/**
 * @since 0.1.0
 * @category metrics
 */
export const events = Metric.counter("streamvisor_events", {
  description: "Stream events delivered to consumers",
  incremental: true
})

/**
 * Tagged with `error`: the `LlmError` tag.
 *
 * @since 0.1.0
 * @category metrics
 */
export const errors = Metric.counter("streamvisor_errors", {
  description: "Provider streams that failed, by error tag",
  incremental: true
})

/**
 * Tagged with `direction`: input or output, and the detail of those where the
 * provider reports it: cached_input, cache_write, reasoning. Includes streams
 * cut short.
 *
 * @since 0.1.0
 * @category metrics
 */
export const tokens = Metric.counter("streamvisor_tokens", {
  description: "Tokens reported by providers",
  incremental: true
})

/**
 * What one stream reports when it is released, and what `acquire` records in
 * the metrics above.
 *
 * @since 0.2.0
 * @category models
 */
export interface StreamStats {
  readonly provider: string
  readonly outcome: Outcome
  readonly delivered: number
  readonly timeToFirstEvent: number | undefined
  readonly errorTag: string | undefined
  readonly inputTokens: number
  readonly outputTokens: number
  readonly cachedInputTokens?: number | undefined
  readonly cacheWriteTokens?: number | undefined
  readonly reasoningTokens?: number | undefined
}
