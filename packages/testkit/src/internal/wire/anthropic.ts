/**
 * Anthropic Messages: `POST /v1/messages`, SSE frames `event: X\ndata: {json}\n\n`.
 */
import type { ErrorEventKind, FinishReason, ScriptEvent } from "../../Script.js"
import { payloadType, type RenderContext, splitText, statusText, type StreamRenderer, type Wire } from "./types.js"

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

const SIGNATURE = "ZmFrZS1zaWduYXR1cmU="

class AnthropicStream implements StreamRenderer {
  private index = -1
  private open: "text" | "thinking" | undefined = undefined
  readonly keepalive = frame("ping", `{"type": "ping"}`)

  constructor(private readonly ctx: RenderContext) {}

  preamble(): string {
    const message = {
      id: `msg_fake_${this.ctx.id}`,
      type: "message",
      role: "assistant",
      model: this.ctx.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: this.ctx.usage.inputTokens, output_tokens: 1 }
    }
    return frame("message_start", JSON.stringify({ type: "message_start", message })) + this.keepalive
  }

  private close(): string {
    if (this.open === undefined) return ""
    let out = ""
    if (this.open === "thinking") {
      out += frame(
        "content_block_delta",
        `{"type":"content_block_delta","index":${this.index},"delta":{"type":"signature_delta","signature":"${SIGNATURE}"}}`
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

  event(event: ScriptEvent): string {
    switch (event.type) {
      case "text":
        return (
          this.start("text") +
          frame(
            "content_block_delta",
            `{"type":"content_block_delta","index":${this.index},"delta":{"type":"text_delta","text":${JSON.stringify(event.text)}}}`
          )
        )
      case "reasoning":
        return (
          this.start("thinking") +
          frame(
            "content_block_delta",
            `{"type":"content_block_delta","index":${this.index},"delta":{"type":"thinking_delta","thinking":${JSON.stringify(event.text)}}}`
          )
        )
      case "toolCall": {
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
    }
  }

  end(): string {
    return (
      this.close() +
      frame(
        "message_delta",
        `{"type":"message_delta","delta":{"stop_reason":"${stopReason(this.ctx.finishReason)}","stop_sequence":null},"usage":{"output_tokens":${this.ctx.usage.outputTokens}}}`
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
    const content: Array<unknown> = []
    let last: { type: string; text?: string; thinking?: string; signature?: string } | undefined
    for (const event of events) {
      if (event.type === "text") {
        if (last?.type === "text") last.text += event.text
        else content.push((last = { type: "text", text: event.text }))
      } else if (event.type === "reasoning") {
        if (last?.type === "thinking") last.thinking += event.text
        else content.push((last = { type: "thinking", thinking: event.text, signature: SIGNATURE }))
      } else {
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
    return {
      id: `msg_fake_${ctx.id}`,
      type: "message",
      role: "assistant",
      model: ctx.model,
      content,
      stop_reason: stopReason(ctx.finishReason),
      stop_sequence: null,
      usage: { input_tokens: ctx.usage.inputTokens, output_tokens: ctx.usage.outputTokens }
    }
  },
  errorBody: (status) => ({
    type: "error",
    error: { type: errorType(status), message: statusText(status) }
  }),
  errorEventStatus: (kind) => (kind === "overloaded" ? 529 : kind === "rate_limit" ? 429 : 500),
  replayFrame: (payload) => {
    const type = payloadType(payload)
    return type === undefined ? `data: ${payload}\n\n` : frame(type, payload)
  },
  replayEnd: ""
}
