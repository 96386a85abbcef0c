/**
 * OpenAI Chat Completions: `POST /v1/chat/completions`, SSE `data: {chunk}\n\n` (no event lines),
 * then `data: [DONE]\n\n`. Reasoning is rendered as `delta.reasoning_content` (the field
 * OpenAI-compatible reasoning servers use; OpenAI itself never streams reasoning on this API).
 */
import type { ErrorEventKind, FinishReason, ScriptEvent, Usage } from "../../Script.js"
import { type RenderContext, splitText, statusText, type StreamRenderer, type Wire } from "./types.js"

const DONE = "data: [DONE]\n\n"

/** OpenAI finish reasons are the neutral ones. */
const finishReason = (reason: FinishReason): string => reason

/** The OpenAI error object for an HTTP status (shared with the Responses API). */
export const openAiError = (
  status: number,
  text?: string,
  param?: string
): { message: string; type: string; param: string | null; code: string | null } => {
  const message = text ?? statusText(status)
  if (text !== undefined && status < 500) return { message, type: "invalid_request_error", param: param ?? null, code: null }
  switch (status) {
    case 400:
      return { message, type: "invalid_request_error", param: null, code: null }
    case 401:
      return { message: "Incorrect API key provided.", type: "invalid_request_error", param: null, code: "invalid_api_key" }
    case 403:
      return { message, type: "invalid_request_error", param: null, code: "unsupported_country_region_territory" }
    case 404:
      return { message, type: "invalid_request_error", param: null, code: "model_not_found" }
    case 429:
      return { message: "Rate limit reached.", type: "requests", param: null, code: "rate_limit_exceeded" }
    default:
      return status >= 500
        ? { message, type: "server_error", param: null, code: null }
        : { message, type: "invalid_request_error", param: null, code: null }
  }
}

/** The OpenAI error object for a mid-stream error of a kind (shared with the Responses API). */
export const openAiKindError = (kind: ErrorEventKind): { message: string; type: string; param: null; code: string } => {
  switch (kind) {
    case "overloaded":
      return { message: "The server is overloaded. Please retry.", type: "server_error", param: null, code: "server_overloaded" }
    case "rate_limit":
      return { message: "Rate limit reached.", type: "requests", param: null, code: "rate_limit_exceeded" }
    case "server":
      return { message: "The server had an error while processing your request.", type: "server_error", param: null, code: "server_error" }
  }
}

/** The usage object; the detail objects only when the script sets their counts. */
const usageObject = (usage: Usage): Record<string, unknown> => ({
  prompt_tokens: usage.inputTokens,
  completion_tokens: usage.outputTokens,
  total_tokens: usage.inputTokens + usage.outputTokens,
  ...(usage.cachedInputTokens === undefined ? {} : { prompt_tokens_details: { cached_tokens: usage.cachedInputTokens } }),
  ...(usage.reasoningTokens === undefined ? {} : { completion_tokens_details: { reasoning_tokens: usage.reasoningTokens } })
})

const includeUsage = (body: unknown): boolean =>
  (body as { stream_options?: { include_usage?: unknown } } | undefined)?.stream_options?.include_usage === true

class ChatStream implements StreamRenderer {
  private readonly head: string
  private readonly tail: string
  private toolIndex = 0
  readonly keepalive = ": keepalive\n\n"

  constructor(private readonly ctx: RenderContext) {
    this.head = `data: {"id":"chatcmpl-fake-${ctx.id}","object":"chat.completion.chunk","created":${ctx.created},"model":${JSON.stringify(ctx.model)},"system_fingerprint":null,"choices":[`
    this.tail = includeUsage(ctx.body) ? `],"usage":null}\n\n` : `]}\n\n`
  }

  private chunk(delta: string, finish: string | null = null): string {
    return `${this.head}{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finish === null ? "null" : `"${finish}"`}}${this.tail}`
  }

  preamble(): string {
    return this.chunk(`{"role":"assistant","content":"","refusal":null}`)
  }

  event(event: ScriptEvent): string {
    switch (event.type) {
      case "text":
        return this.chunk(`{"content":${JSON.stringify(event.text)}}`)
      case "reasoning":
        // DeepSeek's shape: reasoning_content deltas beside a null content.
        return this.chunk(`{"content":null,"reasoning_content":${JSON.stringify(event.text)}}`)
      case "redactedReasoning":
        return ""
      case "json": {
        let out = ""
        for (const piece of splitText(event.json, event.chunks ?? 2)) out += this.chunk(`{"content":${JSON.stringify(piece)}}`)
        return out
      }
      case "toolCall": {
        const index = this.toolIndex++
        let out = this.chunk(
          JSON.stringify({
            tool_calls: [{ index, id: event.id, type: "function", function: { name: event.name, arguments: "" } }]
          })
        )
        for (const piece of splitText(event.arguments, event.chunks ?? 2)) {
          out += this.chunk(`{"tool_calls":[{"index":${index},"function":{"arguments":${JSON.stringify(piece)}}}]}`)
        }
        return out
      }
    }
  }

  end(): string {
    let out = this.chunk("{}", finishReason(this.ctx.finishReason))
    if (includeUsage(this.ctx.body)) {
      out += `${this.head}],"usage":${JSON.stringify(usageObject(this.ctx.usage))}}\n\n`
    }
    return out + DONE
  }

  errorEvent(kind: ErrorEventKind): string {
    return `data: ${JSON.stringify({ error: openAiKindError(kind) })}\n\n`
  }

  malformed(): string {
    return "data: {not json\n\n"
  }
}

/** The OpenAI Chat Completions wire format. */
export const openaiChat: Wire = {
  streamContentType: "text/event-stream; charset=utf-8",
  isStreaming: (body) => (body as { stream?: unknown } | undefined)?.stream === true,
  stream: (ctx) => new ChatStream(ctx),
  complete: (ctx, events) => {
    let content = ""
    let reasoning = ""
    const toolCalls: Array<unknown> = []
    for (const event of events) {
      if (event.type === "text") content += event.text
      else if (event.type === "json") content += event.json
      else if (event.type === "reasoning") reasoning += event.text
      else if (event.type === "toolCall") {
        toolCalls.push({ id: event.id, type: "function", function: { name: event.name, arguments: event.arguments } })
      }
    }
    const hasText = events.some((e) => e.type === "text" || e.type === "json")
    return {
      id: `chatcmpl-fake-${ctx.id}`,
      object: "chat.completion",
      created: ctx.created,
      model: ctx.model,
      system_fingerprint: null,
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: hasText || toolCalls.length === 0 ? content : null,
            refusal: null,
            ...(reasoning === "" ? {} : { reasoning_content: reasoning }),
            ...(toolCalls.length === 0 ? {} : { tool_calls: toolCalls })
          },
          logprobs: null,
          finish_reason: finishReason(ctx.finishReason)
        }
      ],
      usage: usageObject(ctx.usage)
    }
  },
  errorBody: (status, _headers, message, param) => ({ error: openAiError(status, message, param) }),
  errorEventStatus: (kind) => (kind === "rate_limit" ? 429 : kind === "overloaded" ? 503 : 500),
  replayFrame: (payload) => `data: ${payload}\n\n`,
  replayEnd: DONE
}
