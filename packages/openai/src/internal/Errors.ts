/**
 * What the `openai` SDK throws (and what the Responses API reports inside a
 * 200 stream), mapped onto `LlmError`. Every message goes through `scrub`
 * first, and no SDK object (client, headers, request) ends up in an error.
 *
 * @internal
 */
import { AdapterKit, LlmError, Redaction, RetryAfter } from "@streamvisor/core"
import type * as Duration from "effect/Duration"
import type { APIConnectionError, APIError } from "openai"

/** @internal */
export const PROVIDER = "openai"

/**
 * Parse `retry-after-ms` (milliseconds) or `retry-after` (seconds or an HTTP
 * date) from the SDK's `headers`, the way the SDK itself reads them.
 *
 * @internal
 */
export const retryAfter = (headers: { get(name: string): string | null } | undefined): Duration.Duration | undefined =>
  headers === undefined || typeof headers.get !== "function" ? undefined : RetryAfter.fromHeaders((name) => headers.get(name))

/**
 * The HTTP status an in-stream error would have had, from its OpenAI `code`
 * and `type` (an in-stream error has no status of its own: the stream was a
 * 200). `undefined` when the error is not one we know.
 *
 * - `rate_limit_exceeded`, types `requests` / `tokens` → 429
 * - `insufficient_quota` → 429, like the HTTP error OpenAI sends for it: it is
 *   `RateLimited`, although waiting does not help until the quota is raised
 * - anything "overloaded" → 529 (`Overloaded`)
 * - `server_error`, `internal_error`, `vector_store_timeout` → 500
 * - `invalid_*`, image errors, policy refusals → 400
 *
 * @internal
 */
export const statusOfCode = (code: unknown, type: unknown): number | undefined => {
  // A numeric `code` 400..599 (or its 3-digit string) is an HTTP status: OpenAI-compatible servers
  // report errors that way (OpenRouter `{"code":400}` for a token limit, 502 when the upstream died).
  const numeric = typeof code === "number" ? code : typeof code === "string" && /^\d{3}$/.test(code) ? Number(code) : NaN
  if (Number.isInteger(numeric) && numeric >= 400 && numeric <= 599) return numeric
  const c = typeof code === "string" ? code : ""
  const t = typeof type === "string" ? type : ""
  if (c.includes("overloaded") || t.includes("overloaded")) return 529
  if (c === "rate_limit_exceeded" || t === "requests" || t === "tokens" || t === "rate_limit_exceeded") return 429
  if (c === "insufficient_quota" || t === "insufficient_quota") return 429
  if (c === "server_error" || c === "internal_error" || c === "vector_store_timeout") return 500
  if (t === "server_error" || t === "internal_error" || t === "api_error") return 500
  if (
    c.startsWith("invalid_") || c.includes("image") || c === "bio_policy" || c === "data_residency_mismatch" ||
    c === "context_length_exceeded" || t === "invalid_request_error"
  ) return 400
  return undefined
}

/**
 * An error reported inside a 200 stream: the Chat `{"error":…}` frame (thrown
 * by the SDK as an `APIError` without status), the Responses `error` event and
 * `response.failed`.
 *
 * @internal
 */
export const fromStreamError = (
  scrub: Redaction.Scrub,
  error: { readonly code?: unknown; readonly type?: unknown; readonly message?: unknown } | null | undefined,
  fallback: string
): LlmError.LlmError => {
  const code = error?.code
  const type = error?.type
  const text = typeof error?.message === "string" && error.message !== "" ? error.message : fallback
  const label = typeof code === "string" && code !== "" ? code : typeof type === "string" && type !== "" ? type : undefined
  const message = scrub(`${PROVIDER}: ${label === undefined ? "" : `${label}: `}${text}`)
  const status = statusOfCode(code, type)
  if (status === undefined) {
    return new LlmError.Unknown({ provider: PROVIDER, message, cause: { code: safe(scrub, code), type: safe(scrub, type) } })
  }
  return LlmError.fromStatus({ provider: PROVIDER, status, message })
}

const safe = (scrub: Redaction.Scrub, value: unknown): string | undefined => (typeof value === "string" ? scrub(value) : undefined)

/**
 * What the `openai` SDK throws of its own, recognised by class name along the
 * prototype chain (`AdapterKit.isInstance`): the SDK ships a CJS and an ESM
 * build, and a client made with `require("openai")` throws the CJS classes.
 * The rest is left to `AdapterKit.mapError`'s tail.
 */
const classifySdk = (scrub: Redaction.Scrub) => (cause: unknown): LlmError.LlmError | undefined => {
  if (AdapterKit.isInstance(cause, "APIConnectionTimeoutError")) {
    const error = cause as APIConnectionError
    return new LlmError.Timeout({
      provider: PROVIDER,
      message: scrub(`${PROVIDER}: ${error.message} (the SDK's own request timeout)`),
      phase: "first-token"
    })
  }
  if (AdapterKit.isInstance(cause, "APIConnectionError")) {
    const error = cause as APIConnectionError
    return new LlmError.Disconnected({ provider: PROVIDER, message: scrub(`${PROVIDER}: ${connectionMessage(error)}`) })
  }
  if (!AdapterKit.isInstance(cause, "APIError")) return undefined
  const error = cause as APIError
  const status = error.status
  if (typeof status !== "number") {
    // A `{"error":…}` frame inside a 200 stream.
    return fromStreamError(scrub, error.error as never, error.message)
  }
  const body = error.error as { code?: unknown; type?: unknown } | undefined
  const overloaded = statusOfCode(body?.code, body?.type) === 529
  const requestId = typeof error.requestID === "string" ? ` (request id ${error.requestID})` : ""
  return LlmError.fromStatus({
    provider: PROVIDER,
    status,
    message: scrub(`${PROVIDER}: ${error.message}${requestId}`),
    retryAfter: status === 429 || status >= 500 ? retryAfter(error.headers) : undefined,
    type: overloaded ? "overloaded_error" : typeof body?.type === "string" ? body.type : undefined
  })
}

/**
 * Classify anything `open` or the SDK's iterator throws.
 *
 * @internal
 */
export const mapError = (scrub: Redaction.Scrub): (cause: unknown) => LlmError.LlmError =>
  AdapterKit.mapError(PROVIDER, scrub, classifySdk(scrub))

const connectionMessage = (error: APIConnectionError): string => {
  const inner = (error as { cause?: unknown }).cause
  return inner instanceof Error ? `${error.message} (${inner.message})` : error.message
}
