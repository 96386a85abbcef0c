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
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Input as ChatRequestInput } from "./ChatRequest.js"
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
/** Agent turns without Effect: tools with `async execute(args, { signal })` (see `streamAgent`). @since 0.3.0 */
export { type AgentEvent, type AgentEventIterator, type PromiseTool, streamAgent, type StreamAgentOptions } from "./internal/promiseAgent.js"

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

type Pull = Effect.Effect<Chunk.Chunk<StreamEvent>, Option.Option<LlmError>>

/**
 * The part of an iterator that must outlive it: the scope holding the
 * connection. The `FinalizationRegistry` backstop closes it when the iterator
 * is dropped without being finished.
 */
class Connection {
  scope: Scope.CloseableScope | undefined = undefined
  fiber: Fiber.RuntimeFiber<Chunk.Chunk<StreamEvent>, Option.Option<LlmError>> | undefined = undefined
  closed = false
  private closing: Promise<void> | undefined = undefined
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing
    this.closed = true
    const fiber = this.fiber
    this.fiber = undefined
    const scope = this.scope
    this.scope = undefined
    const closing = Effect.gen(function*() {
      if (fiber !== undefined) yield* Fiber.interrupt(fiber)
      if (scope !== undefined) yield* Scope.close(scope, Exit.void)
    })
    this.closing = Effect.runPromise(closing)
    return this.closing
  }
}

const backstop = new FinalizationRegistry<Connection>((connection) => {
  void connection.close()
})

const DONE: IteratorResult<StreamEvent, undefined> = Object.freeze({ done: true, value: undefined })

class StreamTextIterator implements EventIterator {
  private readonly connection = new Connection()
  private pull: Pull | undefined = undefined
  private chunk: Chunk.Chunk<StreamEvent> = Chunk.empty()
  private index = 0
  private finished = false
  private readonly onAbort: (() => void) | undefined

  constructor(
    private readonly events: Stream.Stream<StreamEvent, LlmError>,
    private readonly signal: AbortSignal | undefined
  ) {
    if (signal !== undefined && !signal.aborted) {
      const connection = this.connection
      this.onAbort = () => void connection.close()
      signal.addEventListener("abort", this.onAbort, { once: true })
    }
    backstop.register(this, this.connection, this)
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<StreamEvent, undefined>> {
    if (this.index < this.chunk.length) {
      return Promise.resolve({ done: false, value: Chunk.unsafeGet(this.chunk, this.index++) })
    }
    if (this.signal?.aborted) return this.end().then(() => Promise.reject(this.signal!.reason))
    if (this.finished || this.connection.closed) return Promise.resolve(DONE)
    return this.pullNext()
  }

  private async pullNext(): Promise<IteratorResult<StreamEvent, undefined>> {
    const connection = this.connection
    if (this.pull === undefined) {
      const scope = Effect.runSync(Scope.make())
      connection.scope = scope
      this.pull = Effect.runSync(Scope.extend(Stream.toPull(this.events), scope))
    }
    for (;;) {
      const fiber = Effect.runFork(this.pull)
      connection.fiber = fiber
      const exit = await Effect.runPromise(Fiber.await(fiber))
      if (connection.fiber === fiber) connection.fiber = undefined
      if (Exit.isSuccess(exit)) {
        if (exit.value.length === 0) continue
        this.chunk = exit.value
        this.index = 1
        return { done: false, value: Chunk.unsafeGet(exit.value, 0) }
      }
      await this.end()
      if (this.signal?.aborted) throw this.signal.reason
      const failure = Cause.failureOption(exit.cause)
      if (Option.isSome(failure)) {
        if (Option.isNone(failure.value)) return DONE
        throw failure.value.value
      }
      if (Cause.isInterruptedOnly(exit.cause)) return DONE
      throw Cause.squash(exit.cause)
    }
  }

  private end(): Promise<void> {
    this.finished = true
    this.chunk = Chunk.empty()
    this.index = 0
    backstop.unregister(this)
    if (this.onAbort !== undefined) this.signal!.removeEventListener("abort", this.onAbort)
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
