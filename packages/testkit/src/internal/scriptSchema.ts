/**
 * The Schema of a script file's content (used by the standalone server to validate script files).
 * Kept apart from `Script.ts`, which declares the script types it mirrors.
 *
 * @internal
 */
import * as Schema from "effect/Schema"
import { checkNames } from "../RequestCheck.js"

const NonNegativeInt = Schema.Int.pipe(Schema.nonNegative())
const NonNegative = Schema.Number.pipe(Schema.nonNegative())

const Chunks = Schema.optional(Schema.Int.pipe(Schema.positive()))

const EventSchema = Schema.Union(
  Schema.Struct({ type: Schema.Literal("text"), text: Schema.String, signature: Schema.optional(Schema.String) }),
  Schema.Struct({ type: Schema.Literal("reasoning"), text: Schema.String, signature: Schema.optional(Schema.String) }),
  Schema.Struct({ type: Schema.Literal("redactedReasoning"), data: Schema.String }),
  Schema.Struct({ type: Schema.Literal("json"), json: Schema.String, chunks: Chunks }),
  Schema.Struct({
    type: Schema.Literal("toolCall"),
    id: Schema.String,
    name: Schema.String,
    arguments: Schema.String,
    chunks: Chunks,
    signature: Schema.optional(Schema.String)
  })
)

const FaultSchema = Schema.Union(
  Schema.Struct({
    type: Schema.Literal("status"),
    status: Schema.Int.pipe(Schema.between(100, 599)),
    headers: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
    body: Schema.optional(Schema.Unknown)
  }),
  Schema.Struct({ type: Schema.Literal("disconnect"), afterEvents: NonNegativeInt }),
  Schema.Struct({
    type: Schema.Literal("errorEvent"),
    afterEvents: NonNegativeInt,
    kind: Schema.optional(Schema.Literal("overloaded", "server", "rate_limit"))
  }),
  Schema.Struct({ type: Schema.Literal("malformed"), afterEvents: NonNegativeInt }),
  Schema.Struct({ type: Schema.Literal("hang"), afterEvents: NonNegativeInt }),
  Schema.Struct({
    type: Schema.Literal("stall"),
    afterEvents: NonNegativeInt,
    everyMs: Schema.optional(Schema.Number.pipe(Schema.positive()))
  }),
  Schema.Struct({ type: Schema.Literal("headersThenHang") }),
  Schema.Struct({ type: Schema.Literal("hangBeforeHeaders") })
)

const common = {
  delayMs: Schema.optional(NonNegative),
  firstDelayMs: Schema.optional(NonNegative),
  fault: Schema.optional(FaultSchema),
  keepAlive: Schema.optional(Schema.Boolean),
  validate: Schema.optional(Schema.Array(Schema.Literal(...checkNames)))
}

const RawBodySchema = Schema.Struct({
  body: Schema.String,
  status: Schema.optional(Schema.Int.pipe(Schema.between(100, 599))),
  contentType: Schema.optional(Schema.String),
  pieces: Schema.optional(
    Schema.Struct({ seed: Schema.Int, maxBytes: Schema.optional(Schema.Int.pipe(Schema.positive())) })
  )
})

export const ReplaySchema = Schema.Struct({
  replay: Schema.Union(Schema.Struct({ chunks: Schema.Array(Schema.String) }), RawBodySchema),
  ...common
})

export const ScriptedSchema = Schema.Struct({
  events: Schema.optional(Schema.Array(EventSchema)),
  usage: Schema.optional(
    Schema.Struct({
      inputTokens: NonNegativeInt,
      outputTokens: NonNegativeInt,
      cachedInputTokens: Schema.optional(NonNegativeInt),
      cacheWriteTokens: Schema.optional(NonNegativeInt),
      reasoningTokens: Schema.optional(NonNegativeInt)
    })
  ),
  finishReason: Schema.optional(Schema.Literal("stop", "length", "tool_calls", "content_filter")),
  ...common
})
