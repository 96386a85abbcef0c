/**
 * The model answered, but not with what was asked: text that is not JSON, or
 * JSON that does not match the Schema given to `generateObject` /
 * `streamObject`. A typed failure carrying the text and the Schema's readable
 * message, never a defect. A `Schema.TaggedError`, so it crosses a process
 * boundary like the `LlmError`s.
 *
 * @since 0.2.0
 */
import { hasProperty } from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * @since 0.2.0
 * @category errors
 */
export class InvalidOutput extends Schema.TaggedError<InvalidOutput>("@streamvisor/core/InvalidOutput")(
  "InvalidOutput",
  {
    /** The provider that answered. */
    provider: Schema.String,
    /** The whole text of the answer. */
    text: Schema.String,
    /** Why it does not match: the JSON error or the Schema's readable tree. */
    message: Schema.String
  }
) {}

/**
 * @since 0.2.0
 * @category guards
 */
export const isInvalidOutput = (u: unknown): u is InvalidOutput => hasProperty(u, "_tag") && u._tag === "InvalidOutput"
