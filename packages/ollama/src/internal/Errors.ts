/**
 * Error classification for the Ollama adapter: HTTP statuses, `{"error": …}`
 * lines, transport failures. Every message goes through a scrub that removes
 * the API key, and no error keeps a request, a response, headers or the HTTP
 * client in its fields.
 *
 * @internal
 */
import * as HttpClientError from "@effect/platform/HttpClientError"
import { AdapterKit, LlmError, Redaction, RetryAfter, Transport } from "@streamvisor/core"

/** @internal */
export const PROVIDER = "ollama"

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
export const fromErrorLine = (value: unknown, scrub: Redaction.Scrub): LlmError.LlmError => {
  const text = errorText(value)
  const message = scrub(`${PROVIDER}: error in stream: ${preview(text)}`)
  if (OVERLOADED.test(text)) return new LlmError.Overloaded({ provider: PROVIDER, message })
  if (RATE_LIMITED.test(text)) return new LlmError.RateLimited({ provider: PROVIDER, message })
  return new LlmError.ServerError({ provider: PROVIDER, message, status: 500 })
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
  scrub: Redaction.Scrub
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
    retryAfter: RetryAfter.fromHeaders((name) => headers[name]),
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

/** What `@effect/platform`'s `HttpClient` fails with; the rest is left to `AdapterKit.mapError`'s tail. */
const classifyHttp = (scrub: Redaction.Scrub) => (cause: unknown): LlmError.LlmError | undefined => {
  if (HttpClientError.isHttpClientError(cause)) {
    const detail = causeText(cause.cause)
    if (cause._tag === "RequestError") {
      const message = scrub(`${PROVIDER}: request to ${cause.request.url} failed (${cause.reason})${detail === "" ? "" : `: ${detail}`}`)
      switch (cause.reason) {
        case "Transport":
          // undici's `TypeError: fetch failed` (refused, reset, DNS, connect
          // timeout) is a connection failure; anything else (an invalid header
          // value…) is not worth a retry.
          return Transport.isConnectionCut(cause.cause) || Transport.isFetchFailed(cause.cause)
            ? new LlmError.Disconnected({ provider: PROVIDER, message })
            : new LlmError.Unknown({ provider: PROVIDER, message, cause: Redaction.sanitizeCause(cause, scrub) })
        case "InvalidUrl":
          return new LlmError.InvalidRequest({ provider: PROVIDER, message })
        default:
          return new LlmError.Unknown({ provider: PROVIDER, message, cause: Redaction.sanitizeCause(cause, scrub) })
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
  return undefined
}

/**
 * Classify what opening or reading the response threw.
 *
 * @internal
 */
export const mapError = (scrub: Redaction.Scrub): (cause: unknown) => LlmError.LlmError =>
  AdapterKit.mapError(PROVIDER, scrub, classifyHttp(scrub))
