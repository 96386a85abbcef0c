/**
 * Scripts: what a {@link FakeLlmServer} plays back. A script is wire-format neutral; the server
 * renders it in the format of the request's path (Anthropic, OpenAI Chat, OpenAI Responses,
 * Gemini, Ollama). A `Replay` script instead writes raw recorded payloads in the request's framing.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { RecordedRequest } from "./FakeLlmServer.js"
import type { CheckName, RequestPredicate } from "./RequestCheck.js"
import { ReplaySchema, ScriptedSchema } from "./internal/scriptSchema.js"

/** Neutral finish reason, rendered per provider. */
export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter"

/** A chunk of visible answer text: one delta on the wire. */
export interface TextEvent {
  readonly type: "text"
  readonly text: string
  /** Gemini only: the part's `thoughtSignature` (e.g. `""` text carrying the turn's signature). */
  readonly signature?: string
}

/**
 * A chunk of reasoning / thinking text: one delta on the wire. A `signature` ends the reasoning
 * block after this delta and signs it: Anthropic `signature_delta` (a fixed fake signature when a
 * block ends without one), Responses reasoning item `encrypted_content` (only when the request's
 * `include` asks for `reasoning.encrypted_content`, as the real API), Gemini the part's
 * `thoughtSignature`. OpenAI Chat (`reasoning_content`) and Ollama (`thinking`) carry no signature.
 */
export interface ReasoningEvent {
  readonly type: "reasoning"
  readonly text: string
  readonly signature?: string
}

/**
 * Opaque reasoning: Anthropic `redacted_thinking` block `{ data }`; Responses a reasoning item with
 * `encrypted_content: data` (always) and an empty summary; Gemini a part `{ text: "", thoughtSignature: data }`.
 * OpenAI Chat and Ollama have none: nothing is written (the event still counts for `afterEvents`).
 */
export interface RedactedReasoningEvent {
  readonly type: "redactedReasoning"
  readonly data: string
}

/**
 * A JSON answer (structured output): `json` text in `chunks` text deltas (default 2). On Anthropic,
 * when the request forces a tool (`tool_choice: { type: "tool", name }`, how structured output is
 * emulated there), it is that tool's `tool_use` block instead, and the stop reason `tool_use`.
 */
export interface JsonEvent {
  readonly type: "json"
  /** JSON text of the answer. */
  readonly json: string
  readonly chunks?: number
}

/**
 * A complete tool call. Where the format streams arguments (Anthropic, OpenAI) they are split
 * into `chunks` argument deltas (default 2); Gemini and Ollama send the parsed object at once.
 */
export interface ToolCallEvent {
  readonly type: "toolCall"
  readonly id: string
  readonly name: string
  /** JSON text of the arguments. */
  readonly arguments: string
  readonly chunks?: number
  /** Gemini only: the functionCall part's `thoughtSignature` (Gemini 3 signs the first call of a step). */
  readonly signature?: string
}

/** One content event of a script. Fault `afterEvents` counts these. */
export type ScriptEvent = TextEvent | ReasoningEvent | RedactedReasoningEvent | JsonEvent | ToolCallEvent

/** Respond with an HTTP error status instead of streaming. */
export interface StatusFault {
  readonly type: "status"
  readonly status: number
  readonly headers?: Readonly<Record<string, string>>
  /** Default: the provider's own error JSON for the status. A string is sent as is. */
  readonly body?: unknown
}

/** Destroy the socket after `afterEvents` content events (mid-body, no terminal event). */
export interface DisconnectFault {
  readonly type: "disconnect"
  readonly afterEvents: number
}

/** Kind of a provider's own mid-stream error. */
export type ErrorEventKind = "overloaded" | "server" | "rate_limit"

/** Send the provider's own mid-stream error after `afterEvents` content events, then end the body. */
export interface ErrorEventFault {
  readonly type: "errorEvent"
  readonly afterEvents: number
  readonly kind?: ErrorEventKind
}

/** Send a frame whose data is not valid JSON after `afterEvents` content events, then end the body. */
export interface MalformedFault {
  readonly type: "malformed"
  readonly afterEvents: number
}

