/**
 * Gemini stream chunks → `StreamEvent`s.
 *
 * One chunk is a whole `GenerateContentResponse` (the SDK already parsed the
 * JSON and only added helper methods). The decoder never calls the helpers:
 * `chunk.text()` throws on a SAFETY / RECITATION finish and warns on the
 * console for several candidates. It reads `candidates[0].content.parts`:
 *
 * - `{ text }` → `TextDelta`, `{ text, thought: true }` → `ReasoningDelta`.
 *   A run of thought parts is one reasoning block, closed by a
 *   `ReasoningEnd { provider: "google" }` when a part that is not a thought
 *   comes (or the stream ends). A `thoughtSignature` on a thought part closes
 *   its block with that `signature`; on a text part (Gemini 3 sends it on a
 *   last part with empty text) it follows the text as a `ReasoningEnd` with no
 *   deltas, i.e. a bare signature, which `Request` sends back as
 *   `{ text: "", thoughtSignature }`.
 * - `{ functionCall: { name, args } }` → `ToolCallStart`, one
 *   `ToolCallDelta` with `JSON.stringify(args)`, `ToolCallEnd(args)` (`{}`
 *   when absent), the part's `thoughtSignature` as `ToolCallEnd.signature`. Gemini has no call ids: `functionCall.id` is used when
 *   present, otherwise `AdapterKit.callIds`' (`call_0_<tag>`, `call_1_<tag>`…,
 *   the tag random per stream: unique across a conversation).
 * - Vertex's streamed arguments: `{ name, willContinue: true }` opens a call
 *   (`ToolCallStart` at once), following parts without a `name` carry
 *   `partialArgs: [{ jsonPath, stringValue | numberValue | boolValue |
 *   nullValue, willContinue }]` that are assembled into the arguments (a
 *   string continued by `willContinue` is concatenated), and a part without
 *   `willContinue` (typically `functionCall: {}`) closes it: one
 *   `ToolCallDelta` with the assembled JSON, then `ToolCallEnd`.
 * - `usageMetadata.promptTokenCount` / `candidatesTokenCount`: each field
 *   keeps its last reported value (`candidatesTokenCount` is absent until the
 *   answer starts; Vertex sends `usageMetadata` without counts mid-stream), and
 *   is recorded in the ledger as soon as it is known. `outputTokens` is
 *   `candidatesTokenCount + thoughtsTokenCount` (thinking is billed as
 *   output), with `reasoningTokens` the thoughts; `cachedContentTokenCount`
 *   (part of the prompt count) is `cachedInputTokens`.
 * - `ProviderMetadata`, once each just before `Usage`: `"grounding"` (the
 *   last non-empty `groundingMetadata`), `"url_context"`
 *   (`urlContextMetadata`), `"citations"` (every `citationMetadata` source,
 *   under `citationSources` or, from `@google/genai`, `citations`),
 *   and `"safety"` (`{ safetyRatings?, promptFeedback? }`, the last
 *   reported). Kept until the end rather than sent per chunk: Gemini repeats
 *   them on every chunk.
 * - `candidates[0].finishReason` → `Finish` (STOP → stop, or tool_calls when
 *   the answer made a function call; MAX_TOKENS → length; SAFETY, RECITATION,
 *   BLOCKLIST, PROHIBITED_CONTENT, SPII, IMAGE_SAFETY, IMAGE_PROHIBITED_CONTENT
 *   → content_filter; others → other).
 * - `promptFeedback.blockReason` with no candidates → `Finish("content_filter",
 *   null)`: the prompt was refused, the model sent no finish reason.
 * - `{ error: { code, message, status } }` (a `data: {"error":…}` frame: the
 *   SDK yields it as a chunk, it does not throw) → the matching `LlmError`.
 *
 * Terminal: Gemini sends no end marker; the last chunk carries `finishReason`
 * and the final `usageMetadata`. `step` returns `true` on a chunk with a
 * finish (or block) reason that also carries token counts, so `Finish` goes
 * out without waiting for the body to end, and the pump drains the (empty)
 * rest. A finish chunk without counts does not end the stream: a later chunk
 * may still bring usage, and `end` runs when the body ends. `end` reports
 * `Disconnected` when no finish or block reason was ever seen.
 *
 * @internal
 */
import type { DecoderContext, Redaction } from "@streamvisor/core"
import { AdapterKit, LlmError, StreamEvent } from "@streamvisor/core"
import type { Decoder } from "@streamvisor/core"
import { fromErrorFrame, PROVIDER } from "./Errors.js"

