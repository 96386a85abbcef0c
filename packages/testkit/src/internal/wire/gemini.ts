/**
 * Gemini: `POST /v1beta/models/{model}:streamGenerateContent?alt=sse`, frames exactly
 * `data: {json}\r\n\r\n`. The SDK's parser is anchored on `data: `, so there are no event lines,
 * comments or keepalives: a stall writes nothing.
 */
import type { ErrorEventKind, FinishReason, ScriptEvent } from "../../Script.js"
import {
  argumentsObject,
  type RenderContext,
  retryAfterSeconds,
  statusText,
  type StreamRenderer,
  type Wire
} from "./types.js"

const frame = (data: string): string => `data: ${data}\r\n\r\n`

/**
 * JSON with U+2028 / U+2029 escaped: the SDK's frame regex matches the payload with `.`, which
 * stops at those line terminators (Google's servers escape them too).
 */
const stringify = (value: unknown): string => {
  const text = JSON.stringify(value)
  return /[\u2028\u2029]/.test(text) ? text.replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029") : text
}

const finishReason = (reason: FinishReason): string => {
  switch (reason) {
    case "stop":
    case "tool_calls":
      return "STOP"
    case "length":
      return "MAX_TOKENS"
    case "content_filter":
      return "SAFETY"
  }
}

const rpcStatus = (code: number): string => {
  switch (code) {
    case 400:
      return "INVALID_ARGUMENT"
    case 401:
      return "UNAUTHENTICATED"
    case 403:
      return "PERMISSION_DENIED"
    case 404:
      return "NOT_FOUND"
    case 409:
      return "ABORTED"
    case 429:
      return "RESOURCE_EXHAUSTED"
    case 499:
      return "CANCELLED"
    case 501:
      return "UNIMPLEMENTED"
    case 503:
    case 529:
      return "UNAVAILABLE"
    case 504:
      return "DEADLINE_EXCEEDED"
    default:
      return code >= 500 ? "INTERNAL" : "FAILED_PRECONDITION"
  }
}

const kindError = (kind: ErrorEventKind): { code: number; message: string; status: string } => {
  switch (kind) {
    case "overloaded":
      return { code: 503, message: "The model is overloaded. Please try again later.", status: "UNAVAILABLE" }
    case "rate_limit":
      return { code: 429, message: "Resource has been exhausted (e.g. check quota).", status: "RESOURCE_EXHAUSTED" }
    case "server":
      return { code: 500, message: "An internal error has occurred.", status: "INTERNAL" }
  }
}

const part = (event: ScriptEvent): unknown => {
  switch (event.type) {
    case "text":
      return { text: event.text }
    case "reasoning":
      return { text: event.text, thought: true }
    case "toolCall":
      return { functionCall: { name: event.name, args: argumentsObject(event.arguments) } }
  }
}

class GeminiStream implements StreamRenderer {
  private readonly head: string
  private readonly tail: string
  readonly keepalive = undefined

  constructor(private readonly ctx: RenderContext) {
    this.head = `data: {"candidates":[{"content":{"parts":[`
    this.tail = `],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":${ctx.usage.inputTokens},"totalTokenCount":${ctx.usage.inputTokens}},"modelVersion":${stringify(ctx.model)},"responseId":"fake-${ctx.id}"}\r\n\r\n`
  }

  preamble(): string {
    return ""
  }

  event(event: ScriptEvent): string {
    if (event.type === "text") return `${this.head}{"text":${stringify(event.text)}}${this.tail}`
    return `${this.head}${stringify(part(event))}${this.tail}`
  }

  end(): string {
    const { inputTokens, outputTokens } = this.ctx.usage
    return frame(
      stringify({
        candidates: [
          {
            content: { parts: [{ text: "" }], role: "model" },
            finishReason: finishReason(this.ctx.finishReason),
            index: 0
          }
        ],
        usageMetadata: {
          promptTokenCount: inputTokens,
          candidatesTokenCount: outputTokens,
          totalTokenCount: inputTokens + outputTokens
        },
        modelVersion: this.ctx.model,
        responseId: `fake-${this.ctx.id}`
      })
    )
  }

  errorEvent(kind: ErrorEventKind): string {
    return frame(stringify({ error: kindError(kind) }))
  }

  malformed(): string {
    return "data: {not json\r\n\r\n"
  }
}

/** The Gemini (Generative Language API) wire format. */
export const gemini: Wire = {
  streamContentType: "text/event-stream",
  isStreaming: (_body, pathname) => pathname.endsWith(":streamGenerateContent"),
  stream: (ctx) => new GeminiStream(ctx),
  complete: (ctx, events) => {
    const parts: Array<{ text?: string; thought?: boolean }> = []
    for (const event of events) {
      const last = parts[parts.length - 1]
      if (event.type === "text" && last !== undefined && typeof last.text === "string" && last.thought !== true) {
        last.text += event.text
      } else if (event.type === "reasoning" && last?.thought === true) {
        last.text += event.text
      } else {
        parts.push(part(event) as { text?: string; thought?: boolean })
      }
    }
    const { inputTokens, outputTokens } = ctx.usage
    return {
      candidates: [
        {
          content: { parts, role: "model" },
          finishReason: finishReason(ctx.finishReason),
          index: 0
        }
      ],
      usageMetadata: {
        promptTokenCount: inputTokens,
        candidatesTokenCount: outputTokens,
        totalTokenCount: inputTokens + outputTokens
      },
      modelVersion: ctx.model,
      responseId: `fake-${ctx.id}`
    }
  },
  errorBody: (code, headers) => {
    const details: Array<unknown> = []
    if (code === 401 || code === 400) {
      details.push({
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        reason: code === 401 ? "API_KEY_INVALID" : "BAD_REQUEST",
        domain: "googleapis.com"
      })
    }
    if (code === 429) {
      const seconds = retryAfterSeconds(headers)
      if (seconds !== undefined) {
        details.push({ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${seconds}s` })
      }
    }
    return {
      error: {
        code,
        message: statusText(code),
        status: rpcStatus(code),
        ...(details.length === 0 ? {} : { details })
      }
    }
  },
  errorEventStatus: (kind) => kindError(kind).code,
  replayFrame: (payload) => frame(payload),
  replayEnd: ""
}
