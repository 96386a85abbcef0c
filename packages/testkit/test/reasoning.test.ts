/**
 * The conversation-model vocabulary on each wire: signed and redacted reasoning, JSON answers and
 * usage detail, read as raw frames (the shapes are checked against the recorded fixtures') and
 * through the real SDKs where they expose them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { FakeLlmServer, Script } from "../src/index.js"
import { anthropic, openai } from "./support/Readers.js"

let server: FakeLlmServer.Server

beforeAll(async () => {
  server = await FakeLlmServer.start()
})

afterAll(async () => {
  await server?.close()
})

type Payload = Record<string, any>

/** POSTs JSON and returns the payloads of the SSE / NDJSON body (SSE `event:` names kept). */
const payloads = async (path: string, body: unknown, script: Script.Script): Promise<Array<Payload>> => {
  server.enqueue(script)
  const response = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body)
  })
  expect(response.status).toBe(200)
  const text = await response.text()
  if (path === "/api/chat") return text.trim().split("\n").map((line) => JSON.parse(line))
  return text
    .split(/\r?\n\r?\n/)
    .map((frame) => frame.split(/\r?\n/).find((line) => line.startsWith("data: "))?.slice(6))
    .filter((data): data is string => data !== undefined && data !== "[DONE]")
    .map((data) => JSON.parse(data))
}

const complete = async (path: string, body: unknown, script: Script.Script): Promise<Payload> => {
  server.enqueue(script)
  const response = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body)
  })
  expect(response.status).toBe(200)
  return (await response.json()) as Payload
}

const signedThenTool = Script.make([
  Script.reasoningEvent("Let me "),
  Script.reasoningEvent("check.", "SIG-1"),
  Script.toolCallEvent({ id: "call_1", name: "get_weather", arguments: { city: "Paris" }, signature: "GSIG" })
])

const usage = { inputTokens: 100, outputTokens: 20, cachedInputTokens: 80, cacheWriteTokens: 5, reasoningTokens: 12 }

describe("Anthropic", () => {
  const body = { model: "claude", max_tokens: 2048, stream: true, messages: [{ role: "user", content: "Hi" }] }

  it("streams a thinking block with thinking_delta and the script's signature_delta, then the tool_use", async () => {
    const frames = await payloads("/v1/messages", body, signedThenTool)
    const blocks = frames.filter((f) => f.type === "content_block_start").map((f) => f.content_block)
    expect(blocks).toEqual([
      { type: "thinking", thinking: "", signature: "" },
      { type: "tool_use", id: "call_1", name: "get_weather", input: {} }
    ])
    const deltas = frames.filter((f) => f.type === "content_block_delta" && f.index === 0).map((f) => f.delta)
    expect(deltas).toEqual([
      { type: "thinking_delta", thinking: "Let me " },
      { type: "thinking_delta", thinking: "check." },
      { type: "signature_delta", signature: "SIG-1" }
    ])
  })

  it("the real SDK accumulates the signed thinking block and the redacted_thinking block", async () => {
    server.enqueue(Script.make([Script.reasoningEvent("hm", "SIG-2"), Script.redactedReasoningEvent("OPAQUE"), Script.textEvent("ok")]))
    const stream = anthropic(server).messages.stream({ model: "claude", max_tokens: 2048, messages: [{ role: "user", content: "Hi" }] })
    const message = await stream.finalMessage()
    expect(message.content).toEqual([
      { type: "thinking", thinking: "hm", signature: "SIG-2" },
      { type: "redacted_thinking", data: "OPAQUE" },
      { type: "text", text: "ok" }
    ])
  })

  it("reports cache reads and writes in message_start and message_delta", async () => {
    const frames = await payloads("/v1/messages", body, Script.text(["a"], { usage }))
    expect(frames[0].message.usage).toEqual({ input_tokens: 100, cache_creation_input_tokens: 5, cache_read_input_tokens: 80, output_tokens: 1 })
    const delta = frames.find((f) => f.type === "message_delta")!
    expect(delta.usage).toEqual({ input_tokens: 100, cache_creation_input_tokens: 5, cache_read_input_tokens: 80, output_tokens: 20 })
  })

  it("leaves the cache counters out when the script does not set them", async () => {
    const frames = await payloads("/v1/messages", body, Script.text(["a"]))
    expect(frames[0].message.usage).toEqual({ input_tokens: 10, output_tokens: 1 })
  })

  it("a JSON answer is text, or the forced tool's tool_use with stop_reason tool_use", async () => {
    const text = await payloads("/v1/messages", body, Script.json({ a: 1 }, { chunks: 2 }))
    expect(text.filter((f) => f.delta?.type === "text_delta").map((f) => f.delta.text).join("")).toBe('{"a":1}')
    const forced = { ...body, tools: [{ name: "answer", input_schema: { type: "object" } }], tool_choice: { type: "tool", name: "answer" } }
    const frames = await payloads("/v1/messages", forced, Script.json({ a: 1 }, { chunks: 3 }))
    expect(frames.find((f) => f.type === "content_block_start")!.content_block).toMatchObject({ type: "tool_use", name: "answer", input: {} })
    const json = frames.filter((f) => f.delta?.type === "input_json_delta").map((f) => f.delta.partial_json)
    expect(json).toHaveLength(3)
    expect(JSON.parse(json.join(""))).toEqual({ a: 1 })
    expect(frames.find((f) => f.type === "message_delta")!.delta.stop_reason).toBe("tool_use")
    const whole = await complete("/v1/messages", { ...forced, stream: false }, Script.json({ a: 1 }))
    expect(whole.content).toEqual([{ type: "tool_use", id: expect.any(String), name: "answer", input: { a: 1 } }])
    expect(whole.stop_reason).toBe("tool_use")
  })

  it("non-streamed: thinking with its signature, redacted thinking, cache usage", async () => {
    const whole = await complete(
      "/v1/messages",
      { ...body, stream: false },
      Script.make([Script.reasoningEvent("a"), Script.reasoningEvent("b", "S"), Script.redactedReasoningEvent("D"), Script.textEvent("t")], { usage })
    )
    expect(whole.content).toEqual([
      { type: "thinking", thinking: "ab", signature: "S" },
      { type: "redacted_thinking", data: "D" },
      { type: "text", text: "t" }
    ])
    expect(whole.usage).toEqual({ input_tokens: 100, cache_creation_input_tokens: 5, cache_read_input_tokens: 80, output_tokens: 20 })
  })
})

