/**
 * `LlmError` across the wire, until core's errors are `Schema.TaggedError`s
 * themselves (issue "adapter kit"): a Schema over their plain fields that
 * rebuilds core's error classes on decode, so a caller on another runner gets
 * `instanceof LlmError.ServerError` and `retryable` as if the stream were
 * local. When core's errors become Schemas, replace this module by a
 * `Schema.Union` of them; nothing else changes.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"
import { LlmError } from "@streamvisor/core"

const Fields = Schema.Struct({
  _tag: Schema.Literal(
    "RateLimited",
    "Overloaded",
    "Unauthorized",
    "InvalidRequest",
    "ServerError",
    "Timeout",
    "Disconnected",
    "ProtocolError",
    "Unknown"
  ),
  provider: Schema.String,
  message: Schema.String,
  retryable: Schema.Boolean,
  status: Schema.optional(Schema.Number),
  retryAfterMillis: Schema.optional(Schema.Number),
  phase: Schema.optional(Schema.Literal("first-token", "idle", "total")),
  // An `Unknown`'s cause may be anything (an SDK error object): it crosses as text.
  cause: Schema.optional(Schema.String)
})

const rebuild = (fields: typeof Fields.Type): LlmError.LlmError => {
  const common = { provider: fields.provider, message: fields.message }
  switch (fields._tag) {
    case "RateLimited":
      return new LlmError.RateLimited({
        ...common,
        ...(fields.retryAfterMillis === undefined ? {} : { retryAfter: Duration.millis(fields.retryAfterMillis) })
      })
    case "Overloaded":
      return new LlmError.Overloaded(common)
    case "Unauthorized":
      return new LlmError.Unauthorized({ ...common, status: fields.status })
    case "InvalidRequest":
      return new LlmError.InvalidRequest({ ...common, status: fields.status })
    case "ServerError":
      return new LlmError.ServerError({ ...common, status: fields.status ?? 500 })
    case "Timeout":
      return new LlmError.Timeout({ ...common, phase: fields.phase ?? "total" })
    case "Disconnected":
      return new LlmError.Disconnected(common)
    case "ProtocolError":
      return new LlmError.ProtocolError(common)
    case "Unknown":
      return new LlmError.Unknown({ ...common, cause: fields.cause })
  }
}

const fields = (error: LlmError.LlmError): typeof Fields.Type => {
  const base = { _tag: error._tag, provider: error.provider, message: error.message, retryable: error.retryable }
  switch (error._tag) {
    case "RateLimited":
      return error.retryAfter === undefined ? base : { ...base, retryAfterMillis: Duration.toMillis(error.retryAfter) }
    case "Unauthorized":
    case "InvalidRequest":
      return error.status === undefined ? base : { ...base, status: error.status }
    case "ServerError":
      return { ...base, status: error.status }
    case "Timeout":
      return { ...base, phase: error.phase }
    case "Unknown":
      return error.cause === undefined ? base : { ...base, cause: String(error.cause) }
    default:
      return base
  }
}

/** Core's `LlmError` classes, encoded as their plain fields. */
export const LlmErrorWire: Schema.Schema<LlmError.LlmError, typeof Fields.Encoded> = Schema.transform(
  Fields,
  Schema.declare((u): u is LlmError.LlmError => LlmError.isLlmError(u)),
  { strict: true, decode: rebuild, encode: fields }
)
