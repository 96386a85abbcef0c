/**
 * The parts a message's `content` may hold: text, images and files from the
 * user; text, reasoning and tool calls from the assistant; text and images in a
 * tool result. `ChatRequest` re-exports each of them, so `ChatRequest.TextPart`
 * and `ContentPart.TextPart` are the same Schema.
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"

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
 * attached to the call (Gemini's thought signature, an OpenAI Responses item
 * id), sent back with it; `provider` names who made it, so another provider
 * is never sent a signature that means nothing to it (after a fallback).
 *
 * @since 0.2.0
 * @category parts
 */
export const ToolCallPart = Schema.Struct({
  type: Schema.Literal("tool-call"),
  id: Schema.String,
  name: Schema.String,
  arguments: Schema.Unknown,
  signature: Schema.optional(Schema.String),
  provider: Schema.optional(Schema.String)
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
