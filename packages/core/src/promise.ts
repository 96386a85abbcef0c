/**
 * A facade for code that does not use Effect: `streamText` returns a plain
 * `AsyncIterable` whose `break`, `return()` and `AbortSignal` all release the
 * connection. Its iterator throws the `LlmError` itself (check `error._tag`).
 *
 * @example
 * ```ts
 * import { streamText } from "@streamvisor/core/promise"
 * import { Ollama } from "@streamvisor/ollama"
 *
 * const provider = Ollama.make()
 * for await (const event of streamText(provider, { model: "m", messages: [{ role: "user", content: "Hi" }] })) {
 *   if (event._tag === "TextDelta") process.stdout.write(event.text)
 * }
 * ```
 *
 * @since 0.1.0
 */
import * as Stream from "effect/Stream"
import type { Input as ChatRequestInput } from "./ChatRequest.js"
import { StreamIterator } from "./internal/StreamIterator.js"
import * as Ledger from "./Ledger.js"
import type { LlmError } from "./LlmError.js"
import type { Provider } from "./Provider.js"
import type { StreamEvent } from "./StreamEvent.js"
import { retry, type RetryOptions } from "./Retry.js"
import { timeouts, type TimeoutsOptions } from "./Timeouts.js"

export type { LlmError } from "./LlmError.js"
/** Whether a value thrown by the iterator is an `LlmError`. @since 0.2.0 @category guards */
export { isLlmError } from "./LlmError.js"
export type { StreamEvent } from "./StreamEvent.js"
/**
 * Agent turns without Effect: tools with `async execute(args, { signal })` (see `streamAgent`), and
 * `promiseToolkit`, the same tools as a `Toolkit` and its handlers for Effect code (a supervised session).
 *
 * @since 0.3.0
 */
export {
  type AgentEvent,
  type AgentEventIterator,
  type PromiseTool,
  promiseToolkit,
  type PromiseToolkit,
  streamAgent,
  type StreamAgentOptions
} from "./internal/promiseAgent.js"

/**
 * @since 0.1.0
 */
export interface StreamTextOptions {
  /** Aborting it releases the connection; the pending `next()` rejects with `signal.reason`. */
  readonly signal?: AbortSignal | undefined
  /** Bound the time to first event, between events, and in total (see `timeouts`). */
  readonly timeouts?: TimeoutsOptions | undefined
  /** Retry a failure before the first event (see `retry`); applied outside `timeouts`. */
  readonly retry?: RetryOptions | undefined
  /** The ledger to record in; the process-wide one by default. */
  readonly ledger?: Ledger.Service | undefined
  /** Apply Stream policies (`timeouts`, `retry`…) to the events before they are iterated. */
  readonly pipe?:
    | ((events: Stream.Stream<StreamEvent, LlmError>) => Stream.Stream<StreamEvent, LlmError>)
    | undefined
}

/**
 * The iterator `streamText` returns. It is its own `AsyncIterable`, so it can
 * be iterated once.
 *
 * @since 0.1.0
 */
export interface EventIterator extends AsyncIterableIterator<StreamEvent> {
  /** Release the connection now; later `next()` calls report the end. */
  return(): Promise<IteratorResult<StreamEvent, undefined>>
}

const DONE: IteratorResult<StreamEvent, undefined> = Object.freeze({ done: true, value: undefined })

/**
 * What must outlive the iterator is its `StreamIterator` (the scope holding
 * the connection): the `FinalizationRegistry` backstop closes it when the
 * iterator is dropped without being finished.
 */
const backstop = new FinalizationRegistry<StreamIterator<StreamEvent, LlmError>>((connection) => {
  void connection.close()
})

class StreamTextIterator implements EventIterator {
  private readonly connection: StreamIterator<StreamEvent, LlmError>
  private finished = false
  private readonly onAbort: (() => void) | undefined

  constructor(
    events: Stream.Stream<StreamEvent, LlmError>,
    private readonly signal: AbortSignal | undefined
  ) {
    const connection = this.connection = new StreamIterator(events)
    if (signal !== undefined && !signal.aborted) {
      this.onAbort = () => void connection.close()
      signal.addEventListener("abort", this.onAbort, { once: true })
    }
    backstop.register(this, connection, this)
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<StreamEvent, undefined>> {
    const ready = this.connection.buffered()
    if (ready !== undefined) return Promise.resolve(ready)
    if (this.signal?.aborted) return this.end().then(() => Promise.reject(this.signal!.reason))
    if (this.finished) return Promise.resolve(DONE)
    return this.connection.next().then(
      (result) => (result.done ? this.finish() : result),
      (error) => this.end().then(() => Promise.reject(this.signal?.aborted ? this.signal.reason : error))
    )
  }

  private finish(): Promise<IteratorResult<StreamEvent, undefined>> {
    return this.end().then(() => (this.signal?.aborted ? Promise.reject(this.signal.reason) : DONE))
  }

  private end(): Promise<void> {
    if (!this.finished) {
      this.finished = true
      backstop.unregister(this)
      if (this.onAbort !== undefined) this.signal!.removeEventListener("abort", this.onAbort)
    }
    return this.connection.close()
  }

  async return(): Promise<IteratorResult<StreamEvent, undefined>> {
    await this.end()
    return DONE
  }

  async throw(error?: unknown): Promise<IteratorResult<StreamEvent, undefined>> {
    await this.end()
    throw error
  }
}

/**
 * Stream one answer as a plain `AsyncIterable`.
 *
 * - `break`, `return()` and `signal` release the connection at once.
 * - A failure rejects `next()` with the `LlmError` itself (`error._tag`).
 * - An aborted `signal` rejects the pending or next `next()` with `signal.reason`.
 * - An iterator dropped without finishing is released when it is garbage
 *   collected; the ledger shows the stream live until then.
 *
 * @since 0.1.0
 */
export const streamText = (
  provider: Provider,
  request: ChatRequestInput,
  options: StreamTextOptions = {}
): EventIterator => {
  let events = provider.stream(request)
  if (options.timeouts !== undefined) events = timeouts({ provider: provider.name, ...options.timeouts })(events)
  if (options.retry !== undefined) events = retry(options.retry)(events)
  if (options.pipe !== undefined) events = options.pipe(events)
  if (options.ledger !== undefined) events = Stream.provideService(events, Ledger.Ledger, options.ledger)
  return new StreamTextIterator(events, options.signal)
}
