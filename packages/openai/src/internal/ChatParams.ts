/**
 * The Chat Completions request (`POST /chat/completions`) for a
 * `ChatRequest`, and what of the request model it can take.
 *
 * @internal
 */
import { Capabilities, ChatRequest } from "@streamvisor/core"
import type { LlmError } from "@streamvisor/core"
import type OpenAI from "openai"
import type { AdapterOptions } from "./Shared.js"
import { argumentsText, dataUrl, mergeOptions, ownReasoning, splitOptions } from "./Shared.js"

type Params = OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming
type MessageParam = OpenAI.Chat.Completions.ChatCompletionMessageParam
type ContentPart = OpenAI.Chat.Completions.ChatCompletionContentPart

/**
 * Which body field carries `maxTokens`.
 *
 * @internal
 */
export type MaxTokensParameter = "max_completion_tokens" | "max_tokens"

/**
 * What Chat Completions takes beyond plain text.
 *
 * - Images as `image_url` parts (a `data:` URL for base64), in the four formats
 *   OpenAI's vision guide lists; files as `file` parts with `file_data`, PDF only
 *   (the file guide: "only PDF" for Chat Completions). A file by URL is refused:
 *   the `file` part has no URL field (only `file_data` and an uploaded `file_id`).
 * - No image in a tool result: `tool` messages carry text only.
 * - No reasoning budget: `reasoning_effort` is the only knob.
 * - `reasoning.history`: OpenAI's Chat Completions has no field for past
 *   reasoning and needs none, and never streams any. Reasoning text comes from
 *   compatible servers (`reasoning_content`), and DeepSeek's thinking mode
 *   requires it back on an assistant turn that called tools (400 otherwise;
 *   on a turn without tool calls it is ignored, and the older
 *   `deepseek-reasoner` refused it there). So the reasoning text of an
 *   assistant message with tool calls goes back as its `reasoning_content`;
 *   other reasoning is not sent. Reasoning with an `id` or encrypted content
 *   (a Responses item) and another provider's is never sent here.
 * - `cache` is taken and not sent: OpenAI caches every prompt prefix of 1,024
 *   tokens or more on its own; `prompt_cache_key` is reached through
 *   `providerOptions.openai`.
 *
 * @internal
 */
export const capabilities = Capabilities.make({
  providerOptionsKey: "openai",
  features: [
    "image.data",
    "image.url",
    "file.data",
    "toolChoice.none",
    "toolChoice.required",
    "toolChoice.tool",
    "responseFormat.json",
    "responseFormat.json_schema",
    "reasoning.effort",
    "reasoning.history",
    "cache",
    "providerOptions"
  ],
  imageMediaTypes: ["image/png", "image/jpeg", "image/gif", "image/webp"],
  fileMediaTypes: ["application/pdf"]
})

/**
 * What the capabilities table cannot say, before connecting: the adapter's own
 * `providerOptions.openai` keys.
 *
 * @internal
 */
export const checkRequest = (request: ChatRequest.ChatRequest): LlmError.InvalidRequest | undefined => {
  const options = splitOptions(request)
  return "adapter" in options ? undefined : options
}

const extension = (mediaType: string): string => mediaType === "application/pdf" ? "pdf" : mediaType.split("/")[1] ?? "bin"

const userContent = (
  content: ChatRequest.UserMessage["content"],
  options: AdapterOptions
): string | Array<ContentPart> => {
  if (typeof content === "string") return content
  // Text only: one string, which every OpenAI-compatible server takes.
  if (content.every((part) => part.type === "text")) return ChatRequest.text(content)
  return content.map((part, i): ContentPart => {
    switch (part.type) {
      case "text":
        return { type: "text", text: part.text }
      case "image": {
        const url = "data" in part ? dataUrl(part.mediaType, part.data) : part.url
        return {
          type: "image_url",
          image_url: options.imageDetail === undefined ? { url } : { url, detail: options.imageDetail }
        }
      }
      case "file":
        // A URL file never gets here: the capabilities table refuses it.
        return {
          type: "file",
          file: {
            file_data: dataUrl(part.mediaType, "data" in part ? part.data : ""),
            filename: part.filename ?? `file-${i}.${extension(part.mediaType)}`
          }
        }
    }
  })
}

