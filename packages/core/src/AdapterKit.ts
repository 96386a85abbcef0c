/**
 * For adapter authors: what every provider adapter shares, so that an adapter
 * keeps only its request mapping, its decoder and its SDK's own errors.
 *
 * - {@link redactKey} / {@link requireKey} / {@link keyOf} and {@link makeScrub}: the key as
 *   `Redacted`, and the scrub that keeps it out of every message;
 * - {@link validate}: the options checked at `make` against a `Schema`, a bad
 *   one thrown as `InvalidOptions` (the bad-configuration policy);
 * - {@link mapError}: the common tail of error classification (`SyntaxError`
 *   → `ProtocolError`, a cut connection → `Disconnected`, anything else →
 *   `Unknown` with a sanitised cause), after the adapter's own table;
 * - {@link isInstance}: recognising an SDK's error class across copies of it;
 * - {@link layer} / {@link layerConfig}: the two layers every adapter offers,
 *   with {@link optional} for a setting its `defaultConfig` may leave out.
 *
 * @example
 * ```ts
 * import { AdapterKit, Provider } from "@streamvisor/core"
 * import { Stream, Schema } from "effect"
 *
 * const PROVIDER = "acme"
 * interface Options { readonly apiKey: AdapterKit.ApiKey; readonly maxTokens?: number }
 * const OptionsSchema = Schema.Struct({ maxTokens: Schema.optional(AdapterKit.PositiveInt) })
 *
 * export const make = (options: Options): Provider.Provider => {
 *   AdapterKit.validate(PROVIDER, OptionsSchema, options)
 *   const apiKey = AdapterKit.requireKey(PROVIDER, options.apiKey)
 *   const scrub = AdapterKit.makeScrub(apiKey)
 *   const mapError = AdapterKit.mapError(PROVIDER, scrub, () => undefined)
 *   return Provider.make({ name: PROVIDER, stream: () => Stream.fail(mapError(new Error("not yet"))) })
 * }
 * export const layer = AdapterKit.layer(make)
 * ```
 *
 * @since 0.2.0
 */
import type * as ConfigError from "effect/ConfigError"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { InvalidOptions, isInvalidOptions } from "./InvalidOptions.js"
import * as LlmError from "./LlmError.js"
import { LlmProvider, type Provider } from "./Provider.js"
import * as Redaction from "./Redaction.js"
import * as Transport from "./Transport.js"

// ---------------------------------------------------------------------------
// keys
// ---------------------------------------------------------------------------

/**
 * An API key as users give it: plain or already `Redacted`.
 *
 * @since 0.2.0
 * @category models
 */
export type ApiKey = string | Redacted.Redacted<string>

/**
 * The key as `Redacted` (or `undefined` when none was given).
 *
 * @since 0.2.0
 * @category keys
 */
export const redactKey = (key: ApiKey | undefined): Redacted.Redacted<string> | undefined =>
  key === undefined ? undefined : Redacted.isRedacted(key) ? key : Redacted.make(key)

/**
 * The key as `Redacted`, or `InvalidOptions` thrown (naming `apiKey`, never its
 * value) when it is missing or empty. Adapters call it when they build their
 * own client; a ready-made client carries its own key.
 *
 * @since 0.2.0
 * @category keys
 */
export const requireKey = (provider: string, key: ApiKey | undefined): Redacted.Redacted<string> => {
  const redacted = redactKey(key)
  if (redacted === undefined || Redacted.value(redacted).trim() === "") {
    throw new InvalidOptions({
      provider,
      option: "apiKey",
      message: `${provider}: the apiKey option is ${redacted === undefined ? "missing" : "empty"}: give a key or a ready-made client`
    })
  }
  return redacted
}

/**
 * The key of an adapter whose options take a key or a ready-made SDK client:
 * required ({@link requireKey}) when there is no client, since the adapter
 * builds one with it; otherwise the key as `Redacted` when one is given too
 * (for the scrub), as the client carries its own.
 *
 * @since 0.2.0
 * @category keys
 */
export const keyOf = (
  provider: string,
  options: { readonly apiKey?: ApiKey | undefined; readonly client?: unknown }
): Redacted.Redacted<string> | undefined =>
  options.client === undefined ? requireKey(provider, options.apiKey) : redactKey(options.apiKey)

/**
 * The adapter's scrub: `Redaction.makeScrub` over the key it was given and the
 * keys `others` returns at each call (a user's client may hold another, or
 * rotate it).
 *
 * @since 0.2.0
 * @category keys
 */
