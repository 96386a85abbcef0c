/**
 * Opening an `/api/chat` response for core's `acquire`, two ways:
 *
 * - `openFetch` (the default): plain `fetch`, the body read as bytes by
 *   `acquire` itself (`openBody` + `bytesFraming`). No Effect run per network
 *   chunk: measured ≤1.10× a hand-written fetch + `JSON.parse` loop, against
 *   1.39–1.47× through the `HttpClient` bridge (test/bench).
 * - `open`, when the user gives an `@effect/platform` `HttpClient`: the
 *   request runs as one Effect with `acquire`'s signal (`runPromiseExit` with
 *   `{ signal }`: an abort interrupts it, which aborts the fetch) and resolves
 *   with the response's own `stream`, which `acquire` pulls chunk by chunk.
 *
 * @internal
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type { Redaction } from "@streamvisor/core"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { fromHttpStatus } from "./Errors.js"

/** How much of an error body is read for its message. */
const ERROR_BODY_LIMIT = 64 * 1024

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
): Promise<Stream.Stream<Uint8Array, unknown>> =>
  Effect.runPromiseExit(
    Effect.flatMap(client.execute(request), (response) => {
      if (response.status < 200 || response.status >= 300) {
        return Effect.flatMap(errorBody(response), (body) =>
          Effect.fail(fromHttpStatus(response.status, response.headers, body, scrub)))
      }
      // `acquire` pulls it through core's one Stream → AsyncIterator bridge,
      // which closes it (cancelling the body reader) exactly once.
      return Effect.succeed(response.stream)
    }),
    { signal }
  ).then((exit) => {
    if (Exit.isSuccess(exit)) return exit.value
    const failure = Cause.failureOption(exit.cause)
    throw Option.isSome(failure) ? failure.value : signal.aborted ? signal.reason : Cause.squash(exit.cause)
  })

/** Reads at most `ERROR_BODY_LIMIT` bytes of a fetch error response as text, then cancels the body. */
const fetchErrorBody = async (response: Response): Promise<string> => {
  if (response.body === null) return ""
  const reader = response.body.getReader()
  const decoder = new TextDecoder()
  let text = ""
  let bytes = 0
  try {
    while (bytes < ERROR_BODY_LIMIT) {
      const { done, value } = await reader.read()
      if (done) break
      bytes += value.length
      text += decoder.decode(value, { stream: true })
    }
  } catch {
    // a cut error body: keep what arrived
  } finally {
    reader.cancel().then(undefined, () => undefined)
  }
  return text + decoder.decode()
}

/**
 * `POST` the chat body with `fetch` and resolve with the response once its
 * status is a success; an HTTP error rejects with the classified `LlmError`
 * (after a bounded read of the body), a failed request with the same
 * `HttpClientError.RequestError` the `HttpClient` path raises, so both paths
 * classify and word errors alike.
 *
 * @internal
 */
export const openFetch = async (
  fetchFn: typeof globalThis.fetch,
  request: HttpClientRequest.HttpClientRequest,
  body: string,
  signal: AbortSignal,
  scrub: Redaction.Scrub
): Promise<Response> => {
  let response: Response
  try {
    response = await fetchFn(request.url, {
      method: "POST",
      headers: { ...request.headers, "content-type": "application/json" },
      body,
      signal
    })
  } catch (cause) {
    if (signal.aborted) throw cause
    const invalidUrl = cause instanceof TypeError && !(cause as { cause?: unknown }).cause && /URL/i.test(cause.message)
    throw new HttpClientError.RequestError({ request, reason: invalidUrl ? "InvalidUrl" : "Transport", cause })
  }
  if (response.status < 200 || response.status >= 300) {
    const text = await fetchErrorBody(response)
    const headers: Record<string, string> = {}
    response.headers.forEach((value, name) => {
      headers[name] = value
    })
    throw fromHttpStatus(response.status, headers, text, scrub)
  }
  return response
}
