/**
 * Every way a provider stream can fail, as tagged errors.
 *
 * Each error carries the `provider` it came from and whether a policy may try
 * again (`retryable`). Messages are written by the adapters and never contain
 * the API key.
 *
 * The errors are `Schema.TaggedError`s, so they cross a process boundary: the
 * {@link LlmError} schema encodes and decodes every member. `retryAfter` is
 * encoded as milliseconds, `Unknown.cause` as a plain, sanitised value (see
 * {@link SanitizedCause}); `retryable` is not encoded, each class sets it.
 *
 * @example
 * ```ts
 * import { LlmError } from "@streamvisor/core"
 * import { Duration, Schema } from "effect"
 *
 * const error = new LlmError.RateLimited({ provider: "openai", retryAfter: Duration.seconds(2) })
 * const wire = Schema.encodeSync(LlmError.LlmError)(error)
 * // { _tag: "RateLimited", provider: "openai", message: "openai: rate limited", retryAfter: 2000 }
 * const back = Schema.decodeUnknownSync(LlmError.LlmError)(wire)
 * LlmError.isLlmError(back) // true
 * ```
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Cause from "./internal/sanitizedCause.js"

/**
 * @since 0.2.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@streamvisor/core/LlmError")

/**
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * What every constructor takes: `message` defaults to `"<provider>: <what>"`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Common {
  readonly provider: string
  readonly message?: string | undefined
}

type MakeOptions = Schema.MakeOptions | undefined

const withMessage = <P extends Common>(props: P, fallback: string): P & { readonly message: string } => ({
  ...props,
  message: props.message ?? `${props.provider}: ${fallback}`
})

/**
 * `Unknown.cause` on the wire: an `Error` (as `Redaction.sanitizeCause` copies
 * it) becomes `{ name, message }` plus the SDK fields that copy keeps
 * (`status`, `code`, `type`, …) and its `cause` chain, never its stack;
 * strings, numbers, booleans and `null` stay as they are; anything else
 * becomes text. Decoding gives an `Error` back for an encoded error.
 *
 * @since 0.2.0
 * @category schemas
 */
export const SanitizedCause: Schema.Schema<unknown, unknown> = Cause.SanitizedCause

/**
 * The provider refused for rate or quota reasons (HTTP 429). `retryAfter` is the
 * provider's own hint, when it gave one; `retry` waits at least that long.
 *
 * @since 0.1.0
 * @category errors
 */
export class RateLimited extends Schema.TaggedError<RateLimited>("@streamvisor/core/LlmError/RateLimited")(
  "RateLimited",
  { provider: Schema.String, message: Schema.String, retryAfter: Schema.optional(Schema.DurationFromMillis) }
) {
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId
  readonly retryable: boolean = true
  constructor(props: Common & { readonly retryAfter?: RateLimited["retryAfter"] }, options?: MakeOptions) {
    super(withMessage(props, "rate limited"), options)
  }
}

/**
 * The provider is overloaded (Anthropic 529 / `overloaded_error`, Gemini 503 in a chunk).
 *
 * @since 0.1.0
 * @category errors
 */
export class Overloaded extends Schema.TaggedError<Overloaded>("@streamvisor/core/LlmError/Overloaded")(
  "Overloaded",
  { provider: Schema.String, message: Schema.String }
) {
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId
  readonly retryable: boolean = true
  constructor(props: Common, options?: MakeOptions) {
    super(withMessage(props, "overloaded"), options)
  }
}

/**
 * The key was missing, wrong or not allowed (HTTP 401 / 403).
 *
 * @since 0.1.0
 * @category errors
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>("@streamvisor/core/LlmError/Unauthorized")(
  "Unauthorized",
  { provider: Schema.String, message: Schema.String, status: Schema.optional(Schema.Number) }
) {
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId
  readonly retryable: boolean = false
  constructor(props: Common & { readonly status?: number | undefined }, options?: MakeOptions) {
    super(withMessage(props, "unauthorized"), options)
  }
}

/**
 * The request was refused as invalid: by our own `ChatRequest` schema before any
 * connection opened, or by the provider (HTTP 400, 404, 413, 422).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>("@streamvisor/core/LlmError/InvalidRequest")(
  "InvalidRequest",
  { provider: Schema.String, message: Schema.String, status: Schema.optional(Schema.Number) }
) {
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId
  readonly retryable: boolean = false
  constructor(props: Common & { readonly status?: number | undefined }, options?: MakeOptions) {
    super(withMessage(props, "invalid request"), options)
  }
}

/**
 * The provider failed on its side (HTTP 5xx other than 529).
 *
 * @since 0.1.0
 * @category errors
 */