export const makeScrub = (
  key: Redacted.Redacted<string> | undefined,
  others: () => ReadonlyArray<string | null | undefined> = () => [],
  options?: Redaction.ScrubOptions
): Redaction.Scrub =>
  Redaction.makeScrub(() => [key === undefined ? undefined : Redacted.value(key), ...others()], options)

// ---------------------------------------------------------------------------
// options
// ---------------------------------------------------------------------------

/**
 * A positive integer option, with a message that names the expectation only.
 *
 * @since 0.2.0
 * @category schemas
 */
export const PositiveInt = Schema.Number.pipe(
  Schema.int(),
  Schema.positive(),
  Schema.annotations({ message: () => "must be a positive integer" })
)

/**
 * Check `options` against `schema` (fields not in the schema are ignored) and
 * throw `InvalidOptions` for the first bad one: the provider and the option's
 * path, and the schema's message for it. Annotate a field's schema with a
 * `message` that does not quote the value.
 *
 * @since 0.2.0
 * @category options
 */
export const validate = <A, I>(provider: string, schema: Schema.Schema<A, I>, options: unknown): A => {
  const result = Schema.decodeUnknownEither(schema, { onExcessProperty: "ignore" })(options)
  if (Either.isRight(result)) return result.right
  const issue = ParseResult.ArrayFormatter.formatErrorSync(result.left)[0]
  const option = issue?.path.map(String).join(".") || "options"
  throw new InvalidOptions({
    provider,
    option,
    message: `${provider}: invalid option ${option}: ${issue?.message ?? "not valid"}`
  })
}

// ---------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------

/**
 * Provider-supplied text can be a whole HTML page: messages are cut here.
 *
 * @since 0.2.0
 * @category errors
 */
export const MAX_MESSAGE = 500

/**
 * `text` cut to {@link MAX_MESSAGE} characters.
 *
 * @since 0.2.0
 * @category errors
 */
export const clip = (text: string): string => (text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text)

/**
 * Whether `value` is an instance of an SDK's error class: by `instanceof`
 * when the class is given, else by the class name along the prototype chain,
 * so errors thrown by another copy of the SDK (CJS beside ESM, a user's own
 * client) are recognised too.
 *
 * @since 0.2.0
 * @category errors
 */
export const isInstance = (
  value: unknown,
  name: string,
  ctor?: abstract new(...args: Array<any>) => unknown
): boolean => {
  if (ctor !== undefined && value instanceof ctor) return true
  if (typeof value !== "object" || value === null) return false
  for (let proto = Object.getPrototypeOf(value); proto !== null; proto = Object.getPrototypeOf(proto)) {
    if ((proto as { constructor?: { name?: unknown } }).constructor?.name === name) return true
  }
  return false
}

/** `Name: message`, with the messages of the `cause` chain (three levels) after it. */
const describe = (cause: unknown): string => {
  if (!(cause instanceof Error)) return String(cause)
  let text = `${cause.name}: ${cause.message}`
  let inner: unknown = cause.cause
  for (let depth = 0; depth < 3 && inner instanceof Error; depth++, inner = inner.cause) text += `: ${inner.message}`
  return text
}

/**
 * An adapter's error classifier: an `LlmError` passes through; then the
 * adapter's `classify` (its SDK's classes and error bodies) has its say; what
 * it leaves (`undefined`) ends the same way for every adapter — `SyntaxError`
 * → `ProtocolError`, a cut or failed connection (`Transport`) →
 * `Disconnected`, anything else → `Unknown` with a `Redaction.sanitizeCause`
 * copy. Every message this tail writes is scrubbed and clipped.
 *
 * @since 0.2.0
 * @category errors
 */
export const mapError = (
  provider: string,
  scrub: Redaction.Scrub,
  classify: (cause: unknown) => LlmError.LlmError | undefined
) =>
(cause: unknown): LlmError.LlmError => {
  if (LlmError.isLlmError(cause)) return cause
  const specific = classify(cause)
  if (specific !== undefined) return specific
  if (cause instanceof SyntaxError) {
    return new LlmError.ProtocolError({ provider, message: scrub(clip(`${provider}: malformed frame: ${cause.message}`)) })
  }
  if (Transport.isConnectionCut(cause) || Transport.isFetchFailed(cause)) {
    const code = Transport.causeCode(cause) ?? (cause as Error).message
    return new LlmError.Disconnected({ provider, message: scrub(clip(`${provider}: connection cut (${code})`)) })
  }
  return new LlmError.Unknown({
    provider,
    message: scrub(clip(`${provider}: ${describe(cause)}`)),
    cause: Redaction.sanitizeCause(cause, scrub)
  })
}

