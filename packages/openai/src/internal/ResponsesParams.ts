/**
 * The Responses request (`POST /responses`) for a `ChatRequest`, and what of
 * the request model it can take.
 *
 * @internal
 */
import { Capabilities, ChatRequest, LlmError } from "@streamvisor/core"
import type OpenAI from "openai"
import { PROVIDER } from "./Errors.js"
import type { AdapterOptions } from "./Shared.js"
import { argumentsText, dataUrl, mergeOptions, ownReasoning, splitOptions } from "./Shared.js"

type Params = OpenAI.Responses.ResponseCreateParamsStreaming
type InputItem = OpenAI.Responses.ResponseInputItem
type InputContent = OpenAI.Responses.ResponseInputContent
type OutputContent = OpenAI.Responses.ResponseFunctionCallOutputItem

/**
 * What Responses takes beyond plain text: images (`input_image`, base64 as a
 * `data:` URL, or a URL), PDFs (`input_file`, as `file_data` or `file_url`),
 * images in tool results (`function_call_output` content), every tool choice,
 * `text.format`, `reasoning.effort` (no token budget: the API has none) and
 * reasoning items in history. `cache` is taken and not sent: OpenAI caches
 * prompt prefixes of 1,024 tokens or more on its own; `prompt_cache_key` is
 * reached through `providerOptions.openai`.
 *
 * @internal
 */
