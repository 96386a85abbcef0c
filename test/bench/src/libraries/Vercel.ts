/**
 * The Vercel AI SDK 6: `streamText({ model, prompt }).textStream`, with the
 * @ai-sdk providers (and the community `ollama-ai-provider-v2` for Ollama).
 * Its cut is `abortSignal` plus `break`: `break` alone never cancels the
 * request (the server writes the whole answer).
 */
import { createAnthropic } from "@ai-sdk/anthropic"
import { createGoogleGenerativeAI } from "@ai-sdk/google"
import { createOpenAI } from "@ai-sdk/openai"
import { type LanguageModel, streamText } from "ai"
import { createOllama } from "ollama-ai-provider-v2"
import { now } from "../Clock.js"
import type { Urls } from "../ServerClient.js"
import { API_KEY, type Client, type Library, PROMPT, type WireFormat } from "./Library.js"

// Silence the SDK's console warnings (it notes settings the fake "models" lack).
;(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false

const modelFactory = (format: WireFormat, urls: Urls): (model: string) => LanguageModel => {
  switch (format) {
    case "anthropic": {
      const provider = createAnthropic({ apiKey: API_KEY, baseURL: `${urls.anthropic}/v1` })
      return (model) => provider(model)
    }
    case "openai-chat": {
      const provider = createOpenAI({ apiKey: API_KEY, baseURL: urls.openai })
      return (model) => provider.chat(model)
    }
    case "openai-responses": {
      const provider = createOpenAI({ apiKey: API_KEY, baseURL: urls.openai })
      return (model) => provider.responses(model)
    }
    case "gemini": {
      const provider = createGoogleGenerativeAI({ apiKey: API_KEY, baseURL: `${urls.gemini}/v1beta` })
      return (model) => provider(model)
    }
    case "ollama": {
      const provider = createOllama({ baseURL: `${urls.ollama}/api` })
      return (model) => provider(model)
    }
  }
}

const client = (modelOf: (model: string) => LanguageModel): Client => ({
  async readAll(model, onFirstText) {
    let count = 0
    const result = streamText({ model: modelOf(model), prompt: PROMPT, maxRetries: 0 })
    for await (const _text of result.textStream) {
      if (count++ === 0) onFirstText?.()
    }
    return count
  },
  async cutAfter(model, n) {
    const controller = new AbortController()
    const result = streamText({ model: modelOf(model), prompt: PROMPT, maxRetries: 0, abortSignal: controller.signal })
    let count = 0
    let cutAt = 0
    for await (const _text of result.textStream) {
      if (++count === n) {
        cutAt = now()
        controller.abort()
        break
      }
    }
    return cutAt
  },
  async breakAfter(model, n) {
    const result = streamText({ model: modelOf(model), prompt: PROMPT, maxRetries: 0 })
    let count = 0
    let cutAt = 0
    for await (const _text of result.textStream) {
      if (++count === n) {
        cutAt = now()
        break
      }
    }
    return cutAt
  },
  async stopAfter(model, n) {
    const result = streamText({ model: modelOf(model), prompt: PROMPT, maxRetries: 0 })
    const iterator = result.textStream[Symbol.asyncIterator]()
    let count = 0
    while (count < n && !(await iterator.next()).done) count++
    return { keep: { result, iterator } }
  }
})

export const vercel: Library = {
  name: "Vercel AI SDK",
  client: (format, urls) => client(modelFactory(format, urls))
}
