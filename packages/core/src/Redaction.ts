/**
 * For adapter authors: keeping an API key out of everything an adapter
 * produces — the messages of its `LlmError`s, `LlmError.Unknown.cause`, and
 * the log lines of the provider's SDK.
 *
 * An adapter builds one {@link Scrub} from the secrets it knows, passes every
 * message it writes through it, keeps {@link sanitizeCause} copies (never the
 * original error) in `Unknown.cause`, and hands {@link scrubbingLogger} to an
 * SDK that takes a logger.
 *
 * @example
 * ```ts
 * import { Redaction } from "@streamvisor/core"
 *
 * declare const apiKey: string, client: { apiKey: string | null }, thrown: unknown
 * const scrub = Redaction.makeScrub(() => [apiKey, client.apiKey])
 * scrub(`401 for Bearer ${apiKey}`) // "401 for <redacted>"
 *
 * const cause = Redaction.sanitizeCause(thrown, scrub) // for `LlmError.Unknown`
 * const logger = Redaction.scrubbingLogger(scrub) // for the SDK's `logger` option
 * ```
 *
 * @since 0.1.0
 */
import { inspect } from "node:util"

/**
 * Removes every secret from a text.
 *
 * @since 0.1.0
 * @category models
 */
export type Scrub = (text: string) => string

/**
 * What a secret is replaced with.
 *
 * @since 0.1.0
 * @category constants
 */
export const REDACTED = "<redacted>"

/**
 * Secrets shorter than this are left alone: they would redact ordinary words,
 * and real keys are much longer.
 *
 * @since 0.1.0
 * @category constants
 */
export const MIN_SECRET_LENGTH = 8

/**
 * @since 0.1.0
 * @category models
 */
export interface ScrubOptions {
  /**
   * Keep the word `Bearer` in front of a redacted token, writing
   * `Bearer <redacted>` rather than `<redacted>` (default `false`).
   */
  readonly keepBearer?: boolean | undefined
}

