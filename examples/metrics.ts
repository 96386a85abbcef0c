/**
 * Metrics: every provider stream updates `effect/Metric`s (streams opened,
 * released by outcome, live, time to first event, events, errors by tag,
 * tokens), tagged with the provider. This runs a few streams, some failing,
 * then prints the metrics twice: one value read with `Metric.value`, and all of
 * them through a small console exporter over `Metric.snapshot`, in the
 * Prometheus text format.
 *
 *   npx tsx examples/metrics.ts
 */
import { Metrics } from "@streamvisor/core"
import { Script } from "@streamvisor/testkit"
import { Console, Effect, Metric, MetricState, Stream } from "effect"
import { Backend, runMain, wires } from "./support/Backend.js"

/**
 * The exporter: one line per metric and tag set, `name{tag="value"} number`.
 * Histograms print their count, sum and max.
 */
const exportToConsole = (prefix: string) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    for (const pair of yield* Metric.snapshot) {
      const name = pair.metricKey.name
      if (!name.startsWith(prefix)) continue
      const tags = pair.metricKey.tags.map((tag) => `${tag.key}="${tag.value}"`).join(",")
      const series = (suffix: string, value: number | bigint) =>
        lines.push(`${name}${suffix}{${tags}} ${typeof value === "number" ? Number(value.toFixed(3)) : value}`)
      const state = pair.metricState
      if (MetricState.isCounterState(state)) series("", state.count)
      else if (MetricState.isGaugeState(state)) series("", state.value)
      else if (MetricState.isHistogramState(state)) {
        series("_count", state.count)
        series("_sum", state.sum)
        series("_max", state.max)
      }
    }
    for (const line of lines.sort()) yield* Console.log(line)
  })

const program = Effect.gen(function*() {
  const { model, provider, server } = yield* Backend

  // Some faults for the fake server to play, once each, in order: a 429, a
  // cut connection after 2 events, a 500.
  server.enqueue(
    Script.status(429),
    Script.text(5, { fault: { type: "disconnect", afterEvents: 2 } }),
    Script.status(500)
  )

  // Three rounds of one stream per wire format, one after another; failures
  // are printed and ignored. The second round is cut after 3 events.
  for (let i = 0; i < 3; i++) {
    for (const wire of wires) {
      const events = provider(wire).stream({ model: model(wire), messages: [{ role: "user", content: `hi ${i}` }] })
      yield* (i === 1 ? Stream.take(events, 3) : events).pipe(
        Stream.runDrain,
        Effect.catchAll((error) => Console.log(`${wire}: ${error._tag}`))
      )
    }
  }

  // One value: `Metric.value` on a tagged metric.
  const opened = yield* Metric.value(Metric.tagged(Metrics.streamsOpened, "provider", "anthropic"))
  yield* Console.log(`\nanthropic streams opened: ${opened.count}\n`)

  // Every streamvisor metric, through the exporter.
  yield* exportToConsole("streamvisor_")
})

runMain(program, { fakeOnly: true })
