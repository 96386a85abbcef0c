/**
 * The Ollama adapter: `POST {host}/api/chat` with `stream: true`, read as
 * NDJSON over an `@effect/platform` `HttpClient` (no SDK), streamed through
 * core's `acquire` so the connection is released exactly once however the
 * stream ends.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { acquire, AdapterKit, bytesFraming, type ChatRequest, LlmError, Provider } from "@streamvisor/core"
import * as Config from "effect/Config"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Body from "./internal/Body.js"
import * as Decoder from "./internal/Decoder.js"
import * as Errors from "./internal/Errors.js"
import * as Request from "./internal/Request.js"

/**
 * The host Ollama listens on by default.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_HOST = "http://127.0.0.1:11434"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Where Ollama listens, as `OLLAMA_HOST` takes it: `http://127.0.0.1:11434`
   * (the default), `https://ollama.com`, or `host:port` / `host` (then
   * `http://` and port 11434 are assumed). A path prefix is kept
   * (`https://proxy.example/ollama` → `…/ollama/api/chat`).
   */
  readonly host?: string | undefined
  /** The same as `host`, under the name the other adapters use. `host` wins when both are set. */
  readonly baseURL?: string | undefined
  /**
   * Sent as `Authorization: Bearer <key>`, for hosted Ollama or a proxy.
   * Stored as `Redacted`; never part of an error, a log line or `inspect`.
   */
  readonly apiKey?: AdapterKit.ApiKey | undefined
  /**
   * A ready-made `HttpClient` (e.g. `NodeHttpClient`) to send through instead
   * of `fetch`. Default: none — the request goes through `fetch` and the body
   * is read as bytes, the fastest path. Do not add retries to it: retries
   * belong to the `retry` policy.
   */
  readonly httpClient?: HttpClient.HttpClient | undefined
  /** The `fetch` used when no `httpClient` is given (default: the global one). */
  readonly fetch?: typeof globalThis.fetch | undefined
  /**
   * The longest NDJSON line accepted, in bytes (default 1 MiB). A longer line
   * fails the stream with `ProtocolError` rather than growing a buffer.
   */
  readonly maxLineBytes?: number | undefined
  /** Ollama's `think` field: ask a thinking model to think (streamed as `ReasoningDelta`), or not. */
  readonly think?: boolean | "low" | "medium" | "high" | undefined
  /** Ollama's `keep_alive` field: how long the model stays loaded after the request (`"5m"`, seconds, `-1`). */
  readonly keepAlive?: string | number | undefined
}

const DEFAULT_PORT = "11434"

/**
 * Turn an `OLLAMA_HOST`-style value into a base URL without a trailing `/`.
 * An unparsable value is returned as is: the request then fails with
 * `InvalidRequest` naming it.
 */
const baseUrl = (host: string): string => {
  let text = host.trim()
  if (text.length === 0) return DEFAULT_HOST
  if (text.startsWith(":")) text = `127.0.0.1${text}`
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text)
  let url: URL
  try {
    url = new URL(hasScheme ? text : `http://${text}`)
  } catch {
    return text.replace(/\/+$/, "")
  }
  if (!hasScheme && url.port === "") url.port = DEFAULT_PORT
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "")
}

/** The options `make` checks beyond their types. */
const OptionsSchema = Schema.Struct({
  maxLineBytes: Schema.optional(AdapterKit.PositiveInt),
  think: Schema.optional(
    Schema.Union(Schema.Boolean, Schema.Literal("low", "medium", "high")).annotations({
      message: () => `must be a boolean, "low", "medium" or "high"`
    })
  )
})

/**
 * Make an Ollama provider. Nothing is sent until a stream runs. Ollama needs
 * no key; a `maxLineBytes` that is not a positive integer or an unknown
 * `think` throws `InvalidOptions`.
 *
 * @example
 * ```ts
 * import { Ollama } from "@streamvisor/ollama"
 * import { streamText } from "@streamvisor/core/promise"
 *
 * const ollama = Ollama.make({ host: "http://127.0.0.1:11434" })
 * for await (const event of streamText(ollama, { model: "llama3.2", messages: [{ role: "user", content: "Hi" }] })) {
 *   if (event._tag === "TextDelta") process.stdout.write(event.text)
 * }
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Provider.Provider => {
  const { maxLineBytes = Decoder.DEFAULT_MAX_LINE_BYTES } = AdapterKit.validate(Errors.PROVIDER, OptionsSchema, options)
  const url = `${baseUrl(options.host ?? options.baseURL ?? DEFAULT_HOST)}/api/chat`
  const apiKey = AdapterKit.redactKey(options.apiKey)
  const scrub = AdapterKit.makeScrub(apiKey, undefined, { keepBearer: true })
  const client = options.httpClient
  const fetchFn = options.fetch ?? globalThis.fetch
  const decoder = Decoder.make({ maxLineBytes, scrub })
  const mapError = Errors.mapError(scrub)
  const extra = { think: options.think, keepAlive: options.keepAlive }

  const stream = (request: ChatRequest.ChatRequest) =>
    Stream.suspend(() => {
      let body: Request.ChatBody
      try {
        body = Request.toBody(request, extra)
      } catch (error) {
        return Stream.fail(LlmError.isLlmError(error) ? error : mapError(error))
      }
      let http = HttpClientRequest.post(url).pipe(
        HttpClientRequest.accept("application/x-ndjson"),
        HttpClientRequest.bodyUnsafeJson(body)
      )
      if (apiKey !== undefined) http = HttpClientRequest.bearerToken(http, Redacted.value(apiKey))
      if (client === undefined) {
        const json = JSON.stringify(body)
        return acquire({
          provider: Errors.PROVIDER,
          model: request.model,
          openBody: (signal) => Body.openFetch(fetchFn, http, json, signal, scrub),
          framing: bytesFraming,
          decoder,
          mapError
        })
      }
      return acquire({
        provider: Errors.PROVIDER,
        model: request.model,
        open: (signal) => Body.open(client, http, signal, scrub),
        decoder,
        mapError
      })
    })

  return Provider.make({ name: Errors.PROVIDER, capabilities: Request.capabilities, stream })
}

/**
 * A layer providing an Ollama provider as the `LlmProvider`; bad options fail
 * it with `InvalidOptions`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): AdapterKit.ProviderLayer =>
  AdapterKit.layer(make)(options)

/**
 * The options `layerConfig()` reads when given none: the host from
 * `OLLAMA_HOST` (default `http://127.0.0.1:11434`) and an optional key from
 * `OLLAMA_API_KEY`.
 *
 * @since 0.2.0
 * @category layers
 */
export const defaultConfig: { readonly [K in keyof Options]?: Config.Config.Wrap<Options[K]> } = {
  host: Config.string("OLLAMA_HOST").pipe(Config.withDefault(DEFAULT_HOST)),
  apiKey: AdapterKit.optional(Config.redacted("OLLAMA_API_KEY"))
}

/**
 * A layer whose options are read through `effect/Config`; fields not given
 * come from {@link defaultConfig}.
 *
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = AdapterKit.layerConfig(make, defaultConfig)
