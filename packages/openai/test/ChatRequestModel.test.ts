/**
 * The request model on Chat Completions, on the wire: each feature's request
 * body (what the real SDK sent to FakeLlmServer), what is refused before
 * connecting, the usage detail reaching the ledger, reasoning from compatible
 * servers through a two-turn tool conversation, and structured output.
 */
import type { ChatRequest } from "@streamvisor/core"
import { Ledger, Provider, StructuredOutput } from "@streamvisor/core"
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { OpenAI } from "../src/index.js"

const KEY = "sk-request-model-chat-0123456789"
let server: FakeLlmServer.Server
let provider: Provider.Provider

beforeAll(async () => {
  server = await FakeLlmServer.start()
  provider = OpenAI.make({ apiKey: KEY, baseURL: server.baseUrls.openai })
})

afterEach(async () => {
  await server.waitFor((s) => s.inflight === 0)
  server.reset()
})

afterAll(async () => {
  await server?.close()
})

const PNG = "iVBORw0KGgo="
const PDF = "JVBERi0xLjQK"
const weather = { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } }

const base = (extra: Partial<ChatRequest.Input> = {}): ChatRequest.Input => ({
  model: "gpt-model",
  messages: [{ role: "user", content: "Hi" }],
  ...extra
})

const failure = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

const bodyOf = async (request: ChatRequest.Input): Promise<Record<string, unknown>> => {
  const exit = await Effect.runPromiseExit(provider.generate(request))
  if (Exit.isFailure(exit)) throw new Error(Cause.pretty(exit.cause))
  return server.lastRequest!.body as Record<string, unknown>
}

/**
 * DeepSeek's thinking-mode rule (api-docs.deepseek.com, "Thinking Mode"): an assistant turn that
 * called tools must come back with its `reasoning_content`, else a 400.
 */
const deepseekThinking = (request: { readonly body: unknown }): string | undefined => {
  const messages = (request.body as { messages?: ReadonlyArray<Record<string, unknown>> }).messages ?? []
  const i = messages.findIndex((m) => m.role === "assistant" && Array.isArray(m.tool_calls) && typeof m.reasoning_content !== "string")
  return i < 0 ? undefined : `The reasoning_content in the thinking mode must be passed back to the API (messages[${i}]).`
}

