/**
 * A `Provider` is anything that turns a `ChatRequest` into a stream of
 * `StreamEvent`s: an adapter, or a policy over other providers (`fallback`,
 * `hedge`).
 *
 * @since 0.1.0
 */
import type * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import * as Capabilities from "./Capabilities.js"
import * as ChatRequest from "./ChatRequest.js"
import type { LlmError } from "./LlmError.js"
import type * as StreamEvent from "./StreamEvent.js"
import { Collector } from "./internal/Collector.js"
import { isTrusted } from "./internal/Trusted.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Provider {
  /** A short name: "anthropic", "openai", "google", "ollama", or a policy's. */
  readonly name: string
  /** Stream one answer. The request is validated before any connection opens. */
  readonly stream: (request: ChatRequest.Input) => Stream.Stream<StreamEvent.StreamEvent, LlmError>
  /** The whole answer at once: a fold of `stream`. */
  readonly generate: (request: ChatRequest.Input) => Effect.Effect<Generation, LlmError>
}

/**
 * Token usage with the detail the provider reported (see `StreamEvent.Usage`).
 *
 * @since 0.2.0
 * @category models
 */
export interface Usage extends StreamEvent.UsageDetail {
  readonly inputTokens: number
  readonly outputTokens: number
}

/**
 * A whole answer, as `generate` returns it.
 *
 * - `text`, `reasoning`: all the text and all the reasoning text, joined.
 * - `toolCalls`: the complete calls, in order (with Gemini's `signature`).
 * - `parts`: the answer in the order the model produced it — reasoning blocks
 *   with their signatures, text, tool calls — ready to go back in history
 *   (see {@link toMessages}).
 * - `metadata`: every `ProviderMetadata` event (citations, grounding…).
 *
 * @since 0.1.0
 * @category models
 */
export interface Generation {
  readonly text: string
  readonly reasoning: string
  readonly toolCalls: ReadonlyArray<{
    readonly id: string
    readonly name: string
    readonly arguments: unknown
    readonly signature?: string | undefined
    readonly provider?: string | undefined
  }>
  readonly usage: Usage | undefined
  readonly finish: StreamEvent.Finish
  readonly parts: ReadonlyArray<ChatRequest.AssistantPart>
  readonly metadata: ReadonlyArray<StreamEvent.ProviderMetadata>
}

/**
 * The provider a program streams from, for dependency injection.
 *
 * @since 0.1.0
 * @category tags
 */
export class LlmProvider extends Context.Tag("@streamvisor/core/LlmProvider")<LlmProvider, Provider>() {}

/**
 * Fold a stream of events into a `Generation`. A stream that ends without a
 * `Finish` fails with `Disconnected`.
 *
 * Text and reasoning are appended to two strings; a part only records where
 * its slice starts, and the slices are cut once at the end — so a delta costs
 * one string append and one comparison, as before parts existed.
 *
 * @since 0.1.0
 * @category running
 */
export const collect = <R>(
  provider: string,
  events: Stream.Stream<StreamEvent.StreamEvent, LlmError, R>
): Effect.Effect<Generation, LlmError, R> =>
  Effect.suspend(() => {
    const collector = new Collector()
    return Effect.flatMap(
      Stream.runForEachChunk(events, (chunk) => Effect.sync(() => collector.add(chunk))),
      () => collector.result(provider)
    )
  })

/**
 * The assistant message to append to history after a `Generation`: its parts
 * in order, so reasoning signatures and tool calls go back exactly as they
 * came. A text-only answer is a string `content`; an empty answer is no
 * message at all (providers refuse empty assistant turns).
 *
 * @example
 * ```ts
 * import { ChatRequest, Provider } from "@streamvisor/core"
 * import { Effect } from "effect"
 *
 * declare const claude: Provider.Provider
 * const turn = (history: ReadonlyArray<ChatRequest.Message>) =>
 *   Effect.map(claude.generate({ model: "claude-sonnet-4-5", messages: history }), (generation) => [
 *     ...history,
 *     ...Provider.toMessages(generation)
 *   ])
 * ```
 *
 * @since 0.2.0
 * @category conversions
 */
export const toMessages = (generation: Pick<Generation, "parts">): ReadonlyArray<ChatRequest.AssistantMessage> => {
  const parts = generation.parts
  if (parts.length === 0) return []
  if (parts.length === 1 && parts[0]!.type === "text") return [{ role: "assistant", content: parts[0]!.text }]
  return [{ role: "assistant", content: parts }]
}

/** Write usage and finish onto the span as they pass: a plain loop per chunk, no Effect per pull. */
const recordOnSpan = (span: Tracer.Span) => (chunk: Chunk.Chunk<StreamEvent.StreamEvent>) => {
  for (const event of chunk) {
    if (event._tag === "Usage") {
      span.attribute("gen_ai.usage.input_tokens", event.inputTokens)
      span.attribute("gen_ai.usage.output_tokens", event.outputTokens)
    } else if (event._tag === "Finish") {
      span.attribute("gen_ai.response.finish_reasons", [event.raw ?? event.reason])
    }
  }
  return chunk
}

/**
 * Run a provider stream inside a span named after the OpenTelemetry GenAI
 * conventions (`gen_ai.system`, `gen_ai.request.model`, usage, finish reason).
 * One span per stream, ended with the stream's exit; usage and finish are
 * written onto it directly as chunks pass (measured: `mapChunksEffect` +
 * `annotateCurrentSpan` cost ~22 µs per pull over a bare pull, this a plain
 * loop).
 *
 * @since 0.1.0
 * @category combinators
 */
