/**
 * Chat Completions (`POST /chat/completions`, `stream: true`): the decoder
 * from `ChatCompletionChunk`s to `StreamEvent`s (the request body is built in
 * `ChatParams.ts`).
 *
 * @internal
 */
import type { DecoderContext } from "@streamvisor/core"
import { LlmError, StreamEvent } from "@streamvisor/core"
import type OpenAI from "openai"
import { PROVIDER } from "./Errors.js"
import { parseArguments, usageDetail } from "./Shared.js"

type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk

export { capabilities, checkRequest, type MaxTokensParameter, params } from "./ChatParams.js"

/** The fields read from a delta, including the reasoning fields of OpenAI-compatible servers. */
interface Delta {
  readonly content?: string | null
  readonly reasoning_content?: string | null
  readonly reasoning?: string | null
  readonly tool_calls?: ReadonlyArray<ToolCallDelta> | null
  readonly refusal?: string | null
  /** `url_citation`s of search models (OpenAI `gpt-4o-search-preview`, OpenRouter's web plugin). */
  readonly annotations?: ReadonlyArray<unknown> | null
}

interface ToolCallDelta {
  readonly index?: number
  readonly id?: string | null
  readonly function?: { readonly name?: string | null; readonly arguments?: string | null } | null
}

interface Call {
  readonly id: string
  readonly name: string
  args: string
  open: boolean
}

/**
 * Map a raw `finish_reason`. `stop` with tool calls becomes `tool_calls`:
 * OpenAI reports `stop` when `tool_choice` forced a function.
 *
 * @internal
 */
export const finishReason = (raw: string, hasToolCalls: boolean): StreamEvent.FinishReason => {
  switch (raw) {
    case "stop":
      return hasToolCalls ? "tool_calls" : "stop"
    case "length":
      return "length"
    case "tool_calls":
    case "function_call":
      return "tool_calls"
    case "content_filter":
      return "content_filter"
    default:
      return "other"
  }
}

/**
 * The decoder. Terminal event: the usage chunk once a `finish_reason` was
 * seen. A server that ignores `include_usage` never sends one; the stream
 * then ends with the body, still a normal finish because a `finish_reason`
 * arrived.
 *
 * A body that ends without any `finish_reason` is a clean end only if the
 * usage chunk came (we always ask for it, and servers send it last, after the
 * answer): some OpenAI-compatible servers (Snowflake Cortex) never send a
 * `finish_reason`. Its `Finish` is `stop` (`tool_calls` when calls were
 * streamed) with `raw: null`, the null saying the reason was not reported.
 * The SDK hides `[DONE]`, so the usage chunk is the only end marker we see.
 * A body that ends with neither (a proxy or server cut the answer short but
 * closed the body cleanly) is `Disconnected`, as before.
 *
 * - `delta.content` → `TextDelta` (empty and `null` skipped)
 * - `delta.reasoning_content` / `delta.reasoning` (DeepSeek, vLLM, OpenRouter…) → `ReasoningDelta`;
 *   the block ends (`ReasoningEnd`, no signature: the API has none) at the first text, tool
 *   call or finish after it
 * - `delta.refusal` is not answer text: it is joined and reported once, before `Usage`, as
 *   `ProviderMetadata { kind: "refusal", data: { refusal } }`; the finish stays the raw `finish_reason`
 * - `delta.annotations[]` → one `ProviderMetadata { kind: "citations", data: annotation }` each
 * - usage: `prompt_tokens_details.cached_tokens` / `completion_tokens_details.reasoning_tokens`
 *   → `Usage.cachedInputTokens` / `reasoningTokens` (and the ledger, also for a cut stream)
 * - `delta.tool_calls[]`, assembled by `index` → `ToolCallStart` on first sight,
 *   `ToolCallDelta` per argument piece, `ToolCallEnd` for every open call when
 *   `finish_reason` arrives
 * - chunks with `choices: []` and no usage (Azure's `prompt_filter_results`) are skipped
 *
 * @internal
 */
