/**
 * The Anthropic provider: streams from the Messages API through
 * `@anthropic-ai/sdk`, releasing the connection exactly once whatever ends the
 * stream.
 *
 * @since 0.1.0
 */
import AnthropicSdk from "@anthropic-ai/sdk"
import { AdapterKit, Provider, Redaction } from "@streamvisor/core"
import * as Config from "effect/Config"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Decoder from "./internal/Decoder.js"
import { mapError, PROVIDER } from "./internal/Errors.js"
import { capabilities, DEFAULT_MAX_TOKENS, prepare } from "./internal/Request.js"
import * as Transport from "./internal/Transport.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * The API key, kept `Redacted` and unwrapped only to build the SDK client.
   * Required unless `client` is given (then only used to scrub messages).
   */
  readonly apiKey?: AdapterKit.ApiKey | undefined
  /** The API host as the SDK takes it, without `/v1` (the SDK adds it). */
  readonly baseURL?: string | undefined
  /**
   * A ready-made SDK client, so one connection pool serves every session. Its
   * own `maxRetries` applies: set it to 0 and let the `retry` policy retry.
   */
  readonly client?: AnthropicSdk | undefined
  /** `max_tokens` for requests without `maxTokens`: Anthropic requires one. Default 4096. */
  readonly defaultMaxTokens?: number | undefined
  /**
   * Who parses the event stream. `"bytes"` (default): the SDK sends the
   * request and classifies HTTP errors, streamvisor reads the body and parses
   * its SSE (~0.7× the raw SDK loop's CPU). `"sdk"`: the SDK's own iterator.
   * Events and errors are the same either way.
   */
  readonly transport?: "bytes" | "sdk" | undefined
}

/** The options `make` checks; the rest are typed well enough by `Options`. */
const OptionsSchema = Schema.Struct({
  defaultMaxTokens: Schema.optional(AdapterKit.PositiveInt)
})

/**
 * Make the Anthropic provider. When it builds its own SDK client it sets
 * `maxRetries: 0`: retries belong to the `retry` policy.
 *
 * Streams go through `messages.create({ …, stream: true }, { signal })`, the
 * raw event stream, never `messages.stream()` (which reads the whole body in
 * the background); by default its body is read as bytes (`transport`). Errors arrive as `LlmError`s whose messages never contain
 * the key; a client built here also scrubs the key from the SDK's own log
 * lines.
 *
 * Bad options (no key and no client, a `defaultMaxTokens` that is not a
 * positive integer) throw `InvalidOptions`.
 *
 * @example
 * ```ts
 * import { Anthropic } from "@streamvisor/anthropic"
 * import { Provider } from "@streamvisor/core"
 * import { Effect, Redacted } from "effect"
 *
 * const claude = Anthropic.make({ apiKey: Redacted.make(process.env.ANTHROPIC_API_KEY!) })
 * const llm: Provider.Provider = claude
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
  const { defaultMaxTokens = DEFAULT_MAX_TOKENS } = AdapterKit.validate(PROVIDER, OptionsSchema, options)
  const apiKey = AdapterKit.keyOf(PROVIDER, options)
  // Secrets are read when something is scrubbed, so the key a user's client
  // holds (or that a key function rotated in) is covered too. The scrub exists
  // before the client because the client's logger uses it.
  const holder: { client?: AnthropicSdk } = {}
  const scrub = AdapterKit.makeScrub(apiKey, () => [holder.client?.apiKey, holder.client?.authToken])
  const sdk = holder.client = options.client ?? new AnthropicSdk({
    apiKey: Redacted.value(apiKey!),
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
      return Transport.stream({
        transport: options.transport ?? "bytes",
        sdk,
        params,
        provider: PROVIDER,
        model: request.model,
        decoder: outputTool === undefined ? decoder : Decoder.make(scrub, outputTool),
        mapError: classify
      })
    }
  })
}

/**
 * The provider as a layer for `Provider.LlmProvider`; bad options fail it with
 * `InvalidOptions`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = AdapterKit.layer(make)

/**
 * The options `layerConfig()` reads when given none: the key from
 * `ANTHROPIC_API_KEY`, the host from `ANTHROPIC_BASE_URL` when set.
 *
 * @since 0.2.0
 * @category layers
 */
export const defaultConfig: { readonly [K in keyof Options]?: Config.Config.Wrap<Options[K]> } = {
  apiKey: Config.redacted("ANTHROPIC_API_KEY"),
  baseURL: AdapterKit.optional(Config.string("ANTHROPIC_BASE_URL"))
}

/**
 * The provider as a layer whose options are read through `effect/Config`.
 * Fields not given come from {@link defaultConfig}.
 *
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = AdapterKit.layerConfig(make, defaultConfig)
