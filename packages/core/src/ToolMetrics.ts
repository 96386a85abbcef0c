/**
 * `effect/Metric`s of tool execution in agent turns, beside core's stream
 * metrics (`Metrics`): calls by tool and outcome, and how long handlers ran.
 * Each call updates them once, when it ends.
 *
 * @example
 * ```ts
 * import { ToolMetrics } from "@streamvisor/core"
 * import { Effect, Metric } from "effect"
 *
 * const failures = ToolMetrics.toolCalls.pipe(Metric.tagged("tool", "lookup"), Metric.tagged("outcome", "failure"))
 * const report = Effect.map(Metric.value(failures), (state) => state.count)
 * ```
 *
 * @since 0.3.0
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

/**
 * How a tool call ended. The first four go back to the model as results
 * (`success`, and as errors `failure`, `invalid_arguments`, `unknown_tool`);
 * the last three end the turn (`defect` and `timeout` fail it, `interrupted`
 * means the turn was cancelled while the handler ran).
 *
 * @since 0.3.0
 * @category models
 */
export type Outcome =
  | "success"
  | "failure"
  | "invalid_arguments"
  | "unknown_tool"
  | "defect"
  | "timeout"
  | "interrupted"

/**
 * Tool calls, tagged with `tool` and `outcome`.
 *
 * @since 0.3.0
 * @category metrics
 */
export const toolCalls = Metric.counter("streamvisor_tool_calls", {
  description: "Tool calls made by models in agent turns, by tool and outcome",
  incremental: true
})

/**
 * Milliseconds a tool's handler ran, tagged with `tool` (calls whose
 * arguments did not decode never run a handler and are not timed).
 *
 * @since 0.3.0
 * @category metrics
 */
export const toolLatency = Metric.histogram(
  "streamvisor_tool_latency_ms",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 18 }),
  "Milliseconds a tool handler ran"
)