describe("OpenAI Chat", () => {
  const body = { model: "deepseek-reasoner", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "Hi" }] }

  it("streams reasoning_content deltas as DeepSeek does, and the usage details", async () => {
    const frames = await payloads("/v1/chat/completions", body, Script.reasoning(["H", "mm"], ["Hi"], { usage, signature: "ignored" }))
    const deltas = frames.filter((f) => f.choices.length > 0).map((f) => f.choices[0].delta)
    expect(deltas.slice(1, 3)).toEqual([
      { content: null, reasoning_content: "H" },
      { content: null, reasoning_content: "mm" }
    ])
    expect(frames[frames.length - 1].usage).toEqual({
      prompt_tokens: 100,
      completion_tokens: 20,
      total_tokens: 120,
      prompt_tokens_details: { cached_tokens: 80 },
      completion_tokens_details: { reasoning_tokens: 12 }
    })
  })

  it("a JSON answer is content deltas; the SDK sees the JSON text", async () => {
    server.enqueue(Script.json({ answer: [1, 2] }, { chunks: 4 }))
    const stream = await openai(server).chat.completions.create({ model: "m", stream: true, messages: [{ role: "user", content: "Hi" }] })
    const pieces: Array<string> = []
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) pieces.push(chunk.choices[0].delta.content)
    expect(pieces).toHaveLength(4)
    expect(JSON.parse(pieces.join(""))).toEqual({ answer: [1, 2] })
  })
})

