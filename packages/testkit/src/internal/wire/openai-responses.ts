/**
 * OpenAI Responses: `POST /v1/responses`, SSE `event: <type>\ndata: {"type":…,"sequence_number":n,…}\n\n`.
 * No `[DONE]`. Mid-stream failure is `event: error` then `response.failed`.
 */
import type { ErrorEventKind, FinishReason, ScriptEvent } from "../../Script.js"
import { openAiError, openAiKindError } from "./openai-chat.js"
import { payloadType, type RenderContext, splitText, type StreamRenderer, type Wire } from "./types.js"

const frame = (type: string, data: string): string => `event: ${type}\ndata: ${data}\n\n`

interface OpenItem {
  readonly kind: "message" | "reasoning"
  readonly id: string
  readonly outputIndex: number
  readonly pieces: Array<string>
}

const status = (reason: FinishReason): "completed" | "incomplete" =>
  reason === "length" || reason === "content_filter" ? "incomplete" : "completed"

const incompleteDetails = (reason: FinishReason): unknown =>
  reason === "length" ? { reason: "max_output_tokens" } : reason === "content_filter" ? { reason: "content_filter" } : null

const responseObject = (ctx: RenderContext, fields: Record<string, unknown>): Record<string, unknown> => ({
  id: `resp_fake_${ctx.id}`,
  object: "response",
  created_at: ctx.created,
  status: "in_progress",
  error: null,
  incomplete_details: null,
  instructions: null,
  max_output_tokens: null,
  model: ctx.model,
  output: [],
  parallel_tool_calls: true,
  previous_response_id: null,
  reasoning: { effort: null, summary: null },
  store: false,
  temperature: 1,
  text: { format: { type: "text" } },
  tool_choice: "auto",
  tools: [],
  top_p: 1,
  truncation: "disabled",
  usage: null,
  metadata: {},
  ...fields
})

const usageObject = (ctx: RenderContext) => ({
  input_tokens: ctx.usage.inputTokens,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: ctx.usage.outputTokens,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: ctx.usage.inputTokens + ctx.usage.outputTokens
})

const messageItem = (id: string, text: string, itemStatus: string) => ({
  id,
  type: "message",
  status: itemStatus,
  role: "assistant",
  content: itemStatus === "in_progress" ? [] : [{ type: "output_text", annotations: [], logprobs: [], text }]
})

const reasoningItem = (id: string, text: string | undefined) => ({
  id,
  type: "reasoning",
  summary: text === undefined ? [] : [{ type: "summary_text", text }]
})

const functionCallItem = (id: string, event: { id: string; name: string }, args: string, itemStatus: string) => ({
  id,
  type: "function_call",
  status: itemStatus,
  arguments: args,
  call_id: event.id,
  name: event.name
})

class ResponsesStream implements StreamRenderer {
  private seq: number
  private outputIndex = 0
  private open: OpenItem | undefined = undefined
  private readonly output: Array<unknown> = []
  readonly keepalive = ": keepalive\n\n"

  constructor(private readonly ctx: RenderContext) {
    this.seq = ctx.seqStart ?? 0
  }

  private emit(type: string, fields: Record<string, unknown>): string {
    return frame(type, JSON.stringify({ type, sequence_number: this.seq++, ...fields }))
  }

  preamble(): string {
    const response = responseObject(this.ctx, {})
    return (
      this.emit("response.created", { response }) + this.emit("response.in_progress", { response })
    )
  }

  private close(): string {
    const item = this.open
    if (item === undefined) return ""
    this.open = undefined
    const text = item.pieces.join("")
    const base = { item_id: item.id, output_index: item.outputIndex }
    if (item.kind === "message") {
      const part = { type: "output_text", annotations: [], logprobs: [], text }
      const done = messageItem(item.id, text, "completed")
      this.output.push(done)
      return (
        this.emit("response.output_text.done", { ...base, content_index: 0, text, logprobs: [] }) +
        this.emit("response.content_part.done", { ...base, content_index: 0, part }) +
        this.emit("response.output_item.done", { output_index: item.outputIndex, item: done })
      )
    }
    const part = { type: "summary_text", text }
    const done = reasoningItem(item.id, text)
    this.output.push(done)
    return (
      this.emit("response.reasoning_summary_text.done", { ...base, summary_index: 0, text }) +
      this.emit("response.reasoning_summary_part.done", { ...base, summary_index: 0, part }) +
      this.emit("response.output_item.done", { output_index: item.outputIndex, item: done })
    )
  }