/** The fields of a chunk the decoder reads (the SDK's types lack `thought`, `error`, Vertex's streamed args). */
interface RawPart {
  readonly text?: unknown
  readonly thought?: unknown
  readonly thoughtSignature?: unknown
  readonly functionCall?: RawFunctionCall | null
}

interface RawFunctionCall {
  readonly id?: unknown
  readonly name?: unknown
  readonly args?: unknown
  readonly partialArgs?: unknown
  readonly willContinue?: unknown
}

interface RawPartialArg {
  readonly jsonPath?: unknown
  readonly stringValue?: unknown
  readonly numberValue?: unknown
  readonly boolValue?: unknown
  readonly nullValue?: unknown
  readonly willContinue?: unknown
}

interface RawChunk {
  readonly error?: unknown
  readonly candidates?: ReadonlyArray<{
    readonly content?: { readonly parts?: ReadonlyArray<RawPart> | null } | null
    readonly finishReason?: unknown
    readonly groundingMetadata?: unknown
    readonly urlContextMetadata?: unknown
    readonly citationMetadata?: { readonly citationSources?: unknown; readonly citations?: unknown } | null
    readonly safetyRatings?: unknown
  }> | null
  readonly promptFeedback?: { readonly blockReason?: unknown; readonly safetyRatings?: unknown } | null
  readonly usageMetadata?: {
    readonly promptTokenCount?: unknown
    readonly candidatesTokenCount?: unknown
    readonly cachedContentTokenCount?: unknown
    readonly thoughtsTokenCount?: unknown
  } | null
}

/** A function call whose arguments are still streaming (Vertex `willContinue`). */
interface OpenCall {
  readonly id: string
  readonly name: string
  readonly signature: string | undefined
  args: Record<string, unknown>
  /** `jsonPath`s of string values that a later partial arg continues (`willContinue`). */
  continuing: Set<string> | undefined
}

/**
 * Gemini's finish reason in the common vocabulary.
 *
 * @internal
 */
