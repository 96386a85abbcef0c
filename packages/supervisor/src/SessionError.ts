/**
 * Why a turn did not complete, other than the provider's own `LlmError`.
 *
 * The errors are `Schema.TaggedError`s, so they can cross a process boundary
 * (an `@effect/cluster` entity reply, a log, a queue) and be decoded again.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { ToolError } from "@streamvisor/core"
import { SessionStoreError } from "./SessionStore.js"

/**
 * The session is stopped, stopping, or gave up restarting: the turn was
 * refused, dropped from the mailbox before it started, or cut at the stop
 * deadline. `turn` is absent when the turn was refused before it got a number.
 * `reason` `"conflict"`: the session's store refused a commit because another
 * owner had committed to the same session (see `CommitFailed`), so this
 * session stopped.
 *
 * @since 0.1.0
 * @category errors
 */
export class SessionStopped extends Schema.TaggedError<SessionStopped>("@streamvisor/supervisor/SessionStopped")(
  "SessionStopped",
  {
    sessionId: Schema.String,
    turn: Schema.optional(Schema.Number),
    reason: Schema.Literal("stopped", "shutdown", "failed", "idle", "conflict")
  }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const turn = this.turn === undefined ? "" : ` (turn ${this.turn})`
    const reason = this.reason === "idle" ? "stopped (idle)" : this.reason === "conflict" ? "stopped (another owner committed)" : this.reason
    return `session ${this.sessionId} is ${reason}${turn}`
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
 * The turn's answer was complete, but the supervisor's `SessionStore` did not
 * commit it (`error` says why): the turn fails, nothing of it is in history,
 * in memory or in the store, and its turn number is used. The session goes
 * on, except after a `Conflict` (another owner committed to this session):
 * then it stops (`SessionStopped` reason `"conflict"` for what was queued).
 *
 * @since 0.1.0
 * @category errors
 */
export class CommitFailed extends Schema.TaggedError<CommitFailed>("@streamvisor/supervisor/CommitFailed")(
  "CommitFailed",
  {
    sessionId: Schema.String,
    turn: Schema.Number,
    error: SessionStoreError
  }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `session ${this.sessionId}: turn ${this.turn} was not committed: ${this.error.message}`
  }
}

/**
 * Every session error a turn's caller may see, besides `LlmError`; a session
 * with `tools` may also fail a turn with core's `ToolError` (a handler's
 * defect, or a typed failure set to fail the turn) or `ToolTimeout`.
 *
 * @since 0.1.0
 * @category errors
 */
export type SessionError = SessionStopped | SessionCrashed | InvalidMessage | CommitFailed | ToolError.ToolError | ToolError.ToolTimeout

/**
 * @since 0.1.0
 * @category schemas
 */
export const SessionError: Schema.Union<
  [typeof SessionStopped, typeof SessionCrashed, typeof InvalidMessage, typeof CommitFailed, typeof ToolError.ToolError, typeof ToolError.ToolTimeout]
> = Schema.Union(SessionStopped, SessionCrashed, InvalidMessage, CommitFailed, ToolError.ToolError, ToolError.ToolTimeout)

/**
 * @since 0.1.0
 * @category guards
 */
export const isSessionError = (u: unknown): u is SessionError =>
  u instanceof SessionStopped || u instanceof SessionCrashed || u instanceof InvalidMessage || u instanceof CommitFailed ||
  u instanceof ToolError.ToolError || u instanceof ToolError.ToolTimeout
