/**
 * Anthropic Messages: `POST /v1/messages`, SSE frames `event: X\ndata: {json}\n\n`.
 */
import type { ErrorEventKind, FinishReason, ScriptEvent, Usage } from "../../Script.js"
import {
  argumentsObject,
  forcedToolName,
  payloadType,
  type RenderContext,
  splitText,
  statusText,
  type StreamRenderer,
  type Wire
} from "./types.js"

const frame = (event: string, data: string): string => `event: ${event}\ndata: ${data}\n\n`

const stopReason = (reason: FinishReason): string => {
  switch (reason) {
    case "stop":
      return "end_turn"
    case "length":
      return "max_tokens"
    case "tool_calls":
      return "tool_use"
    case "content_filter":
      return "refusal"
  }
}

const errorType = (status: number): string => {
  switch (status) {
    case 400:
      return "invalid_request_error"
    case 401:
      return "authentication_error"
    case 403:
      return "permission_error"
    case 404:
      return "not_found_error"
    case 413:
      return "request_too_large"
    case 429:
      return "rate_limit_error"
    case 529:
      return "overloaded_error"
    default:
      return status >= 500 ? "api_error" : "invalid_request_error"
  }
}

const kindError = (kind: ErrorEventKind): { type: string; message: string } => {
  switch (kind) {
    case "overloaded":
      return { type: "overloaded_error", message: "Overloaded" }
    case "rate_limit":
      return { type: "rate_limit_error", message: "Rate limit exceeded" }
    case "server":
      return { type: "api_error", message: "Internal server error" }
  }
}

/** The signature of a thinking block whose script gives none (real blocks are always signed). */
const SIGNATURE = "ZmFrZS1zaWduYXR1cmU="

/** Cache counters appear only when the script sets one (the real API sends both, 0 when unused). */
const cacheFields = (usage: Usage): Record<string, number> =>
  usage.cachedInputTokens === undefined && usage.cacheWriteTokens === undefined
    ? {}
    : { cache_creation_input_tokens: usage.cacheWriteTokens ?? 0, cache_read_input_tokens: usage.cachedInputTokens ?? 0 }

/** With a forced tool, the model's answer is that tool's call, and the turn stops for it. */
const stopReasonOf = (ctx: RenderContext, usedTool: boolean): string =>
  usedTool && ctx.finishReason === "stop" ? "tool_use" : stopReason(ctx.finishReason)

class AnthropicStream implements StreamRenderer {
  private index = -1
  private open: "text" | "thinking" | undefined = undefined
  private usedTool = false
  private readonly forcedTool: string | undefined
  readonly keepalive = frame("ping", `{"type": "ping"}`)

  constructor(private readonly ctx: RenderContext) {
    this.forcedTool = forcedToolName(ctx.body)
  }