const cases: ReadonlyArray<{
  readonly name: string
  readonly request: ChatRequest.Input
  readonly body: Record<string, unknown>
  readonly absent?: ReadonlyArray<string>
}> = [
  {
    name: "text parts only → one string",
    request: base({ messages: [{ role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] }] }),
    body: { messages: [{ role: "user", content: "ab" }] }
  },
  {
    name: "image (base64) → image_url with a data URL",
    request: base({
      messages: [{ role: "user", content: [{ type: "text", text: "What?" }, { type: "image", mediaType: "image/png", data: PNG }] }]
    }),
    body: {
      messages: [{
        role: "user",
        content: [{ type: "text", text: "What?" }, { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } }]
      }]
    }
  },
  {
    name: "image (url) with providerOptions.openai.imageDetail → detail, and imageDetail not in the body",
    request: base({
      messages: [{ role: "user", content: [{ type: "image", url: "https://example.com/cat.jpg" }] }],
      providerOptions: { openai: { imageDetail: "low" } }
    }),
    body: {
      messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/cat.jpg", detail: "low" } }] }]
    },
    absent: ["imageDetail"]
  },
  {
    name: "PDF (base64) → file with file_data and filename",
    request: base({
      messages: [{
        role: "user",
        content: [{ type: "file", mediaType: "application/pdf", data: PDF, filename: "report.pdf" }, { type: "text", text: "Sum up" }]
      }]
    }),
    body: {
      messages: [{
        role: "user",
        content: [
          { type: "file", file: { file_data: `data:application/pdf;base64,${PDF}`, filename: "report.pdf" } },
          { type: "text", text: "Sum up" }
        ]
      }]
    }
  },
  { name: "toolChoice auto", request: base({ tools: [weather], toolChoice: "auto" }), body: { tool_choice: "auto" } },
  { name: "toolChoice none", request: base({ tools: [weather], toolChoice: "none" }), body: { tool_choice: "none" } },
  { name: "toolChoice required", request: base({ tools: [weather], toolChoice: "required" }), body: { tool_choice: "required" } },
  {
    name: "toolChoice { tool }",
    request: base({ tools: [weather], toolChoice: { tool: "get_weather" } }),
    body: { tool_choice: { type: "function", function: { name: "get_weather" } } }
  },
  {
    name: "toolChoice none without tools → no tool_choice (OpenAI refuses it without tools)",
    request: base({ toolChoice: "none" }),
    body: {},
    absent: ["tool_choice", "tools"]
  },
  { name: "responseFormat json → json_object", request: base({ responseFormat: { type: "json" } }), body: { response_format: { type: "json_object" } } },
  {
    name: "responseFormat json_schema → json_schema with name, description, schema, strict",
    request: base({
      responseFormat: { type: "json_schema", name: "City", description: "a city", schema: { type: "object" }, strict: true }
    }),
    body: {
      response_format: {
        type: "json_schema",
        json_schema: { name: "City", description: "a city", schema: { type: "object" }, strict: true }
      }
    }
  },
  { name: "reasoning.effort → reasoning_effort", request: base({ reasoning: { effort: "high" } }), body: { reasoning_effort: "high" } },
  {
    name: "cache hints are taken and nothing is sent for them (OpenAI caches prefixes itself)",
    request: base({
      system: { text: "Be terse.", cache: true },
      tools: [{ ...weather, cache: true }],
      messages: [{ role: "user", content: "Hi", cache: true }]
    }),
    body: {
      messages: [{ role: "system", content: "Be terse." }, { role: "user", content: "Hi" }],
      tools: [{ type: "function", function: { name: "get_weather", parameters: weather.parameters } }]
    },
    absent: ["prompt_cache_key", "cache"]
  },
  {
    name: "providerOptions.openai merged: top_p, seed, service_tier, prompt_cache_key, an extra body field (vLLM), stream_options one level deep",
    request: base({
      temperature: 0.5,
      providerOptions: {
        openai: {
          top_p: 0.9,
          seed: 7,
          service_tier: "flex",
          prompt_cache_key: "tenant-42",
          repetition_penalty: 1.1,
          temperature: 0.1,
          stream_options: { include_obfuscation: false }
        },
        anthropic: { top_k: 5 }
      }
    }),
    body: {
      top_p: 0.9,
      seed: 7,
      service_tier: "flex",
      prompt_cache_key: "tenant-42",
      repetition_penalty: 1.1,
      temperature: 0.1,
      stream: true,
      stream_options: { include_usage: true, include_obfuscation: false }
    },
    absent: ["top_k", "anthropic"]
  },
  {
    name: "history: a tool-calling turn's reasoning → reasoning_content (DeepSeek needs it), tool-call parts → tool_calls; a Responses item, another provider's reasoning and a turn without calls send none",
    request: base({
      messages: [
        { role: "user", content: "Hello" },
        { role: "assistant", content: [{ type: "reasoning", text: "Greet back.", provider: "openai" }, { type: "text", text: "Hi!" }] },
        { role: "user", content: "Weather?" },
        {
          role: "assistant",
          content: [
            { type: "reasoning", text: "claude thinks", signature: "sig", provider: "anthropic" },
            { type: "reasoning", text: "", id: "rs_1", encryptedContent: "ENC", provider: "openai" },
            { type: "reasoning", text: "Need the tool.", provider: "openai" },
            { type: "text", text: "Checking." },
            { type: "tool-call", id: "call_1", name: "get_weather", arguments: { city: "Oslo" } }
          ]
        },
        { role: "tool", toolCallId: "call_1", name: "get_weather", content: [{ type: "text", text: "3 C" }] }
      ],
      tools: [weather]
    }),
    body: {
      messages: [
        { role: "user", content: "Hello" },
        { role: "assistant", content: "Hi!" },
        { role: "user", content: "Weather?" },
        {
          role: "assistant",
          content: "Checking.",
          tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Oslo\"}" } }],
          reasoning_content: "Need the tool."
        },
        { role: "tool", tool_call_id: "call_1", content: "3 C" }
      ]
    }
  }
]

