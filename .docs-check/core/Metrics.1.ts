import { Metrics } from "@streamvisor/core"
import { Effect, Metric } from "effect"

const report = Effect.gen(function*() {
  const live = yield* Metric.value(Metrics.streamsLive)
  console.log(`live streams: ${live.count}`)
})
export {}
