/**
 * The one request shape every provider takes, defined with `effect/Schema` so
 * that bad input — including a field the model does not know, so a typo is
 * caught — fails as `InvalidRequest`, with the Schema's readable message,
 * before any connection opens.
 *
 * A message's `content` is a string or an array of parts, as in the Vercel AI
 * SDK and `@effect/ai`: text, images and files from the user; text, reasoning
 * and tool calls from the assistant; text and images in a tool result. What a
 * given provider can take is declared by its adapter (see `Capabilities`).
 *
 * **Cache hints.** `cache: true` on the system prompt, a tool or a message marks
 * a cache breakpoint: the prompt up to and including that item may be cached
 * and reused by the next request with the same prefix (Anthropic
 * `cache_control`). Providers that cache on their own ignore it; each adapter
 * documents what it does.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { JsonObject, JsonSchemaInput } from "./internal/JsonSchema.js"
import { InvalidRequest } from "./LlmError.js"

const Base64 = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9+/]*={0,2}$/, {
    message: () => "data must be base64 text (without a `data:` URL prefix)"
  })
).annotations({ identifier: "Base64" })

const Url = Schema.String.pipe(
  Schema.filter((s) => URL.canParse(s), { message: () => "url must be an absolute URL (https:, http: or data:)" })
).annotations({ identifier: "Url" })

const MediaType = Schema.String.pipe(
  Schema.pattern(/^[\w.+-]+\/[\w.+-]+$/, { message: () => "mediaType must be a media type such as image/png" })
).annotations({ identifier: "MediaType" })

const ToolName = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9_-]{1,64}$/, { message: () => "a tool name is 1 to 64 letters, digits, '_' or '-'" })
).annotations({ identifier: "ToolName" })

/**
 * A piece of text.
 *
 * @since 0.2.0
 * @category parts
 */
export const TextPart = Schema.Struct({ type: Schema.Literal("text"), text: Schema.String }).annotations({
  identifier: "TextPart"
})

/**
 * An image: base64 `data` with its `mediaType`, or a `url` the provider fetches.
 *
 * @since 0.2.0
 * @category parts
 */
export const ImagePart = Schema.Union(
  Schema.Struct({ type: Schema.Literal("image"), mediaType: MediaType, data: Base64 }).annotations({
    identifier: "ImagePart (data)"
  }),
  Schema.Struct({ type: Schema.Literal("image"), url: Url, mediaType: Schema.optional(MediaType) }).annotations({
    identifier: "ImagePart (url)"
  })
)

/**
 * A file (e.g. a PDF): base64 `data` or a `url`, always with its `mediaType`.
 *
 * @since 0.2.0
 * @category parts
 */
export const FilePart = Schema.Union(
  Schema.Struct({
    type: Schema.Literal("file"),
    mediaType: MediaType,
    data: Base64,
    filename: Schema.optional(Schema.String)
  }).annotations({ identifier: "FilePart (data)" }),
  Schema.Struct({
    type: Schema.Literal("file"),
    mediaType: MediaType,
    url: Url,
    filename: Schema.optional(Schema.String)
  }).annotations({ identifier: "FilePart (url)" })
)

/**
 * The model's reasoning, as an answer returned it (see `Provider.toMessages`).
 * The other fields are the provider's opaque tokens, sent back exactly so the
 * provider accepts the next turn: `signature` (Anthropic thinking signature,
 * Gemini thought signature), `redactedData` (Anthropic redacted thinking, with
 * empty `text`), `id` and `encryptedContent` (an OpenAI Responses reasoning
 * item). `provider` names the provider that produced it: signatures verify only
 * there, so an adapter does not send another provider's reasoning.
 *
 * @since 0.2.0
 * @category parts
 */
export const ReasoningPart = Schema.Struct({
  type: Schema.Literal("reasoning"),
  text: Schema.String,
  signature: Schema.optional(Schema.String),
  redactedData: Schema.optional(Schema.String),
  id: Schema.optional(Schema.String),
  encryptedContent: Schema.optional(Schema.String),
  provider: Schema.optional(Schema.String)
}).annotations({ identifier: "ReasoningPart" })

