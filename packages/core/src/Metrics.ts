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
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

/**
 * @since 0.1.0
 */
export const streamsOpened = Metric.counter("streamvisor_streams_opened", {
  description: "Provider streams opened",
  incremental: true
})

/**
 * Tagged with `outcome`: completed, failed or cancelled.
 *
 * @since 0.1.0
 */
export const streamsReleased = Metric.counter("streamvisor_streams_released", {
  description: "Provider streams released",
  incremental: true
})

/**
 * @since 0.1.0
 */
export const streamsLive = Metric.counter("streamvisor_streams_live", {
  description: "Provider streams open right now"
})

/**
 * @since 0.1.0
 */
export const timeToFirstEvent = Metric.histogram(
  "streamvisor_time_to_first_event_ms",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 16 }),
  "Milliseconds from opening a stream to its first event"
)

/**
 * @since 0.1.0
 */
export const events = Metric.counter("streamvisor_events", {
  description: "Stream events delivered to consumers",
  incremental: true
})

/**
 * Tagged with `error`: the `LlmError` tag.
 *
 * @since 0.1.0
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
 */
export const tokens = Metric.counter("streamvisor_tokens", {
  description: "Tokens reported by providers",
  incremental: true
})

/**
 * The metrics tagged for one provider, built once: `Metric.tagged` makes a new
 * metric key (hashing its tags) on every call, too slow to repeat per stream.
 */
interface Tagged {
  readonly opened: Metric.Metric.Counter<number>
  readonly live: Metric.Metric.Counter<number>
  readonly released: Readonly<Record<"completed" | "failed" | "cancelled", Metric.Metric.Counter<number>>>
  readonly events: Metric.Metric.Counter<number>
  readonly timeToFirstEvent: typeof timeToFirstEvent
  readonly inputTokens: Metric.Metric.Counter<number>
  readonly outputTokens: Metric.Metric.Counter<number>
  readonly cachedInputTokens: Metric.Metric.Counter<number>
  readonly cacheWriteTokens: Metric.Metric.Counter<number>
  readonly reasoningTokens: Metric.Metric.Counter<number>
  readonly errors: Map<string, Metric.Metric.Counter<number>>
}

const byProvider = new Map<string, Tagged>()

const tagged = (provider: string): Tagged => {
  let metrics = byProvider.get(provider)
  if (metrics === undefined) {
    const released = Metric.tagged(streamsReleased, "provider", provider)
    const tokensOf = Metric.tagged(tokens, "provider", provider)
    metrics = {
      opened: Metric.tagged(streamsOpened, "provider", provider),
      live: Metric.tagged(streamsLive, "provider", provider),
      released: {
        completed: Metric.tagged(released, "outcome", "completed"),
        failed: Metric.tagged(released, "outcome", "failed"),
        cancelled: Metric.tagged(released, "outcome", "cancelled")
      },
      events: Metric.tagged(events, "provider", provider),
      timeToFirstEvent: Metric.tagged(timeToFirstEvent, "provider", provider),
      inputTokens: Metric.tagged(tokensOf, "direction", "input"),
      outputTokens: Metric.tagged(tokensOf, "direction", "output"),
      cachedInputTokens: Metric.tagged(tokensOf, "direction", "cached_input"),
      cacheWriteTokens: Metric.tagged(tokensOf, "direction", "cache_write"),
      reasoningTokens: Metric.tagged(tokensOf, "direction", "reasoning"),
      errors: new Map()
    }
    byProvider.set(provider, metrics)
  }
  return metrics
}

const errorsOf = (metrics: Tagged, provider: string, tag: string): Metric.Metric.Counter<number> => {
  let counter = metrics.errors.get(tag)
  if (counter === undefined) {
    counter = Metric.tagged(Metric.tagged(errors, "provider", provider), "error", tag)
    metrics.errors.set(tag, counter)
  }
  return counter
}

/** @internal */
export const recordOpen = (provider: string): Effect.Effect<void> => {
  const metrics = tagged(provider)
  return Effect.zipRight(Metric.increment(metrics.opened), Metric.increment(metrics.live))
}

/** @internal */
export interface StreamStats {
  readonly provider: string
  readonly outcome: "completed" | "failed" | "cancelled"
  readonly delivered: number
  readonly timeToFirstEvent: number | undefined
  readonly errorTag: string | undefined
  readonly inputTokens: number
  readonly outputTokens: number
  readonly cachedInputTokens?: number | undefined
  readonly cacheWriteTokens?: number | undefined
  readonly reasoningTokens?: number | undefined
}

/** @internal */
export const recordRelease = (stats: StreamStats): Effect.Effect<void> =>
  Effect.suspend(() => {
    const metrics = tagged(stats.provider)
    const updates: Array<Effect.Effect<void>> = [
      Metric.incrementBy(metrics.live, -1),
      Metric.increment(metrics.released[stats.outcome])
    ]
    if (stats.delivered > 0) updates.push(Metric.incrementBy(metrics.events, stats.delivered))
    if (stats.timeToFirstEvent !== undefined) updates.push(Metric.update(metrics.timeToFirstEvent, stats.timeToFirstEvent))
    if (stats.errorTag !== undefined) updates.push(Metric.increment(errorsOf(metrics, stats.provider, stats.errorTag)))
    if (stats.inputTokens > 0) updates.push(Metric.incrementBy(metrics.inputTokens, stats.inputTokens))
    if (stats.outputTokens > 0) updates.push(Metric.incrementBy(metrics.outputTokens, stats.outputTokens))
    const { cachedInputTokens: cached, cacheWriteTokens: written, reasoningTokens: reasoning } = stats
    if (cached !== undefined && cached > 0) updates.push(Metric.incrementBy(metrics.cachedInputTokens, cached))
    if (written !== undefined && written > 0) updates.push(Metric.incrementBy(metrics.cacheWriteTokens, written))
    if (reasoning !== undefined && reasoning > 0) updates.push(Metric.incrementBy(metrics.reasoningTokens, reasoning))
    return Effect.all(updates, { discard: true })
  })