export const finishReason = (raw: string, madeCalls: boolean): StreamEvent.FinishReason => {
  switch (raw) {
    case "STOP":
      return madeCalls ? "tool_calls" : "stop"
    case "MAX_TOKENS":
      return "length"
    case "SAFETY":
    case "RECITATION":
    case "BLOCKLIST":
    case "PROHIBITED_CONTENT":
    case "SPII":
    case "IMAGE_SAFETY":
    case "IMAGE_PROHIBITED_CONTENT":
      return "content_filter"
    default:
      return "other"
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const protocolError = (message: string) => new LlmError.ProtocolError({ provider: PROVIDER, message: `${PROVIDER}: ${message}` })

/**
 * Split a JSONPath like `$.a.b[0]['c d']` into keys and indices. Returns
 * undefined for anything else.
 *
 * @internal
 */
export const parseJsonPath = (path: string): Array<string | number> | undefined => {
  if (!path.startsWith("$")) return undefined
  const out: Array<string | number> = []
  let i = 1
  while (i < path.length) {
    const c = path[i]
    if (c === ".") {
      let j = i + 1
      while (j < path.length && path[j] !== "." && path[j] !== "[") j++
      if (j === i + 1) return undefined
      out.push(path.slice(i + 1, j))
      i = j
    } else if (c === "[") {
      const close = path.indexOf("]", i)
      if (close < 0) return undefined
      const inner = path.slice(i + 1, close)
      if (/^\d+$/.test(inner)) out.push(Number(inner))
      else if (inner.length >= 2 && (inner[0] === "'" || inner[0] === "\"") && inner[inner.length - 1] === inner[0]) {
        out.push(inner.slice(1, -1))
      } else return undefined
      i = close + 1
    } else {
      return undefined
    }
  }
  return out
}

/** Put `value` at `path` in `root`, creating objects / arrays on the way; `append` concatenates to a string there. */
const assign = (root: Record<string, unknown>, path: Array<string | number>, value: unknown, append: boolean): boolean => {
  if (path.length === 0) return false
  let node: any = root
  for (let k = 0; k < path.length - 1; k++) {
    const key = path[k]
    let next = node[key]
    if (typeof next !== "object" || next === null) {
      next = typeof path[k + 1] === "number" ? [] : {}
      node[key] = next
    }
    node = next
  }
  const last = path[path.length - 1]
  if (typeof last === "number" && !Array.isArray(node)) return false
  if (typeof last === "string" && Array.isArray(node)) return false
  if (append && typeof node[last] === "string") node[last] = (node[last] as string) + (value as string)
  else node[last] = value
  return true
}

/**
 * @internal
 */
export const make = (scrub: Redaction.Scrub, callIds: () => (index: number) => string = AdapterKit.callIds) =>
(context: DecoderContext): Decoder<unknown, StreamEvent.StreamEvent> => {
  const callId = callIds()
  let inputTokens: number | undefined = undefined
  let outputTokens: number | undefined = undefined
  let cachedTokens: number | undefined = undefined
  let thoughtsTokens: number | undefined = undefined
  /** A thought block has deltas not yet closed by a `ReasoningEnd`. */
  let thinking = false
  let grounding: unknown = undefined
  let urlContext: unknown = undefined
  let citations: Array<unknown> | undefined = undefined
  let safety: unknown = undefined
  let promptSafety: unknown = undefined
  let finishRaw: string | undefined = undefined
  let blocked = false
  let calls = 0
  let open: OpenCall | undefined = undefined

  const nextId = (fc: RawFunctionCall): string =>
    typeof fc.id === "string" && fc.id !== "" ? (calls++, fc.id) : callId(calls++)

  const close = (call: OpenCall, emit: (event: StreamEvent.StreamEvent) => void): void => {
    emit(StreamEvent.toolCallDelta(call.id, JSON.stringify(call.args)))
    emit(StreamEvent.toolCallEnd(call.id, call.name, call.args, call.signature, PROVIDER))
  }

  const applyPartial = (call: OpenCall, partial: unknown): void => {
    if (!isRecord(partial)) throw protocolError("a partialArgs entry is not an object")
    const pa = partial as RawPartialArg
    const jsonPath = pa.jsonPath
    const path = typeof jsonPath === "string" ? parseJsonPath(jsonPath) : undefined
    if (path === undefined) throw protocolError(`unsupported partialArgs jsonPath ${JSON.stringify(jsonPath)}`)
    let value: unknown
    let append = false
    if (typeof pa.stringValue === "string") {
      value = pa.stringValue
      append = call.continuing !== undefined && call.continuing.has(jsonPath as string)
    } else if (typeof pa.numberValue === "number") value = pa.numberValue
    else if (typeof pa.boolValue === "boolean") value = pa.boolValue
    else if (pa.nullValue !== undefined) value = null
    else throw protocolError(`a partialArgs entry at ${jsonPath as string} has no value`)
    if (!assign(call.args, path, value, append)) {
      throw protocolError(`partialArgs jsonPath ${jsonPath as string} does not fit the arguments`)
    }
    if (typeof value === "string" && pa.willContinue === true) (call.continuing ??= new Set()).add(jsonPath as string)
    else call.continuing?.delete(jsonPath as string)
  }

  const endThinking = (emit: (event: StreamEvent.StreamEvent) => void): void => {
    thinking = false
    emit(StreamEvent.reasoningEnd(PROVIDER))
  }

  const detail = (): StreamEvent.UsageDetail | undefined =>
    cachedTokens === undefined && thoughtsTokens === undefined
      ? undefined
      : { cachedInputTokens: cachedTokens, reasoningTokens: thoughtsTokens }

  const output = (): number => (outputTokens ?? 0) + (thoughtsTokens ?? 0)

  const keepMetadata = (candidate: NonNullable<RawChunk["candidates"]>[number]): void => {
    const g = candidate.groundingMetadata
    if (isRecord(g) && Object.keys(g).length > 0) grounding = g
    const u = candidate.urlContextMetadata
    if (isRecord(u) && Object.keys(u).length > 0) urlContext = u
    const c = candidate.citationMetadata
    if (c != null) {
      const sources = Array.isArray(c.citationSources) ? c.citationSources : Array.isArray(c.citations) ? c.citations : undefined
      if (sources !== undefined && sources.length > 0) (citations ??= []).push(...sources)
    }
    if (Array.isArray(candidate.safetyRatings) && candidate.safetyRatings.length > 0) safety = candidate.safetyRatings
  }

  const functionCall = (fc: RawFunctionCall, signature: unknown, emit: (event: StreamEvent.StreamEvent) => void): void => {
    const name = fc.name
    let call = open
    if (typeof name === "string" && name !== "") {
      // A named part starts a call; one still open is closed by it.
      if (call !== undefined) close(call, emit)
      const args = fc.args
      if (args !== undefined && args !== null && !isRecord(args)) throw protocolError(`functionCall ${name}: args is not an object`)
      call = {
        id: nextId(fc),
        name,
        signature: typeof signature === "string" && signature !== "" ? signature : undefined,
        args: args ?? {},
        continuing: undefined
      }
      open = call
      emit(StreamEvent.toolCallStart(call.id, name))
    } else if (call === undefined) {
      // A nameless part with nothing open (e.g. a stray closing `{}`): nothing to add to.
      if (fc.args !== undefined || fc.partialArgs !== undefined) throw protocolError("functionCall arguments without a call")
      return
    } else if (isRecord(fc.args)) {
      Object.assign(call.args, fc.args)
    }
    const partials = fc.partialArgs
    if (Array.isArray(partials)) for (const partial of partials) applyPartial(call, partial)
    if (fc.willContinue !== true) {
      open = undefined
      close(call, emit)
    }
  }

  return {
    step(item, emit) {
      const chunk = item as RawChunk
      if (chunk.error !== undefined && chunk.error !== null) throw fromErrorFrame(chunk.error, scrub)

      let counted = false
      const usage = chunk.usageMetadata
      if (usage != null) {
        if (typeof usage.promptTokenCount === "number") {
          inputTokens = usage.promptTokenCount
          counted = true
        }
        if (typeof usage.candidatesTokenCount === "number") {
          outputTokens = usage.candidatesTokenCount
          counted = true
        }
        if (typeof usage.cachedContentTokenCount === "number") cachedTokens = usage.cachedContentTokenCount
        if (typeof usage.thoughtsTokenCount === "number") {
          thoughtsTokens = usage.thoughtsTokenCount
          counted = true
        }
        if (counted) context.recordUsage(inputTokens ?? 0, output(), detail())
      }
      const candidate = chunk.candidates != null ? chunk.candidates[0] : undefined
      const feedback = chunk.promptFeedback
      if (feedback != null && Array.isArray(feedback.safetyRatings) && feedback.safetyRatings.length > 0) {
        promptSafety = feedback
      }
      if (candidate == null) {
        const blockReason = feedback?.blockReason
        if (typeof blockReason === "string" && blockReason !== "") {
          blocked = true
          return counted
        }
        return false
      }
      const parts = candidate.content?.parts
      if (parts != null) {
        for (let i = 0; i < parts.length; i++) {
          const part = parts[i]
          const text = part.text
          const signature = part.thoughtSignature
          if (typeof text === "string") {
            if (part.thought === true) {
              if (text.length > 0) {
                emit(StreamEvent.reasoningDelta(text))
                thinking = true
              }
              if (typeof signature === "string" && signature !== "") {
                thinking = false
                emit(StreamEvent.reasoningEnd(PROVIDER, { signature }))
              }
              continue
            }
            if (thinking) endThinking(emit)
            if (text.length > 0) emit(StreamEvent.textDelta(text))
            if (typeof signature === "string" && signature !== "") emit(StreamEvent.reasoningEnd(PROVIDER, { signature }))
          } else if (part.functionCall != null) {
            if (thinking) endThinking(emit)
            functionCall(part.functionCall, signature, emit)
          }
        }
      }
      keepMetadata(candidate)
      const reason = candidate.finishReason
      if (typeof reason === "string" && reason !== "") {
        finishRaw = reason
        return counted
      }
      return false
    },
    end(emit) {
      if (finishRaw === undefined && !blocked) {
        throw new LlmError.Disconnected({
          provider: PROVIDER,
          message: `${PROVIDER}: the stream ended without a finishReason`
        })
      }
      // A call still marked `willContinue` when the answer finished: keep what arrived.
      if (thinking) endThinking(emit)
      if (open !== undefined) {
        close(open, emit)
        open = undefined
      }
      if (grounding !== undefined) emit(StreamEvent.providerMetadata(PROVIDER, "grounding", grounding))
      if (urlContext !== undefined) emit(StreamEvent.providerMetadata(PROVIDER, "url_context", urlContext))
      if (citations !== undefined) emit(StreamEvent.providerMetadata(PROVIDER, "citations", { citationSources: citations }))
      if (safety !== undefined || promptSafety !== undefined) {
        emit(StreamEvent.providerMetadata(PROVIDER, "safety", {
          ...(safety === undefined ? {} : { safetyRatings: safety }),
          ...(promptSafety === undefined ? {} : { promptFeedback: promptSafety })
        }))
      }
      if (inputTokens !== undefined || outputTokens !== undefined || thoughtsTokens !== undefined) {
        emit(StreamEvent.usage(inputTokens ?? 0, output(), detail()))
      }
      emit(
        finishRaw !== undefined
          ? StreamEvent.finish(finishReason(finishRaw, calls > 0), finishRaw)
          : StreamEvent.finish("content_filter", null)
      )
    }
  }
}
