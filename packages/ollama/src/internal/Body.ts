/**
 * Opening an `/api/chat` response through an `@effect/platform` `HttpClient`
 * and exposing its body to core's `acquire` as an async iterator of byte
 * chunks.
 *
 * `acquire` owns the lifetime: it calls `open(signal)`, iterates, and on
 * release aborts `signal` and then calls `return()`. Here:
 *
 * - the request runs as one Effect with that signal (`runPromiseExit` with
 *   `{ signal }`): an abort interrupts it, which aborts the fetch;
 * - the body is the response's own `stream`, pulled in a `Scope` that this
 *   iterator owns; one Effect run per network chunk (never per line);
 * - the scope is closed (the body reader cancelled and the request aborted)
 *   exactly once: when the body ends or fails, on `return()`, or on abort.
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type { Redaction } from "@streamvisor/core"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { fromHttpStatus } from "./Errors.js"

/** How much of an error body is read for its message. */
const ERROR_BODY_LIMIT = 64 * 1024

type Pull = Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<unknown>>

const DONE: IteratorResult<Uint8Array, undefined> = Object.freeze({ done: true, value: undefined })

/**
 * Reads at most `ERROR_BODY_LIMIT` bytes of an error response as text. Stops
 * (and so cancels the body) once it has enough.
 */
const errorBody = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<string> => {
  const decoder = new TextDecoder()
  return response.stream.pipe(
    Stream.runFoldWhile(
      { text: "", bytes: 0 },
      (state) => state.bytes < ERROR_BODY_LIMIT,
      (state, bytes: Uint8Array) => ({
        text: state.text + decoder.decode(bytes, { stream: true }),
        bytes: state.bytes + bytes.length
      })
    ),
    Effect.map((state) => state.text + decoder.decode()),
    Effect.orElseSucceed(() => "")
  )
}

/** The body as an async iterator of network chunks. */
class BodyIterator implements AsyncIterableIterator<Uint8Array> {
  private chunk: Chunk.Chunk<Uint8Array> = Chunk.empty()
  private index = 0
  private pending = false
  private closing: Promise<void> | undefined = undefined

  constructor(
    private readonly pull: Pull,
    private readonly scope: Scope.CloseableScope,
    private readonly signal: AbortSignal
  ) {
    if (signal.aborted) void this.close()
    else signal.addEventListener("abort", this.onAbort, { once: true })
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<Uint8Array, undefined>> {
    if (this.index < this.chunk.length) {
      return Promise.resolve({ done: false, value: Chunk.unsafeGet(this.chunk, this.index++) })
    }
    if (this.closing !== undefined) {
      return this.signal.aborted ? Promise.reject(this.signal.reason) : Promise.resolve(DONE)
    }
    this.pending = true
    return Effect.runPromiseExit(this.pull, { signal: this.signal }).then((exit) => {
      this.pending = false
      if (Exit.isSuccess(exit)) {
        this.chunk = exit.value
        this.index = 0
        return this.next()
      }
      return this.close().then(() => {
        const failure = Cause.failureOption(exit.cause)
        if (Option.isSome(failure)) {
          if (Option.isNone(failure.value)) return DONE
          throw failure.value.value
        }
        // Interrupted by the abort, or a defect.
        throw this.signal.aborted ? this.signal.reason : Cause.squash(exit.cause)
      })
    })
  }

  return(): Promise<IteratorResult<Uint8Array, undefined>> {
    return this.close().then(() => DONE)
  }

  /** Aborted while no pull is running: nobody else will close the scope. */
  private readonly onAbort = (): void => {
    if (!this.pending) void this.close()
  }

  /** Closes the scope once: cancels the body reader and aborts the request. Never rejects. */
  private close(): Promise<void> {
    if (this.closing === undefined) {
      this.signal.removeEventListener("abort", this.onAbort)
      this.chunk = Chunk.empty()
      this.index = 0
      this.closing = Effect.runPromise(Scope.close(this.scope, Exit.void)).then(undefined, () => undefined)
    }
    return this.closing
  }
}

/**
 * Send `request` with `client` and resolve with its body. An HTTP error
 * status rejects with the classified `LlmError` (after reading a bounded
 * piece of the body for its message); an abort of `signal` interrupts the
 * request.
 *
 * @internal
 */
export const open = (
  client: HttpClient.HttpClient,
  request: HttpClientRequest.HttpClientRequest,
  signal: AbortSignal,
  scrub: Redaction.Scrub
): Promise<AsyncIterableIterator<Uint8Array>> =>
  Effect.runPromiseExit(
    Effect.flatMap(client.execute(request), (response) => {
      if (response.status < 200 || response.status >= 300) {
        return Effect.flatMap(errorBody(response), (body) =>
          Effect.fail(fromHttpStatus(response.status, response.headers, body, scrub)))
      }
      return Effect.uninterruptible(Effect.gen(function*() {
        const scope = yield* Scope.make()
        const pull = yield* Scope.extend(Stream.toPull(response.stream), scope)
        return new BodyIterator(pull, scope, signal)
      }))
    }),
    { signal }
  ).then((exit) => {
    if (Exit.isSuccess(exit)) return exit.value
    const failure = Cause.failureOption(exit.cause)
    throw Option.isSome(failure) ? failure.value : signal.aborted ? signal.reason : Cause.squash(exit.cause)
  })
