/**
 * `acquire` is the one door from an SDK's async iterable into a `Stream`.
 * No adapter iterates an SDK stream any other way.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { Pump } from "./internal/Pump.js"
import type { Decoder, DecoderContext } from "./internal/Pump.js"
import * as Ledger from "./Ledger.js"
import * as Metrics from "./internal/metrics.js"
import type { LlmError } from "./LlmError.js"

export type {
  /**
   * Turns SDK items into stream outputs: `step` for each item (throw an
   * `LlmError` to fail the stream), `end` once the SDK's iterator is done (emit
   * the final events, or throw `Disconnected` when no terminal event was seen).
   *
   * @since 0.1.0
   * @category models
   */
  Decoder,
  /**
   * What a decoder knows about its stream. `recordUsage` writes the tokens
   * seen so far to the ledger, so cut streams are still counted.
   *
   * @since 0.1.0
   * @category models
   */
  DecoderContext
}

/**
 * @since 0.1.0
 * @category models
 */
export interface AcquireOptions<A, B> {
  /** Provider name, for the ledger and errors. */
  readonly provider: string
  /** Model name, for the ledger. */
  readonly model: string
  /**
   * Open the SDK stream. Pass `signal` to the SDK: aborting it is how the
   * request is cancelled.
   */
  readonly open: (signal: AbortSignal) => AsyncIterable<A> | PromiseLike<AsyncIterable<A>>
  /** Make a fresh decoder for each run of the stream; defaults to the identity. */
  readonly decoder?: ((context: DecoderContext) => Decoder<A, B>) | undefined
  /** Classify what `open` or the iterator throws; defaults to `Unknown`. */
  readonly mapError?: ((cause: unknown) => LlmError) | undefined
  /**
   * How many decoded events may wait for the consumer before reading from the
   * source pauses (default 1024). This is the only buffer between the socket
   * and the consumer.
   */
  readonly highWaterMark?: number | undefined
  /** How long release waits for the iterator's `return()` after aborting (ms, default 2000). */
  readonly returnTimeout?: number | undefined
}

/**
 * Turn an SDK's async iterable into a `Stream` that releases its connection
 * exactly once, whatever ends it: completion, failure, interruption, `take`,
 * a timeout, or a consumer that goes away.
 *
 * Release aborts the request's own `AbortController` first and only then calls
 * the iterator's `return()`, and records the stream as released in the
 * `Ledger`. Events cross into Effect in chunks, never one pull per event.
 *
 * @example
 * ```ts
 * import { acquire } from "@streamvisor/core"
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
