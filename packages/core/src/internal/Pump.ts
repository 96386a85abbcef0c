/**
 * The machinery behind `acquire`: a plain async loop that reads the SDK's
 * iterator, decodes each item straight into a bounded buffer, and hands the
 * buffer to the Effect side as one `Chunk` per pull.
 *
 * Why this shape (see ARCHITECTURE.md): one Effect pull per event costs ~3× the
 * raw SDK loop; one pull per batch costs ~1.06×. A waiting pull is woken at most
 * once per macrotask (`setImmediate`), so events that arrive together travel
 * together and no event waits longer than one macrotask. The buffer is bounded:
 * when it holds `highWaterMark` events the loop stops calling `next()` until the
 * consumer takes them, so a slow consumer backs up into the socket, not memory.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { AcquireOptions, Body } from "../Acquire.js"
import type { Decoder, FrameParser } from "../Decoder.js"
import type * as Ledger from "../Ledger.js"
import type { UsageDetail } from "../Ledger.js"
import type { StreamStats } from "../Metrics.js"
import * as LlmError from "../LlmError.js"
import { StreamIterator } from "./StreamIterator.js"

/**
 * `acquire`'s options, plus how long a drain after the terminal event may
 * take before the request is aborted (tests shorten it).
 *
 * @internal
 */
export type PumpOptions<A, B> = AcquireOptions<A, B> & { readonly drainTimeout?: number | undefined }

/** A source the pump reads one step at a time: an item, or a network chunk of a body. */
interface Reader<S> {
  readonly read: () => Promise<IteratorResult<S, unknown>>
  /** Closes the source after the abort: `return()` of an iterator, `cancel()` of a body. */
  readonly close: (() => unknown) | undefined
}

const emptyBody: Reader<never> = {
  read: () => Promise.resolve({ done: true, value: undefined }),
  close: undefined
}

const bodyReader = (body: Body): Reader<Uint8Array> => {
  const stream = body instanceof ReadableStream ? body : body.body
  if (stream === null) return emptyBody
  const reader = (stream as ReadableStream<Uint8Array>).getReader()
  return {
    read: () => reader.read() as Promise<IteratorResult<Uint8Array, unknown>>,
    close: () => reader.cancel()
  }
}

const iterableReader = <A>(source: AsyncIterable<A> | Stream.Stream<A, unknown>): Reader<A> => {
  const iterator = Stream.StreamTypeId in source
    ? new StreamIterator(source as Stream.Stream<A, unknown>)
    : (source as AsyncIterable<A>)[Symbol.asyncIterator]()
  return {
    read: () => iterator.next(),
    close: iterator.return === undefined ? undefined : () => iterator.return!()
  }
}

type Resume<B> = (effect: Effect.Effect<Chunk.Chunk<B>, Option.Option<LlmError.LlmError>>) => void

const identity = <A, B>(): Decoder<A, B> => ({ step: (item, emit) => emit(item as unknown as B) })

const DEFAULT_HIGH_WATER_MARK = 1024
const DEFAULT_RETURN_TIMEOUT = 2_000
const DEFAULT_DRAIN_TIMEOUT = 1_000

/** @internal */
export class Pump<A, B> {
  private buffer: Array<B> = []
  private state: "running" | "done" | "failed" = "running"
  private error: LlmError.LlmError | undefined = undefined
  private waiter: Resume<B> | undefined = undefined
  private immediate: ReturnType<typeof setImmediate> | undefined = undefined
  private space: (() => void) | undefined = undefined
  private reader: Reader<unknown> | undefined = undefined
  private released = false
  private readonly startedAt = performance.now()
  private firstEventAt: number | undefined = undefined
  private delivered = 0
  private inputTokens = 0
  private outputTokens = 0
  private usageDetail: UsageDetail | undefined = undefined
  private draining: Promise<void> | undefined = undefined
  private readonly controller = new AbortController()
  private readonly highWaterMark: number

  constructor(
    private readonly options: PumpOptions<A, B>,
    private readonly entry: Ledger.Entry
  ) {
    this.highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK
  }