export const traced = (
  system: string,
  request: ChatRequest.ChatRequest,
  events: Stream.Stream<StreamEvent.StreamEvent, LlmError>
): Stream.Stream<StreamEvent.StreamEvent, LlmError> =>
  Stream.unwrapScoped(Effect.zipWith(openSpan(system, request), Effect.tracer, (span, tracer) => inSpan(span, tracer, events)))

/** The stream's client span, ended with the scope. */
const openSpan = (system: string, request: ChatRequest.ChatRequest) =>
  Effect.makeSpanScoped(`chat ${request.model}`, {
    kind: "client",
    attributes: {
      "gen_ai.system": system,
      "gen_ai.operation.name": "chat",
      "gen_ai.request.model": request.model,
      ...(request.maxTokens !== undefined ? { "gen_ai.request.max_tokens": request.maxTokens } : {}),
      ...(request.temperature !== undefined ? { "gen_ai.request.temperature": request.temperature } : {})
    }
  })

/**
 * Effect's own tracer, which exports nothing: under it the span is not made
 * the parent of spans the adapter's stream opens (`Stream.provideService`
 * costs ~130 µs per stream, a fifth of the stream's fixed cost, for a link
 * nobody can see). Under any other tracer (OpenTelemetry…) it is.
 */
const nativeTracer = Effect.runSync(Effect.tracer)

const inSpan = (
  span: Tracer.Span,
  tracer: Tracer.Tracer,
  events: Stream.Stream<StreamEvent.StreamEvent, LlmError>
): Stream.Stream<StreamEvent.StreamEvent, LlmError> => {
  const recorded = Stream.mapChunks(events, recordOnSpan(span))
  return tracer === nativeTracer ? recorded : Stream.provideService(recorded, Tracer.ParentSpan, span)
}

/**
 * Build a `Provider` from its streaming function. The request is validated
 * with the `ChatRequest` schema first, then checked against the provider's
 * `capabilities` (a failure is `InvalidRequest`, before any connection
 * opens), and `generate` is derived as a fold of `stream`.
 *
 * @example
 * ```ts
 * import { ChatRequest, Provider, StreamEvent } from "@streamvisor/core"
 * import { Stream } from "effect"
 *
 * const echo = Provider.make({
 *   name: "echo",
 *   stream: (request) =>
 *     Stream.make(
 *       StreamEvent.textDelta(ChatRequest.text(request.messages.at(-1)!.content)),
 *       StreamEvent.finish("stop", "stop")
 *     )
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: {
  readonly name: string
  /** What the provider can take beyond plain text; default: everything ({@link Capabilities.all}). */
  readonly capabilities?: Capabilities.Capabilities | undefined
  readonly stream: (request: ChatRequest.ChatRequest) => Stream.Stream<StreamEvent.StreamEvent, LlmError>
}): Provider => {
  const { name } = options
  const capabilities = options.capabilities ?? Capabilities.all
  // One scope for the request's checks, the span and the adapter's stream:
  // each Stream layer costs tens of µs per stream, so they are not stacked.
  const stream = (request: ChatRequest.Input) =>
    Stream.unwrapScoped(Effect.gen(function*() {
      const decoded = isTrusted(request) ? request : yield* ChatRequest.decode(name, request)
      const valid = yield* Capabilities.validate(name, capabilities, decoded)
      const span = yield* openSpan(name, valid)
      return inSpan(span, yield* Effect.tracer, options.stream(valid))
    }))
  return {
    name: options.name,
    stream,
    generate: (request) => collect(options.name, stream(request))
  }
}

/**
 * Stream one answer from a provider.
 *
 * @example
 * ```ts
 * import { Provider } from "@streamvisor/core"
 * import { pipe } from "effect"
 *
 * declare const claude: Provider.Provider
 * const events = pipe(claude, Provider.stream({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "Hi" }] }))
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const stream: {
  (request: ChatRequest.Input): (self: Provider) => Stream.Stream<StreamEvent.StreamEvent, LlmError>
  (self: Provider, request: ChatRequest.Input): Stream.Stream<StreamEvent.StreamEvent, LlmError>
} = dual(2, (self: Provider, request: ChatRequest.Input) => self.stream(request))

/**
 * The whole answer from a provider.
 *
 * @since 0.1.0
 * @category running
 */
export const generate: {
  (request: ChatRequest.Input): (self: Provider) => Effect.Effect<Generation, LlmError>
  (self: Provider, request: ChatRequest.Input): Effect.Effect<Generation, LlmError>
} = dual(2, (self: Provider, request: ChatRequest.Input) => self.generate(request))

/**
 * A provider that always asks for `model`, whatever the request says. Use it
 * to give each provider in a `fallback` or `hedge` its own model, since those
 * send the same request to every provider.
 *
 * @example
 * ```ts
 * import { fallback, Provider } from "@streamvisor/core"
 *
 * declare const claude: Provider.Provider
 * declare const gpt: Provider.Provider
 * const resilient = fallback([
 *   Provider.withModel(claude, "claude-sonnet-4-5"),
 *   Provider.withModel(gpt, "gpt-4.1")
 * ])
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const withModel: {
  (model: string): (self: Provider) => Provider
  (self: Provider, model: string): Provider
} = dual(2, (self: Provider, model: string): Provider => ({
  name: self.name,
  stream: (request) => self.stream({ ...request, model }),
  generate: (request) => self.generate({ ...request, model })
}))
