/**
 * Keeping the API key out of everything the adapter produces: error messages,
 * `Unknown.cause`, and the SDK's own log lines.
 *
 * @internal
 */

/** @internal */
export type Scrub = (text: string) => string

/**
 * A scrub that replaces every secret the client holds (`Bearer <secret>` and
 * the bare secret) with `<redacted>`. Secrets are read when an error happens,
 * so a user's own client is covered too.
 *
 * @internal
 */
export const makeScrub = (secrets: () => ReadonlyArray<string | null | undefined>): Scrub => (text) => {
  for (const secret of secrets()) {
    // Short values would redact ordinary words; real keys are long.
    if (typeof secret !== "string" || secret.length < 8) continue
    if (text.includes(secret)) {
      text = text.split(`Bearer ${secret}`).join("<redacted>").split(secret).join("<redacted>")
    }
  }
  return text
}

/**
 * A copy of `cause` safe to keep in `Unknown.cause`: an `Error` with the same
 * name, scrubbed message and stack, the SDK's `status`, `type` and `requestID`,
 * and a sanitized `cause` chain; never the original, which may reference
 * request state.
 *
 * @internal
 */
export const sanitize = (cause: unknown, scrub: Scrub, depth = 0): unknown => {
  if (!(cause instanceof Error)) {
    if (cause === null || cause === undefined || typeof cause === "number" || typeof cause === "boolean") {
      return cause
    }
    let text: string
    try {
      text = typeof cause === "string" ? cause : JSON.stringify(cause)
    } catch {
      text = String(cause)
    }
    return scrub(text)
  }
  const copy = new Error(scrub(cause.message))
  copy.name = cause.name
  copy.stack = cause.stack === undefined ? undefined : scrub(cause.stack)
  const source = cause as Error & { status?: unknown; type?: unknown; requestID?: unknown; code?: unknown }
  const target = copy as Error & Record<string, unknown>
  for (const key of ["status", "type", "requestID", "code"] as const) {
    const value = source[key]
    if (typeof value === "string") target[key] = scrub(value)
    else if (typeof value === "number") target[key] = value
  }
  if (source.cause !== undefined && depth < 3) target.cause = sanitize(source.cause, scrub, depth + 1)
  return copy
}

type LogFn = (message: string, ...rest: Array<unknown>) => void

/** The logger shape `@anthropic-ai/sdk` takes (`ClientOptions.logger`). */
export interface SdkLogger {
  readonly error: LogFn
  readonly warn: LogFn
  readonly info: LogFn
  readonly debug: LogFn
}

const scrubArgument = (value: unknown, scrub: Scrub): unknown => {
  if (typeof value === "string") return scrub(value)
  if (Array.isArray(value)) return value.map((item) => (typeof item === "string" ? scrub(item) : item))
  if (value instanceof Error) return sanitize(value, scrub)
  return value
}

/**
 * The SDK's logger for clients the adapter builds: `console`, looked up at
 * each call, with strings (the SDK logs raw frames it cannot parse) scrubbed.
 * The SDK's level (`ANTHROPIC_LOG`, default "warn") still applies.
 *
 * @internal
 */
export const scrubbingLogger = (scrub: Scrub): SdkLogger => {
  const level = (name: keyof SdkLogger): LogFn => (message, ...rest) => {
    console[name](scrub(String(message)), ...rest.map((value) => scrubArgument(value, scrub)))
  }
  return { error: level("error"), warn: level("warn"), info: level("info"), debug: level("debug") }
}