export class ServerError extends Schema.TaggedError<ServerError>("@streamvisor/core/LlmError/ServerError")(
  "ServerError",
  { provider: Schema.String, message: Schema.String, status: Schema.Number }
) {
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId
  readonly retryable: boolean = true
  constructor(props: Common & { readonly status: number }, options?: MakeOptions) {
    super(withMessage(props, `server error (HTTP ${props.status})`), options)
  }
}

/**
 * Which deadline a `Timeout` missed.
 *
 * @since 0.2.0
 * @category models
 */
export type TimeoutPhase = "first-token" | "idle" | "total"

/**
 * A `timeouts` policy gave up: no first event in time, no event for too long
 * while streaming (keepalives do not count), or the whole stream took too long.
 *
 * @since 0.1.0
 * @category errors
 */
export class Timeout extends Schema.TaggedError<Timeout>("@streamvisor/core/LlmError/Timeout")(
  "Timeout",
  { provider: Schema.String, message: Schema.String, phase: Schema.Literal("first-token", "idle", "total") }
) {
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId
  readonly retryable: boolean = true
  constructor(props: Common & { readonly phase: TimeoutPhase }, options?: MakeOptions) {
    super(withMessage(props, `timed out (${props.phase})`), options)
  }
}

/**
 * The connection ended before the provider's terminal event: a reset, a cut, or
 * a body that simply stopped. Never reported as a normal finish.
 *
 * @since 0.1.0
 * @category errors
 */
export class Disconnected extends Schema.TaggedError<Disconnected>("@streamvisor/core/LlmError/Disconnected")(
  "Disconnected",
  { provider: Schema.String, message: Schema.String }
) {
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId
  readonly retryable: boolean = true
  constructor(props: Common, options?: MakeOptions) {
    super(withMessage(props, "disconnected before the end of the stream"), options)
  }
}

/**
 * A frame could not be understood: malformed JSON, an oversized line, an
 * unexpected shape.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProtocolError extends Schema.TaggedError<ProtocolError>("@streamvisor/core/LlmError/ProtocolError")(
  "ProtocolError",
  { provider: Schema.String, message: Schema.String }
) {
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId
  readonly retryable: boolean = false
  constructor(props: Common, options?: MakeOptions) {
    super(withMessage(props, "malformed frame"), options)
  }
}

/**
 * Anything else. `cause` is a sanitised copy of what was thrown
 * (`Redaction.sanitizeCause`), never the original.
 *
 * @since 0.1.0
 * @category errors
 */
export class Unknown extends Schema.TaggedError<Unknown>("@streamvisor/core/LlmError/Unknown")(
  "Unknown",
  { provider: Schema.String, message: Schema.String, cause: Cause.SanitizedCause }
) {
  /** @since 0.2.0 */
  readonly [TypeId]: TypeId = TypeId
  readonly retryable: boolean = false
  constructor(props: Common & { readonly cause: unknown }, options?: MakeOptions) {
    super(withMessage(props, "unknown error"), options)
  }
}

/**
 * The schema of every `LlmError`: encode one to send it to another process,
 * decode it there.
 *
 * @since 0.2.0
 * @category schemas
 */
export const LlmError = Schema.Union(
  RateLimited,
  Overloaded,
  Unauthorized,
  InvalidRequest,
  ServerError,
  Timeout,
  Disconnected,
  ProtocolError,
  Unknown
)

/**
 * @since 0.1.0
 * @category models
 */
export type LlmError = typeof LlmError.Type

/**
 * An `LlmError` as it travels: plain JSON.
 *
 * @since 0.2.0
 * @category models
 */
export type Encoded = typeof LlmError.Encoded

/**
 * Whether a value is an `LlmError` (of this or any other copy of core: the
 * type id is a global symbol).
 *
 * @since 0.1.0
 * @category guards
 */
export const isLlmError = (u: unknown): u is LlmError => Predicate.hasProperty(u, TypeId)

/**
 * Whether a policy may try again after this error.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryable = (error: LlmError): boolean => error.retryable

/**
 * Map an HTTP status (and the provider's error type, when known) onto an
 * `LlmError`. Adapters use it so every provider classifies the same way.
 *
 * @example
 * ```ts
 * import { LlmError } from "@streamvisor/core"
 *
 * LlmError.fromStatus({ provider: "acme", status: 429 })._tag // "RateLimited"
 * LlmError.fromStatus({ provider: "acme", status: 503, type: "overloaded_error" })._tag // "Overloaded"
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromStatus = (options: {
  readonly provider: string
  readonly status: number
  readonly message?: string | undefined
  readonly retryAfter?: RateLimited["retryAfter"]
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
