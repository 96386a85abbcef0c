/**
 * The OpenAI adapter: streams from the Chat Completions API (default) or the
 * Responses API through the official `openai` SDK, with every stream opened by
 * `acquire` so that its connection is released exactly once.
 *
 * @since 0.1.0
 */
import { AdapterKit, InvalidOptions, Provider, Redaction } from "@streamvisor/core"
import type { ChatRequest, LlmError, StreamEvent } from "@streamvisor/core"
import * as Config from "effect/Config"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import OpenAIClient from "openai"
import * as Chat from "./internal/Chat.js"
import { mapError, PROVIDER } from "./internal/Errors.js"
import * as Responses from "./internal/Responses.js"
import * as Transport from "./internal/Transport.js"

/**
 * Which OpenAI API to stream from.
 *
 * @since 0.1.0
 * @category models
 */
export type Api = "chat" | "responses"

/**
 * @since 0.1.0
 * @category models
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
  /**
   * Who parses the event stream. `"bytes"` (default): the SDK sends the
   * request and classifies HTTP errors, streamvisor reads the body and parses
   * its SSE (~0.2× the raw SDK loop's CPU). `"sdk"`: the SDK's own iterator.
   * Events and errors are the same either way.
   */
  readonly transport?: "bytes" | "sdk" | undefined
}

/**
 * Options when the adapter builds its own SDK client.
 *
 * @since 0.1.0
 * @category models
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
 * An `openai` SDK client, of any major in the peer range (6 or 7), by the
 * shape the adapter uses: the SDK's classes have private fields, so an
 * `openai` 7 instance is not an `openai` 6 `OpenAI` to TypeScript even where
 * it behaves the same (the peer matrix runs the suite on both).
 *
 * @since 0.3.0
 * @category models
 */
export interface Client {
  readonly apiKey?: unknown
  readonly chat: { readonly completions: { readonly create: (body: never, options?: never) => unknown } }
  readonly responses: { readonly create: (body: never, options?: never) => unknown }
}

/**
 * Options with a ready-made SDK client (so one connection pool serves every
 * session). Its own key, base URL, retries and fetch options are used as they
 * are: build it with `maxRetries: 0`, or the SDK retries under the `retry`
 * policy. An `apiKey` given here is only used to scrub error messages.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClientOptions extends CommonOptions {
  readonly client: Client
  readonly apiKey?: string | Redacted.Redacted<string> | undefined
  readonly baseURL?: undefined
  readonly organization?: undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export type Options = KeyOptions | ClientOptions

/** The options `make` checks beyond their types. */
const OptionsSchema = Schema.Struct({
  api: Schema.optional(
    Schema.Literal("chat", "responses").annotations({ message: () => `must be "chat" or "responses"` })
  ),
  maxTokensParameter: Schema.optional(
    Schema.Literal("max_completion_tokens", "max_tokens").annotations({
      message: () => `must be "max_completion_tokens" or "max_tokens"`
    })
  )
})

/**
 * An OpenAI provider (`name: "openai"`).
 *
 * Chat Completions: `system` is the first `system` message, assistant tool
 * calls become `tool_calls`, tool results `tool` messages; usage is asked for
 * with `stream_options.include_usage`. Responses: `system` is `instructions`,
 * tool calls and results become `function_call` / `function_call_output`
 * items. The SDK client the adapter builds has `maxRetries: 0`: retries
 * belong to the `retry` policy. Bad options (no client and a missing or
 * empty key, an unknown `api`) throw `InvalidOptions`.
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
  const { api = "chat", maxTokensParameter = "max_completion_tokens" } = AdapterKit.validate(
    PROVIDER,
    OptionsSchema,
    options
  )
  const apiKey = AdapterKit.keyOf(PROVIDER, options)
  // the same calls on either major (see `Client`)
  let client = options.client as OpenAIClient | undefined
  const scrub = AdapterKit.makeScrub(apiKey, () => [typeof client?.apiKey === "string" ? client.apiKey : undefined], {
    keepBearer: true
  })
  const classify = mapError(scrub)
  if (client === undefined) {
    try {
      client = new OpenAIClient({
        apiKey: Redacted.value(apiKey!),
        baseURL: options.baseURL,
        organization: options.organization,
        maxRetries: 0,
        logger: Redaction.scrubbingLogger(scrub)
      })
    } catch (cause) {
      throw new InvalidOptions.InvalidOptions({
        provider: PROVIDER,
        option: "options",
        message: scrub(`${PROVIDER}: the SDK refused the options: ${cause instanceof Error ? cause.message : String(cause)}`)
      })
    }
  }

  const transport = options.transport ?? "bytes"
  const chatDecoder = Chat.decoder
  const responsesDecoder = Responses.decoder(scrub)

  const stream = (request: ChatRequest.ChatRequest): Stream.Stream<StreamEvent.StreamEvent, LlmError.LlmError> => {
    const sdk = client!
    if (api === "responses") {
      const invalid = Responses.checkRequest(request)
      if (invalid !== undefined) return Stream.fail(invalid)
      const body = Responses.params(request)
      return Transport.stream({
        transport,
        call: (signal) => sdk.responses.create(body, { signal }),
        provider: PROVIDER,
        model: request.model,
        decoder: responsesDecoder,
        mapError: classify
      })
    }
    const invalid = Chat.checkRequest(request)
    if (invalid !== undefined) return Stream.fail(invalid)
    const body = Chat.params(request, maxTokensParameter)
    return Transport.stream({
      transport,
      call: (signal) => sdk.chat.completions.create(body, { signal }),
      provider: PROVIDER,
      model: request.model,
      decoder: chatDecoder,
      mapError: classify
    })
  }

  // Each API's table: internal/ChatParams.ts, internal/ResponsesParams.ts.
  const capabilities = api === "responses" ? Responses.capabilities : Chat.capabilities
  return Provider.make({ name: PROVIDER, capabilities, stream })
}

/**
 * The provider as the `LlmProvider` service; bad options fail it with
 * `InvalidOptions`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = AdapterKit.layer(make)

/**
 * The options `layerConfig()` reads when given none: the key from
 * `OPENAI_API_KEY` (redacted), the base URL from `OPENAI_BASE_URL` when set.
 *
 * @since 0.2.0
 * @category layers
 */
export const defaultConfig: { readonly [K in keyof KeyOptions]?: Config.Config.Wrap<KeyOptions[K]> } = {
  apiKey: Config.redacted("OPENAI_API_KEY"),
  baseURL: AdapterKit.optional(Config.string("OPENAI_BASE_URL"))
}

/**
 * The provider as the `LlmProvider` service, with its options read through
 * `effect/Config`; fields not given come from {@link defaultConfig}.
 *
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = AdapterKit.layerConfig((options: KeyOptions) => make(options), defaultConfig)
