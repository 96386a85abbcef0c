/**
 * For adapter authors: recognising, in what a `fetch`-based SDK or HTTP client
 * throws, that the connection itself failed (undici and Node socket errors),
 * so the adapter can report `LlmError.Disconnected` rather than `Unknown`.
 *
 * Only the transport is recognised here; an SDK's own error classes and a
 * provider's error bodies are the adapter's to map.
 *
 * @example
 * ```ts
 * import { LlmError, Redaction, Transport } from "@streamvisor/core"
 *
 * const classify = (cause: unknown, scrub: Redaction.Scrub): LlmError.LlmError =>
 *   Transport.isConnectionCut(cause)
 *     ? new LlmError.Disconnected({ provider: "acme", message: `acme: connection cut (${Transport.causeCode(cause) ?? "terminated"})` })
 *     : new LlmError.Unknown({ provider: "acme", cause: Redaction.sanitizeCause(cause, scrub) })
 * ```
 *
 * @since 0.1.0
 */

/** How many links of a `cause` chain are looked at. */
const MAX_DEPTH = 4

/** Socket error codes of Node and undici that mean the connection was cut, reset or refused. */
const CUT_CODES: ReadonlySet<string> = new Set([
  "ECONNRESET",
  "ECONNABORTED",
  "ECONNREFUSED",
  "EPIPE",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED"
])

/** `cause`, its `cause`, and so on: the objects of the chain, at most {@link MAX_DEPTH}. */
const chain = (cause: unknown): Array<object> => {
  const links: Array<object> = []
  for (let current = cause; links.length < MAX_DEPTH && typeof current === "object" && current !== null;) {
    links.push(current)
    current = (current as { cause?: unknown }).cause
  }
  return links
}

/**
 * The first string `code` along the `cause` chain (`"ECONNRESET"`,
 * `"UND_ERR_SOCKET"`…), to name a transport failure in a message.
 *
 * @since 0.1.0
 * @category parsing
 */
export const causeCode = (cause: unknown): string | undefined => {
  for (const link of chain(cause)) {
    const code = (link as { code?: unknown }).code
    if (typeof code === "string") return code
  }
  return undefined
}

/**
 * Whether an `Error` says the connection was lost: undici's
 * `TypeError: terminated` (the body was cut mid-stream) anywhere along its
 * `cause` chain, or a socket code there (`ECONNRESET`, `ECONNABORTED`,
 * `ECONNREFUSED`, `EPIPE`, `UND_ERR_SOCKET`, `UND_ERR_CLOSED`). Such a
 * failure is the transport's, not the request's, and is worth another
 * attempt. Four links of the chain are looked at; any object with a `code`
 * counts as a link.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isConnectionCut = (cause: unknown): boolean =>
  cause instanceof Error &&
  chain(cause).some((link) => {
    const code = (link as { code?: unknown }).code
    return (link instanceof Error && link.message === "terminated") || (typeof code === "string" && CUT_CODES.has(code))
  })

/**
 * Whether an error is undici's `TypeError: fetch failed`: no response came at
 * all (refused, reset before the headers, DNS, TLS, connect timeout).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isFetchFailed = (cause: unknown): boolean =>
  cause instanceof Error && cause.name === "TypeError" && cause.message === "fetch failed"
