/**
 * The writers of core's `Metrics`: `acquire` records each stream once when it
 * opens and once when it is released (one `sync` step each), never per event.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import * as Metric from "effect/Metric"
import type * as MetricLabel from "effect/MetricLabel"
import type { Outcome } from "../Ledger.js"
import { errors, events, streamsLive, streamsOpened, streamsReleased, type StreamStats, timeToFirstEvent, tokens } from "../Metrics.js"

/**
 * The metrics tagged for one provider, built once: `Metric.tagged` makes a new
 * metric key (hashing its tags) on every call, too slow to repeat per stream.
 */
interface Tagged {
  readonly opened: Metric.Metric.Counter<number>
  readonly live: Metric.Metric.Counter<number>
  readonly released: Readonly<Record<Outcome, Metric.Metric.Counter<number>>>
  readonly events: Metric.Metric.Counter<number>
  readonly timeToFirstEvent: typeof timeToFirstEvent
  readonly inputTokens: Metric.Metric.Counter<number>
  readonly outputTokens: Metric.Metric.Counter<number>
  readonly cachedInputTokens: Metric.Metric.Counter<number>
  readonly cacheWriteTokens: Metric.Metric.Counter<number>
  readonly reasoningTokens: Metric.Metric.Counter<number>
  readonly errors: Map<string, Metric.Metric.Counter<number>>
}

/** Process-wide, shared by every copy of core (`globalValue`), like the metric registry itself. */
const byProvider = globalValue(Symbol.for("@streamvisor/core/Metrics/byProvider"), () => new Map<string, Tagged>())

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

/**
 * Every update of one record in a single step, under the fiber's metric
 * labels (`Effect.tagMetrics`), as `Metric.update` applies them: one
 * `FiberRef` read and one `sync` instead of an Effect per metric (the
 * release used to be up to 10 zipped Effects).
 */
const withLabels = (f: (labels: ReadonlyArray<MetricLabel.MetricLabel>) => void): Effect.Effect<void> =>
  Effect.flatMap(FiberRef.get(FiberRef.currentMetricLabels), (labels) => Effect.sync(() => f(labels)))

/**
 * The open is recorded when the stream opens, not folded into the release:
 * `streams_live` must count a stream while it is open, and it is a counter
 * the exporters read as is (measured: ~1 µs per stream, see test/bench/README.md).
 *
 * @internal
 */
export const recordOpen = (provider: string): Effect.Effect<void> => {
  const metrics = tagged(provider)
  return withLabels((labels) => {
    metrics.opened.unsafeUpdate(1, labels)
    metrics.live.unsafeUpdate(1, labels)
  })
}

/** @internal */
export const recordRelease = (stats: StreamStats): Effect.Effect<void> =>
  withLabels((labels) => {
    const metrics = tagged(stats.provider)
    metrics.live.unsafeUpdate(-1, labels)
    metrics.released[stats.outcome].unsafeUpdate(1, labels)
    if (stats.delivered > 0) metrics.events.unsafeUpdate(stats.delivered, labels)
    if (stats.timeToFirstEvent !== undefined) metrics.timeToFirstEvent.unsafeUpdate(stats.timeToFirstEvent, labels)
    if (stats.errorTag !== undefined) errorsOf(metrics, stats.provider, stats.errorTag).unsafeUpdate(1, labels)
    if (stats.inputTokens > 0) metrics.inputTokens.unsafeUpdate(stats.inputTokens, labels)
    if (stats.outputTokens > 0) metrics.outputTokens.unsafeUpdate(stats.outputTokens, labels)
    const { cachedInputTokens: cached, cacheWriteTokens: written, reasoningTokens: reasoning } = stats
    if (cached !== undefined && cached > 0) metrics.cachedInputTokens.unsafeUpdate(cached, labels)
    if (written !== undefined && written > 0) metrics.cacheWriteTokens.unsafeUpdate(written, labels)
    if (reasoning !== undefined && reasoning > 0) metrics.reasoningTokens.unsafeUpdate(reasoning, labels)
  })
