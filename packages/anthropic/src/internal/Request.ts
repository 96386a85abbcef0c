/**
 * `ChatRequest` → the body of `messages.create({ …, stream: true })`.
 *
 * Every feature of the request model maps to the Messages API's own form
 * (see the package README's table). What the API would answer with a 400 —
 * thinking with a forced tool or a temperature other than 1, a budget not
 * below `max_tokens`, a fifth cache breakpoint — is an `InvalidRequest` here,
 * before anything connects.
 *
 * @internal
 */
import type Anthropic from "@anthropic-ai/sdk"
import { Capabilities, ChatRequest, LlmError } from "@streamvisor/core"
import * as Either from "effect/Either"
import { PROVIDER } from "./Errors.js"

type ContentBlock = Anthropic.ContentBlockParam
type ToolResult = Anthropic.ToolResultBlockParam

/**
 * The request body. `temperature` is sent as the API documents it, although
 * `@anthropic-ai/sdk` 1.14's types no longer list it.
 *
 * @internal
 */
export type Params = Anthropic.MessageCreateParamsStreaming & { temperature?: number }

/** Anthropic requires `max_tokens`; this is used when the request has none. */
export const DEFAULT_MAX_TOKENS = 4096

/**
 * `reasoning.effort` → `thinking.budget_tokens`. 1024 is the API's minimum
 * budget; each step is four times the last, the spread Anthropic's extended
 * thinking guide walks through (start at the minimum, raise for harder tasks;
 * above 32k the guide advises batch processing).
 *
 * @internal
 */
export const EFFORT_BUDGET = { low: 1024, medium: 4096, high: 16384 } as const

/** The API's minimum `budget_tokens`. */
const MIN_BUDGET = 1024

/** The API's limit on `cache_control` breakpoints in one request. */
const MAX_BREAKPOINTS = 4

/**
 * The tool name used for `{ type: "json" }` (a `json_schema` format uses its
 * own `name`).
 *
 * @internal
 */
export const JSON_TOOL = "json"

/**
 * What this adapter takes beyond plain text. Images are the four types the
 * Messages API documents; files are PDFs (by data or URL) and plain text (by
 * data: a URL document must be a PDF, checked in {@link prepare}).
 *
 * @internal
 */
export const capabilities = Capabilities.make({
  providerOptionsKey: "anthropic",
  features: Capabilities.features,
  imageMediaTypes: ["image/jpeg", "image/png", "image/gif", "image/webp"],
  fileMediaTypes: ["application/pdf", "text/plain"]
})

/**
 * The body, and the name of the forced tool that carries a `responseFormat`
 * answer (the decoder streams that tool's input as text).
 *
 * @internal
 */
export interface Prepared {
  readonly params: Params
  readonly outputTool: string | undefined
}

const invalid = (message: string) =>
  new LlmError.InvalidRequest({ provider: PROVIDER, message: `${PROVIDER}: ${message}` })

const ephemeral = (): Anthropic.CacheControlEphemeral => ({ type: "ephemeral" })

/** Decode base64 to UTF-8 text (a `text/plain` document is sent as its text). */
const base64Text = (data: string): string => {
  const binary = atob(data)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return new TextDecoder().decode(bytes)
}

const image = (part: ChatRequest.ImagePart): Anthropic.ImageBlockParam =>
  "data" in part
    ? {
      type: "image",
      source: { type: "base64", media_type: part.mediaType as Anthropic.Base64ImageSource["media_type"], data: part.data }
    }
    : { type: "image", source: { type: "url", url: part.url } }

const document = (part: ChatRequest.FilePart, where: string): Anthropic.DocumentBlockParam => {
  let block: Anthropic.DocumentBlockParam
  if ("url" in part) {
    if (part.mediaType !== "application/pdf") {
      throw invalid(`${where}: a file part by URL must be a PDF (application/pdf); send ${part.mediaType} as data`)
    }
    block = { type: "document", source: { type: "url", url: part.url } }
  } else if (part.mediaType === "application/pdf") {
    block = { type: "document", source: { type: "base64", media_type: "application/pdf", data: part.data } }
  } else {
    block = { type: "document", source: { type: "text", media_type: "text/plain", data: base64Text(part.data) } }
  }
  if (part.filename !== undefined) block.title = part.filename
  return block
}

