/**
 * Responses (`POST /responses`, `stream: true`): the decoder from
 * `ResponseStreamEvent`s to `StreamEvent`s (the request body is built in
 * `ResponsesParams.ts`).
 *
 * @internal
 */
import type { DecoderContext, Redaction } from "@streamvisor/core"
import { LlmError, StreamEvent } from "@streamvisor/core"
import type OpenAI from "openai"
import { fromStreamError, PROVIDER } from "./Errors.js"
import { parseArguments, usageDetail } from "./Shared.js"

type Event = OpenAI.Responses.ResponseStreamEvent

export { capabilities, checkRequest, params } from "./ResponsesParams.js"

interface Call {
  readonly id: string
  readonly name: string
  args: string
  /** The `function_call` item id, kept when the call followed a reasoning item (it goes back with it). */
  readonly itemId: string | undefined
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
    readonly encrypted_content?: unknown
  } | null
  readonly summary_index?: unknown
  readonly annotation?: unknown
  readonly response?: {
    readonly status?: unknown
    readonly usage?: {
      readonly input_tokens?: number
      readonly output_tokens?: number
      readonly input_tokens_details?: { readonly cached_tokens?: number | null } | null
      readonly output_tokens_details?: { readonly reasoning_tokens?: number | null } | null
    } | null
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
 * - `reasoning_summary_text.delta` / `reasoning_text.delta` → `ReasoningDelta`
 *   (a second summary part starts with a blank line); the reasoning item's
 *   `output_item.done` → `ReasoningEnd { id, encryptedContent }`, which
 *   `collect` keeps on the reasoning part so the item goes back next turn
 * - a `function_call` right after a reasoning item carries its item id as
 *   `ToolCallEnd.signature`: OpenAI wants that call back with its reasoning
 * - `output_text.annotation.added` → `ProviderMetadata { kind: "citations", data: annotation }`;
 *   `refusal.delta`s are joined and reported once, before `Usage`, as `kind: "refusal"`
 * - usage: `input_tokens_details.cached_tokens` / `output_tokens_details.reasoning_tokens`
 *   → `Usage.cachedInputTokens` / `reasoningTokens` (and the ledger, also for a cut stream)
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
  let detail: StreamEvent.UsageDetail | undefined = undefined
  /** The last output item was a reasoning item: the next one requires it. */
  let afterReasoning = false
  let refusal = ""

  const usage = (response: Loose["response"]) => {
    const u = response?.usage
    if (u === undefined || u === null) return
    inputTokens = u.input_tokens ?? 0
    outputTokens = u.output_tokens ?? 0
    detail = usageDetail({
      prompt_tokens_details: u.input_tokens_details,
      completion_tokens_details: u.output_tokens_details
    })
    context.recordUsage(inputTokens, outputTokens, detail)
  }

  const startCall = (index: number, item: NonNullable<Loose["item"]>, emit: (event: StreamEvent.StreamEvent) => void) => {
    const id = typeof item.call_id === "string" && item.call_id !== ""
      ? item.call_id
      : typeof item.id === "string" && item.id !== ""
      ? item.id
      : `call_${toolCalls}`
    const itemId = afterReasoning && typeof item.id === "string" && item.id !== "" ? item.id : undefined
    afterReasoning = false
    const call: Call = { id, name: typeof item.name === "string" ? item.name : "", args: "", itemId }
    open.set(index, call)
    toolCalls++
    emit(StreamEvent.toolCallStart(call.id, call.name))
    return call
  }

  const endCall = (call: Call, finalArgs: unknown, emit: (event: StreamEvent.StreamEvent) => void) => {
    const text = typeof finalArgs === "string" ? finalArgs : call.args
    emit(StreamEvent.toolCallEnd(call.id, call.name, parseArguments(call.id, call.name, text, status), call.itemId, PROVIDER))
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
        case "response.reasoning_summary_part.added":
          if (typeof e.summary_index === "number" && e.summary_index > 0) emit(StreamEvent.reasoningDelta("\n\n"))
          return false
        case "response.output_text.annotation.added":
          emit(StreamEvent.providerMetadata(PROVIDER, "citations", e.annotation))
          return false
        case "response.refusal.delta": {
          const delta = e.delta
          if (typeof delta === "string") refusal += delta
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
          if (item?.type === "reasoning") return false
          if (item?.type === "function_call") {
            const call = startCall(e.output_index as number, item, emit)
            // Some servers send the whole arguments with the item.
            if (typeof item.arguments === "string" && item.arguments !== "") {
              call.args = item.arguments
              emit(StreamEvent.toolCallDelta(call.id, item.arguments))
            }
          } else {
            afterReasoning = false
          }
          return false
        }
        case "response.output_item.done": {
          const item = e.item
          if (item?.type === "reasoning") {
            const id = item.id
            const encrypted = item.encrypted_content
            emit(StreamEvent.reasoningEnd(PROVIDER, {
              ...(typeof id === "string" && id !== "" ? { id } : {}),
              ...(typeof encrypted === "string" && encrypted !== "" ? { encryptedContent: encrypted } : {})
            }))
            afterReasoning = true
            return false
          }
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
      if (refusal !== "") emit(StreamEvent.providerMetadata(PROVIDER, "refusal", { refusal }))
      if (inputTokens >= 0) emit(StreamEvent.usage(inputTokens, outputTokens, detail))
      emit(StreamEvent.finish(finishReason(status, incompleteReason, toolCalls > 0), status))
    }
  }
}
