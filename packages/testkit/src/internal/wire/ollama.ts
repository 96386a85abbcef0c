/**
 * Ollama: `POST /api/chat`, `application/x-ndjson`, one JSON object per line. Tool calls arrive
 * complete (arguments as an object, no id); thinking as `message.thinking`. There is no keepalive:
 * a stall writes nothing.
 */
import type { ErrorEventKind, FinishReason, ScriptEvent } from "../../Script.js"
import { argumentsObject, type RenderContext, splitText, statusText, type StreamRenderer, type Wire } from "./types.js"

const doneReason = (reason: FinishReason): string => (reason === "length" ? "length" : "stop")

const kindMessage = (kind: ErrorEventKind): string => {
  switch (kind) {
    case "overloaded":
      return "server busy, please try again. maximum pending requests exceeded"
    case "rate_limit":
      return "too many requests"
    case "server":
      return "an error was encountered while running the model: unexpected EOF"
  }
}

/** The messages of one event: a JSON answer is `chunks` content lines; Ollama has no redacted reasoning. */
const messages = (event: ScriptEvent): Array<Record<string, unknown>> => {
  switch (event.type) {
    case "json":
      return splitText(event.json, event.chunks ?? 2).map((content) => ({ role: "assistant", content }))
    case "redactedReasoning":
      return []
    default:
      return [message(event)]
  }
}

const message = (event: ScriptEvent): Record<string, unknown> => {
  switch (event.type) {
    case "text":
    case "json":
      return { role: "assistant", content: event.type === "text" ? event.text : event.json }
    case "redactedReasoning":
      return { role: "assistant", content: "" }
    case "reasoning":
      return { role: "assistant", content: "", thinking: event.text }
    case "toolCall":
      return {
        role: "assistant",
        content: "",
        tool_calls: [{ function: { name: event.name, arguments: argumentsObject(event.arguments) } }]
      }
  }
}

const finalFields = (ctx: RenderContext) => ({
  done: true,
  done_reason: doneReason(ctx.finishReason),
  total_duration: 1_000_000,
  load_duration: 100_000,
  prompt_eval_count: ctx.usage.inputTokens,
  prompt_eval_duration: 200_000,
  eval_count: ctx.usage.outputTokens,
  eval_duration: 700_000
})

class OllamaStream implements StreamRenderer {
  private readonly head: string
  readonly keepalive = undefined

  constructor(private readonly ctx: RenderContext) {
    this.head = `{"model":${JSON.stringify(ctx.model)},"created_at":"${new Date(ctx.created * 1000).toISOString()}","message":`
  }

  preamble(): string {
    return ""
  }

  event(event: ScriptEvent): string {
    if (event.type === "text") {
      return `${this.head}{"role":"assistant","content":${JSON.stringify(event.text)}},"done":false}\n`
    }
    let out = ""
    for (const m of messages(event)) out += `${this.head}${JSON.stringify(m)},"done":false}\n`
    return out
  }

  end(): string {
    const tail = JSON.stringify(finalFields(this.ctx)).slice(1)
    return `${this.head}{"role":"assistant","content":""},${tail}\n`
  }

  errorEvent(kind: ErrorEventKind): string {
    return `${JSON.stringify({ error: kindMessage(kind) })}\n`
  }

  malformed(): string {
    return "{not json\n"
  }
}

/** The Ollama `/api/chat` wire format. */
export const ollama: Wire = {
  streamContentType: "application/x-ndjson",
  isStreaming: (body) => (body as { stream?: unknown } | undefined)?.stream !== false,
  stream: (ctx) => new OllamaStream(ctx),
  complete: (ctx, events) => {
    let content = ""
    let thinking = ""
    const toolCalls: Array<unknown> = []
    for (const event of events) {
      if (event.type === "text") content += event.text
      else if (event.type === "json") content += event.json
      else if (event.type === "reasoning") thinking += event.text
      else if (event.type === "toolCall") {
        toolCalls.push({ function: { name: event.name, arguments: argumentsObject(event.arguments) } })
      }
    }
    return {
      model: ctx.model,
      created_at: new Date(ctx.created * 1000).toISOString(),
      message: {
        role: "assistant",
        content,
        ...(thinking === "" ? {} : { thinking }),
        ...(toolCalls.length === 0 ? {} : { tool_calls: toolCalls })
      },
      ...finalFields(ctx)
    }
  },
  errorBody: (status, _headers, text) => ({
    error: text ?? (status === 404 ? "model not found, try pulling it first" : statusText(status).toLowerCase())
  }),
  errorEventStatus: (kind) => (kind === "rate_limit" ? 429 : kind === "overloaded" ? 503 : 500),
  replayFrame: (payload) => `${payload}\n`,
  replayEnd: ""
}