describe("Chat Completions: the request each feature produces", () => {
  it.each(cases)("$name", async ({ absent, body, request }) => {
    const sent = await bodyOf(request)
    expect(sent).toMatchObject(body)
    for (const key of absent ?? []) expect(sent).not.toHaveProperty(key)
    // the messages are exactly as listed where the case lists them
    if (body.messages !== undefined) expect(sent.messages).toEqual(body.messages)
  })
})

describe("Chat Completions: refused before connecting", () => {
  const refused: ReadonlyArray<{ readonly name: string; readonly request: ChatRequest.Input; readonly says: string }> = [
    {
      name: "a file by URL",
      request: base({ messages: [{ role: "user", content: [{ type: "file", mediaType: "application/pdf", url: "https://e.com/a.pdf" }] }] }),
      says: "messages[0].content[0]: a file part (application/pdf, url) is not supported by openai"
    },
    {
      name: "a non-PDF file",
      request: base({ messages: [{ role: "user", content: [{ type: "file", mediaType: "text/csv", data: "YQ==" }] }] }),
      says: "has media type text/csv, which openai does not take"
    },
    {
      name: "an image of a type OpenAI does not list",
      request: base({ messages: [{ role: "user", content: [{ type: "image", mediaType: "image/tiff", data: PNG }] }] }),
      says: "has media type image/tiff"
    },
    {
      name: "an image in a tool result",
      request: base({
        messages: [
          { role: "user", content: "x" },
          { role: "assistant", content: "", toolCalls: [{ id: "c", name: "get_weather", arguments: {} }] },
          { role: "tool", toolCallId: "c", name: "get_weather", content: [{ type: "image", mediaType: "image/png", data: PNG }] }
        ]
      }),
      says: "an image part (data) in a tool result is not supported by openai"
    },
    { name: "a reasoning token budget", request: base({ reasoning: { budgetTokens: 2048 } }), says: "a reasoning token budget" },
    {
      name: "providerOptions.openai.stream: false",
      request: base({ providerOptions: { openai: { stream: false } } }),
      says: "providerOptions.openai.stream cannot be set"
    },
    {
      name: "a bad providerOptions.openai.imageDetail",
      request: base({ providerOptions: { openai: { imageDetail: "ultra" } } }),
      says: "imageDetail must be"
    }
  ]

  it.each(refused)("$name", async ({ request, says }) => {
    const before = server.stats().total
    const exit = await Effect.runPromiseExit(provider.generate(request))
    const error = failure(exit)
    expect(error?._tag).toBe("InvalidRequest")
    expect(error?.message).toContain(says)
    expect(server.stats().total).toBe(before)
  })
})