/** Stop writing after `afterEvents` content events; keep the socket open until the client leaves. */
export interface HangFault {
  readonly type: "hang"
  readonly afterEvents: number
}

/**
 * After `afterEvents` content events send only keepalives, forever, every `everyMs` (default 1000):
 * Anthropic `event: ping`, OpenAI / Responses `: keepalive` comments. Gemini's SDK parser breaks
 * on comments and Ollama has none, so for those the server writes nothing and keeps the socket open.
 */
export interface StallFault {
  readonly type: "stall"
  readonly afterEvents: number
  readonly everyMs?: number
}

/** Send 200 headers, then nothing (a first-token timeout case). */
export interface HeadersThenHangFault {
  readonly type: "headersThenHang"
}

/** Accept the request (and read its body), never send headers. */
export interface HangBeforeHeadersFault {
  readonly type: "hangBeforeHeaders"
}

/** Something going wrong, on purpose. */
export type Fault =
  | StatusFault
  | DisconnectFault
  | ErrorEventFault
  | MalformedFault
  | HangFault
  | StallFault
  | HeadersThenHangFault
  | HangBeforeHeadersFault

/**
 * Token usage reported by a scripted response. Numbers are written as given (the fake does no
 * arithmetic between them: Anthropic's `input_tokens` excludes cache reads, OpenAI's and Gemini's
 * prompt counts include them — the script says what the wire says). The detail fields appear on
 * the wire only when set (Responses always carries its `*_details` objects, with 0 by default).
 */
export interface Usage {
  readonly inputTokens: number
  readonly outputTokens: number
  /** Anthropic `cache_read_input_tokens`, OpenAI `prompt_tokens_details.cached_tokens`, Responses `input_tokens_details.cached_tokens`, Gemini `cachedContentTokenCount`. */
  readonly cachedInputTokens?: number
  /** Anthropic `cache_creation_input_tokens` (the others do not report cache writes). */
  readonly cacheWriteTokens?: number
  /** OpenAI `completion_tokens_details.reasoning_tokens`, Responses `output_tokens_details.reasoning_tokens`, Gemini `thoughtsTokenCount`. */
  readonly reasoningTokens?: number
}

/** Request checks shared by scripted and replayed responses. */
interface Checked {
  /** Provider rules checked before playing (see {@link RequestCheck}); a violation gets the provider's 400. */
  readonly validate?: ReadonlyArray<CheckName>
  /** A custom check: return a message (→ 400 with the provider's invalid-request body) or a rejection. */
  readonly expectRequest?: RequestPredicate
}

/** A scripted (wire-format neutral) response. */
export interface Scripted extends Checked {
  /** Default: a short greeting in a few text deltas. */
  readonly events?: ReadonlyArray<ScriptEvent>
  /** Milliseconds between content events (default 0). */
  readonly delayMs?: number
  /** Milliseconds after the headers (and preamble frames), before the first content event. */
  readonly firstDelayMs?: number
  /** Default: 10 input tokens, one output token per event. */
  readonly usage?: Usage
  /** Default `"stop"`, or `"tool_calls"` when the script has tool calls. */
  readonly finishReason?: FinishReason
  readonly fault?: Fault
  /** Default true; false sends `connection: close`. */
  readonly keepAlive?: boolean
}

/** Seeded random piece sizes for writing a raw body: each piece is 1..`maxBytes` bytes (default 48). */
export interface Pieces {
  readonly seed: number
  readonly maxBytes?: number
}

/**
 * A whole recorded response body, written byte for byte with its own framing (SSE, NDJSON, or an
 * error JSON), with the recorded status and content type. Split into `pieces`, each piece is its
 * own write, so pieces cut frames, CRLFs and UTF-8 characters. No content fault applies to it.
 */
export interface RawBody {
  readonly body: string | Uint8Array
  /** Default 200. */
  readonly status?: number
  /** Default: the streaming content type of the request's format. */
  readonly contentType?: string
  /** Default: the body in one write. */
  readonly pieces?: Pieces
}

