/**
 * `ChatRequest` → the body of `messages.create({ …, stream: true })`.
 *
 * @internal
 */
import type Anthropic from "@anthropic-ai/sdk"
import { Capabilities, ChatRequest } from "@streamvisor/core"

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
 * What this adapter takes beyond plain text. Nothing yet: until the request
 * model's features are mapped to this wire format, each is refused as
 * `InvalidRequest` before connecting rather than dropped.
 *
 * @internal
 */
export const capabilities = Capabilities.make({ providerOptionsKey: "anthropic" })

/**
 * Build the streaming request body:
 * - `system` becomes the top-level `system`;
 * - an assistant turn with `toolCalls` becomes content blocks: its text (when
 *   not empty: Anthropic refuses empty text blocks) then one `tool_use` each;
 * - `tool` messages become `tool_result` blocks of a user turn; consecutive
 *   results share one user turn, as Anthropic expects all results of one
 *   assistant turn together;
 * - `maxTokens` → `max_tokens` (default `defaultMaxTokens`), `stop` →
 *   `stop_sequences`, tools → `{ name, description, input_schema }` (with
 *   `type: "object"` when the schema leaves it out).
 *
 * @internal
 */
export const toParams = (
  request: ChatRequest.ChatRequest,
  defaultMaxTokens: number
): Params => {
  const messages: Array<Anthropic.MessageParam> = []
  // The user turn collecting the current run of tool results, if the last turn is one.
  let results: Array<ToolResult> | undefined = undefined
  for (const message of request.messages) {
    switch (message.role) {
      case "user": {
        results = undefined
        messages.push({ role: "user", content: ChatRequest.text(message.content) })
        break
      }
      case "assistant": {
        results = undefined
        const calls = ChatRequest.toolCalls(message)
        const text = ChatRequest.text(message.content)
        if (calls.length === 0) {
          messages.push({ role: "assistant", content: text })
          break
        }
        const content: Array<ContentBlock> = []
        if (text.length > 0) content.push({ type: "text", text })
        for (const call of calls) {
          content.push({ type: "tool_use", id: call.id, name: call.name, input: call.arguments ?? {} })
        }
        messages.push({ role: "assistant", content })
        break
      }
      case "tool": {
        const block: ToolResult = { type: "tool_result", tool_use_id: message.toolCallId, content: ChatRequest.text(message.content) }
        if (message.isError !== undefined) block.is_error = message.isError
        if (results === undefined) {
          results = [block]
          messages.push({ role: "user", content: results })
        } else {
          results.push(block)
        }
        break
      }
    }
  }
  const params: Params = {
    model: request.model,
    max_tokens: request.maxTokens ?? defaultMaxTokens,
    messages,
    stream: true
  }
  const system = ChatRequest.systemText(request)
  if (system !== undefined) params.system = system
  if (request.temperature !== undefined) params.temperature = request.temperature
  if (request.stop !== undefined && request.stop.length > 0) params.stop_sequences = [...request.stop]
  if (request.tools !== undefined && request.tools.length > 0) {
    params.tools = request.tools.map((tool): Anthropic.Tool => {
      const out: Anthropic.Tool = {
        name: tool.name,
        // Anthropic requires an object schema; a bare `{ properties }` is one.
        input_schema: { type: "object", ...tool.parameters } as Anthropic.Tool.InputSchema
      }
      if (tool.description !== undefined) out.description = tool.description
      return out
    })
  }
  return params
}
