/**
 * `Metrics` as `acquire` writes them: once at open, once at release, tagged
 * with the provider (and outcome, error tag, token direction).
 */
import { describe, expect, it } from "@effect/vitest"
import { acquire, Ledger, LlmError, Metrics } from "@streamvisor/core"
import type { StreamEvent } from "@streamvisor/core"
import { Effect, Metric, Stream } from "effect"

const counter = (metric: Metric.Metric.Counter<number>, tags: Record<string, string>) =>
  Effect.map(
    Metric.value(Object.entries(tags).reduce((m, [key, value]) => Metric.tagged(m, key, value), metric)),
    (state) => state.count
  )

/** A stream over an in-memory iterable that emits `texts`, reports usage, then ends or fails. */
const stream = (provider: string, texts: ReadonlyArray<string>, fail?: LlmError.LlmError | "hang") =>
  acquire<string, StreamEvent.StreamEvent>({
    provider,
    model: "m",
    open: async (signal) =>
      (async function*() {
        yield* texts
        if (fail === "hang") {
          // held open until the release aborts it
          await new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)))
        }
        if (fail !== undefined) throw fail
      })(),
    decoder: (context) => ({
      step: (text, emit) => {
        context.recordUsage(7, 3)
        emit({ _tag: "TextDelta", text })
      },
      end: (emit) => emit({ _tag: "Finish", reason: "stop", raw: "stop" })
    }),
    mapError: (cause) => (LlmError.isLlmError(cause) ? cause : new LlmError.Unknown({ provider, cause }))
  })

describe("Metrics", () => {
  it.live("a completed stream: opened, released completed, live back to 0, events and tokens counted", () =>
    Effect.gen(function*() {
      const provider = `metrics-ok-${Math.random()}`
      yield* Stream.runDrain(stream(provider, ["a", "b"]))
      expect(yield* counter(Metrics.streamsOpened, { provider })).toBe(1)
      expect(yield* counter(Metrics.streamsLive, { provider })).toBe(0)
      expect(yield* counter(Metrics.streamsReleased, { provider, outcome: "completed" })).toBe(1)
      expect(yield* counter(Metrics.events, { provider })).toBe(3)
      expect(yield* counter(Metrics.tokens, { provider, direction: "input" })).toBe(7)
      expect(yield* counter(Metrics.tokens, { provider, direction: "output" })).toBe(3)
      const histogram = yield* Metric.value(Metric.tagged(Metrics.timeToFirstEvent, "provider", provider))
      expect(histogram.count).toBe(1)
    }).pipe(Effect.provide(Ledger.layer)))

  it.live("a failed stream is counted by outcome and by error tag", () =>
    Effect.gen(function*() {
      const provider = `metrics-fail-${Math.random()}`
      yield* Effect.flip(Stream.runDrain(stream(provider, ["a"], new LlmError.Overloaded({ provider }))))
      expect(yield* counter(Metrics.streamsReleased, { provider, outcome: "failed" })).toBe(1)
      expect(yield* counter(Metrics.errors, { provider, error: "Overloaded" })).toBe(1)
      expect(yield* counter(Metrics.streamsLive, { provider })).toBe(0)
    }).pipe(Effect.provide(Ledger.layer)))

  it.live("a stream cut by its consumer is cancelled", () =>
    Effect.gen(function*() {
      const provider = `metrics-cut-${Math.random()}`
      yield* Stream.runDrain(Stream.take(stream(provider, ["a", "b", "c"], "hang"), 1))
      expect(yield* counter(Metrics.streamsReleased, { provider, outcome: "cancelled" })).toBe(1)
      expect(yield* counter(Metrics.streamsLive, { provider })).toBe(0)
    }).pipe(Effect.provide(Ledger.layer)))

  it.live("live counts a stream while it is open, under the fiber's metric labels (Effect.tagMetrics)", () => {
    const provider = `metrics-live-${Math.random()}`
    const labels = { provider, tenant: "t1" }
    return Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const pull = yield* Stream.toPull(stream(provider, ["a", "b"], "hang"))
        yield* pull
        expect(yield* counter(Metrics.streamsLive, labels)).toBe(1)
        expect(yield* counter(Metrics.streamsOpened, labels)).toBe(1)
      }))
      // the scope closed: released, and live is back to 0 under the same labels
      expect(yield* counter(Metrics.streamsLive, labels)).toBe(0)
      expect(yield* counter(Metrics.streamsReleased, { provider, outcome: "cancelled", tenant: "t1" })).toBe(1)
      expect(yield* counter(Metrics.events, labels)).toBe(2)
    }).pipe(Effect.tagMetrics("tenant", "t1"), Effect.provide(Ledger.layer))
  })

  it("exports no writer: recordOpen / recordRelease are internal", () => {
    expect(Object.keys(Metrics).sort()).toEqual(
      ["errors", "events", "streamsLive", "streamsOpened", "streamsReleased", "timeToFirstEvent", "tokens"]
    )
  })
})
