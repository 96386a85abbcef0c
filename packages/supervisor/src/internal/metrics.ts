/**
 * The supervisor's metrics. Each supervisor tags them with its name
 * (`supervisor`), once, when it is made.
 *
 * @internal
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import type { Metrics } from "../Supervisor.js"

/** @internal */
export const base = {
  sessions: Metric.gauge("streamvisor_supervisor_sessions", {
    description: "Sessions running (idle, streaming or restarting)"
  }),
  liveStreams: Metric.gauge("streamvisor_supervisor_live_streams", {
    description: "Provider streams held open by sessions"
  }),
  timeToFirstToken: Metric.histogram(
    "streamvisor_supervisor_time_to_first_token_ms",
    MetricBoundaries.exponential({ start: 1, factor: 2, count: 16 }),
    "Milliseconds from opening a turn's provider stream to its first event"
  ),
  tokens: Metric.counter("streamvisor_supervisor_tokens", {
    description: "Tokens reported by providers for sessions' turns, by direction",
    incremental: true
  }),
  restarts: Metric.counter("streamvisor_supervisor_restarts", {
    description: "Session restarts",
    incremental: true
  }),
  sessionsFailed: Metric.counter("streamvisor_supervisor_sessions_failed", {
    description: "Sessions that died of a defect and were not restarted",
    incremental: true
  }),
  turns: Metric.counter("streamvisor_supervisor_turns", {
    description: "Turns settled, by outcome (committed, failed, crashed, cancelled, dropped)",
    incremental: true
  })
}

/** @internal */
export const tagged = (supervisor: string): Metrics => {
  const t = <M extends Metric.Metric<any, any, any>>(metric: M): M => Metric.tagged(metric, "supervisor", supervisor) as M
  const turns = t(base.turns)
  const tokens = t(base.tokens)
  return {
    sessions: t(base.sessions),
    liveStreams: t(base.liveStreams),
    timeToFirstToken: t(base.timeToFirstToken),
    inputTokens: Metric.tagged(tokens, "direction", "input"),
    outputTokens: Metric.tagged(tokens, "direction", "output"),
    restarts: t(base.restarts),
    sessionsFailed: t(base.sessionsFailed),
    turns: {
      committed: Metric.tagged(turns, "outcome", "committed"),
      failed: Metric.tagged(turns, "outcome", "failed"),
      crashed: Metric.tagged(turns, "outcome", "crashed"),
      cancelled: Metric.tagged(turns, "outcome", "cancelled"),
      dropped: Metric.tagged(turns, "outcome", "dropped")
    }
  }
}
