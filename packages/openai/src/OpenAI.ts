/**
 * The OpenAI adapter: streams from the Chat Completions API (default) or the
 * Responses API through the official `openai` SDK, with every stream opened by
 * `acquire` so that its connection is released exactly once.
 *
 * @since 0.1.0
 */
import { acquire, LlmError, Provider, Redaction } from "@streamvisor/core"
import type { ChatRequest, StreamEvent } from "@streamvisor/core"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import OpenAIClient from "openai"
import * as Chat from "./internal/Chat.js"
import { makeScrub, mapError, PROVIDER } from "./internal/Errors.js"
import * as Responses from "./internal/Responses.js"

/**
 * Which OpenAI API to stream from.
 *
 * @since 0.1.0
 */
export type Api = "chat" | "responses"

/**
 * @since 0.1.0
 */
export interface CommonOptions {
  /**
   * `"chat"` (default): `POST /chat/completions`, which OpenAI-compatible
   * servers also speak. `"responses"`: `POST /responses`; it has no stop
   * sequences, so a request with `stop` fails with `InvalidRequest`.
   */
  readonly api?: Api | undefined
  /**
   * The Chat Completions body field that carries `maxTokens`. Default
   * `"max_completion_tokens"`: OpenAI's current name, the only one its
   * reasoning models (o-series, gpt-5) accept. Use `"max_tokens"` for
   * OpenAI-compatible servers that only know the older name. Responses always
   * sends `max_output_tokens`.
   */
  readonly maxTokensParameter?: "max_completion_tokens" | "max_tokens" | undefined
}

/**
 * Options when the adapter builds its own SDK client.
 *
 * @since 0.1.0
 */
export interface KeyOptions extends CommonOptions {
  /** Stored as `Redacted`; unwrapped only to build the SDK client. */
  readonly apiKey: string | Redacted.Redacted<string>
  /** As the SDK takes it, including `/v1` (e.g. `http://127.0.0.1:8080/v1`). Default: the SDK's (`OPENAI_BASE_URL` or api.openai.com). */
  readonly baseURL?: string | undefined
  /** Sent as `OpenAI-Organization`. Default: the SDK's (`OPENAI_ORG_ID`). */
  readonly organization?: string | undefined
  readonly client?: undefined
}

/**
 * Options with a ready-made SDK client (so one connection pool serves every
 * session). Its own key, base URL, retries and fetch options are used as they
 * are: build it with `maxRetries: 0`, or the SDK retries under the `retry`
 * policy. An `apiKey` given here is only used to scrub error messages.
 *
 * @since 0.1.0
 */
export interface ClientOptions extends CommonOptions {
  readonly client: OpenAIClient
  readonly apiKey?: string | Redacted.Redacted<string> | undefined
  readonly baseURL?: undefined
  readonly organization?: undefined
}

/**
 * @since 0.1.0
 */
export type Options = KeyOptions | ClientOptions

const reveal = (key: string | Redacted.Redacted<string> | undefined): string | undefined =>
  key === undefined ? undefined : Redacted.isRedacted(key) ? Redacted.value(key) : key

/**
 * An OpenAI provider (`name: "openai"`).
 *
 * Chat Completions: `system` is the first `system` message, assistant tool
 * calls become `tool_calls`, tool results `tool` messages; usage is asked for
 * with `stream_options.include_usage`. Responses: `system` is `instructions`,
 * tool calls and results become `function_call` / `function_call_output`
 * items. The SDK client the adapter builds has `maxRetries: 0`: retries
 * belong to the `retry` policy.
 *
 * @example
 * ```ts
 * import { OpenAI } from "@streamvisor/openai"
 * import { streamText } from "@streamvisor/core/promise"
 *
 * const gpt = OpenAI.make({ apiKey: process.env.OPENAI_API_KEY! })
 * for await (const event of streamText(gpt, { model: "gpt-4o-mini", messages: [{ role: "user", content: "Hi" }] })) {
 *   if (event._tag === "TextDelta") process.stdout.write(event.text)
 * }
 *
 * // The Responses API, through a server of your own:
 * const responses = OpenAI.make({ apiKey: "sk-…", baseURL: "http://127.0.0.1:8080/v1", api: "responses" })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Provider.Provider => {
  const api: Api = options.api ?? "chat"
  const maxTokensParameter = options.maxTokensParameter ?? "max_completion_tokens"
  const apiKey = options.apiKey === undefined
    ? undefined
    : Redacted.isRedacted(options.apiKey)
    ? options.apiKey
    : Redacted.make(options.apiKey)

  let client: OpenAIClient | undefined = options.client
  const scrub = makeScrub(() => [reveal(apiKey), client?.apiKey])
  const classify = mapError(scrub)
  let unusable: LlmError.LlmError | undefined = undefined
  if (client === undefined) {
    const key = reveal(apiKey)
    if (key === undefined || key === "") {
      unusable = new LlmError.Unauthorized({ provider: PROVIDER, message: `${PROVIDER}: the API key is empty` })
    } else {
      try {
        client = new OpenAIClient({
          apiKey: key,
          baseURL: options.baseURL,
          organization: options.organization,
          maxRetries: 0,
          logger: Redaction.scrubbingLogger(scrub)
        })
      } catch (cause) {
        unusable = classify(cause)
      }
    }
  }

  const chatDecoder = Chat.decoder
  const responsesDecoder = Responses.decoder(scrub)

  const stream = (request: ChatRequest.ChatRequest): Stream.Stream<StreamEvent.StreamEvent, LlmError.LlmError> => {
    if (unusable !== undefined) return Stream.fail(unusable)
    const sdk = client!
    if (api === "responses") {
      const invalid = Responses.checkRequest(request)
      if (invalid !== undefined) return Stream.fail(invalid)
      return acquire({
        provider: PROVIDER,
        model: request.model,
        open: (signal) => sdk.responses.create(Responses.params(request), { signal }),
        decoder: responsesDecoder,
        mapError: classify
      })
    }
    const invalid = Chat.checkRequest(request)
    if (invalid !== undefined) return Stream.fail(invalid)
    return acquire({
      provider: PROVIDER,
      model: request.model,
      open: (signal) => sdk.chat.completions.create(Chat.params(request, maxTokensParameter), { signal }),
      decoder: chatDecoder,
      mapError: classify
    })
  }

  // Each API's table: internal/ChatParams.ts, internal/ResponsesParams.ts.
  const capabilities = api === "responses" ? Responses.capabilities : Chat.capabilities
  return Provider.make({ name: PROVIDER, capabilities, stream })
}

/**
 * The provider as the `LlmProvider` service.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Provider.LlmProvider> =>
  Layer.sync(Provider.LlmProvider, () => make(options))

/**
 * The provider as the `LlmProvider` service, with its key read through
 * `effect/Config`: `OPENAI_API_KEY` (redacted), and `OPENAI_BASE_URL` when
 * `options.baseURL` is not given.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Omit<KeyOptions, "apiKey"> = {}
): Layer.Layer<Provider.LlmProvider, ConfigError.ConfigError> =>
  Layer.effect(
    Provider.LlmProvider,
    Effect.gen(function*() {
      const apiKey = yield* Config.redacted("OPENAI_API_KEY")
      const baseURL = options.baseURL ?? Option.getOrUndefined(yield* Config.option(Config.string("OPENAI_BASE_URL")))
      return make({ ...options, apiKey, baseURL })
    })
  )
