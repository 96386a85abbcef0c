/**
 * What `@google/genai` (2.32) throws, classified as `LlmError`s. Read in
 * `dist/node/index.mjs`:
 * - `ApiError { status }` for a non-2xx response; its message is the error
 *   body as JSON (`{"error":{code,message,status,details}}`), so a 429's
 *   `google.rpc.RetryInfo.retryDelay` is in there. It is also thrown for a
 *   `data: {"error":{code,…}}` frame inside a 200 stream (message
 *   `got status: UNAVAILABLE. {…}`), which is mapped like the old SDK's
 *   error chunk: 503 / `UNAVAILABLE` is `Overloaded`.
 * - undici's `TypeError: fetch failed` (no response) and `TypeError:
 *   terminated` (the body cut): `Disconnected`.
 * - `Error("Incomplete JSON segment at the end")` (bytes left that never
 *   formed a frame) and the `SyntaxError` of a frame that is not JSON:
 *   `ProtocolError`.
 * - `AbortError` after our own abort is ignored by the pump before it gets
 *   here.
 *
 * The SDK sends the key in the `x-goog-api-key` header; its messages carry
 * the response body, never the request headers. Every message still goes
 * through the scrub in case a server echoes the key.
 *
 * @internal
 */
import { LlmError, Redaction, Transport } from "@streamvisor/core"
import { fromErrorFrame, retryDelay } from "./Errors.js"

const PROVIDER = "google"

const MAX_MESSAGE = 500

const clip = (text: string): string => (text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text)

/** The JSON object at the end of an `ApiError` message, if any. */
const bodyOf = (message: string): { error?: Record<string, unknown> } | undefined => {
  const start = message.indexOf("{")
  if (start < 0) return undefined
  try {
    const value: unknown = JSON.parse(message.slice(start))
    return typeof value === "object" && value !== null ? (value as { error?: Record<string, unknown> }) : undefined
  } catch {
    return undefined
  }
}

const isApiError = (cause: unknown): cause is Error & { readonly status: number } =>
  cause instanceof Error && cause.name === "ApiError" && typeof (cause as { status?: unknown }).status === "number"

/**
 * Classify anything `generateContentStream` or its stream throws.
 *
 * @internal
 */
export const mapError = (scrub: Redaction.Scrub) => (cause: unknown): LlmError.LlmError => {
  if (LlmError.isLlmError(cause)) return cause
  if (isApiError(cause)) {
    const body = bodyOf(cause.message)
    const error = body?.error
    // An error frame inside a 200 stream: the SDK's message starts "got status:".
    if (cause.message.startsWith("got status:") && error !== undefined) return fromErrorFrame(error, scrub)
    const text = typeof error?.message === "string" ? error.message : cause.message
    const status = cause.status
    return LlmError.fromStatus({
      provider: PROVIDER,
      status,
      type: status === 503 && /overloaded/i.test(text) ? "overloaded_error" : undefined,
      retryAfter: status === 429 ? retryDelay(error?.details) : undefined,
      message: scrub(clip(`${PROVIDER}: HTTP ${status}: ${text}`))
    })
  }
  if (cause instanceof SyntaxError) {
    return new LlmError.ProtocolError({ provider: PROVIDER, message: scrub(clip(`${PROVIDER}: malformed frame: ${cause.message}`)) })
  }
  if (cause instanceof Error && /^Incomplete JSON segment|^exception parsing stream chunk/.test(cause.message)) {
    return new LlmError.ProtocolError({ provider: PROVIDER, message: scrub(clip(`${PROVIDER}: malformed stream: ${cause.message}`)) })
  }
  if (Transport.isConnectionCut(cause) || Transport.isFetchFailed(cause)) {
    return new LlmError.Disconnected({
      provider: PROVIDER,
      message: scrub(clip(`${PROVIDER}: connection lost (${Transport.causeCode(cause) ?? (cause as Error).message})`))
    })
  }
  const text = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)
  return new LlmError.Unknown({
    provider: PROVIDER,
    message: scrub(clip(`${PROVIDER}: ${text}`)),
    cause: Redaction.sanitizeCause(cause, scrub)
  })
}
