/**
 * Responses (`POST /responses`, `stream: true`): the request body and the
 * decoder from `ResponseStreamEvent`s to `StreamEvent`s.
 *
 * @internal
 */
import type { DecoderContext, Redaction } from "@streamvisor/core"
import { ChatRequest, LlmError, StreamEvent } from "@streamvisor/core"
import type OpenAI from "openai"
import { fromStreamError, PROVIDER } from "./Errors.js"
import { argumentsText, parseArguments } from "./Shared.js"

type Params = OpenAI.Responses.ResponseCreateParamsStreaming
type InputItem = OpenAI.Responses.ResponseInputItem
type Event = OpenAI.Responses.ResponseStreamEvent

/**
 * Stop sequences are not a parameter of the Responses API. Sending them
 * anyway would be refused by OpenAI, and ignoring them would silently change
 * the answer, so a request with `stop` fails before any connection opens.
 *
 * @internal
 */
export const checkRequest = (request: ChatRequest.ChatRequest): LlmError.InvalidRequest | undefined =>
  request.stop !== undefined && request.stop.length > 0
    ? new LlmError.InvalidRequest({
      provider: PROVIDER,
      message:
        `${PROVIDER}: the Responses API has no stop sequences; remove \`stop\` or use the Chat Completions API (api: "chat")`
    })
    : undefined

/**
 * The Responses request for a `ChatRequest`: `system` → `instructions`,
 * messages → input items (assistant tool calls → `function_call` items, tool
 * results → `function_call_output` items).
 *
 * @internal
 */
export const params = (request: ChatRequest.ChatRequest): Params => {
  const input: Array<InputItem> = []
  for (const message of request.messages) {
    switch (message.role) {
      case "user":
        input.push({ role: "user", content: ChatRequest.text(message.content) })
        break
      case "assistant": {
        const calls = ChatRequest.toolCalls(message)
        const text = ChatRequest.text(message.content)
        if (text !== "" || calls.length === 0) input.push({ role: "assistant", content: text })
        for (const call of calls) {
          input.push({ type: "function_call", call_id: call.id, name: call.name, arguments: argumentsText(call.arguments) })
        }
        break
      }
      case "tool":
        input.push({ type: "function_call_output", call_id: message.toolCallId, output: ChatRequest.text(message.content) })
        break
    }
  }
  const body: Params = { model: request.model, input, stream: true }
  const system = ChatRequest.systemText(request)
  if (system !== undefined && system !== "") body.instructions = system
  if (request.maxTokens !== undefined) body.max_output_tokens = request.maxTokens
  if (request.temperature !== undefined) body.temperature = request.temperature
  if (request.tools !== undefined && request.tools.length > 0) {
    body.tools = request.tools.map((tool) => ({
      type: "function" as const,
      name: tool.name,
      ...(tool.description === undefined ? {} : { description: tool.description }),
      parameters: tool.parameters as Record<string, unknown>,
      strict: false
    }))
  }
  return body
}

interface Call {
  readonly id: string
  readonly name: string
  args: string
}

/** The fields read from events, loosely: servers other than OpenAI differ in the details. */
interface Loose {
  readonly type: string
  readonly delta?: unknown
  readonly output_index?: unknown
  readonly item?: {
    readonly type?: unknown
    readonly call_id?: unknown
    readonly id?: unknown
    readonly name?: unknown
    readonly arguments?: unknown
  } | null
  readonly response?: {
    readonly status?: unknown
    readonly usage?: { readonly input_tokens?: number; readonly output_tokens?: number } | null
    readonly incomplete_details?: { readonly reason?: unknown } | null
    readonly error?: { readonly code?: unknown; readonly message?: unknown } | null
  }
  readonly code?: unknown
  readonly message?: unknown
  readonly error?: { readonly code?: unknown; readonly type?: unknown; readonly message?: unknown } | null
}

/**
 * Map a terminal response status (and its `incomplete_details.reason`).
 *
 * @internal
 */
export const finishReason = (status: string, incompleteReason: unknown, hasToolCalls: boolean): StreamEvent.FinishReason => {
  if (status === "completed") return hasToolCalls ? "tool_calls" : "stop"
  if (status === "incomplete") {
    return incompleteReason === "max_output_tokens"
      ? "length"
      : incompleteReason === "content_filter"
      ? "content_filter"
      : "other"
  }
  return "other"
}

/**
 * The decoder. Terminal events: `response.completed` and `response.incomplete`
 * (their `response.status` is the raw finish). A mid-stream `error` event or
 * `response.failed` fails the stream with the matching `LlmError`. Tool-call
 * deltas are matched by `output_index`, never by `item_id` (proxies rewrite
 * item ids per event).
 *
 * @internal
 */
