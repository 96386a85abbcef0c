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
  /** Reasoning only: the item's `encrypted_content`, when there is one and the request asked for it. */
  readonly encrypted?: string | undefined
}

/** The real API sends `encrypted_content` only when `include` asks for it (needed with `store: false`). */
const includesEncrypted = (body: unknown): boolean => {
  const include = (body as { include?: unknown } | undefined)?.include
  return Array.isArray(include) && include.includes("reasoning.encrypted_content")
}

/** The signature that ends the reasoning block starting at `index` (a signature on one of its deltas). */
const blockSignature = (events: ReadonlyArray<ScriptEvent>, index: number): string | undefined => {
  for (let i = index; i < events.length; i++) {
    const event = events[i]
    if (event.type !== "reasoning") return undefined
    if (event.signature !== undefined) return event.signature
  }
  return undefined
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
  input_tokens_details: { cached_tokens: ctx.usage.cachedInputTokens ?? 0 },
  output_tokens: ctx.usage.outputTokens,
  output_tokens_details: { reasoning_tokens: ctx.usage.reasoningTokens ?? 0 },
  total_tokens: ctx.usage.inputTokens + ctx.usage.outputTokens
})

const messageItem = (id: string, text: string, itemStatus: string) => ({
  id,
  type: "message",
  status: itemStatus,
  role: "assistant",
  content: itemStatus === "in_progress" ? [] : [{ type: "output_text", annotations: [], logprobs: [], text }]
})

const reasoningItem = (id: string, text: string | undefined, encrypted?: string) => ({
  id,
  type: "reasoning",
  ...(encrypted === undefined ? {} : { encrypted_content: encrypted }),
  summary: text === undefined || text === "" ? [] : [{ type: "summary_text", text }]
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
  /** Index of the script event being rendered. */
  private eventIndex = 0
  private open: OpenItem | undefined = undefined
  /** The reasoning item just closed: the next item issued requires it. */
  private reasoningId: string | undefined = undefined
  private readonly output: Array<unknown> = []
  private readonly encrypted: boolean
  readonly keepalive = ": keepalive\n\n"

  constructor(private readonly ctx: RenderContext) {
    this.seq = ctx.seqStart ?? 0
    this.encrypted = includesEncrypted(ctx.body)
  }

  /** Records that item `id` requires the reasoning item just before it (for request checks). */
  private follows(id: string): void {
    if (this.reasoningId !== undefined) this.ctx.requireReasoning?.(id, this.reasoningId)
    this.reasoningId = undefined
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
    const done = reasoningItem(item.id, text, item.encrypted)
    this.output.push(done)
    this.reasoningId = item.id
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
    const signature = kind === "reasoning" && this.encrypted ? blockSignature(this.ctx.events, this.eventIndex) : undefined
    this.open = { kind, id, outputIndex, pieces: [], encrypted: signature }
    if (kind === "message") {
      this.follows(id)
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
        this.emit("response.output_item.added", { output_index: outputIndex, item: reasoningItem(id, undefined, signature) }) +
        this.emit("response.reasoning_summary_part.added", {
          item_id: id,
          output_index: outputIndex,
          summary_index: 0,
          part: { type: "summary_text", text: "" }
        })
    }
    return out
  }

  private textDelta(text: string): string {
    const out = this.start("message")
    const item = this.open!
    item.pieces.push(text)
    return (
      out +
      frame(
        "response.output_text.delta",
        `{"type":"response.output_text.delta","sequence_number":${this.seq++},"item_id":"${item.id}","output_index":${item.outputIndex},"content_index":0,"delta":${JSON.stringify(text)},"logprobs":[]}`
      )
    )
  }

  event(event: ScriptEvent): string {
    const out = this.render(event)
    this.eventIndex++
    return out
  }

  private render(event: ScriptEvent): string {
    switch (event.type) {
      case "text":
        return this.textDelta(event.text)
      case "json": {
        let out = ""
        for (const piece of splitText(event.json, event.chunks ?? 2)) out += this.textDelta(piece)
        return out
      }
      case "reasoning": {
        let out = this.start("reasoning")
        const item = this.open!
        item.pieces.push(event.text)
        out += frame(
          "response.reasoning_summary_text.delta",
          `{"type":"response.reasoning_summary_text.delta","sequence_number":${this.seq++},"item_id":"${item.id}","output_index":${item.outputIndex},"summary_index":0,"delta":${JSON.stringify(event.text)}}`
        )
        return event.signature === undefined ? out : out + this.close()
      }
      case "redactedReasoning": {
        const out = this.close()
        const outputIndex = this.outputIndex++
        const item = reasoningItem(`rs_fake_${this.ctx.id}_${outputIndex}`, undefined, event.data)
        this.output.push(item)
        this.reasoningId = item.id
        return (
          out +
          this.emit("response.output_item.added", { output_index: outputIndex, item }) +
          this.emit("response.output_item.done", { output_index: outputIndex, item })
        )
      }
      case "toolCall": {
        let out = this.close()
        const outputIndex = this.outputIndex++
        const id = `fc_fake_${this.ctx.id}_${outputIndex}`
        this.follows(id)
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
    const output: Array<{ id: string; type: string }> = []
    const encrypted = includesEncrypted(ctx.body)
    let text: { id: string; pieces: Array<string>; kind: "message" | "reasoning"; encrypted?: string | undefined } | undefined
    let reasoningId: string | undefined
    const push = (item: { id: string; type: string }) => {
      if (item.type !== "reasoning" && reasoningId !== undefined) ctx.requireReasoning?.(item.id, reasoningId)
      reasoningId = item.type === "reasoning" ? item.id : undefined
      output.push(item)
    }
    const flush = () => {
      if (text === undefined) return
      const joined = text.pieces.join("")
      push(text.kind === "message" ? messageItem(text.id, joined, "completed") : reasoningItem(text.id, joined, text.encrypted))
      text = undefined
    }
    events.forEach((event, index) => {
      if (event.type === "toolCall") {
        flush()
        push(functionCallItem(`fc_fake_${ctx.id}_${output.length}`, event, event.arguments, "completed"))
        return
      }
      if (event.type === "redactedReasoning") {
        flush()
        push(reasoningItem(`rs_fake_${ctx.id}_${output.length}`, undefined, event.data))
        return
      }
      const kind = event.type === "reasoning" ? "reasoning" : "message"
      if (text?.kind !== kind) {
        flush()
        const signature = kind === "reasoning" && encrypted ? blockSignature(events, index) : undefined
        text = { kind, id: `${kind === "message" ? "msg" : "rs"}_fake_${ctx.id}_${output.length}`, pieces: [], encrypted: signature }
      }
      text.pieces.push(event.type === "json" ? event.json : event.text)
      if (event.type === "reasoning" && event.signature !== undefined) flush()
    })
    flush()
    return responseObject(ctx, {
      status: status(ctx.finishReason),
      incomplete_details: incompleteDetails(ctx.finishReason),
      output,
      usage: usageObject(ctx)
    })
  },
  errorBody: (code, _headers, message, param) => ({ error: openAiError(code, message, param) }),
  errorEventStatus: (kind) => (kind === "rate_limit" ? 429 : kind === "overloaded" ? 503 : 500),
  replayFrame: (payload) => {
    const type = payloadType(payload)
    return type === undefined ? `data: ${payload}\n\n` : frame(type, payload)
  },
  replayEnd: ""
}