export const capabilities = Capabilities.make({
  providerOptionsKey: "openai",
  features: [
    "image.data",
    "image.url",
    "file.data",
    "file.url",
    "toolResult.image",
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
 * Stop sequences are not a parameter of the Responses API. Sending them
 * anyway would be refused by OpenAI, and ignoring them would silently change
 * the answer, so a request with `stop` fails before any connection opens; so
 * does a bad adapter key of `providerOptions.openai`.
 *
 * @internal
 */
export const checkRequest = (request: ChatRequest.ChatRequest): LlmError.InvalidRequest | undefined => {
  if (request.stop !== undefined && request.stop.length > 0) {
    return new LlmError.InvalidRequest({
      provider: PROVIDER,
      message:
        `${PROVIDER}: the Responses API has no stop sequences; remove \`stop\` or use the Chat Completions API (api: "chat")`
    })
  }
  const options = splitOptions(request)
  return "adapter" in options ? undefined : options
}

const image = (part: ChatRequest.ImagePart, options: AdapterOptions) => ({
  type: "input_image" as const,
  image_url: "data" in part ? dataUrl(part.mediaType, part.data) : part.url,
  detail: options.imageDetail ?? "auto"
})

const userContent = (
  content: ChatRequest.UserMessage["content"],
  options: AdapterOptions
): string | Array<InputContent> => {
  if (typeof content === "string") return content
  if (content.every((part) => part.type === "text")) return ChatRequest.text(content)
  return content.map((part, i): InputContent => {
    switch (part.type) {
      case "text":
        return { type: "input_text", text: part.text }
      case "image":
        return image(part, options)
      case "file":
        return "data" in part
          ? {
            type: "input_file",
            file_data: dataUrl(part.mediaType, part.data),
            filename: part.filename ?? `file-${i}.pdf`
          }
          : { type: "input_file", file_url: part.url, ...(part.filename === undefined ? {} : { filename: part.filename }) }
    }
  })
}

const toolOutput = (
  content: ChatRequest.ToolResultMessage["content"],
  options: AdapterOptions
): string | Array<OutputContent> => {
  if (typeof content === "string") return content
  if (content.every((part) => part.type === "text")) return ChatRequest.text(content)
  return content.map((part): OutputContent =>
    part.type === "text" ? { type: "input_text", text: part.text } : image(part, options)
  )
}

/**
 * An assistant message as input items, in the order the model produced them.
 *
 * - A reasoning part becomes the reasoning item it came from (`id`, the
 *   summary as `summary_text`, `encrypted_content`), right before the item
 *   that followed it: OpenAI refuses a `function_call` whose reasoning item is
 *   missing (400 "Item 'fc_…' of type 'function_call' was provided without its
 *   required 'reasoning' item"). A reasoning part with no `id` (from Chat
 *   Completions or another provider's stream) is not an item and is left out,
 *   as is another provider's.
 * - A tool call's `signature` is its `function_call` item id (the decoder puts
 *   it there only for a call that followed a reasoning item) and goes back as
 *   `id`, so OpenAI pairs the call with its reasoning. Only an `fc_…` id is
 *   sent: a signature from elsewhere (Gemini's, base64) never reaches OpenAI
 *   as an id. A history that drops the reasoning part but keeps the call gets
 *   OpenAI's 400 (`InvalidRequest`), as with any client that keeps item ids:
 *   keep the parts `Provider.toMessages` returns together.
 * - Consecutive text parts become one assistant message.
 */
const assistantItems = (message: ChatRequest.AssistantMessage, input: Array<InputItem>): void => {
  let text = ""
  const flushText = () => {
    if (text === "") return
    input.push({ role: "assistant", content: text })
    text = ""
  }
  const parts = ChatRequest.assistantParts(message)
  for (const part of parts) {
    switch (part.type) {
      case "text":
        text += part.text
        break
      case "reasoning":
        if (part.id === undefined || !ownReasoning(part)) break
        flushText()
        input.push({
          type: "reasoning",
          id: part.id,
          summary: part.text === "" ? [] : [{ type: "summary_text", text: part.text }],
          ...(part.encryptedContent === undefined ? {} : { encrypted_content: part.encryptedContent })
        })
        break
      case "tool-call":
        flushText()
        input.push({
          type: "function_call",
          call_id: part.id,
          name: part.name,
          arguments: argumentsText(part.arguments),
          ...(part.signature !== undefined && (part.provider === undefined || part.provider === PROVIDER) && part.signature.startsWith("fc_")
            ? { id: part.signature }
            : {})
        })
        break
    }
  }
  flushText()
  // An empty assistant turn stays an (empty) assistant message, as before.
  if (parts.length === 0) input.push({ role: "assistant", content: "" })
}

const textFormat = (format: ChatRequest.ResponseFormat): NonNullable<Params["text"]>["format"] =>
  format.type === "json"
    ? { type: "json_object" }
    : {
      type: "json_schema",
      name: format.name,
      schema: format.schema as Record<string, unknown>,
      ...(format.description === undefined ? {} : { description: format.description }),
      ...(format.strict === undefined ? {} : { strict: format.strict })
    }

/**
 * The Responses request for a `ChatRequest`: `system` → `instructions`,
 * messages → input items (assistant reasoning → `reasoning` items, tool calls
 * → `function_call` items, tool results → `function_call_output` items).
 *
 * With `reasoning` set the request is stateless, as a client that keeps its
 * own history needs: `reasoning: { effort, summary: "auto" }` (summaries are
 * what streams as `ReasoningDelta`), `store: false`, and `include:
 * ["reasoning.encrypted_content"]`, so each reasoning item comes back with its
 * encrypted content and can be sent back on the next turn without OpenAI
 * keeping anything. `providerOptions.openai` is merged last (`store: true`,
 * `reasoning: { summary: null }` for an organisation that may not have
 * summaries…).
 *
 * @internal
 */
export const params = (request: ChatRequest.ChatRequest): Params => {
  const split = splitOptions(request)
  const { adapter, body: extra } = "adapter" in split ? split : { adapter: {}, body: undefined }
  const input: Array<InputItem> = []
  for (const message of request.messages) {
    switch (message.role) {
      case "user":
        input.push({ role: "user", content: userContent(message.content, adapter) })
        break
      case "assistant":
        assistantItems(message, input)
        break
      case "tool":
        input.push({
          type: "function_call_output",
          call_id: message.toolCallId,
          output: toolOutput(message.content, adapter)
        })
        break
    }
  }
  const body: Params = { model: request.model, input, stream: true }
  const system = ChatRequest.systemText(request)
  if (system !== undefined && system !== "") body.instructions = system
  if (request.maxTokens !== undefined) body.max_output_tokens = request.maxTokens
  if (request.temperature !== undefined) body.temperature = request.temperature
  if (request.tools !== undefined && request.tools.length > 0) {
    body.tools = request.tools.map((tool) => ({
      type: "function" as const,
      name: tool.name,
      ...(tool.description === undefined ? {} : { description: tool.description }),
      parameters: tool.parameters as Record<string, unknown>,
      strict: false
    }))
    const choice = request.toolChoice
    if (choice !== undefined) body.tool_choice = typeof choice === "string" ? choice : { type: "function", name: choice.tool }
  }
  if (request.responseFormat !== undefined) body.text = { format: textFormat(request.responseFormat) }
  if (request.reasoning !== undefined) {
    body.reasoning = {
      ...(request.reasoning.effort === undefined ? {} : { effort: request.reasoning.effort }),
      summary: "auto"
    }
    body.store = false
    body.include = ["reasoning.encrypted_content"]
  }
  return mergeOptions(body, extra)
}
