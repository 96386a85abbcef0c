/**
 * Error classification for the Ollama adapter: HTTP statuses, `{"error": …}`
 * lines, transport failures. Every message goes through a scrub that removes
 * the API key, and no error keeps a request, a response, headers or the HTTP
 * client in its fields.
 *
 * @internal
 */
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as Duration from "effect/Duration"
import { LlmError } from "@streamvisor/core"

/** @internal */
export const PROVIDER = "ollama"

/** Removes every occurrence of a secret (and `Bearer <secret>`) from a text. @internal */
export type Scrub = (text: string) => string

const REDACTED = "<redacted>"

/** @internal */
export const makeScrub = (secret: string | undefined): Scrub => {
  if (secret === undefined || secret.length === 0) return (text) => text
  return (text) => (text.includes(secret) ? text.split(secret).join(REDACTED) : text)
}

/** Shortens server-supplied text for a message. @internal */
export const preview = (text: string, max = 200): string =>
  text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`

const OVERLOADED = /overloaded|server busy|too busy|maximum pending requests/i
const RATE_LIMITED = /too many requests|rate limit/i

/**
 * What a `{"error": …}` value says, as text. Ollama sends a string; some
 * proxies send `{ message }`.
 *
 * @internal
 */
export const errorText = (value: unknown): string => {
  if (typeof value === "string") return value
  if (typeof value === "object" && value !== null) {
    const message = (value as { message?: unknown }).message
    if (typeof message === "string") return message
  }
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/**
 * An `{"error": "…"}` line inside a 200 stream: "server busy" / "overloaded"
 * is `Overloaded`, "too many requests" is `RateLimited`, anything else a
 * `ServerError` with status 500 (the model runner failed).
 *
 * @internal
 */
export const fromErrorLine = (value: unknown, scrub: Scrub): LlmError.LlmError => {
  const text = errorText(value)
  const message = scrub(`${PROVIDER}: error in stream: ${preview(text)}`)
  if (OVERLOADED.test(text)) return new LlmError.Overloaded({ provider: PROVIDER, message })
  if (RATE_LIMITED.test(text)) return new LlmError.RateLimited({ provider: PROVIDER, message })
  return new LlmError.ServerError({ provider: PROVIDER, message, status: 500 })
}

/**
 * `retry-after-ms` (milliseconds), or `retry-after` (seconds or an HTTP date).
 *
 * @internal
 */
export const parseRetryAfter = (headers: Readonly<Record<string, string | undefined>>): Duration.Duration | undefined => {
  const ms = headers["retry-after-ms"]
  if (ms !== undefined) {
    const value = Number(ms)
    if (Number.isFinite(value) && value >= 0) return Duration.millis(value)
  }
  const after = headers["retry-after"]
  if (after === undefined || after.trim() === "") return undefined
  const seconds = Number(after)
  if (Number.isFinite(seconds)) return seconds >= 0 ? Duration.seconds(seconds) : undefined
  const date = Date.parse(after)
  return Number.isNaN(date) ? undefined : Duration.millis(Math.max(0, date - Date.now()))
}

/**
 * An HTTP error status with its body (usually `{"error": "…"}`): classified
 * by `LlmError.fromStatus`, so 404 "model not found" is `InvalidRequest`; a
 * "server busy" body (Ollama's 503 when its queue is full) is `Overloaded`.
 *
 * @internal
 */
export const fromHttpStatus = (
  status: number,
  headers: Readonly<Record<string, string | undefined>>,
  body: string,
  scrub: Scrub
): LlmError.LlmError => {
  let text = body.trim()
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed === "object" && parsed !== null && "error" in parsed) {
      text = errorText((parsed as { error: unknown }).error)
    }
  } catch {
    // not JSON: keep the raw text
  }
  return LlmError.fromStatus({
    provider: PROVIDER,
    status,
    message: scrub(`${PROVIDER}: HTTP ${status}${text === "" ? "" : `: ${preview(text)}`}`),
    retryAfter: parseRetryAfter(headers),
    type: OVERLOADED.test(text) ? "overloaded_error" : undefined
  })
}

const causeText = (cause: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = cause
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    if (current instanceof Error) {
      const code = (current as { code?: unknown }).code
      parts.push(typeof code === "string" && !current.message.includes(code) ? `${current.message} (${code})` : current.message)
      current = (current as { cause?: unknown }).cause
    } else {
      parts.push(String(current))
      break
    }
  }
  return parts.filter((part) => part.length > 0).join(": ")
}

/**
 * A plain, key-free stand-in for what was thrown, kept as `Unknown.cause`:
 * the original may hold the request and its `authorization` header.
 *
 * @internal
 */
export class ScrubbedCause extends Error {
  constructor(name: string, message: string) {
    super(message)
    this.name = name
    // The stack names only this module's frames; the message above is scrubbed.
    this.stack = `${name}: ${message}`
  }
}

const CUT_CODES: ReadonlySet<string> = new Set(["ECONNRESET", "EPIPE", "ECONNREFUSED", "UND_ERR_SOCKET", "UND_ERR_CLOSED"])

/** `TypeError: terminated` (undici's cut body), a reset socket. */
const isConnectionCut = (cause: unknown): boolean => {
  let current: unknown = cause
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === "string" && CUT_CODES.has(code)) return true
    if (current.name === "TypeError" && current.message === "terminated") return true
    current = (current as { cause?: unknown }).cause
  }
  return false
}

const isFetchFailed = (cause: unknown): boolean =>
  cause instanceof Error && cause.name === "TypeError" && cause.message === "fetch failed"

const nameOf = (cause: unknown): string =>
  cause instanceof Error ? (cause as { _tag?: unknown })._tag === undefined ? cause.name : String((cause as { _tag?: unknown })._tag) : typeof cause

/**
 * Classify what opening or reading the response threw.
 *
 * @internal
 */
export const mapError = (scrub: Scrub) => (cause: unknown): LlmError.LlmError => {
  if (LlmError.isLlmError(cause)) return cause
  if (HttpClientError.isHttpClientError(cause)) {
    const detail = causeText(cause.cause)
    if (cause._tag === "RequestError") {
      const message = scrub(`${PROVIDER}: request to ${cause.request.url} failed (${cause.reason})${detail === "" ? "" : `: ${detail}`}`)
      switch (cause.reason) {
        case "Transport":
          // undici's `TypeError: fetch failed` (refused, reset, DNS, connect
          // timeout) is a connection failure; anything else (an invalid header
          // value…) is not worth a retry.
          return isConnectionCut(cause.cause) || isFetchFailed(cause.cause)
            ? new LlmError.Disconnected({ provider: PROVIDER, message })
            : new LlmError.Unknown({ provider: PROVIDER, message, cause: new ScrubbedCause(cause._tag, message) })
        case "InvalidUrl":
          return new LlmError.InvalidRequest({ provider: PROVIDER, message })
        default:
          return new LlmError.Unknown({ provider: PROVIDER, message, cause: new ScrubbedCause(cause._tag, message) })
      }
    }
    const message = scrub(`${PROVIDER}: response failed (${cause.reason}, HTTP ${cause.response.status})${detail === "" ? "" : `: ${detail}`}`)
    switch (cause.reason) {
      case "StatusCode":
        // A client built with `HttpClient.filterStatusOk`: the body was not read.
        return fromHttpStatus(cause.response.status, cause.response.headers, "", scrub)
      case "Decode":
        // Reading the body failed: the connection was cut (`TypeError: terminated`).
        return new LlmError.Disconnected({ provider: PROVIDER, message })
      case "EmptyBody":
        return new LlmError.ProtocolError({ provider: PROVIDER, message })
    }
  }
  const message = scrub(`${PROVIDER}: ${causeText(cause) || "unknown error"}`)
  if (isConnectionCut(cause)) return new LlmError.Disconnected({ provider: PROVIDER, message })
  return new LlmError.Unknown({ provider: PROVIDER, message, cause: new ScrubbedCause(nameOf(cause), message) })
}