  /** Start reading. Never throws and never rejects. */
  start(): void {
    this.run().then(undefined, (cause) => this.fail(this.toError(cause)))
  }

  private readonly recordUsage = (inputTokens: number, outputTokens: number, detail?: UsageDetail): void => {
    this.inputTokens = inputTokens
    this.outputTokens = outputTokens
    this.usageDetail = detail
    this.entry.recordUsage(inputTokens, outputTokens, detail)
  }

  private readonly emit = (b: B): void => {
    this.buffer.push(b)
  }

  private async run(): Promise<void> {
    const { options } = this
    const signal = this.controller.signal
    const decoder = options.decoder
      ? options.decoder({
        provider: options.provider,
        model: options.model,
        signal,
        recordUsage: this.recordUsage
      })
      : identity<A, B>()
    const step = decoder.step
    const emit = this.emit
    let terminal = false
    const onItem = (item: A): void => {
      if (!terminal && step(item, emit) === true) terminal = true
    }
    try {
      // Either the SDK's parsed items, one step each, or a body's network
      // chunks, each parsed synchronously into items by the framing.
      let reader: Reader<unknown>
      let feed: (value: unknown) => void
      let parser: FrameParser<A> | undefined = undefined
      if (options.openBody !== undefined) {
        const body = await options.openBody(signal)
        reader = bodyReader(body)
        const frames = parser = options.framing(options.provider)
        feed = (bytes) => frames.write(bytes as Uint8Array, onItem)
      } else {
        reader = iterableReader(await options.open(signal))
        feed = onItem as (value: unknown) => void
      }
      this.reader = reader
      if (this.released) {
        // Released while the request was opening: the release could not reach
        // this source, so close it here.
        await reader.close?.()
        return
      }
      for (;;) {
        if (this.buffer.length >= this.highWaterMark) {
          await new Promise<void>((resolve) => {
            this.space = resolve
          })
          if (this.released) return
        }
        const result = await reader.read()
        if (this.released) return
        if (result.done) {
          if (parser !== undefined) parser.end(onItem)
          break
        }
        feed(result.value)
        if (terminal) break
        if (this.waiter !== undefined && this.buffer.length > 0) {
          // a full batch goes at once; a partial one at the end of this macrotask
          if (this.buffer.length >= this.highWaterMark) {
            if (this.immediate !== undefined) clearImmediate(this.immediate)
            this.flush()
          } else if (this.immediate === undefined) {
            this.immediate = setImmediate(this.flush)
          }
        }
      }
      if (decoder.end) decoder.end(emit)
      this.settle("done", undefined)
      if (terminal) this.draining = this.drain(reader)
    } catch (cause) {
      if (this.released) return // our own abort: a quiet end
      this.fail(this.toError(cause))
    }
  }

  /**
   * Read what follows the terminal event (usually nothing but the end of the
   * body) so the socket returns to the pool; abort if it takes too long.
   */
  private async drain(reader: Reader<unknown>): Promise<void> {
    const timer = setTimeout(() => this.controller.abort(), this.options.drainTimeout ?? DEFAULT_DRAIN_TIMEOUT)
    try {
      while (!(await reader.read()).done) {
        // trailing bytes after the terminal event are not events
      }
    } catch {
      // aborted or cut after the terminal event: the answer was already complete
    } finally {
      clearTimeout(timer)
    }
  }

  private toError(cause: unknown): LlmError.LlmError {
    if (LlmError.isLlmError(cause)) return cause
    if (this.options.mapError) {
      try {
        return this.options.mapError(cause)
      } catch (mappingFailure) {
        cause = mappingFailure
      }
    }
    return new LlmError.Unknown({
      provider: this.options.provider,
      message: `${this.options.provider}: ${cause instanceof Error ? cause.message : String(cause)}`,
      cause
    })
  }

  private fail(error: LlmError.LlmError): void {
    this.settle("failed", error)
  }

  private settle(state: "done" | "failed", error: LlmError.LlmError | undefined): void {
    if (this.state !== "running") return
    this.state = state
    this.error = error
    if (this.waiter !== undefined) this.flush()
  }

