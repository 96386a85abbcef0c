/**
 * `retry` runs a stream again after a retryable failure, but only while no
 * event has reached the consumer, so nothing is ever seen twice.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type { LlmError } from "./LlmError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface RetryOptions {
  /** How many times to try again (after the first attempt). */
  readonly times: number
  /**
   * The delays between attempts (default: exponential from 200 ms, jittered).
   * A `RateLimited.retryAfter` longer than the schedule's delay wins.
   */
  readonly schedule?: Schedule.Schedule<unknown, LlmError> | undefined
  /** Which failures to retry (default: `error.retryable`). */
  readonly while?: ((error: LlmError) => boolean) | undefined
}

const defaultSchedule: Schedule.Schedule<unknown, LlmError> = Schedule.jittered(Schedule.exponential("200 millis"))

const retryAfter = (error: LlmError): Duration.Duration =>
  error._tag === "RateLimited" && error.retryAfter !== undefined ? error.retryAfter : Duration.zero

/**
 * Retry a stream that failed before its first event. The failed attempt's
 * connection is released before the next one opens; an error after the
 * first event is passed on as it is.
 *
 * @example
 * ```ts
 * import { type ChatRequest, type Provider, retry, timeouts } from "@streamvisor/core"
 * import { Schedule } from "effect"
 *
 * declare const provider: Provider.Provider
 * declare const request: ChatRequest.ChatRequest
 * const events = provider.stream(request).pipe(
 *   timeouts({ firstToken: "10 seconds" }),
 *   retry({ times: 3, schedule: Schedule.exponential("500 millis") })
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const retry = (options: RetryOptions) =>
<A, R>(self: Stream.Stream<A, LlmError, R>): Stream.Stream<A, LlmError, R> => {
  const shouldRetry = options.while ?? ((error: LlmError) => error.retryable)
  const schedule = Schedule.intersect(Schedule.identity<LlmError>(), options.schedule ?? defaultSchedule).pipe(
    Schedule.modifyDelay(([error], delay) => Duration.max(delay, retryAfter(error))),
    Schedule.intersect(Schedule.recurs(options.times))
  )
  return Stream.unwrap(Effect.map(Schedule.driver(schedule), (driver) => {
    const attempt = (): Stream.Stream<A, LlmError, R> =>
      Stream.suspend(() => {
        let emitted = false
        return self.pipe(
          Stream.mapChunks((chunk) => {
            if (chunk.length > 0) emitted = true
            return chunk
          }),
          Stream.catchAll((error) =>
            emitted || !shouldRetry(error)
              ? Stream.fail(error)
              : Stream.unwrap(
                Effect.match(driver.next(error), {
                  onFailure: () => Stream.fail(error),
                  onSuccess: () => attempt()
                })
              )
          )
        )
      })
    return attempt()
  }))
}
