/**
 * For adapter authors: the provider's own hint of how long to wait before
 * trying again, read from the response headers, for
 * `LlmError.RateLimited.retryAfter` (which `retry` honours).
 *
 * @example
 * ```ts
 * import { LlmError, RetryAfter } from "@streamvisor/core"
 *
 * const rateLimited = (response: Response) =>
 *   new LlmError.RateLimited({
 *     provider: "acme",
 *     retryAfter: RetryAfter.fromHeaders((name) => response.headers.get(name))
 *   })
 * ```
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"

/**
 * Reads one response header by its lower-case name: `null` or `undefined`
 * when it is absent. Each adapter passes one over its own headers shape
 * (`Headers.get`, a plain record…).
 *
 * @since 0.1.0
 * @category models
 */
export type HeaderGetter = (name: string) => string | null | undefined

/**
 * The wait a response asks for: `retry-after-ms` (milliseconds, a
 * non-negative number) first, else `retry-after` as seconds (a non-negative
 * number, fractions allowed) or as an HTTP date (the time from `now` until
 * then, zero when it has passed). `undefined` when neither header is there or
 * readable: an empty value, a negative number, or anything that is not a
 * number or a date.
 *
 * @example
 * ```ts
 * import { RetryAfter } from "@streamvisor/core"
 *
 * const headers = new Headers({ "retry-after": "7" })
 * RetryAfter.fromHeaders((name) => headers.get(name)) // Duration.seconds(7)
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const fromHeaders = (header: HeaderGetter, now: number = Date.now()): Duration.Duration | undefined => {
  const ms = header("retry-after-ms")
  if (typeof ms === "string" && ms.trim() !== "") {
    const value = Number(ms)
    if (Number.isFinite(value) && value >= 0) return Duration.millis(value)
  }
  const after = header("retry-after")
  if (typeof after !== "string" || after.trim() === "") return undefined
  const seconds = Number(after)
  if (Number.isFinite(seconds)) return seconds >= 0 ? Duration.millis(seconds * 1000) : undefined
  const date = Date.parse(after)
  return Number.isNaN(date) ? undefined : Duration.millis(Math.max(0, date - now))
}
