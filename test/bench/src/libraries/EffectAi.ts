/**
 * @effect/ai: `LanguageModel.streamText({ prompt })` with the provider's model
 * layer, consumed with `Stream.runForEachChunk` and cut by `Fiber.interrupt`.
 * Each format's HTTP client is built once (a `ManagedRuntime`); the model is
 * provided per call, as its docs show. It has no Chat Completions model and
 * no Ollama provider.
 */
import { LanguageModel, type Response } from "@effect/ai"
import { AnthropicClient, AnthropicLanguageModel } from "@effect/ai-anthropic"
import { GoogleClient, GoogleLanguageModel } from "@effect/ai-google"
import { OpenAiClient, OpenAiLanguageModel } from "@effect/ai-openai"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { now } from "../Clock.js"
import type { Urls } from "../ServerClient.js"
import { API_KEY, type Client, type Library, PROMPT, type WireFormat } from "./Library.js"

type Parts = Stream.Stream<Response.AnyPart, unknown>

/** `LanguageModel.streamText` with the model for `model` provided, in a runtime holding the client. */
interface Setup {
  readonly runtime: ManagedRuntime.ManagedRuntime<unknown, unknown>
  readonly stream: (model: string) => Parts
}

const apiKey = Redacted.make(API_KEY)

const setup = <C>(
  clientLayer: Layer.Layer<C, unknown>,
  modelLayer: (model: string) => Layer.Layer<LanguageModel.LanguageModel, never, C>
): Setup => ({
  runtime: ManagedRuntime.make(clientLayer) as ManagedRuntime.ManagedRuntime<unknown, unknown>,
  stream: (model) =>
    LanguageModel.streamText({ prompt: PROMPT }).pipe(Stream.provideLayer(modelLayer(model))) as unknown as Parts
})

const setupFor = (format: WireFormat, urls: Urls): Setup | string => {
  switch (format) {
    case "anthropic":
      return setup(
        AnthropicClient.layer({ apiKey, apiUrl: urls.anthropic }).pipe(Layer.provide(FetchHttpClient.layer)),
        (model) => AnthropicLanguageModel.layer({ model })
      )
    case "openai-responses":
      return setup(
        OpenAiClient.layer({ apiKey, apiUrl: urls.openai }).pipe(Layer.provide(FetchHttpClient.layer)),
        (model) => OpenAiLanguageModel.layer({ model })
      )
    case "gemini":
      return setup(
        GoogleClient.layer({ apiKey, apiUrl: urls.gemini }).pipe(Layer.provide(FetchHttpClient.layer)),
        (model) => GoogleLanguageModel.layer({ model })
      )
    case "openai-chat":
      return "no Chat Completions model (@effect/ai-openai speaks the Responses API only)"
    case "ollama":
      return "no Ollama provider"
  }
}

const countText = (chunk: Chunk.Chunk<Response.AnyPart>): number => {
  let n = 0
  for (const part of chunk) if (part.type === "text-delta") n++
  return n
}

const client = ({ runtime, stream }: Setup): Client => ({
  readAll(model, onFirstText) {
    let count = 0
    return runtime.runPromise(
      Stream.runForEachChunk(stream(model), (chunk) =>
        Effect.sync(() => {
          for (const part of chunk) {
            if (part.type === "text-delta" && count++ === 0) onFirstText?.()
          }
        }))
    ).then(() => count)
  },
  cutAfter(model, n) {
    return runtime.runPromise(Effect.gen(function*() {
      const reached = yield* Deferred.make<void>()
      let count = 0
      const fiber = yield* stream(model).pipe(
        Stream.runForEachChunk((chunk) => {
          count += countText(chunk)
          return count >= n ? Deferred.succeed(reached, undefined) : Effect.void
        }),
        Effect.fork
      )
      yield* Deferred.await(reached)
      const cutAt = now()
      yield* Fiber.interrupt(fiber)
      return cutAt
    }))
  },
  // As with streamvisor's Effect API: a pull whose scope is left open.
  stopAfter(model, n) {
    return runtime.runPromise(Effect.gen(function*() {
      const scope = yield* Scope.make()
      const pull = yield* Scope.extend(Stream.toPull(stream(model)), scope)
      let count = 0
      while (count < n) count += countText(yield* pull)
      return { keep: { scope, pull } }
    }))
  }
})

export const effectAi: Library = {
  name: "@effect/ai",
  client(format, urls) {
    const s = setupFor(format, urls)
    return typeof s === "string" ? s : client(s)
  }
}