/**
 * A tool call the assistant made. `signature` is an opaque token the provider
 * attached to the call (Gemini's thought signature), sent back with it.
 *
 * @since 0.2.0
 * @category parts
 */
export const ToolCallPart = Schema.Struct({
  type: Schema.Literal("tool-call"),
  id: Schema.String,
  name: Schema.String,
  arguments: Schema.Unknown,
  signature: Schema.optional(Schema.String)
}).annotations({ identifier: "ToolCallPart" })

/**
 * What a user message may hold.
 *
 * @since 0.2.0
 * @category parts
 */
export const UserPart = Schema.Union(TextPart, ImagePart, FilePart)

/**
 * What an assistant message may hold, in the order the model produced it.
 *
 * @since 0.2.0
 * @category parts
 */
export const AssistantPart = Schema.Union(TextPart, ReasoningPart, ToolCallPart)

/**
 * What a tool result may hold.
 *
 * @since 0.2.0
 * @category parts
 */
export const ToolResultPart = Schema.Union(TextPart, ImagePart)

/** @since 0.2.0 @category parts */
export type TextPart = typeof TextPart.Type
/** @since 0.2.0 @category parts */
export type ImagePart = typeof ImagePart.Type
/** @since 0.2.0 @category parts */
export type FilePart = typeof FilePart.Type
/** @since 0.2.0 @category parts */
export type ReasoningPart = typeof ReasoningPart.Type
/** @since 0.2.0 @category parts */
export type ToolCallPart = typeof ToolCallPart.Type
/** @since 0.2.0 @category parts */
export type UserPart = typeof UserPart.Type
/** @since 0.2.0 @category parts */
export type AssistantPart = typeof AssistantPart.Type
/** @since 0.2.0 @category parts */
export type ToolResultPart = typeof ToolResultPart.Type

const Cache = Schema.optional(Schema.Boolean)

const nonEmpty = { message: () => "content parts must not be empty" }

/**
 * A tool call the assistant made, as kept in an assistant message's `toolCalls`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolCall = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  arguments: Schema.Unknown
}).annotations({ identifier: "ToolCall" })

/**
 * @since 0.1.0
 * @category models
 */
export type ToolCall = typeof ToolCall.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const UserMessage = Schema.Struct({
  role: Schema.Literal("user"),
  content: Schema.Union(Schema.String, Schema.Array(UserPart).pipe(Schema.minItems(1, nonEmpty))),
  cache: Cache
}).annotations({ identifier: "UserMessage" })

/**
 * An assistant turn: a string, or its parts in order (text, reasoning, tool
 * calls). `toolCalls` is the older way to list its calls and is still taken:
 * they come after the content.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AssistantMessage = Schema.Struct({
  role: Schema.Literal("assistant"),
  content: Schema.Union(Schema.String, Schema.Array(AssistantPart)),
  toolCalls: Schema.optional(Schema.Array(ToolCall)),
  cache: Cache
}).annotations({ identifier: "AssistantMessage" })

/**
 * The result of a tool call, answering the assistant's call `toolCallId`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolResultMessage = Schema.Struct({
  role: Schema.Literal("tool"),
  toolCallId: Schema.String.pipe(Schema.minLength(1)),
  name: Schema.String.pipe(Schema.minLength(1)),
  content: Schema.Union(Schema.String, Schema.Array(ToolResultPart).pipe(Schema.minItems(1, nonEmpty))),
  isError: Schema.optional(Schema.Boolean),
  cache: Cache
}).annotations({ identifier: "ToolResultMessage" })

/** @since 0.2.0 @category models */
export type UserMessage = typeof UserMessage.Type
/** @since 0.2.0 @category models */
export type AssistantMessage = typeof AssistantMessage.Type
/** @since 0.2.0 @category models */
export type ToolResultMessage = typeof ToolResultMessage.Type

/**
 * @since 0.1.0
 * @category schemas
 */
export const Message = Schema.Union(UserMessage, AssistantMessage, ToolResultMessage)

