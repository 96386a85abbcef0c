/**
 * The Gemini adapter over the maintained `@google/genai` SDK, which also
 * reaches Vertex AI. `@google/generative-ai` (the `Google` adapter) reached
 * its end of support in 2025; this one sends the same request body, decodes
 * with the same decoder and keeps the same guarantees.
 *
 * How the SDK is used (measured with 2.32.0 against the FakeLlmServer):
 * - The request body is ours: `Request.toGenerateContentRequest` builds the
 *   wire JSON and it goes out as `httpOptions.extraBody`, which the SDK merges
 *   over the body it built (every key ours replaces; its `contents` come from
 *   a one-part placeholder). The SDK still builds the URL (Gemini API or
 *   Vertex), the auth headers and classifies HTTP errors, and both adapters
 *   put byte-for-byte the same JSON on the wire — including fields the SDK's
 *   own converters would drop (`providerOptions.google`).
 * - Automatic continuation (on by default for streams in 2.x: a cut stream is
 *   resumed with a second request) and automatic function calling are off:
 *   retries belong to the `retry` policy, and a second hidden request would
 *   break "one acquire, one connection". The SDK never retries unless given
 *   `retryOptions`.
 * - Release: the SDK's generator only releases its reader lock on `return()`
 *   and never cancels the body, so `break` alone would leave the socket open;
 *   `acquire` aborts the request first. No aggregated promise exists, so
 *   nothing rejects unhandled.
 * - Backpressure: the generator reads the body only when pulled (one
 *   network read per `next()`), so a consumer that stops pulling stops the
 *   socket once undici's and the pump's buffers are full (see the README's
 *   measurement).
 *
 * @since 0.2.0
 */
import { GoogleGenAI as Client, type HttpOptions } from "@google/genai"
import { acquire, LlmError, Provider, Redaction } from "@streamvisor/core"
import type { ChatRequest, StreamEvent } from "@streamvisor/core"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Decoder from "./internal/Decoder.js"
import { mapError as mapGenAIError } from "./internal/GenAIErrors.js"
import { buildBody, capabilities } from "./internal/Request.js"

/**
 * Options shared by every way of building the adapter.
 *
 * For Vertex AI: `vertexai: true` with `project` and `location` (credentials
 * from Application Default Credentials through `google-auth-library`, or an
 * `apiKey` for Vertex express mode). `baseURL` and `apiVersion` go to the
 * SDK's `httpOptions` (`baseUrl`, `apiVersion`); `httpOptions` carries
 * anything else (`headers`…), except `retryOptions` and `timeout`, which
 * belong to the `retry` and `timeouts` policies.
 *
 * @since 0.2.0
 */
export interface CommonOptions {
  /** The API host without a version path (default: the SDK's, per API). */
  readonly baseURL?: string | undefined
  /** The API version path segment (the SDK's default: `v1beta` for Gemini, `v1beta1` for Vertex). */
  readonly apiVersion?: string | undefined
  /** Use Vertex AI instead of the Gemini API. */
  readonly vertexai?: boolean | undefined
  /** The Google Cloud project (Vertex AI). */
  readonly project?: string | undefined
  /** The Google Cloud location, e.g. `us-central1` or `global` (Vertex AI). */
  readonly location?: string | undefined
  /** More SDK HTTP options (headers…); `baseURL` / `apiVersion` above win. */
  readonly httpOptions?: Omit<HttpOptions, "retryOptions" | "timeout" | "extraBody"> | undefined
}

/**
 * @since 0.2.0
 */
export type Options = CommonOptions & {
  /** The Gemini API key (or a Vertex express-mode key); kept `Redacted`. */
  readonly apiKey?: string | Redacted.Redacted<string> | undefined
  /** A ready-made client, shared by every session; the other options are then not used. */
  readonly client?: Client | undefined
}

/**
 * The provider name the adapter reports in errors, the ledger and spans: the
 * same as the `Google` adapter's, since it is the same API and signatures one
 * makes verify with the other.
 *
 * @since 0.2.0
 */
