/**
 * Errors of the supervisor itself.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

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
