/**
 * Why a turn did not complete, other than the provider's own `LlmError`.
 *
 * The errors are `Schema.TaggedError`s, so they can cross a process boundary
 * (an `@effect/cluster` entity reply, a log, a queue) and be decoded again.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The session is stopped, stopping, or gave up restarting: the turn was
 * refused, dropped from the mailbox before it started, or cut at the stop
 * deadline. `turn` is absent when the turn was refused before it got a number.
 *
 * @since 0.1.0
 * @category errors
 */
export class SessionStopped extends Schema.TaggedError<SessionStopped>("@streamvisor/supervisor/SessionStopped")(
  "SessionStopped",
  {
    sessionId: Schema.String,
    turn: Schema.optional(Schema.Number),
    reason: Schema.Literal("stopped", "shutdown", "failed", "idle")
  }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const turn = this.turn === undefined ? "" : ` (turn ${this.turn})`
    return `session ${this.sessionId} is ${this.reason === "idle" ? "stopped (idle)" : this.reason}${turn}`
  }
}

/**
 * The session died of a defect while this turn was in flight. The turn is not
 * replayed: history is as it was before the turn, and the session is
 * restarted (or not) by the supervisor's policy.
 *
 * @since 0.1.0
 * @category errors
 */
export class SessionCrashed extends Schema.TaggedError<SessionCrashed>("@streamvisor/supervisor/SessionCrashed")(
  "SessionCrashed",
  {
    sessionId: Schema.String,
    turn: Schema.Number,
    defect: Schema.Defect
  }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `session ${this.sessionId} crashed during turn ${this.turn}: ${String(this.defect)}`
  }
}

/**
 * `send` or `tell` was given something that is not a message: the text must
 * be a non-empty string. Refused before anything is enqueued, so no turn
 * number is used and history is untouched.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidMessage extends Schema.TaggedError<InvalidMessage>("@streamvisor/supervisor/InvalidMessage")(
  "InvalidMessage",
  {
    sessionId: Schema.String,
    issue: Schema.String
  }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `session ${this.sessionId}: invalid message: ${this.issue}`
  }
}

/**
 * Every session error a turn's caller may see, besides `LlmError`.
 *
 * @since 0.1.0
 * @category errors
 */
export type SessionError = SessionStopped | SessionCrashed | InvalidMessage

/**
 * @since 0.1.0
 * @category schemas
 */
export const SessionError: Schema.Union<[typeof SessionStopped, typeof SessionCrashed, typeof InvalidMessage]> = Schema
  .Union(
    SessionStopped,
    SessionCrashed,
    InvalidMessage
  )

/**
 * @since 0.1.0
 * @category guards
 */
export const isSessionError = (u: unknown): u is SessionError =>
  u instanceof SessionStopped || u instanceof SessionCrashed || u instanceof InvalidMessage