export const name = "google"

/** `contents` the SDK builds a body from; ours replaces it through `extraBody`. */
const PLACEHOLDER = [{ role: "user", parts: [{ text: "" }] }]

/**
 * Make a Gemini `Provider` over `@google/genai`.
 *
 * @example
 * ```ts
 * import { GoogleGenAI } from "@streamvisor/google/genai"
 * import { streamText } from "@streamvisor/core/promise"
 *
 * const gemini = GoogleGenAI.make({ apiKey: process.env.GEMINI_API_KEY! })
 * // Vertex AI: GoogleGenAI.make({ vertexai: true, project: "my-project", location: "global" })
 * for await (const event of streamText(gemini, {
 *   model: "gemini-2.5-flash",
 *   messages: [{ role: "user", content: "Hi" }]
 * })) {
 *   if (event._tag === "TextDelta") process.stdout.write(event.text)
 * }
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: Options): Provider.Provider => {
  const apiKey: Redacted.Redacted<string> | undefined = options.apiKey === undefined
    ? undefined
    : Redacted.isRedacted(options.apiKey)
    ? options.apiKey
    : Redacted.make(options.apiKey)
  if (options.client === undefined && apiKey === undefined && options.vertexai !== true) {
    throw new TypeError("GoogleGenAI.make: give an apiKey, a ready-made client, or vertexai: true")
  }
  const client = options.client ?? makeClient(options, apiKey)
  const scrub = Redaction.makeScrub(() => [apiKey === undefined ? undefined : Redacted.value(apiKey)])
  const mapError = mapGenAIError(scrub)
  const decoder = Decoder.make(scrub)

  const stream = (request: ChatRequest.ChatRequest): Stream.Stream<StreamEvent.StreamEvent, LlmError.LlmError> => {
    const body = buildBody(request)
    if (body instanceof LlmError.InvalidRequest) return Stream.fail(body)
    return acquire({
      provider: name,
      model: request.model,
      open: async (signal) => {
        if (signal.aborted) {
          throw new LlmError.Disconnected({ provider: name, message: `${name}: aborted before the request was sent` })
        }
        return client.models.generateContentStream({
          model: request.model,
          contents: PLACEHOLDER,
          config: {
            abortSignal: signal,
            automaticContinuation: false,
            automaticFunctionCalling: { disable: true },
            httpOptions: { extraBody: body }
          }
        })
      },
      decoder,
      mapError
    })
  }

  return Provider.make({ name, capabilities, stream })
}

const makeClient = (options: CommonOptions, apiKey: Redacted.Redacted<string> | undefined): Client => {
  const httpOptions: HttpOptions = { ...options.httpOptions }
  if (options.baseURL !== undefined) httpOptions.baseUrl = options.baseURL.replace(/\/+$/, "")
  if (options.apiVersion !== undefined) httpOptions.apiVersion = options.apiVersion
  return new Client({
    ...(apiKey === undefined ? {} : { apiKey: Redacted.value(apiKey) }),
    ...(options.vertexai === undefined ? {} : { vertexai: options.vertexai }),
    ...(options.project === undefined ? {} : { project: options.project }),
    ...(options.location === undefined ? {} : { location: options.location }),
    ...(options.apiVersion === undefined ? {} : { apiVersion: options.apiVersion }),
    httpOptions
  })
}

/**
 * A layer providing a Gemini `LlmProvider` over `@google/genai`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Provider.LlmProvider> =>
  Layer.sync(Provider.LlmProvider, () => make(options))

/**
 * A layer that reads the key from `GEMINI_API_KEY` through `effect/Config`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerConfig = (
  options: CommonOptions = {}
): Layer.Layer<Provider.LlmProvider, ConfigError.ConfigError> =>
  Layer.effect(
    Provider.LlmProvider,
    Effect.map(Config.redacted("GEMINI_API_KEY"), (apiKey) => make({ ...options, apiKey }))
  )
