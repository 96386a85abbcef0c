/**
 * Server-sent events for byte-level adapters: parsed synchronously, one call
 * per network chunk, with a bounded buffer.
 *
 * The parser is `eventsource-parser` 4.1.3, chosen by measurement
 * (test/bench `bench:cpu`, parser section): on the 20,000-delta bodies with
 * 64 KiB network chunks it parsed an Anthropic body in ~6 ms where the
 * hand-written parser this module first held took ~70 ms (and 6.0 vs 11.9 ms
 * at 1.5 KiB chunks). It follows the WHATWG rules: lines end in CR, LF or
 * CRLF (also split across chunks), a leading BOM is dropped, `:` lines are
 * comments (keepalives: they yield nothing, so they do not reset an idle
 * timer), one space after the colon is dropped, `data` lines join with `\n`,
 * unknown fields are ignored, an event without `data` or unfinished at the
 * end of the body is not dispatched.
 *
 * Bounded: at most `maxEventBytes` (default 16 MiB, in UTF-16 code units) of
 * an unfinished event are buffered across chunks; a longer event, or bytes
 * that are not UTF-8, fail the stream with `ProtocolError` instead of growing
 * a buffer.
 *
 * @since 0.2.0
 */
import { createParser, type EventSourceParser } from "eventsource-parser"
import type { Framing, FrameParser } from "./Decoder.js"
import * as LlmError from "./LlmError.js"

/**
 * One server-sent event. `event` and `id` are `undefined` when the frame had
 * no such line.
 *
 * @since 0.2.0
 * @category models
 */
export interface Event {
  readonly event?: string | undefined
  readonly data: string
  readonly id?: string | undefined
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** The most of an unfinished event buffered, in UTF-16 code units (default 16 MiB). */
  readonly maxEventBytes?: number | undefined
}

/**
 * The default bound on one event: far above any real frame (the largest
 * recorded is a few KiB), far below what would hurt the process.
 *
 * @since 0.2.0
 * @category constants
 */
export const DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024

class Parser implements FrameParser<Event> {
  private readonly text = new TextDecoder("utf-8", { fatal: true })
  private readonly inner: EventSourceParser
  /** The caller's callback for the chunk being fed (the parser's callbacks are fixed at creation). */
  private onItem: (event: Event) => void = ignore

  constructor(private readonly provider: string, private readonly maxEventBytes: number) {
    this.inner = createParser({
      onEvent: (event) => this.onItem(event),
      onError: (error) => {
        // `invalid-retry` and `unknown-field` are ignored, as the spec says
        if (error.type === "max-buffer-size-exceeded") throw this.oversized()
      },
      maxBufferSize: maxEventBytes
    })
  }

  write(bytes: Uint8Array, onItem: (event: Event) => void): void {
    let chunk: string
    try {
      chunk = this.text.decode(bytes, { stream: true })
    } catch {
      throw this.error("the body is not UTF-8")
    }
    this.onItem = onItem
    this.inner.feed(chunk)
  }

  end(onItem: (event: Event) => void): void {
    let rest: string
    try {
      rest = this.text.decode()
    } catch {
      throw this.error("the body ends inside a UTF-8 character")
    }
    this.onItem = onItem
    if (rest.length > 0) this.inner.feed(rest)
    // An event not closed by a blank line is discarded (WHATWG).
    this.inner.reset()
  }

  private oversized(): LlmError.LlmError {
    return this.error(`an event is longer than ${this.maxEventBytes} characters`)
  }

  private error(message: string): LlmError.LlmError {
    return new LlmError.ProtocolError({ provider: this.provider, message: `${this.provider}: malformed SSE: ${message}` })
  }
}

const ignore = (): void => {}

/**
 * The SSE framing for `acquire`'s body source: each item is one `Event`.
 *
 * @example
 * ```ts
 * import { acquire, Sse } from "@streamvisor/core"
 *
 * const events = acquire({
 *   provider: "example",
 *   model: "m",
 *   openBody: (signal) => fetch("http://127.0.0.1:8080/events", { signal }),
 *   framing: Sse.framing(),
 *   decoder: () => ({ step: (frame: Sse.Event, emit: (s: string) => void) => emit(frame.data) })
 * })
 * ```
 *
 * @since 0.2.0
 * @category framings
 */
export const framing = (options: Options = {}): Framing<Event> => {
  const max = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES
  if (!(max > 0)) throw new RangeError(`Sse.framing: maxEventBytes must be positive, got ${max}`)
  return (provider) => new Parser(provider, max)
}
