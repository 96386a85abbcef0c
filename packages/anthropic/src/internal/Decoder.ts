/**
 * The decoder from Anthropic's raw stream events (already parsed by the SDK)
 * to `StreamEvent`s. A plain synchronous state machine: one `switch` per
 * event, one small object per emitted event, nothing else on the hot path.
 *
 * @internal
 */
import type Anthropic from "@anthropic-ai/sdk"
import type { Decoder, DecoderContext, Redaction } from "@streamvisor/core"
import { LlmError, StreamEvent } from "@streamvisor/core"
import { fromErrorBody, PROVIDER } from "./Errors.js"

/**
 * An open `tool_use` block: its call id, tool name, the `input` it started
 * with (always `{}` from Anthropic) and the argument text streamed so far.
 */
interface ToolBlock {
  readonly id: string
  readonly name: string
  readonly input: unknown
  json: string
}

const isNonEmptyObject = (value: unknown): boolean => {
  if (typeof value !== "object" || value === null) return false
  for (const _ in value) return true
  return false
}

/** Per content-block index: a tool call being built, or `OTHER` (text, thinking, server tools…). */
const OTHER = 0 as const
type Block = ToolBlock | typeof OTHER

/**
 * Anthropic `stop_reason` → `Finish.reason`.
 *
 * `pause_turn` is `other`, not `stop`: the server paused a long turn (server
 * tools such as web search hit their iteration limit) and the turn is not
 * finished; the caller continues it by sending the assistant content back.
 * `raw: "pause_turn"` says which, and the shared reason set stays as it is.
 *
 * @internal
 */
export const finishReason = (raw: string | null): StreamEvent.FinishReason => {
  switch (raw) {
    case "end_turn":
    case "stop_sequence":
      return "stop"
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length"
    case "tool_use":
      return "tool_calls"
    case "refusal":
      return "content_filter"
    default:
      return "other"
  }
}

const protocolError = (message: string) =>
  new LlmError.ProtocolError({ provider: PROVIDER, message: `${PROVIDER}: ${message}` })

type Event = Anthropic.RawMessageStreamEvent
type Emit = (event: StreamEvent.StreamEvent) => void

/**
 * A decoder factory for `acquire`: fresh state for each run of the stream.
 *
 * @internal
 */
export const make = (scrub: Redaction.Scrub) => (context: DecoderContext): Decoder<Event, StreamEvent.StreamEvent> => {
  const blocks: Array<Block | undefined> = []
  let inputTokens = 0
  let outputTokens = 0
  let usageSeen = false
  let stopReason: string | null = null
  let stopped = false

  const step = (event: Event, emit: Emit): boolean => {
    switch (event.type) {
      case "content_block_delta": {
        const delta = event.delta
        switch (delta.type) {
          case "text_delta": {
            if (delta.text.length > 0) emit(StreamEvent.textDelta(delta.text))
            break
          }
          case "thinking_delta": {
            if (delta.thinking.length > 0) emit(StreamEvent.reasoningDelta(delta.thinking))
            break
          }
          case "input_json_delta": {
            const block = blocks[event.index]
            if (block === undefined) {
              throw protocolError(`input_json_delta for block ${event.index}, which was never started`)
            }
            const piece = delta.partial_json
            // Server-tool blocks (web search…) stream input too; they are not the caller's tool calls.
            if (block === OTHER || typeof piece !== "string" || piece.length === 0) break
            block.json += piece
            emit(StreamEvent.toolCallDelta(block.id, piece))
            break
          }
          // signature_delta, citations_delta and anything newer carry nothing we emit.
        }
        return false
      }
      case "content_block_start": {
        const block = event.content_block
        switch (block.type) {
          case "text": {
            if (block.text.length > 0) emit(StreamEvent.textDelta(block.text))
            blocks[event.index] = OTHER
            break
          }
          case "thinking": {
            if (block.thinking.length > 0) emit(StreamEvent.reasoningDelta(block.thinking))
            blocks[event.index] = OTHER
            break
          }
          case "tool_use": {
            blocks[event.index] = { id: block.id, name: block.name, input: block.input, json: "" }
            emit(StreamEvent.toolCallStart(block.id, block.name))
            break
          }
          default:
            blocks[event.index] = OTHER
        }
        return false
      }
      case "content_block_stop": {
        const block = blocks[event.index]
        if (block !== undefined && block !== OTHER) {
          let args: unknown = {}
          if (block.json.length > 0) {
            try {
              args = JSON.parse(block.json)
            } catch {
              throw protocolError(`the arguments of tool call ${block.id} (${block.name}) are not valid JSON`)
            }
          } else if (isNonEmptyObject(block.input)) {
            // Some Anthropic-compatible servers send the whole input in content_block_start
            // and no input_json_delta; stream it as one piece so deltas still add up.
            args = block.input
            emit(StreamEvent.toolCallDelta(block.id, JSON.stringify(args)))
          }
          emit(StreamEvent.toolCallEnd(block.id, block.name, args))
        }
        // Forget the block so a repeated stop cannot end the call twice.
        blocks[event.index] = OTHER
        return false
      }
      case "message_start": {
        // Usage is assigned, never added, so a repeated message_start changes nothing.
        const usage = event.message?.usage
        if (usage !== undefined && usage !== null) {
          if (typeof usage.input_tokens === "number") inputTokens = usage.input_tokens
          if (typeof usage.output_tokens === "number") outputTokens = usage.output_tokens
          usageSeen = true
          context.recordUsage(inputTokens, outputTokens)
        }
        return false
      }
      case "message_delta": {
        const reason = event.delta?.stop_reason
        if (typeof reason === "string") stopReason = reason
        const usage = event.usage
        if (usage !== undefined && usage !== null) {
          // Cumulative counts; a later `input_tokens` (some compatible providers send one) wins.
          if (typeof usage.input_tokens === "number") inputTokens = usage.input_tokens
          if (typeof usage.output_tokens === "number") outputTokens = usage.output_tokens
          usageSeen = true
          context.recordUsage(inputTokens, outputTokens)
        }
        return false
      }
      case "message_stop": {
        stopped = true
        return true
      }
      default: {
        // The SDK throws for `event: error` frames; an error body under another
        // event name would reach us here.
        if ((event as { type: string }).type === "error") throw fromErrorBody(event, scrub)
        // ping and event types newer than this adapter.
        return false
      }
    }
  }

  const end = (emit: Emit): void => {
    if (!stopped) {
      throw new LlmError.Disconnected({
        provider: PROVIDER,
        message: `${PROVIDER}: the stream ended before message_stop`
      })
    }
    if (usageSeen) emit(StreamEvent.usage(inputTokens, outputTokens))
    emit(StreamEvent.finish(finishReason(stopReason), stopReason))
  }

  return { step, end }
}