  private start(kind: "message" | "reasoning"): string {
    if (this.open?.kind === kind) return ""
    let out = this.close()
    const outputIndex = this.outputIndex++
    const id = `${kind === "message" ? "msg" : "rs"}_fake_${this.ctx.id}_${outputIndex}`
    this.open = { kind, id, outputIndex, pieces: [] }
    if (kind === "message") {
      out +=
        this.emit("response.output_item.added", { output_index: outputIndex, item: messageItem(id, "", "in_progress") }) +
        this.emit("response.content_part.added", {
          item_id: id,
          output_index: outputIndex,
          content_index: 0,
          part: { type: "output_text", annotations: [], logprobs: [], text: "" }
        })
    } else {
      out +=
        this.emit("response.output_item.added", { output_index: outputIndex, item: reasoningItem(id, undefined) }) +
        this.emit("response.reasoning_summary_part.added", {
          item_id: id,
          output_index: outputIndex,
          summary_index: 0,
          part: { type: "summary_text", text: "" }
        })
    }
    return out
  }

  event(event: ScriptEvent): string {
    switch (event.type) {
      case "text": {
        const out = this.start("message")
        const item = this.open!
        item.pieces.push(event.text)
        return (
          out +
          frame(
            "response.output_text.delta",
            `{"type":"response.output_text.delta","sequence_number":${this.seq++},"item_id":"${item.id}","output_index":${item.outputIndex},"content_index":0,"delta":${JSON.stringify(event.text)},"logprobs":[]}`
          )
        )
      }
      case "reasoning": {
        const out = this.start("reasoning")
        const item = this.open!
        item.pieces.push(event.text)
        return (
          out +
          frame(
            "response.reasoning_summary_text.delta",
            `{"type":"response.reasoning_summary_text.delta","sequence_number":${this.seq++},"item_id":"${item.id}","output_index":${item.outputIndex},"summary_index":0,"delta":${JSON.stringify(event.text)}}`
          )
        )
      }
      case "toolCall": {
        let out = this.close()
        const outputIndex = this.outputIndex++
        const id = `fc_fake_${this.ctx.id}_${outputIndex}`
        out += this.emit("response.output_item.added", {
          output_index: outputIndex,
          item: functionCallItem(id, event, "", "in_progress")
        })
        for (const delta of splitText(event.arguments, event.chunks ?? 2)) {
          out += this.emit("response.function_call_arguments.delta", { item_id: id, output_index: outputIndex, delta })
        }
        const done = functionCallItem(id, event, event.arguments, "completed")
        this.output.push(done)
        return (
          out +
          this.emit("response.function_call_arguments.done", {
            item_id: id,
            output_index: outputIndex,
            name: event.name,
            arguments: event.arguments
          }) +
          this.emit("response.output_item.done", { output_index: outputIndex, item: done })
        )
      }
    }
  }

  end(): string {
    const out = this.close()
    const final = status(this.ctx.finishReason)
    const response = responseObject(this.ctx, {
      status: final,
      incomplete_details: incompleteDetails(this.ctx.finishReason),
      output: this.output,
      usage: usageObject(this.ctx)
    })
    return out + this.emit(final === "completed" ? "response.completed" : "response.incomplete", { response })
  }

  errorEvent(kind: ErrorEventKind): string {
    const error = openAiKindError(kind)
    return (
      this.emit("error", { code: error.code, message: error.message, param: null }) +
      this.emit("response.failed", {
        response: responseObject(this.ctx, {
          status: "failed",
          error: { code: error.code, message: error.message },
          output: this.output
        })
      })
    )
  }

  malformed(): string {
    return frame("response.output_text.delta", "{not json")
  }
}

/** The OpenAI Responses wire format. */
export const openaiResponses: Wire = {
  streamContentType: "text/event-stream; charset=utf-8",
  isStreaming: (body) => (body as { stream?: unknown } | undefined)?.stream === true,
  stream: (ctx) => new ResponsesStream(ctx),
  complete: (ctx, events) => {
    const output: Array<unknown> = []
    let text: { id: string; pieces: Array<string>; kind: "message" | "reasoning" } | undefined
    const flush = () => {
      if (text === undefined) return
      const joined = text.pieces.join("")
      output.push(text.kind === "message" ? messageItem(text.id, joined, "completed") : reasoningItem(text.id, joined))
      text = undefined
    }
    for (const event of events) {
      if (event.type === "toolCall") {
        flush()
        output.push(functionCallItem(`fc_fake_${ctx.id}_${output.length}`, event, event.arguments, "completed"))
        continue
      }
      const kind = event.type === "text" ? "message" : "reasoning"
      if (text?.kind !== kind) {
        flush()
        text = { kind, id: `${kind === "message" ? "msg" : "rs"}_fake_${ctx.id}_${output.length}`, pieces: [] }
      }
      text.pieces.push(event.text)
    }
    flush()
    return responseObject(ctx, {
      status: status(ctx.finishReason),
      incomplete_details: incompleteDetails(ctx.finishReason),
      output,
      usage: usageObject(ctx)
    })
  },
  errorBody: (code) => ({ error: openAiError(code) }),
  errorEventStatus: (kind) => (kind === "rate_limit" ? 429 : kind === "overloaded" ? 503 : 500),
  replayFrame: (payload) => {
    const type = payloadType(payload)
    return type === undefined ? `data: ${payload}\n\n` : frame(type, payload)
  },
  replayEnd: ""
}
