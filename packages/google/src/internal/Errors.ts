/**
 * What `@google/generative-ai` 0.24 throws, classified as `LlmError`s.
 *
 * Read in `dist/index.mjs` of 0.24.1:
 * - `GoogleGenerativeAIFetchError` for a non-2xx response: `status`,
 *   `statusText` and the body's `error.details` as `errorDetails` (no response
 *   headers, so a 429's hint is `google.rpc.RetryInfo.retryDelay` in there);
 * - `GoogleGenerativeAIError("Error fetching from <url>: <cause>")` when no
 *   response came: `fetch failed` (refused, reset before the headers, DNS,
 *   TLS) is `Disconnected`, anything else (an invalid URL) `Unknown`;
 * - `GoogleGenerativeAIError("Error reading from the stream")` for any failure
 *   while reading the body: a TCP reset (undici's `TypeError: terminated`),
 *   and also invalid UTF-8 (the original error is dropped by the SDK, so the
 *   two cannot be told apart: both are `Disconnected`);
 * - `GoogleGenerativeAIError("Error parsing JSON response: \"…\"")` for a
 *   `data:` frame that is not JSON, and `("Failed to parse stream")` for bytes
 *   left over at the end of the body that never formed a `data: …\r\n\r\n`
 *   frame (an `event:` line, a comment, a truncated frame);
 * - `GoogleGenerativeAIAbortError` when the signal aborted (our own abort is
 *   ignored by the pump before it gets here);
 * - `GoogleGenerativeAIRequestInputError` for a request it refuses locally.
 *
 * None of these set `name` (it stays `"Error"`), so they are recognised by
 * `instanceof` and, for errors from another copy of the SDK (a user's own
 * client), by the `[GoogleGenerativeAI Error]: ` message prefix.
 *
 * A `data: {"error":{…}}` frame inside a 200 stream is not thrown: the SDK
 * yields it as a chunk whose only field is `error` (and its aggregated
 * `response` resolves). The decoder turns it into an error with
 * {@link fromErrorFrame}.
 *
 * The SDK sends the key in the `x-goog-api-key` header, never in the URL, and
 * its messages carry only the URL; every message is still passed through the
 * scrub in case a server echoes the key back.
 *
 * @internal
 */
import {
  GoogleGenerativeAIAbortError,
  GoogleGenerativeAIError,
  GoogleGenerativeAIFetchError,
  GoogleGenerativeAIRequestInputError
} from "@google/generative-ai"
import { AdapterKit, LlmError, Redaction } from "@streamvisor/core"
import * as Duration from "effect/Duration"

/** @internal */
export const PROVIDER = "google"

const SDK_PREFIX = "[GoogleGenerativeAI Error]: "

/** The SDK's message without its `[GoogleGenerativeAI Error]: ` prefix. */
const bare = (message: string): string => (message.startsWith(SDK_PREFIX) ? message.slice(SDK_PREFIX.length) : message)

const clip = AdapterKit.clip

/**
 * Parse a protobuf-JSON `Duration`: `"2s"`, `"1.5s"`, `"0.250s"`, or the
 * object form `{ seconds, nanos }`.
 *
 * @internal
 */
export const parseProtoDuration = (value: unknown): Duration.Duration | undefined => {
  if (typeof value === "string") {
    const match = /^\s*(\d+(?:\.\d+)?)s\s*$/.exec(value)
    if (match === null) return undefined
    return Duration.millis(Math.round(Number(match[1]) * 1000))
  }
  if (typeof value === "object" && value !== null) {
    const { nanos, seconds } = value as { seconds?: unknown; nanos?: unknown }
    const s = typeof seconds === "string" || typeof seconds === "number" ? Number(seconds) : 0
    const n = typeof nanos === "number" ? nanos : 0
    if (!Number.isFinite(s) || !Number.isFinite(n) || (seconds === undefined && nanos === undefined)) return undefined
    return Duration.millis(Math.max(0, Math.round(s * 1000 + n / 1e6)))
  }
  return undefined
}

/**
 * The provider's hint in `error.details`: the `retryDelay` of a
 * `type.googleapis.com/google.rpc.RetryInfo` entry.
 *
 * @internal
 */
