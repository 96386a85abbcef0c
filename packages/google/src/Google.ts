/**
 * The Gemini adapter: a `Provider` over `@google/generative-ai`'s
 * `generateContentStream`.
 *
 * That SDK needs more care than the others (measured with 0.24.1, see
 * SDK-FACTS.md): it does not close the connection when the loop `break`s or
 * throws, because it keeps reading the body for its aggregated `response`
 * promise; once aborted, that promise rejects and, unhandled, crashes Node; an
 * already aborted signal is ignored; and a `data: {"error":…}` frame is
 * yielded as a chunk rather than thrown. Here every release aborts the request
 * (through `acquire`), `response` is always handled, an aborted signal never
 * reaches the SDK, and error frames become `LlmError`s.
 *
 * @since 0.1.0
 */
import { type GenerateContentRequest, GoogleGenerativeAI, type RequestOptions } from "@google/generative-ai"
import { AdapterKit, LlmError, Provider } from "@streamvisor/core"
import type { ChatRequest, StreamEvent } from "@streamvisor/core"
import * as Config from "effect/Config"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Decoder from "./internal/Decoder.js"
import * as Errors from "./internal/Errors.js"
import { buildBody, capabilities } from "./internal/Request.js"
import * as Transport from "./internal/Transport.js"

/**
 * Options shared by every way of building the adapter.
 *
 * @since 0.1.0
 * @category models
 */
export interface CommonOptions {
  /**
   * The API host, as the SDK's `RequestOptions.baseUrl` takes it: no version
   * path (default `https://generativelanguage.googleapis.com`).
   */
  readonly baseURL?: string | undefined
  /** The API version path segment (the SDK's default is `v1beta`). */
  readonly apiVersion?: string | undefined
  /**
   * Who sends the request and parses the stream. `"bytes"` (default): plain
   * `fetch` built as the SDK builds it, the body read as bytes with
   * backpressure (~0.4× the raw SDK loop's CPU). `"sdk"`: the SDK's
   * `generateContentStream`, which reads the whole body at full speed
   * whatever the consumer does. Events and errors are the same either way.
   */
  readonly transport?: "bytes" | "sdk" | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export type Options = CommonOptions &
  (
    | {
      /** The Gemini API key; kept `Redacted`, unwrapped only to build the SDK client. */
      readonly apiKey: AdapterKit.ApiKey
      /** A ready-made client; when given, `apiKey` is not used. */
      readonly client?: GoogleGenerativeAI | undefined
    }
    | {
      readonly apiKey?: AdapterKit.ApiKey | undefined
      /** A ready-made client, shared by every session (it carries its own key). */
      readonly client: GoogleGenerativeAI
    }
  )

/**
 * The provider name the adapter reports in errors, the ledger and spans.
 *
 * @since 0.1.0
 * @category constants
 */
export const name = "google"

/**
 * Make a Gemini `Provider`.
 *
 * Each stream is one `generateContentStream` call through `acquire`: release
 * aborts the request (closing the socket at once) and the SDK's `response`
 * promise is always handled, so `break`, `take`, interruption and timeouts
 * are prompt and quiet. The SDK never retries; retries belong to the `retry`
 * policy. Do not give the client a `timeout` in request options: use the
 * `timeouts` policy (the SDK's `timeout` is a deadline for the whole stream
 * that is never cleared). No client and a missing or empty key throw
 * `InvalidOptions`.
 *
 * @example
 * ```ts
 * import { Google } from "@streamvisor/google"
 * import { streamText } from "@streamvisor/core/promise"
 *
 * const gemini = Google.make({ apiKey: process.env.GEMINI_API_KEY! })
 * for await (const event of streamText(gemini, {
 *   model: "gemini-2.5-flash",
 *   messages: [{ role: "user", content: "Hi" }]
 * })) {
 *   if (event._tag === "TextDelta") process.stdout.write(event.text)
 * }
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Provider.Provider => {
  const apiKey = AdapterKit.keyOf(name, options)
  const client = options.client ?? new GoogleGenerativeAI(Redacted.value(apiKey!))
  const requestOptions: RequestOptions = {}
  if (options.baseURL !== undefined) requestOptions.baseUrl = options.baseURL.replace(/\/+$/, "")
  if (options.apiVersion !== undefined) requestOptions.apiVersion = options.apiVersion
  const scrub = AdapterKit.makeScrub(apiKey, () => [client.apiKey])
  const mapError = Errors.mapError(scrub)
  const decoder = Decoder.make(scrub)

  const stream = (request: ChatRequest.ChatRequest): Stream.Stream<StreamEvent.StreamEvent, LlmError.LlmError> => {
    const body = buildBody(request)
    if (body instanceof LlmError.InvalidRequest) return Stream.fail(body)
    return Transport.stream({
      transport: options.transport ?? "bytes",
      client,
      requestOptions,
      // Wire JSON the SDK passes through as it is (it only adds `safetySettings: []`).
      body: body as unknown as GenerateContentRequest,
      provider: name,
      model: request.model,
      decoder,
      mapError,
      aborted: () => new LlmError.Disconnected({ provider: name, message: `${name}: aborted before the request was sent` })
    })
  }

  return Provider.make({ name, capabilities, stream })
}

/**
 * A layer providing a Gemini `LlmProvider`; bad options fail it with
 * `InvalidOptions`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = AdapterKit.layer(make)

/**
 * What `layerConfig` reads: the key and the options without a client.
 *
 * @since 0.2.0
 * @category models
 */
export interface ConfigOptions extends CommonOptions {
  readonly apiKey: AdapterKit.ApiKey
}

/**
 * The options `layerConfig()` reads when given none: the key from
 * `GEMINI_API_KEY`.
 *
 * @since 0.2.0
 * @category layers
 */
export const defaultConfig: { readonly [K in keyof ConfigOptions]?: Config.Config.Wrap<ConfigOptions[K]> } = {
  apiKey: Config.redacted("GEMINI_API_KEY")
}

/**
 * A layer whose options are read through `effect/Config`; fields not given
 * come from {@link defaultConfig}.
 *
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = AdapterKit.layerConfig((options: ConfigOptions) => make(options), defaultConfig)