describe("OpenAI Responses", () => {
  const body = { model: "o4", stream: true, input: "Hi", include: ["reasoning.encrypted_content"], store: false }

  it("a signed reasoning item carries encrypted_content on added and done, with summary deltas", async () => {
    const frames = await payloads("/v1/responses", body, Script.make([...signedThenTool.events!], { usage }))
    const added = frames.filter((f) => f.type === "response.output_item.added").map((f) => f.item)
    expect(added[0]).toEqual({ id: expect.stringMatching(/^rs_/), type: "reasoning", encrypted_content: "SIG-1", summary: [] })
    expect(added[1]).toMatchObject({ type: "function_call", call_id: "call_1", name: "get_weather" })
    const deltas = frames.filter((f) => f.type === "response.reasoning_summary_text.delta").map((f) => f.delta)
    expect(deltas).toEqual(["Let me ", "check."])
    const done = frames.find((f) => f.type === "response.output_item.done")!.item
    expect(done).toEqual({ id: added[0].id, type: "reasoning", encrypted_content: "SIG-1", summary: [{ type: "summary_text", text: "Let me check." }] })
    const completed = frames[frames.length - 1]
    expect(completed.type).toBe("response.completed")
    expect(completed.response.usage).toEqual({
      input_tokens: 100,
      input_tokens_details: { cached_tokens: 80 },
      output_tokens: 20,
      output_tokens_details: { reasoning_tokens: 12 },
      total_tokens: 120
    })
    expect(frames.map((f) => f.sequence_number)).toEqual(frames.map((_, i) => i))
  })

  it("without include reasoning.encrypted_content, no encrypted_content (as the real API)", async () => {
    const frames = await payloads("/v1/responses", { model: "o4", stream: true, input: "Hi" }, signedThenTool)
    expect(frames.find((f) => f.type === "response.output_item.added")!.item).not.toHaveProperty("encrypted_content")
  })

  it("redacted reasoning is an item with encrypted_content and an empty summary; non-streamed too", async () => {
    const script = Script.make([Script.redactedReasoningEvent("ENC"), Script.textEvent("ok")])
    const frames = await payloads("/v1/responses", body, script)
    expect(frames.find((f) => f.type === "response.output_item.done")!.item).toMatchObject({ type: "reasoning", encrypted_content: "ENC", summary: [] })
    const whole = await complete("/v1/responses", { ...body, stream: false }, Script.make([...signedThenTool.events!]))
    expect(whole.output.map((item: Payload) => item.type)).toEqual(["reasoning", "function_call"])
    expect(whole.output[0].encrypted_content).toBe("SIG-1")
  })
})

describe("Gemini", () => {
  const path = "/v1beta/models/gemini-3:streamGenerateContent"
  const body = { contents: [{ role: "user", parts: [{ text: "Hi" }] }] }

  it("thought parts, thoughtSignature on the functionCall part, cached and thoughts token counts", async () => {
    const frames = await payloads(`${path}?alt=sse`, body, Script.make([...signedThenTool.events!], { usage }))
    const parts = frames.flatMap((f) => f.candidates[0].content.parts)
    expect(parts.slice(0, 3)).toEqual([
      { text: "Let me ", thought: true },
      { text: "check.", thought: true, thoughtSignature: "SIG-1" },
      { functionCall: { name: "get_weather", args: { city: "Paris" } }, thoughtSignature: "GSIG" }
    ])
    expect(frames[0].usageMetadata).toEqual({ promptTokenCount: 100, cachedContentTokenCount: 80, totalTokenCount: 100 })
    expect(frames[frames.length - 1].usageMetadata).toEqual({
      promptTokenCount: 100,
      cachedContentTokenCount: 80,
      candidatesTokenCount: 20,
      totalTokenCount: 132,
      thoughtsTokenCount: 12
    })
  })

  it("a signed empty text part (the end-of-turn signature) and JSON text parts", async () => {
    const frames = await payloads(`${path}?alt=sse`, body, Script.make([Script.jsonEvent({ a: 1 }, 2), Script.textEvent("", "TSIG")]))
    const parts = frames.flatMap((f) => f.candidates[0].content.parts)
    expect(parts.slice(0, 3)).toEqual([{ text: '{"a"' }, { text: ":1}" }, { text: "", thoughtSignature: "TSIG" }])
  })

  it("non-streamed: signed parts stay apart, like deltas join", async () => {
    const whole = await complete(
      "/v1beta/models/gemini-3:generateContent",
      body,
      Script.make([Script.reasoningEvent("a"), Script.reasoningEvent("b"), Script.textEvent("x"), Script.textEvent("y", "S")])
    )
    expect(whole.candidates[0].content.parts).toEqual([{ text: "ab", thought: true }, { text: "x" }, { text: "y", thoughtSignature: "S" }])
  })
})

describe("Ollama", () => {
  it("message.thinking lines, JSON content lines; redacted reasoning writes nothing", async () => {
    const script = Script.make([Script.reasoningEvent("t", "ignored"), Script.redactedReasoningEvent("X"), Script.jsonEvent('{"a":1}', 2)])
    const lines = await payloads("/api/chat", { model: "qwen3", messages: [{ role: "user", content: "Hi" }] }, script)
    expect(lines.map((l) => l.message)).toEqual([
      { role: "assistant", content: "", thinking: "t" },
      { role: "assistant", content: '{"a"' },
      { role: "assistant", content: ":1}" },
      { role: "assistant", content: "" }
    ])
  })
})
