/**
 * The readers of the current-line bench (`bench:current`, Node ≥22, issue #17):
 * `openai` 7 and the Vercel AI SDK 7 (`ai` 7, `@ai-sdk/*` 4), installed under
 * npm aliases beside the workspace's pinned `openai` 6 and `ai` 6, so one run
 * compares both lines. streamvisor's OpenAI adapter gets an `openai` 7 client
 * through its `client` option (its peer range is still `openai` 6 — the cast
 * below is that gap). Only `readAll` is implemented: the CPU bench reads
 * whole answers.
 */
import { createAnthropic } from "@ai-sdk/anthropic-4"
import { createGoogleGenerativeAI } from "@ai-sdk/google-4"
import { createOpenAI } from "@ai-sdk/openai-4"
import type { Provider } from "@streamvisor/core"
import { OpenAI } from "@streamvisor/openai"
import { type LanguageModel, streamText } from "ai-7"
import OpenAI7 from "openai-7"
import type { CpuLibrary } from "../Cpu.js"
import type { Urls } from "../ServerClient.js"
import { API_KEY, type Client, PROMPT, type WireFormat } from "./Library.js"
import { raw } from "./Raw.js"
import { effectClient, promiseClient, streamvisor, streamvisorPromise } from "./Streamvisor.js"
import { vercel } from "./Vercel.js"

;(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false

/** Counts the text deltas of an `openai` 7 stream (the same loop as `Raw.ts`). */
const countWhile = async <A>(items: AsyncIterable<A>, isText: (item: A) => boolean, onFirstText?: () => void) => {
  let count = 0
  for await (const item of items) {
    if (isText(item) && count++ === 0) onFirstText?.()
  }
  return count
}

const openai7 = (urls: Urls) => new OpenAI7({ apiKey: API_KEY, baseURL: urls.openai, maxRetries: 0 })

const raw7Client = (format: WireFormat, urls: Urls): Client | string => {
  const sdk = openai7(urls)
  switch (format) {
    case "openai-chat":
      return {
        readAll: async (model, onFirstText) =>
          countWhile(
            await sdk.chat.completions.create({
              model,
              messages: [{ role: "user", content: PROMPT }],
              stream: true,
              stream_options: { include_usage: true }
            }),
            (chunk) => {
              const content = chunk.choices[0]?.delta?.content
              return typeof content === "string" && content.length > 0
            },
            onFirstText
          )
      }
    case "openai-responses":
      return {
        readAll: async (model, onFirstText) =>
          countWhile(
            await sdk.responses.create({ model, input: PROMPT, stream: true }),
            (event) => event.type === "response.output_text.delta",
            onFirstText
          )
      }
    default:
      return raw.client(format, urls)
  }
}

/** streamvisor's OpenAI adapter over an `openai` 7 client; the other formats as in the main bench. */
const streamvisor7 = (format: WireFormat, urls: Urls, transport: "bytes" | "sdk"): Provider.Provider | string => {
  if (format !== "openai-chat" && format !== "openai-responses") return "openai only"
  // openai 7's client as it is: the adapter's `client` option is typed by shape (`OpenAI.Client`)
  return OpenAI.make({ client: openai7(urls), api: format === "openai-chat" ? "chat" : "responses", transport })
}

const vercel7Model = (format: WireFormat, urls: Urls): ((model: string) => LanguageModel) | string => {
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
    case "ollama":
      return "no Ollama provider for ai 7 measured"
  }
}

const isOpenAI = (format: WireFormat) => format === "openai-chat" || format === "openai-responses"

/** Every reader of `bench:current`, the baseline ("raw SDK": `openai` 7 for the OpenAI formats) first. */
export const currentLibraries: ReadonlyArray<CpuLibrary> = [
  { name: "raw SDK", client: raw7Client },
  {
    name: "raw SDK (openai 6)",
    client: (format, urls) => (isOpenAI(format) ? raw.client(format, urls) : "same SDK as raw SDK")
  },
  { name: "streamvisor", client: (format, urls) => streamvisor.client(format, urls) },
  { name: "streamvisor (promise)", client: (format, urls) => streamvisorPromise.client(format, urls) },
  {
    name: "streamvisor + openai 7 client",
    client: (format, urls) => {
      const provider = streamvisor7(format, urls, "bytes")
      return typeof provider === "string" ? provider : effectClient(provider)
    }
  },
  {
    name: "streamvisor (promise) + openai 7 client",
    client: (format, urls) => {
      const provider = streamvisor7(format, urls, "bytes")
      return typeof provider === "string" ? provider : promiseClient(provider)
    }
  },
  {
    name: "streamvisor (sdk transport) + openai 7",
    client: (format, urls) => {
      const provider = streamvisor7(format, urls, "sdk")
      return typeof provider === "string" ? provider : effectClient(provider)
    }
  },
  { name: "Vercel AI SDK 6", client: (format, urls) => vercel.client(format, urls) },
  {
    name: "Vercel AI SDK 7",
    client: (format, urls) => {
      const modelOf = vercel7Model(format, urls)
      if (typeof modelOf === "string") return modelOf
      return {
        async readAll(model, onFirstText) {
          let count = 0
          const result = streamText({ model: modelOf(model), prompt: PROMPT, maxRetries: 0 })
          for await (const _text of result.textStream) {
            if (count++ === 0) onFirstText?.()
          }
          return count
        }
      }
    }
  }
]