export const retryDelay = (details: unknown): Duration.Duration | undefined => {
  if (!Array.isArray(details)) return undefined
  for (const detail of details) {
    if (typeof detail !== "object" || detail === null) continue
    const type = (detail as Record<string, unknown>)["@type"]
    if (typeof type === "string" && type.endsWith("google.rpc.RetryInfo")) {
      const delay = parseProtoDuration((detail as { retryDelay?: unknown }).retryDelay)
      if (delay !== undefined) return delay
    }
  }
  return undefined
}

/**
 * Map the `error` of a `data: {"error":{code,message,status,details}}` frame
 * in a 200 stream. A 503 / `UNAVAILABLE` there is Gemini's "model is
 * overloaded", so it is `Overloaded`; the rest go by their code.
 *
 * @internal
 */
export const fromErrorFrame = (error: unknown, scrub: Redaction.Scrub): LlmError.LlmError => {
  const body = typeof error === "object" && error !== null ? (error as Record<string, unknown>) : {}
  const code = typeof body.code === "number" ? body.code : undefined
  const status = typeof body.status === "string" ? body.status : undefined
  const text = typeof body.message === "string" ? body.message : typeof error === "string" ? error : undefined
  const message = scrub(
    clip(`${PROVIDER}: error in stream${code !== undefined ? ` ${code}` : ""}${status !== undefined ? ` ${status}` : ""}${
      text !== undefined ? `: ${text}` : ""
    }`)
  )
  if (code === 503 || status === "UNAVAILABLE") return new LlmError.Overloaded({ provider: PROVIDER, message })
  if (code === undefined) {
    if (status === "RESOURCE_EXHAUSTED") {
      return new LlmError.RateLimited({ provider: PROVIDER, message, retryAfter: retryDelay(body.details) })
    }
    return new LlmError.Unknown({ provider: PROVIDER, message, cause: Redaction.sanitizeCause(error, scrub) })
  }
  return LlmError.fromStatus({
    provider: PROVIDER,
    status: code,
    message,
    retryAfter: code === 429 ? retryDelay(body.details) : undefined
  })
}

const isSdkError = (cause: unknown): cause is Error =>
  cause instanceof GoogleGenerativeAIError || (cause instanceof Error && cause.message.startsWith(SDK_PREFIX))

/** What `@google/generative-ai` throws of its own; the rest is left to `AdapterKit.mapError`'s tail. */
const classifySdk = (scrub: Redaction.Scrub) => (cause: unknown): LlmError.LlmError | undefined => {
  if (!isSdkError(cause)) return undefined
  const text = bare(cause.message)
  const status = (cause as { status?: unknown }).status
  if (
    typeof status === "number" &&
    (cause instanceof GoogleGenerativeAIFetchError || text.startsWith("Error fetching from"))
  ) {
    const fetchError = cause as GoogleGenerativeAIFetchError
    return LlmError.fromStatus({
      provider: PROVIDER,
      status,
      // Gemini answers an overloaded model with HTTP 503 "The model is overloaded."
      type: status === 503 && /overloaded/i.test(text) ? "overloaded_error" : undefined,
      retryAfter: status === 429 ? retryDelay(fetchError.errorDetails) : undefined,
      message: scrub(clip(`${PROVIDER}: HTTP ${status}: ${text}`))
    })
  }
  if (cause instanceof GoogleGenerativeAIRequestInputError) {
    return new LlmError.InvalidRequest({ provider: PROVIDER, message: scrub(clip(`${PROVIDER}: ${text}`)) })
  }
  if (text.startsWith("Error parsing JSON response") || text.startsWith("Failed to parse stream")) {
    return new LlmError.ProtocolError({ provider: PROVIDER, message: scrub(clip(`${PROVIDER}: malformed stream: ${text}`)) })
  }
  if (
    cause instanceof GoogleGenerativeAIAbortError ||
    text.startsWith("Error reading from the stream") ||
    text.startsWith("Request aborted") ||
    // No response at all: undici's `TypeError: fetch failed` (refused, reset, DNS, TLS), wrapped.
    (text.startsWith("Error fetching from") && text.endsWith(": fetch failed"))
  ) {
    return new LlmError.Disconnected({ provider: PROVIDER, message: scrub(clip(`${PROVIDER}: connection lost: ${text}`)) })
  }
  return undefined
}

/**
 * Classify anything `generateContentStream` or its stream throws.
 *
 * @internal
 */
export const mapError = (scrub: Redaction.Scrub): (cause: unknown) => LlmError.LlmError =>
  AdapterKit.mapError(PROVIDER, scrub, classifySdk(scrub))