/** The text of an assistant message's own plain reasoning parts (not Responses items). */
const reasoningText = (message: ChatRequest.AssistantMessage): string => {
  if (typeof message.content === "string") return ""
  let out = ""
  for (const part of message.content) {
    if (part.type === "reasoning" && part.id === undefined && part.encryptedContent === undefined && ownReasoning(part)) {
      out += part.text
    }
  }
  return out
}

const toolChoice = (choice: ChatRequest.ToolChoice): Params["tool_choice"] =>
  typeof choice === "string" ? choice : { type: "function", function: { name: choice.tool } }

const responseFormat = (format: ChatRequest.ResponseFormat): Params["response_format"] =>
  format.type === "json"
    ? { type: "json_object" }
    : {
      type: "json_schema",
      json_schema: {
        name: format.name,
        schema: format.schema as Record<string, unknown>,
        ...(format.description === undefined ? {} : { description: format.description }),
        ...(format.strict === undefined ? {} : { strict: format.strict })
      }
    }

/**
 * The Chat Completions request for a `ChatRequest`. Reasoning parts in the
 * history go back only as `reasoning_content` of a tool-calling turn (see
 * {@link capabilities}); `providerOptions.openai`
 * is merged last (see `mergeOptions`).
 *
 * @internal
 */
export const params = (request: ChatRequest.ChatRequest, maxTokensParameter: MaxTokensParameter): Params => {
  const split = splitOptions(request)
  const { adapter, body: extra } = "adapter" in split ? split : { adapter: {}, body: undefined }
  const messages: Array<MessageParam> = []
  const system = ChatRequest.systemText(request)
  if (system !== undefined && system !== "") messages.push({ role: "system", content: system })
  for (const message of request.messages) {
    switch (message.role) {
      case "user":
        messages.push({ role: "user", content: userContent(message.content, adapter) })
        break
      case "assistant": {
        const calls = ChatRequest.toolCalls(message)
        const text = ChatRequest.text(message.content)
        if (calls.length > 0) {
          const reasoning = reasoningText(message)
          messages.push({
            role: "assistant",
            content: text === "" ? null : text,
            tool_calls: calls.map((call) => ({
              id: call.id,
              type: "function" as const,
              function: { name: call.name, arguments: argumentsText(call.arguments) }
            })),
            // Not in the SDK's type: DeepSeek's field (see `capabilities`).
            ...(reasoning === "" ? {} : { reasoning_content: reasoning })
          })
        } else {
          messages.push({ role: "assistant", content: text })
        }
        break
      }
      case "tool":
        messages.push({ role: "tool", tool_call_id: message.toolCallId, content: ChatRequest.text(message.content) })
        break
    }
  }
  const body: Params = {
    model: request.model,
    messages,
    stream: true,
    stream_options: { include_usage: true }
  }
  if (request.maxTokens !== undefined) body[maxTokensParameter] = request.maxTokens
  if (request.temperature !== undefined) body.temperature = request.temperature
  if (request.stop !== undefined && request.stop.length > 0) body.stop = [...request.stop]
  if (request.tools !== undefined && request.tools.length > 0) {
    body.tools = request.tools.map((tool) => ({
      type: "function" as const,
      function: {
        name: tool.name,
        ...(tool.description === undefined ? {} : { description: tool.description }),
        parameters: tool.parameters as Record<string, unknown>
      }
    }))
  }
  // Without tools there is nothing to choose, and OpenAI refuses a
  // `tool_choice` without `tools` ("none" is what the model does anyway).
  if (request.toolChoice !== undefined && body.tools !== undefined) body.tool_choice = toolChoice(request.toolChoice)
  if (request.responseFormat !== undefined) body.response_format = responseFormat(request.responseFormat)
  if (request.reasoning?.effort !== undefined) body.reasoning_effort = request.reasoning.effort
  return mergeOptions(body, extra)
}