/**
 * Raw recorded payloads (one per SSE `data:` / NDJSON line), written byte for byte in the framing
 * of the request's path, or a whole {@link RawBody}. A replay always streams. Fault `afterEvents`
 * counts chunks.
 */
export interface Replay extends Checked {
  readonly replay: { readonly chunks: ReadonlyArray<string> } | RawBody
  readonly delayMs?: number
  readonly firstDelayMs?: number
  readonly fault?: Fault
  readonly keepAlive?: boolean
}

/** What the server plays for one request. */
export type Script = Scripted | Replay

/** A script computed from the recorded request. */
export type ScriptFn = (request: RecordedRequest) => Script | PromiseLike<Script>

/** A script or a function producing one. */
export type ScriptSource = Script | ScriptFn

/** Options shared by the helpers: every field of a scripted response except `events`. */
export type Options = Omit<Scripted, "events">

/** Is this script a replay of raw chunks? */
export const isReplay = (script: Script): script is Replay =>
  typeof (script as Replay).replay === "object" && (script as Replay).replay !== null

/** The events played when a script has none. */
export const defaultEvents: ReadonlyArray<ScriptEvent> = [
  { type: "text", text: "Hello" },
  { type: "text", text: "! How" },
  { type: "text", text: " can I" },
  { type: "text", text: " help you" },
  { type: "text", text: " today?" }
]

/** The built-in default script: a greeting in five text deltas. */
export const defaultScript: Script = { events: defaultEvents }

/** `n` words: `["w0 ", "w1 ", …]`. */
export const words = (n: number): Array<string> => {
  const out = new Array<string>(n)
  for (let i = 0; i < n; i++) out[i] = `w${i} `
  return out
}

/** A text event (`signature`: Gemini `thoughtSignature` on the part). */
export const textEvent = (text: string, signature?: string): TextEvent =>
  signature === undefined ? { type: "text", text } : { type: "text", text, signature }

/** A reasoning event; a `signature` ends and signs the reasoning block. */
export const reasoningEvent = (text: string, signature?: string): ReasoningEvent =>
  signature === undefined ? { type: "reasoning", text } : { type: "reasoning", text, signature }

/** An opaque (redacted / encrypted) reasoning block. */
export const redactedReasoningEvent = (data: string): RedactedReasoningEvent => ({ type: "redactedReasoning", data })

/** A JSON answer; `value` may be JSON text or a value to serialise. */
export const jsonEvent = (value: unknown, chunks?: number): JsonEvent => ({
  type: "json",
  json: typeof value === "string" ? value : JSON.stringify(value),
  ...(chunks === undefined ? {} : { chunks })
})

/** A tool-call event; `arguments` may be JSON text or a value to serialise. */
export const toolCallEvent = (call: {
  readonly id?: string
  readonly name: string
  readonly arguments?: string | unknown
  readonly chunks?: number
  readonly signature?: string
}): ToolCallEvent => ({
  type: "toolCall",
  id: call.id ?? `call_${call.name}`,
  name: call.name,
  arguments: typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments ?? {}),
  ...(call.chunks === undefined ? {} : { chunks: call.chunks }),
  ...(call.signature === undefined ? {} : { signature: call.signature })
})

/** A script from events and options. */
export const make = (events: ReadonlyArray<ScriptEvent>, options?: Options): Scripted => ({ ...options, events })

/** A text script: `n` deltas `"w0 "`, `"w1 "`… or the given strings, one delta each. */
export const text = (deltas: ReadonlyArray<string> | number, options?: Options): Scripted =>
  make((typeof deltas === "number" ? words(deltas) : deltas).map((text) => textEvent(text)), options)

/** Reasoning deltas followed by text deltas; `signature` signs the reasoning block (on its last delta). */
export const reasoning = (
  reasoningDeltas: ReadonlyArray<string>,
  textDeltas: ReadonlyArray<string>,
  options?: Options & { readonly signature?: string }
): Scripted => {
  const { signature, ...rest } = options ?? {}
  const last = reasoningDeltas.length - 1
  return make(
    [
      ...reasoningDeltas.map((text, i) => reasoningEvent(text, i === last ? signature : undefined)),
      ...textDeltas.map((text) => textEvent(text))
    ],
    rest
  )
}

