/**
 * Helpers shared by the Chat Completions and Responses requests and decoders.
 *
 * @internal
 */
import type { ChatRequest } from "@streamvisor/core"
import type { StreamEvent } from "@streamvisor/core"
import { LlmError } from "@streamvisor/core"
import { PROVIDER } from "./Errors.js"

/**
 * Parse a tool call's complete argument text: empty → `{}`, unparsable →
 * `ProtocolError` (naming the finish reason when the output was cut short).
 *
 * @internal
 */
export const parseArguments = (
  id: string,
  name: string,
  text: string,
  finishRaw: string | null | undefined
): unknown => {
  if (text.trim() === "") return {}
  try {
    return JSON.parse(text)
  } catch {
    const why = finishRaw === "length" || finishRaw === "incomplete"
      ? ` (the output was cut short: ${finishRaw})`
      : ""
    throw new LlmError.ProtocolError({
      provider: PROVIDER,
      message: `${PROVIDER}: the arguments of tool call ${id} (${name}) are not valid JSON${why}`
    })
  }
}

/**
 * The history's tool-call arguments as the JSON text OpenAI expects. A string
 * is taken to be JSON text already (as a provider sent it); anything else is
 * serialised.
 *
 * @internal
 */
export const argumentsText = (args: unknown): string =>
  typeof args === "string" ? args : JSON.stringify(args === undefined ? {} : args)

/**
 * A base64 payload as the `data:` URL both APIs take for inline images and
 * files (`image_url.url`, `file_data`, `input_image.image_url`).
 *
 * @internal
 */
export const dataUrl = (mediaType: string, data: string): string => `data:${mediaType};base64,${data}`

/**
 * The keys of `providerOptions.openai` the adapter reads itself and does not
 * send: `imageDetail` is per image on the wire but per request here, since a
 * part has no room for provider options.
 *
 * @internal
 */
export interface AdapterOptions {
  readonly imageDetail?: "auto" | "low" | "high" | undefined
}

const imageDetails: ReadonlyArray<unknown> = ["auto", "low", "high"]

/**
 * The request's `providerOptions.openai`, split into what the adapter reads
 * and what goes into the body; `stream` is refused (the adapter only streams)
 * and a bad `imageDetail` is refused. Both before connecting.
 *
 * @internal
 */
export const splitOptions = (
  request: ChatRequest.ChatRequest
): LlmError.InvalidRequest | { readonly adapter: AdapterOptions; readonly body: Record<string, unknown> | undefined } => {
  const options = request.providerOptions?.openai
  if (options === undefined) return { adapter: {}, body: undefined }
  if ("stream" in options && options.stream !== true) {
    return invalid(`providerOptions.openai.stream cannot be set: the adapter always streams`)
  }
  if (!("imageDetail" in options)) return { adapter: {}, body: options }
  const { imageDetail, ...body } = options
  if (!imageDetails.includes(imageDetail)) {
    return invalid(`providerOptions.openai.imageDetail must be "auto", "low" or "high"`)
  }
  return { adapter: { imageDetail: imageDetail as AdapterOptions["imageDetail"] }, body }
}

const invalid = (message: string) => new LlmError.InvalidRequest({ provider: PROVIDER, message: `${PROVIDER}: ${message}` })

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * Merge `providerOptions.openai` into the body the adapter built, the user
 * having the last word: a key the adapter did not set is added, a key it set
 * is replaced — except that an object merges one level deep into the
 * adapter's object of the same key, so `reasoning: { summary: "detailed" }`
 * keeps the `effort` the request asked for and `stream_options: {
 * include_obfuscation: false }` keeps `include_usage`.
 *
 * @internal
 */
export const mergeOptions = <B extends object>(body: B, options: Record<string, unknown> | undefined): B => {
  if (options === undefined) return body
  const out = body as Record<string, unknown>
  for (const key of Object.keys(options)) {
    const ours = out[key]
    const theirs = options[key]
    out[key] = isPlainObject(ours) && isPlainObject(theirs) ? { ...ours, ...theirs } : theirs
  }
  return body
}

/**
 * Whether a reasoning part is this adapter's to send back: one another
 * provider made is left out (its signature verifies only there).
 *
 * @internal
 */
export const ownReasoning = (part: ChatRequest.ReasoningPart): boolean =>
  part.provider === undefined || part.provider === PROVIDER

/**
 * The usage detail fields, in Chat Completions' names (Responses says
 * `input_tokens_details` / `output_tokens_details`); compatible servers may omit them.
 *
 * @internal
 */
export interface UsageFields {
  readonly prompt_tokens?: number
  readonly completion_tokens?: number
  readonly prompt_tokens_details?: { readonly cached_tokens?: number | null } | null
  readonly completion_tokens_details?: { readonly reasoning_tokens?: number | null } | null
}

/**
 * The usage detail of a usage object: `cached_tokens` (part of
 * `prompt_tokens`) and `reasoning_tokens` (part of `completion_tokens`), as
 * reported; `undefined` when neither is.
 *
 * @internal
 */
export const usageDetail = (usage: UsageFields): StreamEvent.UsageDetail | undefined => {
  const cached = usage.prompt_tokens_details?.cached_tokens
  const reasoning = usage.completion_tokens_details?.reasoning_tokens
  const hasCached = typeof cached === "number"
  const hasReasoning = typeof reasoning === "number"
  if (!hasCached && !hasReasoning) return undefined
  return hasCached && hasReasoning
    ? { cachedInputTokens: cached, reasoningTokens: reasoning }
    : hasCached
    ? { cachedInputTokens: cached }
    : { reasoningTokens: reasoning! }
}