const userContent = (message: ChatRequest.UserMessage, at: string): string | Array<ContentBlock> => {
  if (typeof message.content === "string") {
    return message.cache === true ? [{ type: "text", text: message.content }] : message.content
  }
  const blocks: Array<ContentBlock> = []
  message.content.forEach((part, p) => {
    switch (part.type) {
      case "text":
        // Anthropic refuses empty text blocks.
        if (part.text.length > 0) blocks.push({ type: "text", text: part.text })
        break
      case "image":
        blocks.push(image(part))
        break
      case "file":
        blocks.push(document(part, `${at}.content[${p}]`))
        break
    }
  })
  return blocks
}

/** The assistant turn's blocks in order, or its text as a string when it is only text and not cached. */
const assistantContent = (message: ChatRequest.AssistantMessage, at: string): string | Array<ContentBlock> => {
  const parts = ChatRequest.assistantParts(message)
  if (message.cache !== true && parts.every((part) => part.type === "text")) return ChatRequest.text(parts)
  const blocks: Array<ContentBlock> = []
  parts.forEach((part, p) => {
    switch (part.type) {
      case "text":
        if (part.text.length > 0) blocks.push({ type: "text", text: part.text })
        break
      case "reasoning":
        // Another provider's reasoning does not verify here: it is left out.
        if (part.provider !== undefined && part.provider !== PROVIDER) break
        if (part.redactedData !== undefined) blocks.push({ type: "redacted_thinking", data: part.redactedData })
        else if (part.signature !== undefined) {
          blocks.push({ type: "thinking", thinking: part.text, signature: part.signature })
        } else {
          throw invalid(
            `${at}.content[${p}]: a reasoning part without a signature or redactedData cannot go back to ${PROVIDER}, ` +
              "which verifies every thinking block by its signature (send the part as the answer returned it)"
          )
        }
        break
      case "tool-call":
        blocks.push({ type: "tool_use", id: part.id, name: part.name, input: part.arguments ?? {} })
        break
    }
  })
  return blocks
}

const toolResultContent = (message: ChatRequest.ToolResultMessage): ToolResult["content"] =>
  typeof message.content === "string"
    ? message.content
    : message.content.flatMap((part): Array<Anthropic.TextBlockParam | Anthropic.ImageBlockParam> =>
      part.type === "text" ? (part.text.length > 0 ? [{ type: "text", text: part.text }] : []) : [image(part)]
    )

/** Put a breakpoint on the last block a breakpoint may go on (not a thinking block). */
const markLast = (blocks: Array<ContentBlock>, where: string): void => {
  for (let i = blocks.length - 1; i >= 0; i--) {
    const block = blocks[i]!
    if (block.type === "thinking" || block.type === "redacted_thinking") continue
    ;(block as { cache_control?: Anthropic.CacheControlEphemeral }).cache_control = ephemeral()
    return
  }
  throw invalid(`${where}: a cache hint needs a text, image, document or tool block to mark (thinking blocks cannot be)`)
}

const messagesOf = (request: ChatRequest.ChatRequest): Array<Anthropic.MessageParam> => {
  const messages: Array<Anthropic.MessageParam> = []
  // The user turn collecting the current run of tool results, if the last turn is one.
  let results: Array<ContentBlock> | undefined = undefined
  request.messages.forEach((message, m) => {
    const at = `messages[${m}]`
    switch (message.role) {
      case "user": {
        results = undefined
        const content = userContent(message, at)
        if (message.cache === true && typeof content !== "string") markLast(content, at)
        messages.push({ role: "user", content })
        break
      }
      case "assistant": {
        results = undefined
        const content = assistantContent(message, at)
        if (message.cache === true && typeof content !== "string") markLast(content, at)
        messages.push({ role: "assistant", content })
        break
      }
      case "tool": {
        const block: ToolResult = {
          type: "tool_result",
          tool_use_id: message.toolCallId,
          content: toolResultContent(message)
        }
        if (message.isError !== undefined) block.is_error = message.isError
        if (message.cache === true) block.cache_control = ephemeral()
        if (results === undefined) {
          results = [block]
          messages.push({ role: "user", content: results })
        } else {
          results.push(block)
        }
        break
      }
    }
  })
  return messages
}