/**
 * @since 0.1.0
 * @category models
 */
export type Message = typeof Message.Type

/**
 * A tool the model may call. `parameters` is a JSON Schema object, or an
 * `effect/Schema` whose JSON Schema is derived (`JSONSchema.make`) when the
 * request is decoded. `cache: true` marks a cache breakpoint after this tool.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Tool = Schema.Struct({
  name: ToolName,
  description: Schema.optional(Schema.String),
  parameters: JsonSchemaInput,
  cache: Cache
}).annotations({ identifier: "Tool" })

/**
 * A tool after decoding: `parameters` is always the JSON Schema object.
 *
 * @since 0.1.0
 * @category models
 */
export type Tool = typeof Tool.Type

/**
 * Whether and which tool the model must call: `"auto"` (the default),
 * `"none"`, `"required"` (some tool), or `{ tool: name }` (that one, which must
 * be among `tools`).
 *
 * @since 0.2.0
 * @category schemas
 */
export const ToolChoice = Schema.Union(
  Schema.Literal("auto", "none", "required"),
  Schema.Struct({ tool: ToolName })
)

/** @since 0.2.0 @category models */
export type ToolChoice = typeof ToolChoice.Type

/**
 * The answer's form: any JSON value (`json`), or JSON matching `schema`
 * (`json_schema`; a JSON Schema object or an `effect/Schema`). `strict` asks
 * providers that have it (OpenAI) to enforce the schema while generating.
 *
 * @since 0.2.0
 * @category schemas
 */
export const ResponseFormat = Schema.Union(
  Schema.Struct({ type: Schema.Literal("json") }),
  Schema.Struct({
    type: Schema.Literal("json_schema"),
    name: ToolName,
    description: Schema.optional(Schema.String),
    schema: JsonSchemaInput,
    strict: Schema.optional(Schema.Boolean)
  })
)

/** @since 0.2.0 @category models */
export type ResponseFormat = typeof ResponseFormat.Type

/**
 * Turn the model's reasoning on: by `effort` or by a token budget.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Reasoning = Schema.Struct({
  effort: Schema.optional(Schema.Literal("low", "medium", "high")),
  budgetTokens: Schema.optional(
    Schema.Int.pipe(Schema.positive({ message: () => "reasoning.budgetTokens must be a positive integer" }))
  )
}).annotations({ identifier: "Reasoning" })

/** @since 0.2.0 @category models */
export type Reasoning = typeof Reasoning.Type

/**
 * Fields merged into one provider's SDK call as they are, for what the model
 * does not cover (top_p, seed, safety settings, service tier, extra body for
 * OpenAI-compatible servers…). Each adapter reads only its own key.
 *
 * @since 0.2.0
 * @category schemas
 */
export const ProviderOptions = Schema.Struct({
  anthropic: Schema.optional(JsonObject),
  openai: Schema.optional(JsonObject),
  google: Schema.optional(JsonObject),
  ollama: Schema.optional(JsonObject)
}).annotations({ identifier: "ProviderOptions" })

/** @since 0.2.0 @category models */
export type ProviderOptions = typeof ProviderOptions.Type

/**
 * The system prompt with a cache hint.
 *
 * @since 0.2.0
 * @category schemas
 */
export const SystemPrompt = Schema.Struct({ text: Schema.String, cache: Cache }).annotations({
  identifier: "SystemPrompt"
})

/** @since 0.2.0 @category models */
export type SystemPrompt = typeof SystemPrompt.Type

const Fields = Schema.Struct({
  model: Schema.String.pipe(Schema.minLength(1, { message: () => "model must not be empty" })),
  messages: Schema.Array(Message).pipe(
    Schema.minItems(1, { message: () => "messages must hold at least one message" })
  ),
  system: Schema.optional(Schema.Union(Schema.String, SystemPrompt)),
  maxTokens: Schema.optional(Schema.Int.pipe(Schema.positive({ message: () => "maxTokens must be a positive integer" }))),
  temperature: Schema.optional(
    Schema.Number.pipe(Schema.between(0, 2, { message: () => "temperature must be between 0 and 2" }))
  ),
  stop: Schema.optional(Schema.Array(Schema.String)),
  tools: Schema.optional(Schema.Array(Tool)),
  toolChoice: Schema.optional(ToolChoice),
  responseFormat: Schema.optional(ResponseFormat),
  reasoning: Schema.optional(Reasoning),
  providerOptions: Schema.optional(ProviderOptions)
}).annotations({ identifier: "ChatRequest" })