export const decoder = (context: DecoderContext) => {
  const calls: Array<Call> = []
  /** The call currently streaming at each `index`. */
  const byIndex: Array<Call | undefined> = []
  let finish: string | undefined = undefined
  let inputTokens = -1
  let outputTokens = -1
  let detail: StreamEvent.UsageDetail | undefined = undefined
  let reasoningOpen = false
  let refusal = ""

  const endReasoning = (emit: (event: StreamEvent.StreamEvent) => void) => {
    reasoningOpen = false
    emit(StreamEvent.reasoningEnd(PROVIDER))
  }

  const closeCalls = (emit: (event: StreamEvent.StreamEvent) => void) => {
    for (let i = 0; i < calls.length; i++) {
      const call = calls[i]
      if (!call.open) continue
      call.open = false
      emit(StreamEvent.toolCallEnd(call.id, call.name, parseArguments(call.id, call.name, call.args, finish)))
    }
  }

  const toolCalls = (deltas: ReadonlyArray<ToolCallDelta>, emit: (event: StreamEvent.StreamEvent) => void) => {
    for (let i = 0; i < deltas.length; i++) {
      const piece = deltas[i]
      const index = typeof piece.index === "number" ? piece.index : i
      const id = piece.id
      let call = byIndex[index]
      // A new call: first sight of this index, or (servers that reuse index 0
      // for parallel calls) a different id at the same index.
      if (call === undefined || (typeof id === "string" && id !== "" && id !== call.id)) {
        const name = piece.function?.name ?? ""
        call = { id: typeof id === "string" && id !== "" ? id : `call_${calls.length}`, name, args: "", open: true }
        calls.push(call)
        byIndex[index] = call
        emit(StreamEvent.toolCallStart(call.id, name))
      }
      const args = piece.function?.arguments
      if (typeof args === "string" && args !== "" && call.open) {
        call.args += args
        emit(StreamEvent.toolCallDelta(call.id, args))
      }
    }
  }

  return {
    step(chunk: Chunk, emit: (event: StreamEvent.StreamEvent) => void): boolean {
      const choices = chunk.choices
      if (choices !== undefined && choices !== null && choices.length > 0) {
        const choice = choices[0]
        const delta = choice.delta as Delta | undefined
        if (delta !== undefined && delta !== null) {
          const reasoning = delta.reasoning_content ?? delta.reasoning
          if (typeof reasoning === "string" && reasoning !== "") {
            reasoningOpen = true
            emit(StreamEvent.reasoningDelta(reasoning))
          }
          const content = delta.content
          if (typeof content === "string" && content !== "") {
            if (reasoningOpen) endReasoning(emit)
            emit(StreamEvent.textDelta(content))
          }
          const deltas = delta.tool_calls
          if (deltas !== undefined && deltas !== null && deltas.length > 0) {
            if (reasoningOpen) endReasoning(emit)
            toolCalls(deltas, emit)
          }
          const refused = delta.refusal
          if (typeof refused === "string") refusal += refused
          const annotations = delta.annotations
          if (Array.isArray(annotations)) {
            for (const annotation of annotations) emit(StreamEvent.providerMetadata(PROVIDER, "citations", annotation))
          }
        }
        const reason = choice.finish_reason as string | null | undefined
        if (typeof reason === "string" && reason !== "") {
          if (reasoningOpen) endReasoning(emit)
          finish = reason
          closeCalls(emit)
        }
      }
      const usage = chunk.usage
      if (usage !== undefined && usage !== null) {
        inputTokens = usage.prompt_tokens ?? 0
        outputTokens = usage.completion_tokens ?? 0
        detail = usageDetail(usage)
        context.recordUsage(inputTokens, outputTokens, detail)
        if (finish !== undefined) return true
      }
      return false
    },
    end(emit: (event: StreamEvent.StreamEvent) => void): void {
      if (finish === undefined && inputTokens < 0) {
        throw new LlmError.Disconnected({
          provider: PROVIDER,
          message: `${PROVIDER}: the stream ended before a finish_reason or the usage chunk`
        })
      }
      if (reasoningOpen) endReasoning(emit)
      closeCalls(emit)
      if (refusal !== "") emit(StreamEvent.providerMetadata(PROVIDER, "refusal", { refusal }))
      if (inputTokens >= 0) emit(StreamEvent.usage(inputTokens, outputTokens, detail))
      emit(StreamEvent.finish(finishReason(finish ?? "stop", calls.length > 0), finish ?? null))
    }
  }
}
