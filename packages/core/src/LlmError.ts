/**
 * Every way a provider stream can fail, as tagged errors.
 *
 * Each error carries the `provider` it came from and whether a policy may try
 * again (`retryable`). Messages are written by the adapters and never contain
 * the API key.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"

interface Common {
  readonly provider: string
  readonly message?: string | undefined
}

const withMessage = <P extends Common>(props: P, fallback: string): P & { readonly message: string } => ({
  ...props,
  message: props.message ?? `${props.provider}: ${fallback}`
})

/**
 * The provider refused for rate or quota reasons (HTTP 429). `retryAfter` is the
 * provider's own hint, when it gave one; `retry` waits at least that long.
 *
 * @since 0.1.0
 */
export class RateLimited extends Data.TaggedError("RateLimited")<{
  readonly provider: string
  readonly message: string
  readonly retryAfter?: Duration.Duration | undefined
}> {
  readonly retryable: boolean = true
  constructor(props: Common & { readonly retryAfter?: Duration.Duration | undefined }) {
    super(withMessage(props, "rate limited"))
  }
}

/**
 * The provider is overloaded (Anthropic 529 / `overloaded_error`, Gemini 503 in a chunk).
 *
 * @since 0.1.0
 */
export class Overloaded extends Data.TaggedError("Overloaded")<{
  readonly provider: string
  readonly message: string
}> {
  readonly retryable: boolean = true
  constructor(props: Common) {
    super(withMessage(props, "overloaded"))
  }
}

/**
 * The key was missing, wrong or not allowed (HTTP 401 / 403).
 *
 * @since 0.1.0
 */
export class Unauthorized extends Data.TaggedError("Unauthorized")<{
  readonly provider: string
  readonly message: string
  readonly status?: number | undefined
}> {
  readonly retryable: boolean = false
  constructor(props: Common & { readonly status?: number | undefined }) {
    super(withMessage(props, "unauthorized"))
  }
}

/**
 * The request was refused as invalid: by our own `ChatRequest` schema before any
 * connection opened, or by the provider (HTTP 400, 404, 413, 422).
 *
 * @since 0.1.0
 */
export class InvalidRequest extends Data.TaggedError("InvalidRequest")<{
  readonly provider: string
  readonly message: string
  readonly status?: number | undefined
}> {
  readonly retryable: boolean = false
  constructor(props: Common & { readonly status?: number | undefined }) {
    super(withMessage(props, "invalid request"))
  }
}

/**
 * The provider failed on its side (HTTP 5xx other than 529).
 *
 * @since 0.1.0
 */
export class ServerError extends Data.TaggedError("ServerError")<{
  readonly provider: string
  readonly message: string
  readonly status: number
}> {
  readonly retryable: boolean = true
  constructor(props: Common & { readonly status: number }) {
    super(withMessage(props, `server error (HTTP ${props.status})`))
  }
}

/**
 * A `timeouts` policy gave up: no first event in time, no event for too long
 * while streaming (keepalives do not count), or the whole stream took too long.
 *
 * @since 0.1.0
 */
export class Timeout extends Data.TaggedError("Timeout")<{
  readonly provider: string
  readonly message: string
  readonly phase: "first-token" | "idle" | "total"
}> {
  readonly retryable: boolean = true
  constructor(props: Common & { readonly phase: "first-token" | "idle" | "total" }) {
    super(withMessage(props, `timed out (${props.phase})`))
  }
}

/**
 * The connection ended before the provider's terminal event: a reset, a cut, or
 * a body that simply stopped. Never reported as a normal finish.
 *
 * @since 0.1.0
 */
export class Disconnected extends Data.TaggedError("Disconnected")<{
  readonly provider: string
  readonly message: string
}> {
  readonly retryable: boolean = true
  constructor(props: Common) {
    super(withMessage(props, "disconnected before the end of the stream"))
  }
}

/**
 * A frame could not be understood: malformed JSON, an oversized line, an
 * unexpected shape.
 *
 * @since 0.1.0
 */
export class ProtocolError extends Data.TaggedError("ProtocolError")<{
  readonly provider: string
  readonly message: string
}> {
  readonly retryable: boolean = false
  constructor(props: Common) {
    super(withMessage(props, "malformed frame"))
  }
}

/**
 * Anything else. `cause` is what was thrown.
 *
 * @since 0.1.0
 */
export class Unknown extends Data.TaggedError("Unknown")<{
  readonly provider: string
  readonly message: string
  readonly cause: unknown
}> {
  readonly retryable: boolean = false
  constructor(props: Common & { readonly cause: unknown }) {
    super(withMessage(props, "unknown error"))
  }
}

/**
 * @since 0.1.0
 */
export type LlmError =
  | RateLimited
  | Overloaded
  | Unauthorized
  | InvalidRequest
  | ServerError
  | Timeout
  | Disconnected
  | ProtocolError
  | Unknown

const tags: ReadonlySet<string> = new Set([
  "RateLimited",
  "Overloaded",
  "Unauthorized",
  "InvalidRequest",
  "ServerError",
  "Timeout",
  "Disconnected",
  "ProtocolError",
  "Unknown"
])

/**
 * @since 0.1.0
 * @category guards
 */
export const isLlmError = (u: unknown): u is LlmError =>
  typeof u === "object" && u !== null && "_tag" in u && tags.has((u as { _tag: string })._tag) &&
  "provider" in u

/**
 * Whether a policy may try again after this error.
 *
 * @since 0.1.0
 */
export const isRetryable = (error: LlmError): boolean => error.retryable

/**
 * Map an HTTP status (and the provider's error type, when known) onto an
 * `LlmError`. Adapters use it so every provider classifies the same way.
 *
 * @since 0.1.0
 */
export const fromStatus = (options: {
  readonly provider: string
  readonly status: number
  readonly message?: string | undefined
  readonly retryAfter?: Duration.Duration | undefined
  readonly type?: string | undefined
}): LlmError => {
  const { message, provider, retryAfter, status, type } = options
  if (type === "overloaded_error" || status === 529) return new Overloaded({ provider, message })
  if (status === 429) return new RateLimited({ provider, message, retryAfter })
  if (status === 401 || status === 403) return new Unauthorized({ provider, message, status })
  if (status === 408) return new Timeout({ provider, message, phase: "total" })
  if (status >= 500) return new ServerError({ provider, message, status })
  if (status >= 400) return new InvalidRequest({ provider, message, status })
  return new Unknown({ provider, message, cause: { status } })
}
