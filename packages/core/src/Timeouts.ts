/**
 * `timeouts` fails a stream with `Timeout { phase }` when the first event takes
 * too long, when events stop coming, or when the whole stream runs too long.
 * The timer interrupts the pending pull, so the connection is released the
 * moment it fires, even on a server that hangs.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { LlmError } from "./LlmError.js"
import { Timeout } from "./LlmError.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface TimeoutsOptions {
  /** Longest wait for the first event. */
  readonly firstToken?: Duration.DurationInput | undefined
  /** Longest wait between two events once streaming. Keepalives are not events. */
  readonly idle?: Duration.DurationInput | undefined
  /** Longest time for the whole stream. */
  readonly total?: Duration.DurationInput | undefined
  /** The provider name the `Timeout` error carries (default "stream"). */
  readonly provider?: string | undefined
}

/**
 * Bound a stream's time to first event, time between events, and total time.
 * Durations are `DurationInput`s: a number is milliseconds. Time is read from
 * Effect's `Clock`, so `TestClock` drives it in tests.
 *
 * @example
 * ```ts
 * import { type ChatRequest, type Provider, timeouts } from "@streamvisor/core"
 *
 * declare const provider: Provider.Provider
 * declare const request: ChatRequest.ChatRequest
 * const events = provider.stream(request).pipe(timeouts({ firstToken: "10 seconds", idle: 5_000, total: "2 minutes" }))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const timeouts = (options: TimeoutsOptions) =>
<A, R>(self: Stream.Stream<A, LlmError, R>): Stream.Stream<A, LlmError, R> => {
  const firstToken = options.firstToken === undefined ? undefined : Duration.toMillis(options.firstToken)
  const idle = options.idle === undefined ? undefined : Duration.toMillis(options.idle)
  const total = options.total === undefined ? undefined : Duration.toMillis(options.total)
  if (firstToken === undefined && idle === undefined && total === undefined) return self
  const provider = options.provider ?? "stream"
  return Stream.unwrapScoped(Effect.gen(function*() {
    const pull = yield* Stream.toPull(self)
    const startedAt = yield* Clock.currentTimeMillis
    let seenEvent = false
    const timedPull = Effect.suspend(() =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        let phase: "first-token" | "idle" | "total" = seenEvent ? "idle" : "first-token"
        let limit = seenEvent ? idle : firstToken
        if (total !== undefined) {
          const remaining = Math.max(0, total - (now - startedAt))
          if (limit === undefined || remaining <= limit) {
            limit = remaining
            phase = "total"
          }
        }
        const guarded = limit === undefined ? pull : Effect.timeoutFail(pull, {
          duration: Duration.millis(limit),
          onTimeout: () => Option.some<LlmError>(new Timeout({ provider, phase }))
        })
        return seenEvent
          ? guarded
          : Effect.tap(guarded, (chunk) => {
            if (chunk.length > 0) seenEvent = true
          })
      })
    )
    return Stream.repeatEffectChunkOption(timedPull)
  }))
}