export const decoder = (scrub: Redaction.Scrub) => (context: DecoderContext) => {
  /** Open function calls by `output_index`. */
  const open = new Map<number, Call>()
  let toolCalls = 0
  let status: string | undefined = undefined
  let incompleteReason: unknown = undefined
  let inputTokens = -1
  let outputTokens = -1

  const usage = (response: Loose["response"]) => {
    const u = response?.usage
    if (u === undefined || u === null) return
    inputTokens = u.input_tokens ?? 0
    outputTokens = u.output_tokens ?? 0
    context.recordUsage(inputTokens, outputTokens)
  }

  const startCall = (index: number, item: NonNullable<Loose["item"]>, emit: (event: StreamEvent.StreamEvent) => void) => {
    const id = typeof item.call_id === "string" && item.call_id !== ""
      ? item.call_id
      : typeof item.id === "string" && item.id !== ""
      ? item.id
      : `call_${toolCalls}`
    const call: Call = { id, name: typeof item.name === "string" ? item.name : "", args: "" }
    open.set(index, call)
    toolCalls++
    emit(StreamEvent.toolCallStart(call.id, call.name))
    return call
  }

  const endCall = (call: Call, finalArgs: unknown, emit: (event: StreamEvent.StreamEvent) => void) => {
    const text = typeof finalArgs === "string" ? finalArgs : call.args
    emit(StreamEvent.toolCallEnd(call.id, call.name, parseArguments(call.id, call.name, text, status)))
  }

  return {
    step(event: Event, emit: (event: StreamEvent.StreamEvent) => void): boolean {
      const e = event as unknown as Loose
      switch (e.type) {
        case "response.output_text.delta": {
          const delta = e.delta
          if (typeof delta === "string" && delta !== "") emit(StreamEvent.textDelta(delta))
          return false
        }
        case "response.reasoning_summary_text.delta":
        case "response.reasoning_text.delta": {
          const delta = e.delta
          if (typeof delta === "string" && delta !== "") emit(StreamEvent.reasoningDelta(delta))
          return false
        }
        case "response.function_call_arguments.delta": {
          const call = open.get(e.output_index as number)
          const delta = e.delta
          if (call !== undefined && typeof delta === "string" && delta !== "") {
            call.args += delta
            emit(StreamEvent.toolCallDelta(call.id, delta))
          }
          return false
        }
        case "response.output_item.added": {
          const item = e.item
          if (item?.type === "function_call") {
            const call = startCall(e.output_index as number, item, emit)
            // Some servers send the whole arguments with the item.
            if (typeof item.arguments === "string" && item.arguments !== "") {
              call.args = item.arguments
              emit(StreamEvent.toolCallDelta(call.id, item.arguments))
            }
          }
          return false
        }
        case "response.output_item.done": {
          const item = e.item
          if (item?.type === "function_call") {
            const index = e.output_index as number
            let call = open.get(index)
            if (call === undefined) {
              // No `output_item.added` was seen for it: start it now.
              call = startCall(index, item, emit)
              if (typeof item.arguments === "string" && item.arguments !== "") {
                emit(StreamEvent.toolCallDelta(call.id, item.arguments))
              }
            }
            open.delete(index)
            endCall(call, item.arguments, emit)
          }
          return false
        }
        case "response.completed":
        case "response.incomplete": {
          const response = e.response
          status = typeof response?.status === "string" ? response.status : e.type.slice("response.".length)
          incompleteReason = response?.incomplete_details?.reason
          usage(response)
          return true
        }
        case "error":
          // OpenAI's shape is flat (`code`, `message`); some servers nest it in `error`.
          throw fromStreamError(scrub, e.error ?? { code: e.code, message: e.message }, "error event in the stream")
        case "response.failed": {
          usage(e.response)
          throw fromStreamError(scrub, e.response?.error, "the response failed")
        }
        default:
          return false
      }
    },
    end(emit: (event: StreamEvent.StreamEvent) => void): void {
      if (status === undefined) {
        throw new LlmError.Disconnected({
          provider: PROVIDER,
          message: `${PROVIDER}: the stream ended before response.completed`
        })
      }
      for (const call of open.values()) endCall(call, undefined, emit)
      open.clear()
      if (inputTokens >= 0) emit(StreamEvent.usage(inputTokens, outputTokens))
      emit(StreamEvent.finish(finishReason(status, incompleteReason, toolCalls > 0), status))
    }
  }
}
