import type { ErrorEventKind, FinishReason, ScriptEvent, Usage } from "../../Script.js"

/** What a renderer knows about the response it renders. */
export interface RenderContext {
  /** Request id, used to make provider ids unique. */
  readonly id: number
  readonly model: string
  readonly usage: Usage
  readonly finishReason: FinishReason
  /** The parsed request body. */
  readonly body: unknown
  /** Unix seconds. */
  readonly created: number
  /** Sequence numbers already used (Responses), for faults injected into a replay. */
  readonly seqStart?: number
  /** The script's events, in order (empty for a replay): lets a renderer look ahead within a block. */
  readonly events: ReadonlyArray<ScriptEvent>
  /** Called when an output item that requires a reasoning item is issued (Responses; for request checks). */
  readonly requireReasoning?: (itemId: string, reasoningId: string) => void
}

/** Renders one streamed response, frame by frame. Stateful; one per response. */
export interface StreamRenderer {
  /** Frames written right after the headers (e.g. `message_start`). */
  preamble(): string
  /** The frames of one content event. */
  event(event: ScriptEvent): string
  /** Terminal frames (close blocks, usage, `message_stop`, `[DONE]`…). */
  end(): string
  /** The provider's own mid-stream error frames. */
  errorEvent(kind: ErrorEventKind): string
  /** A frame whose data is not valid JSON. */
  malformed(): string
  /** A keepalive frame, or undefined when the format has none that its SDK tolerates. */
  readonly keepalive: string | undefined
}

/** One provider wire format. */
export interface Wire {
  /** Content type of a streamed response. */
  readonly streamContentType: string
  /** Does this request ask for a streamed response? */
  isStreaming(body: unknown, pathname: string): boolean
  /** A renderer for one streamed response. */
  stream(ctx: RenderContext): StreamRenderer
  /** The body of a non-streamed response. */
  complete(ctx: RenderContext, events: ReadonlyArray<ScriptEvent>): unknown
  /** The provider's error body for an HTTP status; `message` (and OpenAI's `param`) replace the default text. */
  errorBody(status: number, headers: Readonly<Record<string, string>>, message?: string, param?: string): unknown
  /** HTTP status of a non-streamed response that hit an `errorEvent` fault of this kind. */
  errorEventStatus(kind: ErrorEventKind): number
  /** Frame one raw recorded payload, byte for byte. */
  replayFrame(payload: string): string
  /** Written after the last replayed payload. */
  readonly replayEnd: string
}

/** Splits text into `n` pieces of about equal length, never inside a surrogate pair. */
export const splitText = (text: string, n: number): Array<string> => {
  const count = Math.max(1, Math.floor(n))
  if (count === 1 || text.length <= 1) return [text]
  const pieces: Array<string> = []
  const size = Math.ceil(text.length / count)
  let start = 0
  while (start < text.length) {
    let end = Math.min(text.length, start + size)
    const code = text.charCodeAt(end - 1)
    if (end < text.length && code >= 0xd800 && code <= 0xdbff) end++
    pieces.push(text.slice(start, end))
    start = end
  }
  return pieces
}

/** The tool an Anthropic request forces (`tool_choice: { type: "tool", name }`), if any. */
export const forcedToolName = (body: unknown): string | undefined => {
  const choice = (body as { tool_choice?: { type?: unknown; name?: unknown } } | undefined)?.tool_choice
  return choice?.type === "tool" && typeof choice.name === "string" ? choice.name : undefined
}

/** Parses tool-call argument text into an object; invalid or non-object JSON becomes `{}`. */
export const argumentsObject = (text: string): Record<string, unknown> => {
  if (text.trim() === "") return {}
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}

/** Reads `retry-after` (seconds or an HTTP date) as whole seconds, if present. */
export const retryAfterSeconds = (headers: Readonly<Record<string, string>>): number | undefined => {
  const entry = Object.entries(headers).find(([key]) => key.toLowerCase() === "retry-after")
  if (entry === undefined) return undefined
  const seconds = Number(entry[1])
  if (Number.isFinite(seconds)) return Math.max(0, seconds)
  const date = Date.parse(entry[1])
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000))
}

/** The JSON `type` field of a raw payload, if it parses. */
export const payloadType = (payload: string): string | undefined => {
  try {
    const value = JSON.parse(payload) as { type?: unknown } | null
    return typeof value?.type === "string" ? value.type : undefined
  } catch {
    return undefined
  }
}

/** Standard reason phrases for the messages of default error bodies. */
export const statusText = (status: number): string => {
  switch (status) {
    case 400:
      return "Bad request"
    case 401:
      return "Invalid API key"
    case 403:
      return "Permission denied"
    case 404:
      return "Not found"
    case 408:
      return "Request timeout"
    case 409:
      return "Conflict"
    case 413:
      return "Request too large"
    case 422:
      return "Unprocessable entity"
    case 429:
      return "Rate limit exceeded"
    case 500:
      return "Internal server error"
    case 502:
      return "Bad gateway"
    case 503:
      return "Service unavailable"
    case 504:
      return "Gateway timeout"
    case 529:
      return "Overloaded"
    default:
      return `HTTP ${status}`
  }
}