/** A JSON answer (structured output) in `chunks` deltas, optionally after reasoning deltas. */
export const json = (
  value: unknown,
  options?: Options & { readonly chunks?: number; readonly reasoning?: ReadonlyArray<string> }
): Scripted => {
  const { chunks, reasoning: thoughts, ...rest } = options ?? {}
  return make([...(thoughts ?? []).map((text) => reasoningEvent(text)), jsonEvent(value, chunks)], rest)
}

/** Optional text deltas followed by one tool call; finish reason defaults to `"tool_calls"`. */
export const toolCall = (
  call: Parameters<typeof toolCallEvent>[0],
  options?: Options & { readonly text?: ReadonlyArray<string> }
): Scripted => {
  const { text: before, ...rest } = options ?? {}
  return make([...(before ?? []).map((text) => textEvent(text)), toolCallEvent(call)], rest)
}

/** A script that fails with an HTTP status (the provider's error body by default). */
export const status = (
  code: number,
  options?: { readonly headers?: Readonly<Record<string, string>>; readonly body?: unknown }
): Scripted => ({ fault: { type: "status", status: code, ...options } })

/** The same script with a fault. */
export const withFault = <S extends Script>(script: S, fault: Fault): S => ({ ...script, fault })

/** A replay of raw payload lines. */
export const replay = (chunks: ReadonlyArray<string>, options?: Omit<Replay, "replay">): Replay => ({
  ...options,
  replay: { chunks }
})

/** A replay of a whole raw body (see {@link RawBody}). */
export const replayBody = (body: RawBody, options?: Omit<Replay, "replay" | "fault">): Replay => ({
  ...options,
  replay: body
})

/** Is this replay a whole raw body? */
export const isRawBody = (replay: Replay["replay"]): replay is RawBody => "body" in replay

/**
 * The byte offsets where a body of `length` bytes is cut into seeded random pieces (ascending,
 * each in `1..length-1`). The same seed always gives the same cuts.
 */
export const cuts = (length: number, pieces: Pieces): Array<number> => {
  const max = Math.max(1, Math.floor(pieces.maxBytes ?? 48))
  // mulberry32: a tiny seeded PRNG, so a failing split can be replayed from its seed
  let state = pieces.seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const out: Array<number> = []
  for (let at = 1 + Math.floor(next() * max); at < length; at += 1 + Math.floor(next() * max)) out.push(at)
  return out
}

/** The events a scripted response plays (the default greeting when absent). */
export const eventsOf = (script: Scripted): ReadonlyArray<ScriptEvent> => script.events ?? defaultEvents

/** Usage of a scripted response: given, or 10 input tokens and one output token per event. */
export const usageOf = (script: Scripted): Usage =>
  script.usage ?? { inputTokens: 10, outputTokens: Math.max(1, eventsOf(script).length) }

/** Finish reason of a scripted response: given, or `"tool_calls"` when it has tool calls, else `"stop"`. */
export const finishReasonOf = (script: Scripted): FinishReason =>
  script.finishReason ?? (eventsOf(script).some((e) => e.type === "toolCall") ? "tool_calls" : "stop")

/** Schema of a serialisable {@link Script} (a script file's content). */
export const ScriptSchema: Schema.Schema<Script> = Schema.Union(ReplaySchema, ScriptedSchema) as any

/**
 * Validates an unknown value as a script. Unknown keys are rejected, so typos fail loudly.
 * The error is a one-line message.
 */
export const decode = (input: unknown): Either.Either<Script, string> =>
  Schema.decodeUnknownEither(ScriptSchema, { onExcessProperty: "error" })(input).pipe(
    Either.mapLeft((error) =>
      ParseResult.ArrayFormatter.formatErrorSync(error)
        .map((issue) => (issue.path.length > 0 ? `at ${issue.path.join(".")}: ${issue.message}` : issue.message))
        .join("; ")
        .replace(/\s*\n\s*/g, " ")
    )
  )
