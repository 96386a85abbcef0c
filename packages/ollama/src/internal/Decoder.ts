/**
 * The Ollama decoder: bytes of an `application/x-ndjson` body in, `StreamEvent`s
 * out. A plain synchronous state machine run by core's `acquire` once per
 * network chunk (not once per line):
 *
 * - lines are split across chunks by hand: one `TextDecoder` (`stream: true`)
 *   per body, and a bounded carry-over for the unfinished last line: a line
 *   longer than `maxLineBytes` fails with `ProtocolError` instead of growing;
 * - Ollama's common line (a content delta) is recognised exactly without
 *   building its object (`contentOf`); any other line is parsed once with
 *   `JSON.parse`, and only the fields read are checked (see `ChatChunk.ts`
 *   for the Schema that explains a bad line);
 * - `{"error": …}` fails the stream; `done: true` is the terminal line.
 *
 * @internal
 */
import type { Decoder, DecoderContext, Redaction } from "@streamvisor/core"
import { AdapterKit, JsonScan, LlmError, StreamEvent } from "@streamvisor/core"
import * as ChatChunk from "./ChatChunk.js"
import { fromErrorLine, preview, PROVIDER } from "./Errors.js"

/** @internal */
export interface DecoderOptions {
  /** The longest line accepted, in bytes (UTF-8). */
  readonly maxLineBytes: number
  readonly scrub: Redaction.Scrub
  /** Ids for calls the server names none (default `AdapterKit.callIds`: unique across a conversation). */
  readonly callIds?: (() => (index: number) => string) | undefined
}

/** The default bound on one NDJSON line: 1 MiB. @internal */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024

type Emit = (event: StreamEvent.StreamEvent) => void

const NEWLINE = 10

/** UTF-8 length of a string, without allocating. Only run on lines near the bound. */
const utf8Length = (text: string): number => {
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x80) bytes += 1
    else if (code < 0x800) bytes += 2
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4
        i++
      } else bytes += 3
    } else bytes += 3
  }
  return bytes
}

const isBlank = (text: string): boolean => text.trim().length === 0

const finishReason = (raw: string | null, madeToolCalls: boolean): StreamEvent.FinishReason => {
  switch (raw) {
    case null:
    case "stop":
      return madeToolCalls ? "tool_calls" : "stop"
    case "length":
      return "length"
    default:
      // "load", "unload", and whatever a newer server adds
      return "other"
  }
}

const LINE_START = `{"model":"`
const AFTER_MODEL = `","created_at":"`
const AFTER_CREATED = `","message":{"role":"assistant","content":"`
const LINE_END = `"},"done":false}`

/**
 * The content of Ollama's common line — `{"model":"…","created_at":"…",
 * "message":{"role":"assistant","content":"…"},"done":false}`, byte for byte
 * as the server writes it — or `undefined` for any other line, which then
 * goes through `JSON.parse` and the field checks. Recognising it without
 * building the object is most of the decoder's saving over a `JSON.parse` per
 * line (measured in `test/bench`: JSON.parse is ~80% of a hand-written loop).
 * The recogniser only accepts what is valid JSON of that exact shape: the
 * strings are scanned to their closing quote, a raw control character makes
 * it give up, and a content with escapes is read by `JSON.parse` of that one
 * string literal (which rejects a bad escape). A property test checks that it
 * and the full path agree on every line.
 *
 * @internal
 */
export const contentOf = (line: string): string | undefined => {
  if (!line.startsWith(LINE_START)) return undefined
  const modelEnd = JsonScan.plainStringEnd(line, LINE_START.length)
  if (modelEnd === -1 || !line.startsWith(AFTER_MODEL, modelEnd)) return undefined
  const createdEnd = JsonScan.plainStringEnd(line, modelEnd + AFTER_MODEL.length)
  if (createdEnd === -1 || !line.startsWith(AFTER_CREATED, createdEnd)) return undefined
  const start = createdEnd + AFTER_CREATED.length
  const end = JsonScan.stringEnd(line, start)
  if (end === -1 || end + LINE_END.length !== line.length || !line.endsWith(LINE_END)) return undefined
  return JsonScan.stringValue(line, start, end)
}

/** @internal */
export class OllamaDecoder implements Decoder<Uint8Array, StreamEvent.StreamEvent> {
  private readonly utf8 = new TextDecoder()
  /** The unfinished last line, and its size in bytes. */
  private carry = ""
  private carryBytes = 0
  /** A UTF-16 string of this many units or fewer is surely within the byte bound. */
  private readonly safeLength: number
  private toolCalls = 0
  /** Whether `thinking` deltas are open: the next content, tool call or the end closes them with a `ReasoningEnd`. */
  private thinking = false
  private done = false
  private inputTokens: number | undefined = undefined
  private outputTokens: number | undefined = undefined
  private raw: string | null = null
  private readonly callId: (index: number) => string

