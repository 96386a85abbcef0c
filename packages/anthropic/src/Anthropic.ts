/**
 * The Anthropic provider: streams from the Messages API through
 * `@anthropic-ai/sdk`, releasing the connection exactly once whatever ends the
 * stream.
 *
 * @since 0.1.0
 */
import AnthropicSdk from "@anthropic-ai/sdk"
import { acquire, Provider, Redaction } from "@streamvisor/core"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Decoder from "./internal/Decoder.js"
import { mapError, PROVIDER } from "./internal/Errors.js"
import { capabilities, DEFAULT_MAX_TOKENS, prepare } from "./internal/Request.js"

/**
 * @since 0.1.0
 */
export interface Options {
  /**
   * The API key, kept `Redacted` and unwrapped only to build the SDK client.
   * Not needed when `client` is given.
   */
  readonly apiKey?: string | Redacted.Redacted<string> | undefined
  /** The API host as the SDK takes it, without `/v1` (the SDK adds it). */
  readonly baseURL?: string | undefined
  /**
   * A ready-made SDK client, so one connection pool serves every session. Its
   * own `maxRetries` applies: set it to 0 and let the `retry` policy retry.
   */
  readonly client?: AnthropicSdk | undefined
  /** `max_tokens` for requests without `maxTokens`: Anthropic requires one. Default 4096. */
  readonly defaultMaxTokens?: number | undefined
}

/**
 * Make the Anthropic provider. When it builds its own SDK client it sets
 * `maxRetries: 0`: retries belong to the `retry` policy.
 *
 * Streams go through `messages.create({ …, stream: true }, { signal })`, the
 * raw event stream, never `messages.stream()` (which reads the whole body in
 * the background). Errors arrive as `LlmError`s whose messages never contain
 * the key; a client built here also scrubs the key from the SDK's own log
 * lines.
 *
 * @example
 * ```ts
 * import { Anthropic } from "@streamvisor/anthropic"
 * import { Provider } from "@streamvisor/core"
 * import { Effect, Redacted } from "effect"
 *
 * const claude = Anthropic.make({ apiKey: Redacted.make(process.env.ANTHROPIC_API_KEY!) })
 *
 * const program = Effect.gen(function*() {
 *   const answer = yield* claude.generate({
 *     model: "claude-sonnet-4-5",
 *     maxTokens: 1024,
 *     messages: [{ role: "user", content: "Hi" }]
 *   })
 *   console.log(answer.text, answer.usage)
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Provider.Provider => {
  const defaultMaxTokens = options.defaultMaxTokens ?? DEFAULT_MAX_TOKENS
  if (!Number.isInteger(defaultMaxTokens) || defaultMaxTokens <= 0) {
    throw new RangeError(`${PROVIDER}: defaultMaxTokens must be a positive integer, got ${defaultMaxTokens}`)
  }
  const apiKey = options.apiKey === undefined
    ? undefined
    : Redacted.isRedacted(options.apiKey)
    ? options.apiKey
    : Redacted.make(options.apiKey)
  // Secrets are read when something is scrubbed, so the key a user's client
  // holds (or that a key function rotated in) is covered too. The scrub exists
  // before the client because the client's logger uses it.
  const holder: { client?: AnthropicSdk } = {}
  const scrub = Redaction.makeScrub(() => [
    apiKey === undefined ? undefined : Redacted.value(apiKey),
    holder.client?.apiKey,
    holder.client?.authToken
  ])
  const sdk = holder.client = options.client ?? new AnthropicSdk({
    apiKey: apiKey === undefined ? undefined : Redacted.value(apiKey),
    baseURL: options.baseURL,
    maxRetries: 0,
    logger: Redaction.scrubbingLogger(scrub)
  })
  const classify = mapError(scrub)
  const decoder = Decoder.make(scrub)

  return Provider.make({
    name: PROVIDER,
    capabilities,
    stream: (request) => {
      // The API's own rules (temperature range, thinking constraints…) fail here, before connecting.
      const prepared = prepare(request, defaultMaxTokens)
      if (Either.isLeft(prepared)) return Stream.fail(prepared.left)
      const { outputTool, params } = prepared.right
      return acquire({
        provider: PROVIDER,
        model: request.model,
        open: (signal) => sdk.messages.create(params, { signal }),
        decoder: outputTool === undefined ? decoder : Decoder.make(scrub, outputTool),
        mapError: classify
      })
    }
  })
}

/**
 * The provider as a layer for `Provider.LlmProvider`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Provider.LlmProvider> =>
  Layer.sync(Provider.LlmProvider, () => make(options))

/**
 * The provider as a layer whose key is read through `effect/Config` from
 * `ANTHROPIC_API_KEY` (and, unless `baseURL` is given, the host from
 * `ANTHROPIC_BASE_URL` when set).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Omit<Options, "apiKey" | "client"> = {}
): Layer.Layer<Provider.LlmProvider, ConfigError.ConfigError> =>
  Layer.effect(
    Provider.LlmProvider,
    Effect.gen(function*() {
      const apiKey = yield* Config.redacted("ANTHROPIC_API_KEY")
      const baseURL = options.baseURL ?? Option.getOrUndefined(
        yield* Config.option(Config.string("ANTHROPIC_BASE_URL"))
      )
      return make({ ...options, apiKey, baseURL })
    })
  )
