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
  readonly kind: "tool"
  readonly id: string
  readonly name: string
  readonly input: unknown
  json: string
}

/** The forced tool that carries a `responseFormat` answer: its input is the answer's text. */
interface OutputBlock {
  readonly kind: "output"
  readonly input: unknown
  streamed: boolean
}

/** A `thinking` block: its signature arrives in a `signature_delta` before the block stops. */
interface ThinkingBlock {
  readonly kind: "thinking"
  signature: string
}

/** A `redacted_thinking` block: opaque data, no deltas. */
interface RedactedBlock {
  readonly kind: "redacted"
  readonly data: string
}

const isNonEmptyObject = (value: unknown): boolean => {
  if (typeof value !== "object" || value === null) return false
  for (const _ in value) return true
  return false
}

/** Per content-block index: what is being built, or `OTHER` (text, server tools…). */
const OTHER = 0 as const
type Block = ToolBlock | OutputBlock | ThinkingBlock | RedactedBlock | typeof OTHER

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

const count = (value: unknown): number | undefined => (typeof value === "number" ? value : undefined)

/**
 * A decoder factory for `acquire`: fresh state for each run of the stream.
 * `outputTool` names the forced tool that answers a `responseFormat`: its
 * input is streamed as `TextDelta`s, it makes no `ToolCall*` events, and a
 * turn that called only it finishes `stop` (raw `tool_use`).
 *
 * @internal
 */
export const make = (scrub: Redaction.Scrub, outputTool?: string) =>
(context: DecoderContext): Decoder<Event, StreamEvent.StreamEvent> => {
  const blocks: Array<Block | undefined> = []
  /** `input_tokens` as sent: without the cache reads and writes, which are added when reported. */
  let inputTokens = 0
  let outputTokens = 0
  let cacheRead: number | undefined = undefined
  let cacheWrite: number | undefined = undefined
  let usageSeen = false
  let stopReason: string | null = null
  let stopped = false
  /** Calls of the caller's tools (not the output tool). */
  let toolCalls = 0

  // Usage is assigned, never added, so a repeated message_start changes nothing;
  // the counts are cumulative and a later one (some compatible providers send
  // `input_tokens` again in message_delta) wins.
  const takeUsage = (usage: Anthropic.Usage | Anthropic.MessageDeltaUsage): void => {
    const input = count(usage.input_tokens)
    if (input !== undefined) inputTokens = input
    const output = count(usage.output_tokens)
    if (output !== undefined) outputTokens = output
    const read = count(usage.cache_read_input_tokens)
    if (read !== undefined) cacheRead = read
    const write = count(usage.cache_creation_input_tokens)
    if (write !== undefined) cacheWrite = write
    usageSeen = true
    context.recordUsage(totalInput(), outputTokens, detail())
  }
  // Anthropic's input_tokens counts neither cache reads nor writes; Usage.inputTokens includes both.
  const totalInput = () => inputTokens + (cacheRead ?? 0) + (cacheWrite ?? 0)
  const detail = (): StreamEvent.UsageDetail | undefined =>
    cacheRead === undefined && cacheWrite === undefined
      ? undefined
      : { cachedInputTokens: cacheRead, cacheWriteTokens: cacheWrite }

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
            if (block.kind === "tool") {
              block.json += piece
              emit(StreamEvent.toolCallDelta(block.id, piece))
            } else if (block.kind === "output") {
              block.streamed = true
              emit(StreamEvent.textDelta(piece))
            }
            break
          }
          case "signature_delta": {
            const block = blocks[event.index]
            if (block !== undefined && block !== OTHER && block.kind === "thinking") block.signature += delta.signature
            break
          }
          case "citations_delta": {
            emit(StreamEvent.providerMetadata(PROVIDER, "citations", delta.citation))
            break
          }
          // anything newer carries nothing we emit.
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
            blocks[event.index] = { kind: "thinking", signature: typeof block.signature === "string" ? block.signature : "" }
            break
          }
          case "redacted_thinking": {
            blocks[event.index] = { kind: "redacted", data: block.data }
            break
          }
          case "tool_use": {
            if (block.name === outputTool) {
              blocks[event.index] = { kind: "output", input: block.input, streamed: false }
              break
            }
            blocks[event.index] = { kind: "tool", id: block.id, name: block.name, input: block.input, json: "" }
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
        if (block === undefined || block === OTHER) return false
        // Forget the block so a repeated stop cannot end it twice.
        blocks[event.index] = OTHER
        if (block.kind === "thinking") {
          emit(StreamEvent.reasoningEnd(PROVIDER, block.signature.length > 0 ? { signature: block.signature } : undefined))
        } else if (block.kind === "redacted") {
          emit(StreamEvent.reasoningEnd(PROVIDER, { redactedData: block.data }))
        } else if (block.kind === "output") {
          // A compatible server may send the whole input at the start and no deltas.
          if (!block.streamed && isNonEmptyObject(block.input)) emit(StreamEvent.textDelta(JSON.stringify(block.input)))
        } else {
          toolCalls++
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
        return false
      }
      case "message_start": {
        const usage = event.message?.usage
        if (usage !== undefined && usage !== null) takeUsage(usage)
        return false
      }
      case "message_delta": {
        const reason = event.delta?.stop_reason
        if (typeof reason === "string") stopReason = reason
        const usage = event.usage
        if (usage !== undefined && usage !== null) takeUsage(usage)
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
    if (usageSeen) emit(StreamEvent.usage(totalInput(), outputTokens, detail()))
    // A turn that only answered through the output tool is a finished answer, not a tool call.
    const reason = outputTool !== undefined && stopReason === "tool_use" && toolCalls === 0
      ? "stop"
      : finishReason(stopReason)
    emit(StreamEvent.finish(reason, stopReason))
  }

  return { step, end }
}
