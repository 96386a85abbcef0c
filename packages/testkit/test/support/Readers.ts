/**
 * Test helpers: the real SDKs pointed at a FakeLlmServer, and readers that turn each SDK's stream
 * into the deltas it saw.
 */
import Anthropic from "@anthropic-ai/sdk"
import { GoogleGenerativeAI } from "@google/generative-ai"
import OpenAI from "openai"
import type { FakeLlmServer } from "../../src/index.js"

type Server = FakeLlmServer.Server

export const SECRET = "sk-test-SECRET-key-1234567890"

/** What a consumer saw, in order. */
export interface Seen {
  readonly text: Array<string>
  readonly reasoning: Array<string>
  readonly toolCalls: Array<{ id?: string; name: string; arguments: string }>
  finish: string | null
  usage: { input: number | null; output: number | null }
  /** Raw event types / markers, for format-specific assertions. */
  readonly raw: Array<unknown>
  /** The error the stream ended with, if any. */
  error: unknown
}

export const emptySeen = (): Seen => ({
  text: [],
  reasoning: [],
  toolCalls: [],
  finish: null,
  usage: { input: null, output: null },
  raw: [],
  error: undefined
})

export const anthropic = (server: Server) =>
  new Anthropic({ apiKey: SECRET, baseURL: server.baseUrls.anthropic, maxRetries: 0, logLevel: "off" })

export const openai = (server: Server) =>
  new OpenAI({ apiKey: SECRET, baseURL: server.baseUrls.openai, maxRetries: 0, logLevel: "off" })

export const gemini = (server: Server, model = "gemini-test") =>
  new GoogleGenerativeAI(SECRET).getGenerativeModel({ model }, { baseUrl: server.baseUrls.gemini })

const user = [{ role: "user" as const, content: "Hi" }]

/** Runs `body`, recording a thrown error into `seen.error` instead of throwing. */
const capture = async (seen: Seen, body: () => Promise<void>): Promise<Seen> => {
  try {
    await body()
  } catch (error) {
    seen.error = error
  }
  return seen
}

export interface ReadOptions {
  readonly model?: string
  readonly signal?: AbortSignal
  /** Called after each event; may abort. */
  readonly onEvent?: (seen: Seen) => void
}

export const readAnthropic = (server: Server, options: ReadOptions = {}): Promise<Seen> => {
  const seen = emptySeen()
  return capture(seen, async () => {
    const stream = await anthropic(server).messages.create(
      { model: options.model ?? "claude-test", max_tokens: 1024, messages: user, stream: true },
      { signal: options.signal }
    )
    for await (const event of stream) {
      seen.raw.push(event.type)
      switch (event.type) {
        case "message_start":
          seen.usage.input = event.message.usage.input_tokens
          break
        case "content_block_start":
          if (event.content_block.type === "tool_use") {
            seen.toolCalls.push({ id: event.content_block.id, name: event.content_block.name, arguments: "" })
          }
          break
        case "content_block_delta":
          if (event.delta.type === "text_delta") seen.text.push(event.delta.text)
          else if (event.delta.type === "thinking_delta") seen.reasoning.push(event.delta.thinking)
          else if (event.delta.type === "input_json_delta") seen.toolCalls[seen.toolCalls.length - 1].arguments += event.delta.partial_json
          break
        case "message_delta":
          seen.finish = event.delta.stop_reason
          seen.usage.output = event.usage.output_tokens
          if (typeof event.usage.input_tokens === "number") seen.usage.input = event.usage.input_tokens
          break
      }
      options.onEvent?.(seen)
    }
  })
}

export const readOpenAIChat = (server: Server, options: ReadOptions = {}): Promise<Seen> => {
  const seen = emptySeen()
  return capture(seen, async () => {
    const stream = await openai(server).chat.completions.create(
      { model: options.model ?? "gpt-test", messages: user, stream: true, stream_options: { include_usage: true } },
      { signal: options.signal }
    )
    const byIndex = new Map<number, { id?: string; name: string; arguments: string }>()
    for await (const chunk of stream) {
      seen.raw.push(chunk)
      const choice = chunk.choices[0]
      if (choice !== undefined) {
        const delta = choice.delta as typeof choice.delta & { reasoning_content?: string }
        if (typeof delta.content === "string" && delta.content !== "") seen.text.push(delta.content)
        if (typeof delta.reasoning_content === "string") seen.reasoning.push(delta.reasoning_content)
        for (const call of delta.tool_calls ?? []) {
          let entry = byIndex.get(call.index)
          if (entry === undefined) {
            entry = { id: call.id, name: call.function?.name ?? "", arguments: "" }
            byIndex.set(call.index, entry)
            seen.toolCalls.push(entry)
          }
          entry.arguments += call.function?.arguments ?? ""
        }
        if (choice.finish_reason != null) seen.finish = choice.finish_reason
      }
      if (chunk.usage != null) seen.usage = { input: chunk.usage.prompt_tokens, output: chunk.usage.completion_tokens }
      options.onEvent?.(seen)
    }
  })
}

