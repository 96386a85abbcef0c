/**
 * Scripted streams as each real SDK sees them (Ollama through fetch), and the non-streaming forms.
 */
import { performance } from "node:perf_hooks"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { FakeLlmServer, Script } from "../src/index.js"
import { anthropic, formats, gemini, openai, readers, SECRET } from "./support/Readers.js"

let server: FakeLlmServer.Server
let n = 0
/** A model name unique to one test, routed to `script` (tests share one server). */
const route = (script: Script.ScriptSource): string => {
  const model = `model-${++n}`
  server.scriptFor(model, script)
  return model
}

beforeAll(async () => {
  server = await FakeLlmServer.start()
})

afterAll(async () => {
  await server?.close()
})

const finishFor = {
  stop: { anthropic: "end_turn", "openai-chat": "stop", "openai-responses": "completed", gemini: "STOP", ollama: "stop" },
  length: { anthropic: "max_tokens", "openai-chat": "length", "openai-responses": "incomplete", gemini: "MAX_TOKENS", ollama: "length" },
  tool_calls: { anthropic: "tool_use", "openai-chat": "tool_calls", "openai-responses": "completed", gemini: "STOP", ollama: "stop" },
  content_filter: { anthropic: "refusal", "openai-chat": "content_filter", "openai-responses": "incomplete", gemini: "SAFETY", ollama: "stop" }
} as const

describe.each(formats)("%s streaming", (format) => {
  const read = readers[format]

  it("delivers the scripted text deltas in order, with finish and usage", async () => {
    const deltas = ["Hel", "lo, ", "wor", "ld", " — ünïcødé 🎉", "\"quoted\"\n", "\u2028sep\u2029", "\r\n\n\\"]
    const seen = await read(server, { model: route(Script.text(deltas, { usage: { inputTokens: 7, outputTokens: 6 } })) })
    expect(seen.error).toBeUndefined()
    expect(seen.text).toEqual(deltas)
    expect(seen.finish).toBe(finishFor.stop[format])
    expect(seen.usage).toEqual({ input: 7, output: 6 })
  })

  it("plays the default greeting", async () => {
    const seen = await read(server, { model: route({}) })
    expect(seen.text.join("")).toBe("Hello! How can I help you today?")
    expect(seen.usage).toEqual({ input: 10, output: 5 })
  })

  it("delivers reasoning, text and a tool call", async () => {
    const script = Script.make([
      Script.reasoningEvent("Let me "),
      Script.reasoningEvent("think."),
      Script.textEvent("Checking."),
      Script.toolCallEvent({ id: "call_1", name: "get_weather", arguments: '{"city":"Paris","days":[1,2]}', chunks: 3 })
    ])
    const seen = await read(server, { model: route(script) })
    expect(seen.error).toBeUndefined()
    expect(seen.reasoning).toEqual(["Let me ", "think."])
    expect(seen.text).toEqual(["Checking."])
    expect(seen.toolCalls.map((c) => ({ name: c.name, arguments: JSON.parse(c.arguments) }))).toEqual([
      { name: "get_weather", arguments: { city: "Paris", days: [1, 2] } }
    ])
    if (format === "anthropic" || format === "openai-chat" || format === "openai-responses") {
      expect(seen.toolCalls[0].id).toBe("call_1")
    }
    expect(seen.finish).toBe(finishFor.tool_calls[format])
  })

  it("renders two tool calls as two calls", async () => {
    const script = Script.make([
      Script.toolCallEvent({ id: "a", name: "one", arguments: { x: 1 } }),
      Script.toolCallEvent({ id: "b", name: "two", arguments: "" })
    ])
    const seen = await read(server, { model: route(script) })
    expect(seen.toolCalls.map((c) => [c.name, c.arguments.trim() === "" ? {} : JSON.parse(c.arguments)])).toEqual([
      ["one", { x: 1 }],
      ["two", {}]
    ])
  })

  it.each(["length", "content_filter"] as const)("renders finish reason %s", async (reason) => {
    const seen = await read(server, { model: route(Script.text(2, { finishReason: reason })) })
    expect(seen.finish).toBe(finishFor[reason][format])
  })

  it("streams 3000 deltas (batched writes) intact and in order", async () => {
    const seen = await read(server, { model: route(Script.text(3000)) })
    expect(seen.error).toBeUndefined()
    expect(seen.text).toEqual(Script.words(3000))
  })

  it("honours firstDelayMs and delayMs", async () => {
    const start = performance.now()
    let first = 0
    const seen = await read(server, {
      model: route(Script.text(3, { firstDelayMs: 60, delayMs: 15 })),
      onEvent: (s) => {
        if (first === 0 && s.text.length > 0) first = performance.now()
      }
    })
    expect(seen.text).toEqual(Script.words(3))
    expect(first - start).toBeGreaterThanOrEqual(55)
    expect(performance.now() - start).toBeGreaterThanOrEqual(85)
  })
})

