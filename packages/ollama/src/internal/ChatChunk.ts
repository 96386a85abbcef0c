/**
 * The shape of one `/api/chat` NDJSON line, as an `effect/Schema`.
 *
 * The decoder does not run this Schema per line (a Schema decode costs more
 * per line than everything else the adapter does, see README): it checks the
 * fields it reads with plain property tests, and only when a line fails those
 * checks does it decode the line with this Schema to explain what is wrong.
 * The two must agree; `test/ChatChunk.test.ts` checks that they do.
 *
 * @internal
 */
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

const Count = Schema.NullOr(Schema.Number)

/** A complete tool call: Ollama sends the arguments as an object and no id. @internal */
export const ToolCall = Schema.Struct({
  id: Schema.optional(Schema.NullOr(Schema.String)),
  function: Schema.Struct({
    name: Schema.String.pipe(Schema.minLength(1)),
    arguments: Schema.optional(
      Schema.NullOr(Schema.Union(Schema.Record({ key: Schema.String, value: Schema.Unknown }), Schema.String))
    )
  })
})

/** @internal */
export const Message = Schema.Struct({
  content: Schema.optional(Schema.NullOr(Schema.String)),
  thinking: Schema.optional(Schema.NullOr(Schema.String)),
  tool_calls: Schema.optional(Schema.NullOr(Schema.Array(ToolCall)))
})

/** A content line, or the final line when `done` is true. @internal */
export const ChatChunk = Schema.Struct({
  message: Schema.optional(Schema.NullOr(Message)),
  done: Schema.Boolean,
  done_reason: Schema.optional(Schema.NullOr(Schema.String)),
  prompt_eval_count: Schema.optional(Count),
  eval_count: Schema.optional(Count)
})

/** `{"error": "…"}`, as a line or as an HTTP error body. @internal */
export const ErrorLine = Schema.Struct({ error: Schema.Unknown })

/** @internal */
export const Line = Schema.Union(ErrorLine, ChatChunk)

const decodeLine = Schema.decodeUnknownEither(ChatChunk, { errors: "first" })

/**
 * Why `value` is not a valid line, in the Schema's words; `undefined` if the
 * Schema accepts it.
 *
 * @internal
 */
export const explain = (value: unknown): string | undefined => {
  const result = decodeLine(value)
  if (result._tag === "Right") return undefined
  return ParseResult.ArrayFormatter.formatErrorSync(result.left)
    .map((issue) => (issue.path.length > 0 ? `at ${issue.path.join(".")}: ${issue.message}` : issue.message))
    .join("; ")
}