/** `Bearer <token>` for any token, known or not (a user's own client may hold a key we were never given). */
const BEARER = /\bBearer\s+[^\s"',;]+/gi

/**
 * A scrub that replaces, in any text, every secret (`Bearer <secret>` and the
 * bare secret) and any other `Bearer <token>` with `<redacted>`.
 *
 * `secrets` is read at each call, so a key held by a user's own client, or
 * rotated in later, is covered too; `null`, `undefined` and values shorter
 * than {@link MIN_SECRET_LENGTH} are skipped.
 *
 * @example
 * ```ts
 * import { Redaction } from "@streamvisor/core"
 *
 * const scrub = Redaction.makeScrub(() => ["sk-0123456789"])
 * scrub("a Bearer sk-0123456789 b sk-0123456789") // "a <redacted> b <redacted>"
 * Redaction.makeScrub(() => ["sk-0123456789"], { keepBearer: true })("Bearer sk-0123456789") // "Bearer <redacted>"
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeScrub = (
  secrets: () => ReadonlyArray<string | null | undefined>,
  options: ScrubOptions = {}
): Scrub => {
  const bearer = options.keepBearer === true ? `Bearer ${REDACTED}` : REDACTED
  return (text) => {
    for (const secret of secrets()) {
      if (typeof secret !== "string" || secret.length < MIN_SECRET_LENGTH || !text.includes(secret)) continue
      text = text.split(`Bearer ${secret}`).join(bearer).split(secret).join(REDACTED)
    }
    return text.replace(BEARER, bearer)
  }
}

/** How deep a `cause` chain is copied. */
const MAX_CAUSE_DEPTH = 3

/**
 * The fields of an error that are copied: what SDKs put on their errors to
 * tell them apart (HTTP status, error type and code, request id, Gemini's
 * `errorDetails`). Strings are scrubbed; objects become scrubbed text.
 */
const FIELDS = ["status", "statusText", "type", "code", "requestID", "errorDetails"] as const

/** A text for a value that is neither an `Error` nor a primitive: its JSON, else `util.inspect`. */
const render = (value: unknown): string => {
  try {
    const json = JSON.stringify(value)
    if (json !== undefined) return json
  } catch {
    // a cycle or a BigInt inside: inspect handles both
  }
  return inspect(value, { depth: 4, breakLength: Infinity })
}

const sanitize = (cause: unknown, scrub: Scrub, depth: number): unknown => {
  if (!(cause instanceof Error)) {
    if (
      cause === null || cause === undefined || typeof cause === "number" || typeof cause === "boolean" ||
      typeof cause === "bigint"
    ) {
      return cause
    }
    return scrub(typeof cause === "string" ? cause : render(cause))
  }
  const copy = new Error(scrub(cause.message))
  copy.name = cause.name
  copy.stack = cause.stack === undefined ? undefined : scrub(cause.stack)
  const source = cause as Error & Record<string, unknown>
  const target = copy as Error & Record<string, unknown>
  for (const key of FIELDS) {
    const value = source[key]
    if (typeof value === "number") target[key] = value
    else if (value !== undefined && value !== null) target[key] = sanitize(value, scrub, depth + 1)
  }
  if (source.cause !== undefined && depth < MAX_CAUSE_DEPTH) target.cause = sanitize(source.cause, scrub, depth + 1)
  return copy
}

/**
 * A copy of a thrown value that is safe to keep in `LlmError.Unknown.cause`,
 * never the original (which may reference the client, the request or its
 * headers):
 *
 * - an `Error` becomes a new `Error` with the same `name`, the scrubbed
 *   `message` and `stack`, the SDK's `status`, `statusText`, `type`, `code`,
 *   `requestID` and `errorDetails` when present (scrubbed), and the
 *   sanitized `cause` chain (three levels deep); nothing else;
 * - a string is scrubbed; `null`, `undefined`, numbers, booleans and bigints
 *   are kept; anything else becomes its scrubbed JSON (or `util.inspect` text).
 *
 * @example
 * ```ts
 * import { LlmError, Redaction } from "@streamvisor/core"
 *
 * const unknown = (cause: unknown, scrub: Redaction.Scrub) =>
 *   new LlmError.Unknown({ provider: "acme", message: scrub(String(cause)), cause: Redaction.sanitizeCause(cause, scrub) })
 * ```
 *
 * @since 0.1.0
 * @category sanitising
 */
export const sanitizeCause = (cause: unknown, scrub: Scrub): unknown => sanitize(cause, scrub, 0)

type LogFn = (message: string, ...rest: Array<unknown>) => void

/**
 * The logger shape the Anthropic and OpenAI SDKs take (`ClientOptions.logger`).
 *
 * @since 0.1.0
 * @category models
 */
export interface SdkLogger {
  readonly error: LogFn
  readonly warn: LogFn
  readonly info: LogFn
  readonly debug: LogFn
}

const scrubArgument = (value: unknown, scrub: Scrub): unknown => {
  if (typeof value === "string") return scrub(value)
  if (value instanceof Error) return sanitizeCause(value, scrub)
  if (typeof value === "object" && value !== null) {
    const text = inspect(value, { depth: 6, breakLength: Infinity })
    const clean = scrub(text)
    return clean === text ? value : clean
  }
  return value
}

/**
 * An SDK logger for the clients an adapter builds: `console`, looked up at
 * each call, with every argument scrubbed (SDKs log the raw frames they cannot
 * parse, and request details at debug level). Strings are scrubbed, errors
 * replaced by their {@link sanitizeCause} copy, and an object whose
 * `util.inspect` text holds a secret by that text, scrubbed. The SDK's own
 * level (`ANTHROPIC_LOG`, `OPENAI_LOG`, default "warn") still applies.
 *
 * @example
 * ```ts
 * import { Redaction } from "@streamvisor/core"
 * import OpenAI from "openai"
 *
 * declare const apiKey: string
 * const scrub = Redaction.makeScrub(() => [apiKey])
 * const client = new OpenAI({ apiKey, logger: Redaction.scrubbingLogger(scrub) })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const scrubbingLogger = (scrub: Scrub): SdkLogger => {
  const level = (name: keyof SdkLogger): LogFn => (message, ...rest) => {
    console[name](scrub(String(message)), ...rest.map((value) => scrubArgument(value, scrub)))
  }
  return { error: level("error"), warn: level("warn"), info: level("info"), debug: level("debug") }
}