  constructor(
    private readonly context: DecoderContext,
    private readonly options: DecoderOptions
  ) {
    this.callId = (options.callIds ?? AdapterKit.callIds)()
    // Each UTF-16 unit is at most 3 bytes of UTF-8.
    this.safeLength = Math.floor(options.maxLineBytes / 3)
  }

  readonly step = (bytes: Uint8Array, emit: Emit): boolean => {
    const lastNewline = bytes.lastIndexOf(NEWLINE)
    if (lastNewline === -1) {
      this.carryBytes += bytes.length
      if (this.carryBytes > this.options.maxLineBytes) throw this.tooLong(this.carryBytes)
      this.carry += this.utf8.decode(bytes, { stream: true })
      return false
    }
    const firstNewline = bytes.indexOf(NEWLINE)
    if (this.carryBytes + firstNewline > this.options.maxLineBytes) throw this.tooLong(this.carryBytes + firstNewline)

    const text = this.utf8.decode(bytes, { stream: true })
    let end = text.indexOf("\n")
    let line = this.carry.length === 0 ? text.slice(0, end) : this.carry + text.slice(0, end)
    this.carry = ""
    this.carryBytes = 0
    for (;;) {
      if (this.line(line, emit)) return true
      const start = end + 1
      end = text.indexOf("\n", start)
      if (end === -1) {
        // The lines before it are delivered first; then the unfinished tail is checked.
        const tailBytes = bytes.length - lastNewline - 1
        if (tailBytes > this.options.maxLineBytes) throw this.tooLong(tailBytes)
        if (start < text.length) this.carry = text.slice(start)
        this.carryBytes = tailBytes
        return false
      }
      line = text.slice(start, end)
      if (line.length > this.safeLength) this.checkLength(line)
    }
  }

  readonly end = (emit: Emit): void => {
    if (!this.done) {
      // A last line without its newline still counts.
      const rest = this.carry + this.utf8.decode()
      this.carry = ""
      if (rest.length > 0 && !isBlank(rest)) {
        let complete = true
        try {
          JSON.parse(rest)
        } catch {
          complete = false
        }
        // A body cut in the middle of a line is a cut, not a malformed line.
        if (complete) this.line(rest, emit)
      }
    }
    if (!this.done) {
      throw new LlmError.Disconnected({
        provider: PROVIDER,
        message: `${PROVIDER}: the response ended before its final "done": true line`
      })
    }
    if (this.thinking) this.endThinking(emit)
    if (this.inputTokens !== undefined || this.outputTokens !== undefined) {
      emit(StreamEvent.usage(this.inputTokens ?? 0, this.outputTokens ?? 0))
    }
    emit(StreamEvent.finish(finishReason(this.raw, this.toolCalls > 0), this.raw))
  }

  /** One line; returns true on the final `done: true` line. */
  private line(line: string, emit: Emit): boolean {
    if (line.length === 0) return false
    const content = contentOf(line)
    if (content !== undefined) {
      // the common line, recognised exactly (see `contentOf`): what the checks below would conclude
      if (content.length > 0) {
        if (this.thinking) this.endThinking(emit)
        emit(StreamEvent.textDelta(content))
      }
      return false
    }
    let value: any
    try {
      value = JSON.parse(line)
    } catch {
      if (isBlank(line)) return false
      throw this.protocol(`a line is not JSON: ${JSON.stringify(preview(line, 120))}`)
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw this.protocol(`a line is not a JSON object: ${JSON.stringify(preview(line, 120))}`)
    }
    if (value.error !== undefined && value.error !== null) throw fromErrorLine(value.error, this.options.scrub)

    const message = value.message
    if (message !== undefined && message !== null) {
      if (typeof message !== "object" || Array.isArray(message)) throw this.invalid(value)
      // Thinking first: a line carrying both is thought before it is said.
      const thinking = message.thinking
      if (typeof thinking === "string") {
        if (thinking.length > 0) {
          emit(StreamEvent.reasoningDelta(thinking))
          this.thinking = true
        }
      } else if (thinking !== undefined && thinking !== null) throw this.invalid(value)
      const content = message.content
      if (typeof content === "string") {
        if (content.length > 0) {
          if (this.thinking) this.endThinking(emit)
          emit(StreamEvent.textDelta(content))
        }
      } else if (content !== undefined && content !== null) throw this.invalid(value)
      const calls = message.tool_calls
      if (calls !== undefined && calls !== null) {
        if (!Array.isArray(calls)) throw this.invalid(value)
        if (this.thinking && calls.length > 0) this.endThinking(emit)
        for (let i = 0; i < calls.length; i++) this.toolCall(calls[i], value, emit)
      }
    }

    const done = value.done
    if (done === false) return false
    if (done !== true) throw this.invalid(value)
    this.final(value)
    return true
  }

