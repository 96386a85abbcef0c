/**
 * Gemini: `POST /v1beta/models/{model}:streamGenerateContent?alt=sse`, frames exactly
 * `data: {json}\r\n\r\n`. The SDK's parser is anchored on `data: `, so there are no event lines,
 * comments or keepalives: a stall writes nothing.
 */
import type { ErrorEventKind, FinishReason, ScriptEvent, Usage } from "../../Script.js"
import {
  argumentsObject,
  type RenderContext,
  retryAfterSeconds,
  splitText,
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

type Part = { text?: string; thought?: boolean; thoughtSignature?: string; functionCall?: unknown }

const signed = (signature: string | undefined): { thoughtSignature?: string } =>
  signature === undefined ? {} : { thoughtSignature: signature }

/** The parts of one event: a JSON answer is `chunks` text parts, every other event one part. */
const parts = (event: ScriptEvent): Array<Part> => {
  switch (event.type) {
    case "text":
      return [{ text: event.text, ...signed(event.signature) }]
    case "json":
      return splitText(event.json, event.chunks ?? 2).map((text) => ({ text }))
    case "reasoning":
      return [{ text: event.text, thought: true, ...signed(event.signature) }]
    case "redactedReasoning":
      // Gemini has no redacted block; an opaque signature rides on an empty text part (recorded 2025).
      return [{ text: "", thoughtSignature: event.data }]
    case "toolCall":
      return [{ functionCall: { name: event.name, args: argumentsObject(event.arguments) }, ...signed(event.signature) }]
  }
}

/** Prompt-side usage, sent on every chunk (as the real API does). */
const promptUsage = (usage: Usage): Record<string, number> =>
  usage.cachedInputTokens === undefined
    ? { promptTokenCount: usage.inputTokens }
    : { promptTokenCount: usage.inputTokens, cachedContentTokenCount: usage.cachedInputTokens }

/** The final usage: total = prompt + candidates + thoughts, as the real API counts it. */
const finalUsage = (usage: Usage): Record<string, number> => ({
  ...promptUsage(usage),
  candidatesTokenCount: usage.outputTokens,
  totalTokenCount: usage.inputTokens + usage.outputTokens + (usage.reasoningTokens ?? 0),
  ...(usage.reasoningTokens === undefined ? {} : { thoughtsTokenCount: usage.reasoningTokens })
})

class GeminiStream implements StreamRenderer {
  private readonly head: string
  private readonly tail: string
  readonly keepalive = undefined

  constructor(private readonly ctx: RenderContext) {
    this.head = `data: {"candidates":[{"content":{"parts":[`
    const usage = stringify({ ...promptUsage(ctx.usage), totalTokenCount: ctx.usage.inputTokens })
    this.tail = `],"role":"model"},"index":0}],"usageMetadata":${usage},"modelVersion":${stringify(ctx.model)},"responseId":"fake-${ctx.id}"}\r\n\r\n`
  }

  preamble(): string {
    return ""
  }

  event(event: ScriptEvent): string {
    if (event.type === "text" && event.signature === undefined) return `${this.head}{"text":${stringify(event.text)}}${this.tail}`
    let out = ""
    for (const part of parts(event)) out += `${this.head}${stringify(part)}${this.tail}`
    return out
  }

  end(): string {
    return frame(
      stringify({
        candidates: [
          {
            content: { parts: [{ text: "" }], role: "model" },
            finishReason: finishReason(this.ctx.finishReason),
            index: 0
          }
        ],
        usageMetadata: finalUsage(this.ctx.usage),
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
    const merged: Array<Part> = []
    for (const event of events) {
      for (const next of parts(event)) {
        const last = merged[merged.length - 1]
        // Deltas of the same kind join into one part, as a non-streamed answer has them; signed parts stay apart.
        const joinable =
          last !== undefined && typeof last.text === "string" && typeof next.text === "string" &&
          last.thoughtSignature === undefined && next.thoughtSignature === undefined && last.thought === next.thought
        if (joinable) last.text += next.text!
        else merged.push({ ...next })
      }
    }
    return {
      candidates: [
        {
          content: { parts: merged, role: "model" },
          finishReason: finishReason(ctx.finishReason),
          index: 0
        }
      ],
      usageMetadata: finalUsage(ctx.usage),
      modelVersion: ctx.model,
      responseId: `fake-${ctx.id}`
    }
  },
  errorBody: (code, headers, message) => {
    const details: Array<unknown> = []
    if (message === undefined && (code === 401 || code === 400)) {
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
        message: message ?? statusText(code),
        status: rpcStatus(code),
        ...(details.length === 0 ? {} : { details })
      }
    }
  },
  errorEventStatus: (kind) => kindError(kind).code,
  replayFrame: (payload) => frame(payload),
  replayEnd: ""
}