const toolOf = (tool: ChatRequest.Tool): Anthropic.Tool => {
  const out: Anthropic.Tool = {
    name: tool.name,
    // Anthropic requires an object schema; a bare `{ properties }` is one.
    input_schema: { type: "object", ...tool.parameters } as Anthropic.Tool.InputSchema
  }
  if (tool.description !== undefined) out.description = tool.description
  if (tool.cache === true) out.cache_control = ephemeral()
  return out
}

/** The forced tool a `responseFormat` is answered through. */
const outputToolOf = (request: ChatRequest.ChatRequest, format: ChatRequest.ResponseFormat): Anthropic.Tool => {
  if (request.toolChoice !== undefined && request.toolChoice !== "auto") {
    throw invalid(
      `responseFormat is answered through a forced tool on ${PROVIDER}, so it cannot be combined with ` +
        `toolChoice ${JSON.stringify(request.toolChoice)}`
    )
  }
  const name = format.type === "json_schema" ? format.name : JSON_TOOL
  if (request.tools?.some((tool) => tool.name === name)) {
    throw invalid(`responseFormat is answered through a tool named "${name}", and tools already has one by that name`)
  }
  if (format.type === "json") {
    return { name, description: "Respond with a JSON object.", input_schema: { type: "object" } }
  }
  const type = format.schema.type
  if (type !== undefined && type !== "object") {
    throw invalid(
      `responseFormat "${name}": ${PROVIDER} answers through a tool's input, which is a JSON object; ` +
        `the schema's type is ${JSON.stringify(type)} (wrap it in an object)`
    )
  }
  return {
    name,
    description: format.description ?? "Respond with a JSON object matching this schema.",
    input_schema: { type: "object", ...format.schema } as Anthropic.Tool.InputSchema
  }
}

const toolChoiceOf = (choice: ChatRequest.ToolChoice): Anthropic.ToolChoice =>
  choice === "auto"
    ? { type: "auto" }
    : choice === "none"
    ? { type: "none" }
    : choice === "required"
    ? { type: "any" }
    : { type: "tool", name: choice.tool }

const countBreakpoints = (params: Params): number => {
  let count = 0
  const marked = (block: unknown): void => {
    if (typeof block === "object" && block !== null && (block as { cache_control?: unknown }).cache_control != null) {
      count++
    }
  }
  if (Array.isArray(params.system)) params.system.forEach(marked)
  params.tools?.forEach(marked)
  for (const message of params.messages) {
    if (typeof message.content !== "string") message.content.forEach(marked)
  }
  return count
}

/**
 * The Messages API's rules on the final body (after `providerOptions`), so a
 * request the API would refuse with a 400 fails here first.
 */
const checkParams = (params: Params & { top_k?: unknown; top_p?: unknown }): void => {
  const temperature = params.temperature
  if (temperature !== undefined && (temperature < 0 || temperature > 1)) {
    throw invalid(`temperature must be between 0 and 1, got ${temperature}`)
  }
  const thinking = params.thinking
  if (thinking !== undefined && thinking !== null && thinking.type !== "disabled") {
    const choice = params.tool_choice?.type
    if (choice === "any" || choice === "tool") {
      throw invalid(
        "thinking (reasoning) may not be enabled while tool use is forced: toolChoice \"required\" or { tool }, " +
          "or a responseFormat (answered through a forced tool), cannot be combined with reasoning"
      )
    }
    if (temperature !== undefined && temperature !== 1) {
      throw invalid(`with thinking (reasoning) enabled, temperature may only be 1, got ${temperature}`)
    }
    if (params.top_k !== undefined) throw invalid("with thinking (reasoning) enabled, top_k may not be set")
    if (typeof params.top_p === "number" && (params.top_p < 0.95 || params.top_p > 1)) {
      throw invalid(`with thinking (reasoning) enabled, top_p must be between 0.95 and 1, got ${params.top_p}`)
    }
    if (thinking.type === "enabled") {
      if (thinking.budget_tokens < MIN_BUDGET) {
        throw invalid(`the thinking budget (reasoning.budgetTokens) must be at least ${MIN_BUDGET}, got ${thinking.budget_tokens}`)
      }
      if (params.max_tokens <= thinking.budget_tokens) {
        throw invalid(
          `maxTokens (${params.max_tokens}) must be greater than the thinking budget (${thinking.budget_tokens}): ` +
            "Anthropic counts thinking in max_tokens"
        )
      }
    }
  }
  const breakpoints = countBreakpoints(params)
  if (breakpoints > MAX_BREAKPOINTS) {
    throw invalid(`at most ${MAX_BREAKPOINTS} cache breakpoints (cache: true) per request, got ${breakpoints}`)
  }
}

