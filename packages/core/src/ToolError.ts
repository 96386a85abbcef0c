/**
 * How a tool ends an agent turn. A tool's typed failure and arguments the
 * model got wrong go back to the model as error results (it usually corrects
 * itself); what the model cannot fix fails the turn with one of these:
 * a handler that died (a defect), one that failed with `failureMode: "error"`,
 * or one that ran past its timeout. `Schema.TaggedError`s, so they cross a
 * process boundary like the `LlmError`s.
 *
 * @since 0.3.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * A tool's handler died (`reason: "defect"`: a thrown exception, an
 * `Effect.die`, a result its `success` Schema cannot encode), or failed while
 * its tool's `failureMode` is `"error"` (`reason: "failure"`, with the
 * failure encoded by its `failure` Schema).
 *
 * @since 0.3.0
 * @category errors
 */
export class ToolError extends Schema.TaggedError<ToolError>("@streamvisor/core/ToolError")("ToolError", {
  /** The tool's name. */
  tool: Schema.String,
  /** The id of the call the model made. */
  callId: Schema.String,
  reason: Schema.Literal("defect", "failure"),
  message: Schema.String,
  /** The typed failure, encoded (with `reason: "failure"`). */
  failure: Schema.optional(Schema.Unknown)
}) {}

/**
 * A tool's handler ran past the turn's `toolTimeout`; it was interrupted
 * (its finalizers ran) before this error was raised.
 *
 * @since 0.3.0
 * @category errors
 */
export class ToolTimeout extends Schema.TaggedError<ToolTimeout>("@streamvisor/core/ToolTimeout")("ToolTimeout", {
  tool: Schema.String,
  callId: Schema.String,
  /** The timeout that was exceeded, in milliseconds. */
  timeoutMs: Schema.Number,
  message: Schema.String
}) {}

/**
 * @since 0.3.0
 * @category guards
 */
export const isToolError = (u: unknown): u is ToolError => Predicate.isTagged(u, "ToolError")

/**
 * @since 0.3.0
 * @category guards
 */
export const isToolTimeout = (u: unknown): u is ToolTimeout => Predicate.isTagged(u, "ToolTimeout")
