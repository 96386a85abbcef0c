/**
 * The floor: each provider's own SDK in a plain `for await` loop (Ollama has
 * none: `fetch`, split lines, `JSON.parse`). Text deltas are read straight from
 * the SDK's parsed events, the least work a caller can do.
 */
import AnthropicSdk from "@anthropic-ai/sdk"
import { GoogleGenerativeAI } from "@google/generative-ai"
import OpenAI from "openai"
import { now } from "../Clock.js"
import type { Urls } from "../ServerClient.js"
import { API_KEY, type Client, type Held, type Library, PROMPT, type WireFormat } from "./Library.js"

/** Counts text deltas of an SDK's async iterable; `isText` picks them out. */
const iterableClient = <A>(
  open: (model: string) => Promise<AsyncIterable<A>>,
  isText: (item: A) => boolean
): Client => ({
  async readAll(model, onFirstText) {
    let count = 0
    for await (const item of await open(model)) {
      if (isText(item) && count++ === 0) onFirstText?.()
    }
    return count
  },
  async cutAfter(model, n) {
    let count = 0
    let cutAt = 0
    for await (const item of await open(model)) {
      if (isText(item) && ++count === n) {
        cutAt = now()
        break
      }
    }
    return cutAt
  },
  async stopAfter(model, n): Promise<Held> {
    const iterable = await open(model)
    const iterator = iterable[Symbol.asyncIterator]()
    let count = 0
    while (count < n) {
      const result = await iterator.next()
      if (result.done) break
      if (isText(result.value)) count++
    }
    return { keep: { iterable, iterator } }
  }
})

type AnthropicEvent = AnthropicSdk.RawMessageStreamEvent
type ChatChunk = OpenAI.Chat.Completions.ChatCompletionChunk
type ResponsesEvent = OpenAI.Responses.ResponseStreamEvent
interface GeminiChunk {
  readonly candidates?: ReadonlyArray<{ readonly content?: { readonly parts?: ReadonlyArray<{ readonly text?: string }> } }>
}

const anthropic = (urls: Urls): Client => {
  const sdk = new AnthropicSdk({ apiKey: API_KEY, baseURL: urls.anthropic, maxRetries: 0 })
  return iterableClient<AnthropicEvent>(
    (model) =>
      sdk.messages.create({ model, max_tokens: 1024, messages: [{ role: "user", content: PROMPT }], stream: true }),
    (event) => event.type === "content_block_delta" && event.delta.type === "text_delta"
  )
}

const openaiChat = (urls: Urls): Client => {
  const sdk = new OpenAI({ apiKey: API_KEY, baseURL: urls.openai, maxRetries: 0 })
  return iterableClient<ChatChunk>(
    (model) =>
      sdk.chat.completions.create({
        model,
        messages: [{ role: "user", content: PROMPT }],
        stream: true,
        stream_options: { include_usage: true }
      }),
    (chunk) => {
      const content = chunk.choices[0]?.delta?.content
      return typeof content === "string" && content.length > 0
    }
  )
}

const openaiResponses = (urls: Urls): Client => {
  const sdk = new OpenAI({ apiKey: API_KEY, baseURL: urls.openai, maxRetries: 0 })
  return iterableClient<ResponsesEvent>(
    (model) => sdk.responses.create({ model, input: PROMPT, stream: true }),
    (event) => event.type === "response.output_text.delta"
  )
}

const gemini = (urls: Urls): Client => {
  const sdk = new GoogleGenerativeAI(API_KEY)
  return iterableClient<GeminiChunk>(
    async (model) => {
      const result = await sdk
        .getGenerativeModel({ model }, { baseUrl: urls.gemini })
        .generateContentStream({ contents: [{ role: "user", parts: [{ text: PROMPT }] }] })
      // Not part of the loop a user writes, but without it a cut stream's
      // aggregated `response` may reject unhandled and end the bench.
      result.response.catch(() => undefined)
      return result.stream
    },
    (chunk) => {
      const text = chunk.candidates?.[0]?.content?.parts?.[0]?.text
      return typeof text === "string" && text.length > 0
    }
  )
}

/**
 * Ollama: `fetch`, then split NDJSON lines and `JSON.parse` each, inline (an
 * async generator per line would add a promise per event to the floor).
 * `onText` returns true to stop reading; the body's iterator is then returned,
 * which cancels the response.
 */
const ollamaRead = async (
  host: string,
  model: string,
  onText: () => boolean,
  stopAt?: { readonly keep: (iterator: AsyncIterator<Uint8Array>) => void }
): Promise<void> => {
  const response = await fetch(`${host}/api/chat`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: PROMPT }], stream: true })
  })
  const body = response.body as unknown as AsyncIterable<Uint8Array>
  const decoder = new TextDecoder()
  let buffer = ""
  const iterator = body[Symbol.asyncIterator]()
  try {
    for (;;) {
      const result = await iterator.next()
      if (result.done) return
      buffer += decoder.decode(result.value, { stream: true })
      let start = 0
      let newline: number
      while ((newline = buffer.indexOf("\n", start)) !== -1) {
        const line = buffer.slice(start, newline)
        start = newline + 1
        if (line.length === 0) continue
        const content = (JSON.parse(line) as { message?: { content?: string } }).message?.content
        if (typeof content === "string" && content.length > 0 && onText()) {
          if (stopAt !== undefined) {
            stopAt.keep(iterator)
            return
          }
          await iterator.return?.()
          return
        }
      }
      buffer = buffer.slice(start)
    }
  } catch (cause) {
    await iterator.return?.()
    throw cause
  }
}

const ollama = (urls: Urls): Client => ({
  async readAll(model, onFirstText) {
    let count = 0
    await ollamaRead(urls.ollama, model, () => {
      if (count++ === 0) onFirstText?.()
      return false
    })
    return count
  },
  async cutAfter(model, n) {
    let count = 0
    let cutAt = 0
    await ollamaRead(urls.ollama, model, () => {
      if (++count < n) return false
      cutAt = now()
      return true
    })
    return cutAt
  },
  async stopAfter(model, n) {
    let count = 0
    let kept: AsyncIterator<Uint8Array> | undefined
    await ollamaRead(urls.ollama, model, () => ++count >= n, { keep: (iterator) => (kept = iterator) })
    return { keep: kept }
  }
})

export const raw: Library = {
  name: "raw SDK",
  client(format: WireFormat, urls: Urls): Client {
    switch (format) {
      case "anthropic":
        return anthropic(urls)
      case "openai-chat":
        return openaiChat(urls)
      case "openai-responses":
        return openaiResponses(urls)
      case "gemini":
        return gemini(urls)
      case "ollama":
        return ollama(urls)
    }
  }
}