  private readonly flush = (): void => {
    this.immediate = undefined
    const resume = this.waiter
    if (resume === undefined) return
    const next = this.poll()
    if (next !== undefined) {
      this.waiter = undefined
      resume(next)
    }
  }

  private poll(): Effect.Effect<Chunk.Chunk<B>, Option.Option<LlmError.LlmError>> | undefined {
    if (this.buffer.length > 0) {
      if (this.firstEventAt === undefined) this.firstEventAt = performance.now()
      this.delivered += this.buffer.length
      const chunk = Chunk.unsafeFromArray(this.buffer)
      this.buffer = []
      const space = this.space
      if (space !== undefined) {
        this.space = undefined
        space()
      }
      return Effect.succeed(chunk)
    }
    if (this.state === "done") return Effect.fail(Option.none())
    if (this.state === "failed") return Effect.fail(Option.some(this.error!))
    return undefined
  }

  /** The Effect side: one chunk per pull, waiting when the buffer is empty. */
  /**
   * The buffer is handed over at once only when it is full or the source has
   * ended; otherwise the pull waits for the flush at the end of this macrotask,
   * so a consumer that pulls as fast as it can (the promise facade) still gets
   * whole batches instead of one event per pull. An event waits at most one
   * macrotask either way.
   */
  readonly pull: Effect.Effect<Chunk.Chunk<B>, Option.Option<LlmError.LlmError>> = Effect.suspend(() => {
    if (this.buffer.length >= this.highWaterMark || this.state !== "running") {
      const ready = this.poll()
      if (ready !== undefined) return ready
    }
    return Effect.async<Chunk.Chunk<B>, Option.Option<LlmError.LlmError>>((resume) => {
      this.waiter = resume
      if (this.buffer.length > 0 && this.immediate === undefined) this.immediate = setImmediate(this.flush)
      return Effect.sync(() => {
        this.waiter = undefined
      })
    })
  })

  /**
   * Abort the request first, then close the source (a generator's `return()`
   * waits behind a pending `next()`, which only the abort ends promptly), then
   * record the release. Runs its effects once; later calls only count.
   */
  async release(): Promise<StreamStats | undefined> {
    if (this.released) {
      this.entry.release("cancelled")
      return undefined
    }
    this.released = true
    const state = this.state
    if (this.immediate !== undefined) {
      clearImmediate(this.immediate)
      this.immediate = undefined
    }
    this.waiter = undefined
    // A source that failed in the decoder (not in `next()`) is still open, so
    // anything short of a clean end is aborted.
    if (state !== "done") this.controller.abort()
    const space = this.space
    if (space !== undefined) {
      this.space = undefined
      space()
    }
    if (this.draining !== undefined) await this.draining
    const close = this.reader?.close
    if (state !== "done" && close !== undefined) {
      await boundedClose(close, this.options.returnTimeout ?? DEFAULT_RETURN_TIMEOUT)
    }
    this.buffer = []
    const outcome = state === "done" ? "completed" : state === "failed" ? "failed" : "cancelled"
    this.entry.release(outcome)
    return {
      provider: this.options.provider,
      outcome,
      delivered: this.delivered,
      timeToFirstEvent: this.firstEventAt === undefined ? undefined : this.firstEventAt - this.startedAt,
      errorTag: this.error?._tag,
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
      cachedInputTokens: this.usageDetail?.cachedInputTokens,
      cacheWriteTokens: this.usageDetail?.cacheWriteTokens,
      reasoningTokens: this.usageDetail?.reasoningTokens
    }
  }
}

const boundedClose = (close: () => unknown, timeout: number): Promise<void> =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeout)
    timer.unref?.()
    let returned: Promise<unknown>
    try {
      returned = Promise.resolve(close())
    } catch {
      clearTimeout(timer)
      resolve()
      return
    }
    returned.then(
      () => {
        clearTimeout(timer)
        resolve()
      },
      () => {
        clearTimeout(timer)
        resolve()
      }
    )
  })