// ---------------------------------------------------------------------------
// tool-call ids
// ---------------------------------------------------------------------------

/**
 * Ids for the tool calls of one stream whose provider names none (Ollama,
 * Gemini): `call_<n>_<tag>`, the tag random per stream, so the calls of a
 * whole conversation — many steps, many turns — never share an id (a
 * history sent to a provider that requires unique ids, after a fallback,
 * stays valid). Call it once per stream.
 *
 * @example
 * ```ts
 * import { AdapterKit } from "@streamvisor/core"
 *
 * const idOf = AdapterKit.callIds()
 * idOf(0) // e.g. "call_0_k3f9a2"
 * ```
 *
 * @since 0.3.0
 * @category tool calls
 */
export const callIds = (): ((index: number) => string) => {
  const tag = Math.random().toString(36).slice(2, 8).padEnd(6, "0")
  return (index) => `call_${index}_${tag}`
}

// ---------------------------------------------------------------------------
// layers
// ---------------------------------------------------------------------------

/**
 * What an adapter's `layer` gives: the provider, or `InvalidOptions`.
 *
 * @since 0.2.0
 * @category layers
 */
export type ProviderLayer = Layer.Layer<LlmProvider, InvalidOptions>

/**
 * What an adapter's `layerConfig` gives: the provider, or why the
 * configuration could not be read or used.
 *
 * @since 0.2.0
 * @category layers
 */
export type ProviderConfigLayer = Layer.Layer<LlmProvider, ConfigError.ConfigError | InvalidOptions>

const tryMake = <Options>(make: (options: Options) => Provider, options: Options) =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(make(options))
    } catch (error) {
      return isInvalidOptions(error) ? Effect.fail(error) : Effect.die(error)
    }
  })

/**
 * `layer(options)` for an adapter's `make`: the provider as the `LlmProvider`
 * service; bad options fail the layer with `InvalidOptions`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = <Options>(make: (options: Options) => Provider) =>
(options: Options): ProviderLayer => Layer.effect(LlmProvider, tryMake(make, options))

/**
 * What an adapter's `layerConfig` takes: its options with each field a
 * `Config` (`Config.Wrap`, read through `Config.unwrap`) or a plain value; or
 * one `Config` of the whole options.
 *
 * @since 0.2.0
 * @category layers
 */
export type ConfigOptions<Options> =
  | Config.Config<Options>
  | { readonly [K in keyof Options]?: Config.Config.Wrap<Options[K]> | Options[K] }

/**
 * An optional setting for an adapter's `defaultConfig`: the value when the
 * variable is set, `undefined` (the option left out) when it is not. A set
 * but malformed value is still a `ConfigError`.
 *
 * @example
 * ```ts
 * import { AdapterKit } from "@streamvisor/core"
 * import { Config } from "effect"
 *
 * const baseURL = AdapterKit.optional(Config.string("MY_PROVIDER_BASE_URL"))
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const optional = <A>(config: Config.Config<A>): Config.Config<A | undefined> =>
  Config.map(Config.option(config), Option.getOrUndefined)

/**
 * `layerConfig(options?)` for an adapter's `make`: the options read through
 * `effect/Config` (`Config.unwrap`). The adapter's `defaults` (its
 * environment variables) are used for every field the caller does not give;
 * a plain value is taken as it is; a whole `Config<Options>` replaces the
 * defaults.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerConfig = <Options>(
  make: (options: Options) => Provider,
  defaults: { readonly [K in keyof Options]?: Config.Config.Wrap<Options[K]> }
) =>
(options?: ConfigOptions<Options>): ProviderConfigLayer => {
  const config: Config.Config<Options> = Config.isConfig(options) ? options : Config.unwrap({
    ...defaults,
    ...Object.fromEntries(
      Object.entries(options ?? {}).map(([key, value]) => [key, Config.isConfig(value) ? value : Config.succeed(value)])
    )
  } as unknown as Config.Config.Wrap<Options>)
  return Layer.effect(LlmProvider, Effect.flatMap(config, (resolved) => tryMake(make, resolved)))
}