describe("non-streaming forms, accepted by the SDKs", () => {
  const events = [
    Script.textEvent("Hello "),
    Script.textEvent("there"),
    Script.toolCallEvent({ id: "call_9", name: "lookup", arguments: { q: "x" } })
  ]

  it("anthropic", async () => {
    const message = await anthropic(server).messages.create({
      model: route(Script.make(events)),
      max_tokens: 10,
      messages: [{ role: "user", content: "Hi" }]
    })
    expect(message.content).toEqual([
      { type: "text", text: "Hello there" },
      { type: "tool_use", id: "call_9", name: "lookup", input: { q: "x" } }
    ])
    expect(message.stop_reason).toBe("tool_use")
    expect(message.usage).toMatchObject({ input_tokens: 10, output_tokens: 3 })
  })

  it("openai chat", async () => {
    const completion = await openai(server).chat.completions.create({
      model: route(Script.make(events)),
      messages: [{ role: "user", content: "Hi" }]
    })
    expect(completion.choices[0].message.content).toBe("Hello there")
    expect(completion.choices[0].message.tool_calls?.[0]).toMatchObject({
      id: "call_9",
      function: { name: "lookup", arguments: '{"q":"x"}' }
    })
    expect(completion.choices[0].finish_reason).toBe("tool_calls")
    expect(completion.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 3 })
  })

  it("openai responses", async () => {
    const response = await openai(server).responses.create({ model: route(Script.make(events)), input: "Hi" })
    expect(response.output_text).toBe("Hello there")
    expect(response.output.find((item) => item.type === "function_call")).toMatchObject({ call_id: "call_9", name: "lookup" })
    expect(response.status).toBe("completed")
    expect(response.usage).toMatchObject({ input_tokens: 10, output_tokens: 3 })
  })

  it("gemini", async () => {
    const model = route(Script.text(["Hello ", "there"]))
    const result = await gemini(server, model).generateContent("Hi")
    expect(result.response.text()).toBe("Hello there")
    expect(result.response.usageMetadata).toMatchObject({ promptTokenCount: 10, candidatesTokenCount: 2 })
    expect(server.requests[server.requests.length - 1].path).toBe(`/v1beta/models/${model}:generateContent`)
  })

  it("ollama (stream: false)", async () => {
    const response = await fetch(`${server.url}/api/chat`, {
      method: "POST",
      body: JSON.stringify({ model: route(Script.make(events)), messages: [], stream: false })
    })
    expect(response.headers.get("content-type")).toBe("application/json")
    const body = (await response.json()) as Record<string, any>
    expect(body.message.content).toBe("Hello there")
    expect(body.message.tool_calls).toEqual([{ function: { name: "lookup", arguments: { q: "x" } } }])
    expect(body).toMatchObject({ done: true, done_reason: "stop", prompt_eval_count: 10, eval_count: 3 })
  })

  it("leaves nothing in flight and never leaks the key", async () => {
    await server.waitForIdle()
    expect(JSON.stringify(server.requests)).not.toContain(SECRET)
  })
})
