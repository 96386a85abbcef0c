/**
 * What `@anthropic-ai/sdk` throws, classified as `LlmError`s.
 *
 * The SDK throws (read in `core/error.ts` and `core/streaming.ts` of 1.14):
 * - an `APIError` subclass with a numeric `status` and the response `headers`
 *   for an HTTP error (`RateLimitError`, `OverloadedError`, …);
 * - a plain `APIError` with no status for an `event: error` frame inside a 200
 *   stream; its `error` is the frame's body and `type` its `error.type`;
 * - `APIConnectionError` / `APIConnectionTimeoutError` when no response came;
 * - `APIUserAbortError` after our own abort (the pump ignores it);
 * - the raw `SyntaxError` of `JSON.parse` for a malformed frame;
 * - the raw `TypeError: terminated` of undici when the socket is cut mid-body.
 *
 * Classes are recognised by `name` as well as by `instanceof`, so errors from
 * another copy of the SDK (a user's own client) classify the same way.
 *
 * @internal
 */
import Anthropic from "@anthropic-ai/sdk"
import { AdapterKit, LlmError, Redaction, RetryAfter } from "@streamvisor/core"
import type * as Duration from "effect/Duration"

/** @internal */
export const PROVIDER = "anthropic"

/**
 * Read a header from the SDK's `headers` (a `Headers` in 1.x; a plain record
 * is accepted too).
 */
const header = (headers: unknown, name: string): string | undefined => {
  if (typeof headers !== "object" || headers === null) return undefined
  const get = (headers as { get?: unknown }).get
  if (typeof get === "function") {
    const value = get.call(headers, name)
    return typeof value === "string" ? value : undefined
  }
  const value = (headers as Record<string, unknown>)[name]
  return typeof value === "string" ? value : undefined
}

/**
 * The provider's hint: `retry-after-ms` (milliseconds), else `retry-after`
 * (seconds, or an HTTP date), from the SDK's `headers`.
 *
 * @internal
 */
export const retryAfter = (headers: unknown, now?: number): Duration.Duration | undefined =>
  RetryAfter.fromHeaders((name) => header(headers, name), now)

/**
 * The HTTP status Anthropic uses for each `error.type`
 * (https://docs.anthropic.com/en/api/errors), for errors that arrive inside a
 * 200 stream without one.
 */
const statusOfType: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  conflict_error: 409,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529
}

/** The `{ type: "error", error: { type, message } }` body of an Anthropic error. */
const errorBody = (body: unknown): { readonly type?: unknown; readonly message?: unknown } | undefined => {
  if (typeof body !== "object" || body === null) return undefined
  const inner = (body as { error?: unknown }).error
  return typeof inner === "object" && inner !== null ? inner : undefined
}

/**
 * Map an in-stream `{"type":"error","error":{…}}` body (as the SDK throws it,
 * or as a decoder might see it) onto an `LlmError`.
 *
 * @internal
 */
export const fromErrorBody = (body: unknown, scrub: Redaction.Scrub): LlmError.LlmError => {
  const inner = errorBody(body)
  const type = typeof inner?.type === "string" ? inner.type : undefined
  const text = typeof inner?.message === "string" ? inner.message : undefined
  const message = scrub(`${PROVIDER}: ${type ?? "error"} in stream${text !== undefined ? `: ${text}` : ""}`)
  const status = type !== undefined ? statusOfType[type] : undefined
  if (status === undefined) {
    return new LlmError.Unknown({ provider: PROVIDER, message, cause: Redaction.sanitizeCause(body, scrub) })
  }
  return LlmError.fromStatus({ provider: PROVIDER, status, type, message })
}

/** What `@anthropic-ai/sdk` throws of its own; the rest is left to `AdapterKit.mapError`'s tail. */
const classifySdk = (scrub: Redaction.Scrub) => (cause: unknown): LlmError.LlmError | undefined => {
  if (!(cause instanceof Anthropic.APIError || (cause instanceof Error && "status" in cause && "headers" in cause))) {
    return undefined
  }
  const error = cause as InstanceType<typeof Anthropic.APIError>
  if (typeof error.status === "number") {
    const inner = errorBody(error.error)
    const type = typeof inner?.type === "string" ? inner.type : undefined
    const text = typeof inner?.message === "string" ? inner.message : error.message
    return LlmError.fromStatus({
      provider: PROVIDER,
      status: error.status,
      type,
      retryAfter: retryAfter(error.headers),
      message: scrub(`${PROVIDER}: HTTP ${error.status}${type !== undefined ? ` ${type}` : ""}: ${text}`)
    })
  }
  if (AdapterKit.isInstance(cause, "APIConnectionTimeoutError", Anthropic.APIConnectionTimeoutError)) {
    return new LlmError.Timeout({
      provider: PROVIDER,
      phase: "first-token",
      message: `${PROVIDER}: the SDK's request timeout passed before the response started`
    })
  }
  if (AdapterKit.isInstance(cause, "APIConnectionError", Anthropic.APIConnectionError)) {
    const detail = error.cause instanceof Error ? ` (${error.cause.message})` : ""
    return new LlmError.Disconnected({
      provider: PROVIDER,
      message: scrub(`${PROVIDER}: connection failed: ${error.message}${detail}`)
    })
  }
  if (AdapterKit.isInstance(cause, "APIUserAbortError", Anthropic.APIUserAbortError)) {
    return new LlmError.Disconnected({ provider: PROVIDER, message: `${PROVIDER}: request aborted` })
  }
  // An `event: error` frame in a 200 stream: no status, the frame's body in `error`.
  return error.error !== undefined ? fromErrorBody(error.error, scrub) : undefined
}

/**
 * Classify anything the SDK call or its stream throws.
 *
 * @internal
 */
export const mapError = (scrub: Redaction.Scrub): (cause: unknown) => LlmError.LlmError =>
  AdapterKit.mapError(PROVIDER, scrub, classifySdk(scrub))
