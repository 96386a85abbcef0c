/**
 * The supervisor's metrics. Each supervisor tags them with its name
 * (`supervisor`), once, when it is made.
 *
 * @internal
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

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
export interface TaggedMetrics {
  readonly sessions: Metric.Metric.Gauge<number>
  readonly liveStreams: Metric.Metric.Gauge<number>
  readonly timeToFirstToken: typeof base.timeToFirstToken
  readonly inputTokens: Metric.Metric.Counter<number>
  readonly outputTokens: Metric.Metric.Counter<number>
  readonly restarts: Metric.Metric.Counter<number>
  readonly sessionsFailed: Metric.Metric.Counter<number>
  readonly turnsCommitted: Metric.Metric.Counter<number>
  readonly turnsFailed: Metric.Metric.Counter<number>
  readonly turnsCrashed: Metric.Metric.Counter<number>
  readonly turnsCancelled: Metric.Metric.Counter<number>
  readonly turnsDropped: Metric.Metric.Counter<number>
}

/** @internal */
export const tagged = (supervisor: string): TaggedMetrics => {
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
    turnsCommitted: Metric.tagged(turns, "outcome", "committed"),
    turnsFailed: Metric.tagged(turns, "outcome", "failed"),
    turnsCrashed: Metric.tagged(turns, "outcome", "crashed"),
    turnsCancelled: Metric.tagged(turns, "outcome", "cancelled"),
    turnsDropped: Metric.tagged(turns, "outcome", "dropped")
  }
}
