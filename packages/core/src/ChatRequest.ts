/**
 * The one request shape every provider takes, defined with `effect/Schema` so
 * that bad input fails as `InvalidRequest`, with the Schema's readable message,
 * before any connection opens.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { InvalidRequest } from "./LlmError.js"

/**
 * A tool call the assistant made, as kept in history.
 *
 * @since 0.1.0
 */
export const ToolCall = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  arguments: Schema.Unknown
})

/**
 * @since 0.1.0
 */
export type ToolCall = typeof ToolCall.Type

/**
 * @since 0.1.0
 */
export const UserMessage = Schema.Struct({
  role: Schema.Literal("user"),
  content: Schema.String
})

/**
 * An assistant turn. `toolCalls` carries the calls it made, if any.
 *
 * @since 0.1.0
 */
export const AssistantMessage = Schema.Struct({
  role: Schema.Literal("assistant"),
  content: Schema.String,
  toolCalls: Schema.optional(Schema.Array(ToolCall))
})

/**
 * The result of a tool call, answering the assistant's call `toolCallId`.
 *
 * @since 0.1.0
 */
export const ToolResultMessage = Schema.Struct({
  role: Schema.Literal("tool"),
  toolCallId: Schema.String.pipe(Schema.minLength(1)),
  name: Schema.String.pipe(Schema.minLength(1)),
  content: Schema.String,
  isError: Schema.optional(Schema.Boolean)
})

/**
 * @since 0.1.0
 */
export const Message = Schema.Union(UserMessage, AssistantMessage, ToolResultMessage)

/**
 * @since 0.1.0
 */
export type Message = typeof Message.Type

/**
 * A tool the model may call. `parameters` is a JSON Schema object.
 *
 * @since 0.1.0
 */
export const Tool = Schema.Struct({
  name: Schema.String.pipe(
    Schema.pattern(/^[A-Za-z0-9_-]{1,64}$/, {
      message: () => "a tool name is 1 to 64 letters, digits, '_' or '-'"
    })
  ),
  description: Schema.optional(Schema.String),
  parameters: Schema.Record({ key: Schema.String, value: Schema.Unknown })
})

/**
 * @since 0.1.0
 */
export type Tool = typeof Tool.Type

/**
 * @since 0.1.0
 */
export const ChatRequest = Schema.Struct({
  model: Schema.String.pipe(Schema.minLength(1, { message: () => "model must not be empty" })),
  messages: Schema.Array(Message).pipe(
    Schema.minItems(1, { message: () => "messages must hold at least one message" })
  ),
  system: Schema.optional(Schema.String),
  maxTokens: Schema.optional(Schema.Int.pipe(Schema.positive({ message: () => "maxTokens must be a positive integer" }))),
  temperature: Schema.optional(
    Schema.Number.pipe(Schema.between(0, 2, { message: () => "temperature must be between 0 and 2" }))
  ),
  stop: Schema.optional(Schema.Array(Schema.String)),
  tools: Schema.optional(Schema.Array(Tool))
})

/**
 * @since 0.1.0
 */
export type ChatRequest = typeof ChatRequest.Type

const decodeEither = Schema.decodeUnknownEither(ChatRequest, { errors: "all", onExcessProperty: "ignore" })

/**
 * Validate an unknown value as a `ChatRequest`; a failure is an
 * `InvalidRequest` whose message is the Schema's readable tree.
 *
 * @example
 * ```ts
 * import { ChatRequest } from "@streamvisor/core"
 * import { Effect } from "effect"
 *
 * const program = ChatRequest.decode("anthropic", { model: "", messages: [] })
 * // fails with InvalidRequest: "anthropic: invalid ChatRequest: ... model must not be empty ..."
 * ```
 *
 * @since 0.1.0
 */
export const decode = (provider: string, input: unknown): Effect.Effect<ChatRequest, InvalidRequest> => {
  const result = decodeEither(input)
  return Either.isRight(result)
    ? Effect.succeed(result.right)
    : Effect.fail(
      new InvalidRequest({
        provider,
        message: `${provider}: invalid ChatRequest:\n${ParseResult.TreeFormatter.formatErrorSync(result.left)}`
      })
    )
}

/**
 * Build a one-message request.
 *
 * @since 0.1.0
 */
export const user = (
  model: string,
  content: string,
  options?: Omit<ChatRequest, "model" | "messages">
): ChatRequest => ({ ...options, model, messages: [{ role: "user", content }] })
