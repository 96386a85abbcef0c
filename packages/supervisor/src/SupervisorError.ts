/**
 * Errors of the supervisor itself.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * `Supervisor.make` was given the `name` of a supervisor that is running in
 * this process. Metrics are tagged by name (`supervisor=<name>`) and shared
 * process-wide, so two live supervisors with one name would add into each
 * other's counters and gauges: refused. A name is free again once its
 * supervisor's scope has closed, so sequential supervisors (tests, restarts)
 * may reuse it.
 *
 * @since 0.1.0
 * @category errors
 */
export class NameInUse extends Schema.TaggedError<NameInUse>("@streamvisor/supervisor/NameInUse")(
  "NameInUse",
  { name: Schema.String }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `a supervisor named ${JSON.stringify(this.name)} is already running in this process`
  }
}

/**
 * `spawn` of an id the supervisor's store knows (a resume) was given a
 * setting that differs from the stored one. The stored conversation was
 * made with those settings, so it is resumed with them or not at all:
 * `provider` must be a provider of the stored name, and `model`, `system`,
 * `options`, `maxTurns`, when given, must equal the stored ones (leave them
 * out to take the stored ones). `stored` / `given` are JSON text.
 *
 * @since 0.1.0
 * @category errors
 */
export class ResumeMismatch extends Schema.TaggedError<ResumeMismatch>("@streamvisor/supervisor/ResumeMismatch")(
  "ResumeMismatch",
  {
    sessionId: Schema.String,
    field: Schema.Literal("provider", "model", "system", "options", "maxTurns"),
    stored: Schema.String,
    given: Schema.String
  }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `session ${this.sessionId} is stored with ${this.field} ${this.stored}, spawn gave ${this.given}`
  }
}

/**
 * `spawn` was given the id of a session that is still running (idle,
 * streaming or restarting). A stopped or failed session's id may be reused.
 *
 * @since 0.1.0
 * @category errors
 */
export class SessionIdInUse extends Schema.TaggedError<SessionIdInUse>("@streamvisor/supervisor/SessionIdInUse")(
  "SessionIdInUse",
  { sessionId: Schema.String }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `a session with id ${JSON.stringify(this.sessionId)} is already running`
  }
}

/**
 * The supervisor is shutting down or has shut down: it accepts no new sessions.
 *
 * @since 0.1.0
 * @category errors
 */
export class SupervisorClosed extends Schema.TaggedError<SupervisorClosed>("@streamvisor/supervisor/SupervisorClosed")(
  "SupervisorClosed",
  {}
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return "the supervisor is closed"
  }
}

/**
 * A session crashed more than `maxRestarts` times within `window` (or its
 * `backoff` schedule ran out) and the supervisor was made with
 * `escalate: true`: the supervisor shut itself down. `Supervisor.join` fails
 * with it.
 *
 * @since 0.1.0
 * @category errors
 */
export class RestartIntensityExceeded extends Schema.TaggedError<RestartIntensityExceeded>(
  "@streamvisor/supervisor/RestartIntensityExceeded"
)(
  "RestartIntensityExceeded",
  {
    sessionId: Schema.String,
    restarts: Schema.Number,
    defect: Schema.Defect
  }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const defect = this.defect instanceof Error ? this.defect.message : String(this.defect)
    return `session ${this.sessionId} exceeded its restart intensity after ${this.restarts} restart(s); last defect: ${defect}`
  }
}

/**
 * `Supervisor.make` or `spawn` was given options it cannot run with (a
 * provider without `stream`, an empty model, `nextTurn: 0`,
 * `maxConcurrentStreams: 0`, an unknown restart type…). `issue` is the
 * readable `effect/Schema` message naming the field. Refused before anything
 * starts: no session, no fiber, nothing counted.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidOptions extends Schema.TaggedError<InvalidOptions>("@streamvisor/supervisor/InvalidOptions")(
  "InvalidOptions",
  {
    operation: Schema.Literal("make", "spawn"),
    issue: Schema.String
  }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `${this.operation === "make" ? "Supervisor.make" : "spawn"}: invalid options: ${this.issue}`
  }
}
