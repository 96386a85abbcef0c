/**
 * The writers of core's `Metrics`: `acquire` records each stream once when it
 * opens and once when it is released, never per event.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { globalValue } from "effect/GlobalValue"
import * as Metric from "effect/Metric"
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

/** @internal */
export const recordOpen = (provider: string): Effect.Effect<void> => {
  const metrics = tagged(provider)
  return Effect.zipRight(Metric.increment(metrics.opened), Metric.increment(metrics.live))
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
