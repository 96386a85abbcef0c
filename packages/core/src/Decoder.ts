/**
 * What an adapter writes: a decoder from the items its source yields (SDK
 * events, SSE frames, byte chunks) to stream outputs, and the framing that
 * turns a response body into those items.
 *
 * @since 0.2.0
 */
import type { UsageDetail } from "./Ledger.js"

/**
 * Turns source items into stream outputs: `step` for each item (throw an
 * `LlmError` to fail the stream), `end` once the source is done (emit the
 * final events, or throw `Disconnected` when no terminal event was seen).
 *
 * @since 0.1.0
 * @category models
 */
export interface Decoder<A, B> {
  /**
   * Decode one item. Return `true` when it was the provider's terminal event:
   * the stream then ends (after `end`) without waiting for the body to close,
   * and the rest of the body is drained in the background so the socket can
   * go back to the pool.
   */
  readonly step: (item: A, emit: (b: B) => void) => boolean | void
  readonly end?: ((emit: (b: B) => void) => void) | undefined
}

/**
 * What a decoder knows about its stream. `recordUsage` writes the tokens seen
 * so far (and their detail: cached, cache-write, reasoning) to the ledger, so
 * cut streams are still counted.
 *
 * @since 0.1.0
 * @category models
 */
export interface DecoderContext {
  readonly provider: string
  readonly model: string
  readonly signal: AbortSignal
  readonly recordUsage: (inputTokens: number, outputTokens: number, detail?: UsageDetail) => void
}

/**
 * A synchronous parser from a response body's bytes to items, one per
 * stream. `write` is called once per network chunk and calls `onItem` for
 * each complete item in it; `end` once the body is done. Both throw an
 * `LlmError` (usually `ProtocolError`) for a body they cannot parse.
 *
 * @since 0.2.0
 * @category models
 */
export interface FrameParser<A> {
  readonly write: (bytes: Uint8Array, onItem: (item: A) => void) => void
  readonly end: (onItem: (item: A) => void) => void
}

/**
 * Makes a fresh `FrameParser` for each run of a stream; `provider` names the
 * provider in the errors it raises.
 *
 * @since 0.2.0
 * @category models
 */
export type Framing<A> = (provider: string) => FrameParser<A>

/**
 * The body's network chunks as they arrive, unparsed: for decoders that do
 * their own framing (Ollama's NDJSON).
 *
 * @since 0.2.0
 * @category framings
 */
export const bytesFraming: Framing<Uint8Array> = () => ({
  write: (chunk, onItem) => onItem(chunk),
  end: () => {}
})

/**
 * A decoder that first turns each item into another with `f` (skipping it
 * when `f` returns `undefined`), then hands it to `decoder`. How a byte-level
 * path reuses the decoder written for an SDK's parsed events.
 *
 * @example
 * ```ts
 * import { mapDecoderInput, type Decoder, type DecoderContext, type Sse } from "@streamvisor/core"
 *
 * declare const sdkEvents: (context: DecoderContext) => Decoder<{ type: string }, string>
 * const frames = mapDecoderInput(sdkEvents, (frame: Sse.Event) => JSON.parse(frame.data))
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const mapDecoderInput = <A, C, B>(
  decoder: (context: DecoderContext) => Decoder<A, B>,
  f: (item: C, context: DecoderContext) => A | undefined
) =>
(context: DecoderContext): Decoder<C, B> => {
  const inner = decoder(context)
  const step = inner.step
  return {
    step: (item, emit) => {
      const a = f(item, context)
      return a === undefined ? false : step(a, emit)
    },
    end: inner.end
  }
}