describe("Chat Completions: what comes back", () => {
  it("usage detail (cached_tokens, reasoning_tokens) reaches the Usage event and the ledger", async () => {
    server.enqueue(
      Script.text(["ok"], { usage: { inputTokens: 1200, outputTokens: 90, cachedInputTokens: 1024, reasoningTokens: 64 } })
    )
    const ledger = Ledger.make()
    const exit = await Effect.runPromiseExit(provider.generate(base()).pipe(Effect.provideService(Ledger.Ledger, ledger)))
    if (Exit.isFailure(exit)) throw new Error(Cause.pretty(exit.cause))
    expect(exit.value.usage).toEqual({ inputTokens: 1200, outputTokens: 90, cachedInputTokens: 1024, reasoningTokens: 64 })
    expect(ledger.snapshot().usage).toEqual({ inputTokens: 1200, outputTokens: 90, cachedInputTokens: 1024, reasoningTokens: 64 })
  })

  it("usage detail through stream(): recorded by the decoder, so the ledger has it without a fold", async () => {
    server.enqueue(Script.text(["a", "b"], { usage: { inputTokens: 10, outputTokens: 2, cachedInputTokens: 4 } }))
    const ledger = Ledger.make()
    const exit = await Effect.runPromiseExit(
      provider.stream(base()).pipe(Stream.runCollect, Effect.provideService(Ledger.Ledger, ledger))
    )
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(ledger.snapshot().usage).toMatchObject({ cachedInputTokens: 4 })
  })

  it("reasoning_content (DeepSeek) → a reasoning part; turn 2 sends it back as the tool-calling turn's reasoning_content", async () => {
    server.enqueue(
      Script.make([
        Script.reasoningEvent("Need "),
        Script.reasoningEvent("the tool."),
        Script.toolCallEvent({ id: "call_7", name: "get_weather", arguments: { city: "Paris" } })
      ])
    )
    const turn1: ChatRequest.Input = base({ messages: [{ role: "user", content: "Weather in Paris?" }], tools: [weather], reasoning: { effort: "low" } })
    const first = await Effect.runPromise(provider.generate(turn1))
    expect(first.reasoning).toBe("Need the tool.")
    expect(first.parts).toEqual([
      { type: "reasoning", text: "Need the tool.", provider: "openai" },
      { type: "tool-call", id: "call_7", name: "get_weather", arguments: { city: "Paris" } }
    ])
    server.enqueue({ ...Script.text(["Sunny."]), expectRequest: deepseekThinking })
    const turn2: ChatRequest.Input = {
      ...turn1,
      messages: [
        ...turn1.messages,
        ...Provider.toMessages(first),
        { role: "tool", toolCallId: "call_7", name: "get_weather", content: "sunny" }
      ]
    }
    const second = await Effect.runPromise(provider.generate(turn2))
    expect(second.text).toBe("Sunny.")
    const sent = server.lastRequest!.body as { messages: Array<Record<string, unknown>> }
    expect(sent.messages.slice(1)).toEqual([
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "call_7", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Paris\"}" } }],
        reasoning_content: "Need the tool."
      },
      { role: "tool", tool_call_id: "call_7", content: "sunny" }
    ])
  })

  it("DeepSeek-style: a tool-calling turn without its reasoning_content → the server's 400 → InvalidRequest", async () => {
    server.enqueue({ ...Script.text(["Sunny."]), expectRequest: deepseekThinking })
    const exit = await Effect.runPromiseExit(provider.generate(base({
      tools: [weather],
      messages: [
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", content: [{ type: "tool-call", id: "call_7", name: "get_weather", arguments: { city: "Paris" } }] },
        { role: "tool", toolCallId: "call_7", name: "get_weather", content: "sunny" }
      ]
    })))
    const error = failure(exit)
    expect(error?._tag).toBe("InvalidRequest")
    expect(error?.message).toContain("reasoning_content")
  })

  it("a refusal is reported as ProviderMetadata, not as text", async () => {
    server.enqueue(Script.replay([
      JSON.stringify({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta: { role: "assistant", refusal: "" } }] }),
      JSON.stringify({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta: { refusal: "I can't " } }] }),
      JSON.stringify({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta: { refusal: "help." } }] }),
      JSON.stringify({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })
    ]))
    const generation = await Effect.runPromise(provider.generate(base()))
    expect(generation.text).toBe("")
    expect(generation.metadata).toEqual([{ _tag: "ProviderMetadata", provider: "openai", kind: "refusal", data: { refusal: "I can't help." } }])
  })

  const City = Schema.Struct({ name: Schema.String, population: Schema.Number }).annotations({ identifier: "City" })

  it("generateObject: json_schema on the wire (strict), the decoded value back", async () => {
    server.enqueue(Script.json({ name: "Oslo", population: 709000 }, { chunks: 4 }))
    const value = await Effect.runPromise(StructuredOutput.generateObject(provider, base(), City, { strict: true }))
    expect(value).toEqual({ name: "Oslo", population: 709000 })
    expect((server.lastRequest!.body as { response_format: unknown }).response_format).toMatchObject({
      type: "json_schema",
      json_schema: { name: "City", strict: true, schema: { type: "object", required: ["name", "population"] } }
    })
  })

  it("streamObject: partial objects, then the decoded value", async () => {
    server.enqueue(Script.json({ name: "Bergen", population: 291000 }, { chunks: 6 }))
    const events = await Effect.runPromise(Stream.runCollect(StructuredOutput.streamObject(provider, base(), City)))
    const all = [...events]
    expect(all.filter((e) => e._tag === "PartialObject").length).toBeGreaterThan(0)
    expect(all.at(-1)).toMatchObject({ _tag: "Object", value: { name: "Bergen", population: 291000 } })
  })

  it("generateObject: an answer that does not match → InvalidOutput", async () => {
    server.enqueue(Script.json({ name: "Oslo" }))
    const exit = await Effect.runPromiseExit(StructuredOutput.generateObject(provider, base(), City))
    expect(failure(exit)?._tag).toBe("InvalidOutput")
  })
})
