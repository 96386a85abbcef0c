/**
 * The shape of one `/api/chat` NDJSON line, as an `effect/Schema`.
 *
 * The decoder does not run this Schema per line: measured on 20,000 lines, a
 * pre-built `Schema.is` / `decodeUnknownEither` costs ~430 ns a line, about
 * as much as the line's `JSON.parse`, where checking the fields read costs a
 * few ns. So the decoder checks the fields it reads with plain property
 * tests, and only when a line fails those checks does it decode the line
 * with this Schema to explain what is wrong. The two must agree; a property
 * test in `test/Decoder.test.ts` checks that they do. (`{"error": …}` lines
 * are handled before this shape applies.)
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

/** A line of the answer: `done` is false. @internal */
export const ContentChunk = Schema.Struct({
  message: Schema.optional(Schema.NullOr(Message)),
  done: Schema.Literal(false)
})

/** The final line: `done` is true, with the reason and the token counts. @internal */
export const FinalChunk = Schema.Struct({
  message: Schema.optional(Schema.NullOr(Message)),
  done: Schema.Literal(true),
  done_reason: Schema.optional(Schema.NullOr(Schema.String)),
  prompt_eval_count: Schema.optional(Count),
  eval_count: Schema.optional(Count)
})

/** A content line, or the final line. @internal */
export const ChatChunk = Schema.Union(ContentChunk, FinalChunk)

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
  // The first issue is the most specific one; the others are the `NullOr` /
  // `optional` alternatives it did not match either.
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(result.left)
  const text = issue.path.length > 0 ? `at ${issue.path.join(".")}: ${issue.message}` : issue.message
  return text.length <= 200 ? text : `${text.slice(0, 200)}…`
}