  /**
   * Close the thinking deltas. Ollama has no signature: the `ReasoningEnd`
   * only marks the block as Ollama's, so `Provider.toMessages` keeps it for
   * the next turn (sent back as `thinking`) and other providers leave it out.
   */
  private endThinking(emit: Emit): void {
    this.thinking = false
    emit(StreamEvent.reasoningEnd(PROVIDER))
  }

  private toolCall(call: any, line: unknown, emit: Emit): void {
    const fn = typeof call === "object" && call !== null && !Array.isArray(call) ? call.function : undefined
    if (typeof fn !== "object" || fn === null || Array.isArray(fn)) throw this.invalid(line)
    const name = fn.name
    if (typeof name !== "string" || name.length === 0) throw this.invalid(line)
    let args = fn.arguments
    let text: string
    if (args === undefined || args === null) {
      args = {}
      text = "{}"
    } else if (typeof args === "string") {
      // Not what Ollama sends, but what an OpenAI-style proxy might.
      text = args.trim() === "" ? "{}" : args
      try {
        args = JSON.parse(text)
      } catch {
        throw this.protocol(`the arguments of tool call "${name}" are not JSON: ${JSON.stringify(preview(text, 120))}`)
      }
      if (typeof args !== "object" || args === null || Array.isArray(args)) {
        throw this.protocol(`the arguments of tool call "${name}" are not a JSON object`)
      }
    } else if (typeof args === "object" && !Array.isArray(args)) {
      text = JSON.stringify(args)
    } else throw this.invalid(line)
    // Ollama sends no id; a newer server or a proxy may.
    const given = call.id
    if (given !== undefined && given !== null && typeof given !== "string") throw this.invalid(line)
    const id = typeof given === "string" && given.length > 0 ? given : this.callId(this.toolCalls)
    this.toolCalls++
    emit(StreamEvent.toolCallStart(id, name))
    emit(StreamEvent.toolCallDelta(id, text))
    emit(StreamEvent.toolCallEnd(id, name, args))
  }

  private final(value: any): void {
    const reason = value.done_reason
    if (typeof reason === "string") this.raw = reason.length > 0 ? reason : null
    else if (reason !== undefined && reason !== null) throw this.invalid(value)
    const input = value.prompt_eval_count
    const output = value.eval_count
    if (typeof input === "number") this.inputTokens = input
    else if (input !== undefined && input !== null) throw this.invalid(value)
    if (typeof output === "number") this.outputTokens = output
    else if (output !== undefined && output !== null) throw this.invalid(value)
    if (this.inputTokens !== undefined || this.outputTokens !== undefined) {
      this.context.recordUsage(this.inputTokens ?? 0, this.outputTokens ?? 0)
    }
    this.done = true
  }

  private checkLength(line: string): void {
    const bytes = utf8Length(line)
    if (bytes > this.options.maxLineBytes) throw this.tooLong(bytes)
  }

  private tooLong(bytes: number): LlmError.ProtocolError {
    return this.protocol(`a line is longer than maxLineBytes (${bytes} > ${this.options.maxLineBytes} bytes)`)
  }

  private invalid(value: unknown): LlmError.ProtocolError {
    const why = ChatChunk.explain(value) ?? "unexpected shape"
    let shown: string
    try {
      shown = preview(JSON.stringify(value) ?? String(value), 120)
    } catch {
      shown = String(value)
    }
    return this.protocol(`unexpected line (${why}): ${shown}`)
  }

  private protocol(reason: string): LlmError.ProtocolError {
    return new LlmError.ProtocolError({ provider: PROVIDER, message: this.options.scrub(`${PROVIDER}: ${reason}`) })
  }
}

/**
 * A decoder factory for `acquire`: one fresh decoder per stream run.
 *
 * @internal
 */
export const make = (options: DecoderOptions) => (context: DecoderContext): OllamaDecoder =>
  new OllamaDecoder(context, options)