export const readOpenAIResponses = (server: Server, options: ReadOptions = {}): Promise<Seen> => {
  const seen = emptySeen()
  return capture(seen, async () => {
    const stream = await openai(server).responses.create(
      { model: options.model ?? "gpt-test", input: "Hi", stream: true },
      { signal: options.signal }
    )
    const byOutput = new Map<number, { id?: string; name: string; arguments: string }>()
    for await (const event of stream) {
      seen.raw.push(event.type)
      switch (event.type) {
        case "response.output_text.delta":
          seen.text.push(event.delta)
          break
        case "response.reasoning_summary_text.delta":
          seen.reasoning.push(event.delta)
          break
        case "response.output_item.added":
          if (event.item.type === "function_call") {
            const entry = { id: event.item.call_id, name: event.item.name, arguments: "" }
            byOutput.set(event.output_index, entry)
            seen.toolCalls.push(entry)
          }
          break
        case "response.function_call_arguments.delta": {
          const entry = byOutput.get(event.output_index)
          if (entry !== undefined) entry.arguments += event.delta
          break
        }
        case "response.completed":
        case "response.incomplete":
        case "response.failed":
          seen.finish = event.response.status ?? null
          if (event.response.usage != null) {
            seen.usage = { input: event.response.usage.input_tokens, output: event.response.usage.output_tokens }
          }
          break
      }
      options.onEvent?.(seen)
    }
  })
}

export const readGemini = (server: Server, options: ReadOptions = {}): Promise<Seen> => {
  const seen = emptySeen()
  return capture(seen, async () => {
    const result = await gemini(server, options.model).generateContentStream("Hi", { signal: options.signal })
    // the aggregated promise rejects on abort / failure: handle it, or Node reports an unhandled rejection
    result.response.catch(() => {})
    for await (const chunk of result.stream) {
      seen.raw.push(chunk)
      const candidate = chunk.candidates?.[0]
      for (const part of candidate?.content?.parts ?? []) {
        if (typeof part.text === "string") {
          if ((part as { thought?: boolean }).thought === true) seen.reasoning.push(part.text)
          else if (part.text !== "") seen.text.push(part.text)
        }
        if (part.functionCall !== undefined) {
          seen.toolCalls.push({ name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) })
        }
      }
      if (candidate?.finishReason !== undefined) seen.finish = candidate.finishReason
      if (chunk.usageMetadata !== undefined) {
        seen.usage = {
          input: chunk.usageMetadata.promptTokenCount ?? null,
          output: chunk.usageMetadata.candidatesTokenCount ?? null
        }
      }
      options.onEvent?.(seen)
    }
  })
}

/** Reads an Ollama NDJSON stream with fetch. */
export const readOllama = (server: Server, options: ReadOptions & { readonly stream?: boolean } = {}): Promise<Seen> => {
  const seen = emptySeen()
  return capture(seen, async () => {
    const response = await fetch(`${server.baseUrls.ollama}/api/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: options.model ?? "llama-test", messages: user, stream: options.stream ?? true }),
      signal: options.signal
    })
    if (!response.ok) {
      seen.raw.push({ status: response.status, body: await response.json() })
      throw Object.assign(new Error(`HTTP ${response.status}`), { status: response.status })
    }
    const decoder = new TextDecoder()
    let buffer = ""
    const onLine = (line: string) => {
      const value = JSON.parse(line) as {
        message?: { content?: string; thinking?: string; tool_calls?: Array<{ function: { name: string; arguments: unknown } }> }
        done?: boolean
        done_reason?: string
        prompt_eval_count?: number
        eval_count?: number
        error?: string
      }
      seen.raw.push(value)
      if (value.error !== undefined) throw Object.assign(new Error(value.error), { ollama: true })
      if (value.message?.content) seen.text.push(value.message.content)
      if (value.message?.thinking) seen.reasoning.push(value.message.thinking)
      for (const call of value.message?.tool_calls ?? []) {
        seen.toolCalls.push({ name: call.function.name, arguments: JSON.stringify(call.function.arguments) })
      }
      if (value.done === true) {
        seen.finish = value.done_reason ?? null
        seen.usage = { input: value.prompt_eval_count ?? null, output: value.eval_count ?? null }
      }
      options.onEvent?.(seen)
    }
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true })
      let newline: number
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(newline + 1)
        if (line.trim() !== "") onLine(line)
      }
    }
    if (buffer.trim() !== "") onLine(buffer)
  })
}

/** A reader per wire format. */
export const readers = {
  anthropic: readAnthropic,
  "openai-chat": readOpenAIChat,
  "openai-responses": readOpenAIResponses,
  gemini: readGemini,
  ollama: readOllama
} as const

export type Format = keyof typeof readers

export const formats: ReadonlyArray<Format> = ["anthropic", "openai-chat", "openai-responses", "gemini", "ollama"]
