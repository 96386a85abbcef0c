/**
 * streamvisor, both ways a user consumes it: the Effect API
 * (`Stream.runForEachChunk` over `provider.stream(request)`, cut by
 * `Fiber.interrupt`) and the promise facade (`streamText`, cut by `break`).
 */
import { Anthropic } from "@streamvisor/anthropic"
import type { ChatRequest, Provider, StreamEvent } from "@streamvisor/core"
import { streamText } from "@streamvisor/core/promise"
import { Google } from "@streamvisor/google"
import { Ollama } from "@streamvisor/ollama"
import { OpenAI } from "@streamvisor/openai"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { now } from "../Clock.js"
import type { Urls } from "../ServerClient.js"
import { API_KEY, type Client, type Library, PROMPT, type WireFormat } from "./Library.js"

/** The adapter for a wire format, pointed at the bench's server. */
export const provider = (format: WireFormat, urls: Urls): Provider.Provider => {
  switch (format) {
    case "anthropic":
      return Anthropic.make({ apiKey: API_KEY, baseURL: urls.anthropic })
    case "openai-chat":
      return OpenAI.make({ apiKey: API_KEY, baseURL: urls.openai, api: "chat" })
    case "openai-responses":
      return OpenAI.make({ apiKey: API_KEY, baseURL: urls.openai, api: "responses" })
    case "gemini":
      return Google.make({ apiKey: API_KEY, baseURL: urls.gemini })
    case "ollama":
      return Ollama.make({ host: urls.ollama })
  }
}

export const request = (model: string): ChatRequest.ChatRequest => ({
  model,
  messages: [{ role: "user", content: PROMPT }]
})

const countText = (chunk: Chunk.Chunk<StreamEvent.StreamEvent>): number => {
  let n = 0
  for (const event of chunk) if (event._tag === "TextDelta") n++
  return n
}

/** The Effect API. */
export const effectClient = (llm: Provider.Provider): Client => ({
  readAll(model, onFirstText) {
    let count = 0
    return Effect.runPromise(
      Stream.runForEachChunk(llm.stream(request(model)), (chunk) =>
        Effect.sync(() => {
          for (const event of chunk) {
            if (event._tag === "TextDelta" && count++ === 0) onFirstText?.()
          }
        }))
    ).then(() => count)
  },
  cutAfter(model, n) {
    return Effect.runPromise(Effect.gen(function*() {
      const reached = yield* Deferred.make<void>()
      let count = 0
      const fiber = yield* llm.stream(request(model)).pipe(
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
  // The Effect API has no "stop pulling without interrupting": the nearest is
  // a pull whose scope is left open (closing the scope releases it).
  stopAfter(model, n) {
    return Effect.runPromise(Effect.gen(function*() {
      const scope = yield* Scope.make()
      const pull = yield* Scope.extend(Stream.toPull(llm.stream(request(model))), scope)
      let count = 0
      while (count < n) count += countText(yield* pull)
      return { keep: { scope, pull } }
    }))
  }
})

/** The promise facade. */
export const promiseClient = (llm: Provider.Provider): Client => ({
  async readAll(model, onFirstText) {
    let count = 0
    for await (const event of streamText(llm, request(model))) {
      if (event._tag === "TextDelta" && count++ === 0) onFirstText?.()
    }
    return count
  },
  async cutAfter(model, n) {
    let count = 0
    let cutAt = 0
    for await (const event of streamText(llm, request(model))) {
      if (event._tag === "TextDelta" && ++count === n) {
        cutAt = now()
        break
      }
    }
    return cutAt
  },
  async stopAfter(model, n) {
    const iterator = streamText(llm, request(model))
    let count = 0
    while (count < n) {
      const result = await iterator.next()
      if (result.done) break
      if (result.value._tag === "TextDelta") count++
    }
    return { keep: iterator }
  }
})

export const streamvisor: Library = {
  name: "streamvisor",
  client: (format, urls) => effectClient(provider(format, urls))
}

export const streamvisorPromise: Library = {
  name: "streamvisor (promise)",
  client: (format, urls) => promiseClient(provider(format, urls))
}
