/**
 * `acquire` is the one door from a provider's response into a `Stream`: an
 * SDK's async iterable of parsed events, or a response body read as bytes and
 * parsed here. No adapter reads a provider stream any other way.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { Decoder, DecoderContext, Framing } from "./Decoder.js"
import { Pump } from "./internal/Pump.js"
import * as Ledger from "./Ledger.js"
import * as Metrics from "./internal/metrics.js"
import type { LlmError } from "./LlmError.js"


/**
 * What every source shares.
 *
 * @since 0.2.0
 * @category models
 */
export interface CommonOptions<A, B> {
  /** Provider name, for the ledger and errors. */
  readonly provider: string
  /** Model name, for the ledger. */
  readonly model: string
  /** Make a fresh decoder for each run of the stream; defaults to the identity. */
  readonly decoder?: ((context: DecoderContext) => Decoder<A, B>) | undefined
  /** Classify what opening or reading the source throws; defaults to `Unknown`. */
  readonly mapError?: ((cause: unknown) => LlmError) | undefined
  /**
   * How many decoded events may wait for the consumer before reading from the
   * source pauses (default 1024). This is the only buffer between the socket
   * and the consumer. A body source checks it between network chunks, so it
   * may be passed by the events of one chunk.
   */
  readonly highWaterMark?: number | undefined
  /** How long release waits for the source to close after aborting (ms, default 2000). */
  readonly returnTimeout?: number | undefined
}

/**
 * An SDK's parsed events: an `AsyncIterable`, or an Effect `Stream` (e.g. an
 * `@effect/platform` response's `stream`).
 *
 * @since 0.2.0
 * @category models
 */
export type ItemSource<A> = AsyncIterable<A> | Stream.Stream<A, unknown>

/**
 * A response body: a fetch `Response` (what the SDKs' `.asResponse()`
 * resolves with), or its `ReadableStream` of bytes.
 *
 * @since 0.2.0
 * @category models
 */
export type Body = Response | ReadableStream<Uint8Array> | { readonly body: ReadableStream<Uint8Array> | null }

/**
 * Read parsed items from an SDK.
 *
 * @since 0.1.0
 * @category models
 */
export interface IterableOptions<A, B> extends CommonOptions<A, B> {
  /**
   * Open the SDK stream. Pass `signal` to the SDK: aborting it is how the
   * request is cancelled.
   */
  readonly open: (signal: AbortSignal) => ItemSource<A> | PromiseLike<ItemSource<A>>
  readonly openBody?: undefined
  readonly framing?: undefined
}

/**
 * Read a response body as bytes and parse it with `framing` (`Sse.framing()`,
 * or `bytesFraming` for a decoder that splits the bytes itself).
 *
 * @since 0.2.0
 * @category models
 */
export interface BodyOptions<A, B> extends CommonOptions<A, B> {
  /**
   * Send the request and resolve with the response once its status is known
   * to be a success; reject with the HTTP error otherwise. Pass `signal` to
   * the request: aborting it is how the request is cancelled.
   */
  readonly openBody: (signal: AbortSignal) => PromiseLike<Body>
  /** How the body's bytes become the decoder's items. */
  readonly framing: Framing<A>
  readonly open?: undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export type AcquireOptions<A, B> = IterableOptions<A, B> | BodyOptions<A, B>

/**
 * Turn a provider's response into a `Stream` that releases its connection
 * exactly once, whatever ends it: completion, failure, interruption, `take`,
 * a timeout, or a consumer that goes away.
 *
 * The source is either `open` (an SDK's async iterable, or an Effect stream)
 * or `openBody` with a `framing` (the response body, parsed synchronously per
 * network chunk: the byte-level path, which skips the SDK's own parser).
 * Release aborts the request's own `AbortController` first and only then
 * closes the source (`return()` / `cancel()`), and records the stream as
 * released in the `Ledger`. Events cross into Effect in chunks, never one pull
 * per event.
 *
 * @example
 * ```ts
 * import { acquire, Sse } from "@streamvisor/core"
 * import { Stream } from "effect"
 *
 * const lines = acquire({
 *   provider: "example",
 *   model: "none",
 *   open: async (signal) => {
 *     const response = await fetch("http://127.0.0.1:8080/api/chat", { method: "POST", signal })
 *     return response.body!
 *   }
 * })
 * const firstTwo = Stream.runCollect(Stream.take(lines, 2)) // the connection is closed after two
 *
 * // The byte-level path: the body parsed as SSE, each frame to the decoder.
 * const frames = acquire({
 *   provider: "example",
 *   model: "none",
 *   openBody: (signal) => fetch("http://127.0.0.1:8080/v1/events", { signal }),
 *   framing: Sse.framing()
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const acquire = <A, B = A>(options: AcquireOptions<A, B>): Stream.Stream<B, LlmError> =>
  Stream.acquireRelease(
    Effect.flatMap(Ledger.Ledger, (ledger) => {
      const pump = new Pump<A, B>(options, ledger.open(options.provider, options.model))
      pump.start()
      return Effect.as(Metrics.recordOpen(options.provider), pump)
    }),
    (pump) =>
      Effect.flatMap(
        Effect.promise(() => pump.release()),
        (stats) => (stats === undefined ? Effect.void : Metrics.recordRelease(stats))
      )
  ).pipe(Stream.flatMap((pump) => Stream.repeatEffectChunkOption(pump.pull)))