const checkTools = (request: typeof Fields.Type): string | undefined => {
  const names = new Set<string>()
  for (const tool of request.tools ?? []) {
    if (names.has(tool.name)) return `tool names must be unique; "${tool.name}" is given twice`
    names.add(tool.name)
  }
  const choice = request.toolChoice
  if (choice === "required" && names.size === 0) return `toolChoice "required" needs at least one tool in tools`
  if (typeof choice === "object" && !names.has(choice.tool)) {
    return `toolChoice names tool "${choice.tool}", which is not in tools`
  }
  return undefined
}

/**
 * @since 0.1.0
 * @category schemas
 */
export const ChatRequest = Fields.pipe(
  Schema.filter((request) => checkTools(request), { identifier: "ChatRequest (tools and toolChoice)" })
)

/**
 * A request after decoding: what adapters receive. Tool and response-format
 * schemas are JSON Schema objects.
 *
 * @since 0.1.0
 * @category models
 */
export type ChatRequest = typeof ChatRequest.Type

/**
 * A request as a user writes it: tool `parameters` and a `json_schema`
 * response format may be `effect/Schema`s. Every `ChatRequest` is an `Input`.
 *
 * @since 0.2.0
 * @category models
 */
export type Input = typeof ChatRequest.Encoded

// `onExcessProperty: "error"`: a field the model does not know is a typo, and
// dropping it silently would send a different request than the one written.
const decodeEither = Schema.decodeUnknownEither(ChatRequest, { errors: "all", onExcessProperty: "error" })

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
 * @category parsing
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
 * @category constructors
 */
export const user = (
  model: string,
  content: string | ReadonlyArray<UserPart>,
  options?: Omit<ChatRequest, "model" | "messages">
): ChatRequest => ({ ...options, model, messages: [{ role: "user", content }] })

/**
 * The text of a content: the string, or its text parts joined.
 *
 * @since 0.2.0
 * @category accessors
 */
export const text = (content: string | ReadonlyArray<{ readonly type: string }>): string => {
  if (typeof content === "string") return content
  let out = ""
  for (const part of content) if (part.type === "text") out += (part as TextPart).text
  return out
}

/**
 * The system prompt's text, whichever form it was given in.
 *
 * @since 0.2.0
 * @category accessors
 */
export const systemText = (request: Pick<ChatRequest, "system">): string | undefined =>
  typeof request.system === "object" ? request.system.text : request.system

/**
 * An assistant message as its ordered parts: a string content becomes one
 * text part (none when empty), and `toolCalls` follow as tool-call parts.
 *
 * @since 0.2.0
 * @category accessors
 */
export const assistantParts = (message: AssistantMessage): ReadonlyArray<AssistantPart> => {
  const parts: Array<AssistantPart> = typeof message.content === "string"
    ? (message.content === "" ? [] : [{ type: "text", text: message.content }])
    : [...message.content]
  for (const call of message.toolCalls ?? []) {
    parts.push({ type: "tool-call", id: call.id, name: call.name, arguments: call.arguments })
  }
  return parts
}

/**
 * Every tool call of an assistant message, from its parts and its `toolCalls`.
 *
 * @since 0.2.0
 * @category accessors
 */
export const toolCalls = (message: AssistantMessage): ReadonlyArray<ToolCall> => {
  const calls: Array<ToolCall> = []
  if (typeof message.content !== "string") {
    for (const part of message.content) {
      if (part.type === "tool-call") calls.push({ id: part.id, name: part.name, arguments: part.arguments })
    }
  }
  if (message.toolCalls !== undefined) calls.push(...message.toolCalls)
  return calls
}