  preamble(): string {
    const message = {
      id: `msg_fake_${this.ctx.id}`,
      type: "message",
      role: "assistant",
      model: this.ctx.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: this.ctx.usage.inputTokens, ...cacheFields(this.ctx.usage), output_tokens: 1 }
    }
    return frame("message_start", JSON.stringify({ type: "message_start", message })) + this.keepalive
  }

  private close(signature?: string): string {
    if (this.open === undefined) return ""
    let out = ""
    if (this.open === "thinking") {
      out += frame(
        "content_block_delta",
        `{"type":"content_block_delta","index":${this.index},"delta":{"type":"signature_delta","signature":${JSON.stringify(signature ?? SIGNATURE)}}}`
      )
    }
    this.open = undefined
    return out + frame("content_block_stop", `{"type":"content_block_stop","index":${this.index}}`)
  }

  private start(kind: "text" | "thinking"): string {
    if (this.open === kind) return ""
    const out = this.close()
    this.index++
    this.open = kind
    const block = kind === "text" ? `{"type":"text","text":""}` : `{"type":"thinking","thinking":"","signature":""}`
    return (
      out + frame("content_block_start", `{"type":"content_block_start","index":${this.index},"content_block":${block}}`)
    )
  }

  private textDelta(text: string): string {
    return frame(
      "content_block_delta",
      `{"type":"content_block_delta","index":${this.index},"delta":{"type":"text_delta","text":${JSON.stringify(text)}}}`
    )
  }

  event(event: ScriptEvent): string {
    switch (event.type) {
      case "text":
        return this.start("text") + this.textDelta(event.text)
      case "reasoning": {
        const out =
          this.start("thinking") +
          frame(
            "content_block_delta",
            `{"type":"content_block_delta","index":${this.index},"delta":{"type":"thinking_delta","thinking":${JSON.stringify(event.text)}}}`
          )
        return event.signature === undefined ? out : out + this.close(event.signature)
      }
      case "redactedReasoning": {
        const out = this.close()
        this.index++
        return (
          out +
          frame(
            "content_block_start",
            JSON.stringify({ type: "content_block_start", index: this.index, content_block: { type: "redacted_thinking", data: event.data } })
          ) +
          frame("content_block_stop", `{"type":"content_block_stop","index":${this.index}}`)
        )
      }
      case "json": {
        if (this.forcedTool !== undefined) {
          this.usedTool = true
          const id = `toolu_fake_${this.ctx.id}_${this.index + 1}`
          return this.toolUse({ id, name: this.forcedTool, arguments: event.json, chunks: event.chunks })
        }
        let out = this.start("text")
        for (const piece of splitText(event.json, event.chunks ?? 2)) out += this.textDelta(piece)
        return out
      }
      case "toolCall":
        return this.toolUse(event)
    }
  }

  private toolUse(event: { id: string; name: string; arguments: string; chunks?: number | undefined }): string {
    let out = this.close()
    this.index++
    out += frame(
      "content_block_start",
      JSON.stringify({
        type: "content_block_start",
        index: this.index,
        content_block: { type: "tool_use", id: event.id, name: event.name, input: {} }
      })
    )
    for (const piece of splitText(event.arguments, event.chunks ?? 2)) {
      out += frame(
        "content_block_delta",
        `{"type":"content_block_delta","index":${this.index},"delta":{"type":"input_json_delta","partial_json":${JSON.stringify(piece)}}}`
      )
    }
    return out + frame("content_block_stop", `{"type":"content_block_stop","index":${this.index}}`)
  }

  end(): string {
    const { usage } = this.ctx
    const cache = cacheFields(usage)
    // The real message_delta repeats input and cache counts next to output_tokens (recorded 2025).
    const counts = Object.keys(cache).length === 0 ? { output_tokens: usage.outputTokens } : { input_tokens: usage.inputTokens, ...cache, output_tokens: usage.outputTokens }
    return (
      this.close() +
      frame(
        "message_delta",
        `{"type":"message_delta","delta":{"stop_reason":"${stopReasonOf(this.ctx, this.usedTool)}","stop_sequence":null},"usage":${JSON.stringify(counts)}}`
      ) +
      frame("message_stop", `{"type":"message_stop"}`)
    )
  }

  errorEvent(kind: ErrorEventKind): string {
    return frame("error", JSON.stringify({ type: "error", error: kindError(kind) }))
  }

  malformed(): string {
    return frame("content_block_delta", "{not json")
  }
}

/** The Anthropic Messages wire format. */
export const anthropic: Wire = {
  streamContentType: "text/event-stream; charset=utf-8",
  isStreaming: (body) => (body as { stream?: unknown } | undefined)?.stream === true,
  stream: (ctx) => new AnthropicStream(ctx),
  complete: (ctx, events) => {
    const content: Array<Record<string, unknown>> = []
    // The open text or thinking block that the next delta of the same kind extends.
    let last: { type: string; text?: string; thinking?: string; signature?: string } | undefined
    const forced = forcedToolName(ctx.body)
    let usedTool = false
    const addText = (text: string) => {
      if (last?.type === "text") last.text += text
      else content.push((last = { type: "text", text }))
    }
    for (const event of events) {
      switch (event.type) {
        case "text":
          addText(event.text)
          break
        case "reasoning":
          if (last?.type === "thinking") last.thinking += event.text
          else content.push((last = { type: "thinking", thinking: event.text, signature: SIGNATURE }))
          if (event.signature !== undefined) {
            last.signature = event.signature
            last = undefined
          }
          break
        case "redactedReasoning":
          content.push({ type: "redacted_thinking", data: event.data })
          last = undefined
          break
        case "json":
          if (forced === undefined) {
            addText(event.json)
            break
          }
          usedTool = true
          content.push({ type: "tool_use", id: `toolu_fake_${ctx.id}_${content.length}`, name: forced, input: argumentsObject(event.json) })
          last = undefined
          break
        case "toolCall": {
          let input: unknown = {}
          try {
            input = event.arguments.trim() === "" ? {} : JSON.parse(event.arguments)
          } catch {
            input = {}
          }
          content.push({ type: "tool_use", id: event.id, name: event.name, input })
          last = undefined
        }
      }
    }
    return {
      id: `msg_fake_${ctx.id}`,
      type: "message",
      role: "assistant",
      model: ctx.model,
      content,
      stop_reason: stopReasonOf(ctx, usedTool),
      stop_sequence: null,
      usage: { input_tokens: ctx.usage.inputTokens, ...cacheFields(ctx.usage), output_tokens: ctx.usage.outputTokens }
    }
  },
  errorBody: (status, _headers, message) => ({
    type: "error",
    error: { type: errorType(status), message: message ?? statusText(status) }
  }),
  errorEventStatus: (kind) => (kind === "overloaded" ? 529 : kind === "rate_limit" ? 429 : 500),
  replayFrame: (payload) => {
    const type = payloadType(payload)
    return type === undefined ? `data: ${payload}\n\n` : frame(type, payload)
  },
  replayEnd: ""
}