/**
 * Build the streaming request body:
 * - `system` → top-level `system` (a text block with `cache_control` when cached);
 * - user parts → `text`, `image` (base64 / url) and `document` (PDF base64 /
 *   url, plain text) blocks; assistant parts in order → `thinking` /
 *   `redacted_thinking` (another provider's reasoning left out), `text`,
 *   `tool_use`; consecutive tool results → `tool_result` blocks of one user
 *   turn (text and images);
 * - `cache: true` → `cache_control: { type: "ephemeral" }` on the system
 *   block, the tool, or the message's last block;
 * - `toolChoice` → `tool_choice` auto / none / any / tool;
 * - `responseFormat` → a tool with the schema, forced by `tool_choice`, added
 *   after the request's tools (the decoder streams its input as text);
 * - `reasoning` → `thinking: { type: "enabled", budget_tokens }`
 *   (`budgetTokens`, else {@link EFFORT_BUDGET}); without `maxTokens`,
 *   `max_tokens` is `defaultMaxTokens` plus the budget, so the answer keeps
 *   its room;
 * - `providerOptions.anthropic` is merged last, over everything but `stream`.
 *
 * @internal
 */
export const prepare = (
  request: ChatRequest.ChatRequest,
  defaultMaxTokens: number
): Either.Either<Prepared, LlmError.InvalidRequest> => {
  try {
    return Either.right(build(request, defaultMaxTokens))
  } catch (error) {
    if (error instanceof LlmError.InvalidRequest) return Either.left(error)
    throw error
  }
}

const build = (request: ChatRequest.ChatRequest, defaultMaxTokens: number): Prepared => {
  const reasoning = request.reasoning
  const budget = reasoning === undefined
    ? undefined
    : reasoning.budgetTokens ?? EFFORT_BUDGET[reasoning.effort ?? "medium"]
  const params: Params = {
    model: request.model,
    max_tokens: request.maxTokens ?? defaultMaxTokens + (budget ?? 0),
    messages: messagesOf(request),
    stream: true
  }
  if (request.system !== undefined) {
    const text = ChatRequest.systemText(request)!
    params.system = typeof request.system === "object" && request.system.cache === true
      ? [{ type: "text", text, cache_control: ephemeral() }]
      : text
  }
  if (request.temperature !== undefined) params.temperature = request.temperature
  if (request.stop !== undefined && request.stop.length > 0) params.stop_sequences = [...request.stop]
  const tools: Array<Anthropic.Tool> = request.tools?.map(toolOf) ?? []
  let outputTool: string | undefined = undefined
  if (request.responseFormat !== undefined) {
    const tool = outputToolOf(request, request.responseFormat)
    tools.push(tool)
    outputTool = tool.name
    params.tool_choice = { type: "tool", name: tool.name }
  } else if (request.toolChoice !== undefined && tools.length > 0) {
    params.tool_choice = toolChoiceOf(request.toolChoice)
  }
  if (tools.length > 0) params.tools = tools
  if (budget !== undefined) params.thinking = { type: "enabled", budget_tokens: budget }
  const options = request.providerOptions?.anthropic
  if (options !== undefined) {
    Object.assign(params, options)
    params.stream = true
  }
  checkParams(params)
  return { params, outputTool }
}

/**
 * The body alone; throws `InvalidRequest` where {@link prepare} fails.
 *
 * @internal
 */
export const toParams = (request: ChatRequest.ChatRequest, defaultMaxTokens: number): Params =>
  Either.getOrThrowWith(prepare(request, defaultMaxTokens), (error) => error).params
