/**
 * The bytes-only floor: the same request with `fetch`, reading the body's
 * bytes and nothing else. No library can be faster than this; the gap between
 * it and the raw SDK is the SDK's own parsing.
 */
import type { Urls } from "../ServerClient.js"
import { API_KEY, type Client, type Library, PROMPT, type WireFormat } from "./Library.js"

const target = (format: WireFormat, urls: Urls, model: string): { url: string; body: unknown } => {
  const messages = [{ role: "user", content: PROMPT }]
  switch (format) {
    case "anthropic":
      return { url: `${urls.anthropic}/v1/messages`, body: { model, max_tokens: 1024, messages, stream: true } }
    case "openai-chat":
      return { url: `${urls.openai}/chat/completions`, body: { model, messages, stream: true } }
    case "openai-responses":
      return { url: `${urls.openai}/responses`, body: { model, input: PROMPT, stream: true } }
    case "gemini":
      return {
        url: `${urls.gemini}/v1beta/models/${model}:streamGenerateContent?alt=sse`,
        body: { contents: [{ role: "user", parts: [{ text: PROMPT }] }] }
      }
    case "ollama":
      return { url: `${urls.ollama}/api/chat`, body: { model, messages, stream: true } }
  }
}

const client = (format: WireFormat, urls: Urls): Client => ({
  async readAll(model) {
    const { body, url } = target(format, urls, model)
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${API_KEY}` },
      body: JSON.stringify(body)
    })
    let bytes = 0
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.byteLength
    return bytes
  }
})

export const bytesFloor: Library = {
  name: "bytes-only floor",
  client
}
