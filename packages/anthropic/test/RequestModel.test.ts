/**
 * The request model on the Messages wire, end to end: the real `@anthropic-ai/sdk` over real HTTP
 * to FakeLlmServer. What each feature puts on the wire (`server.lastRequest.body`), the thinking
 * round trip under the fake's `anthropic-thinking` check, usage detail in the ledger, structured
 * output through the forced tool, citations, and what is refused before anything connects.
 */
import AnthropicSdk from "@anthropic-ai/sdk"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@effect/vitest"
import { Anthropic } from "@streamvisor/anthropic"
import { type ChatRequest, Ledger, Provider, StreamEvent, StructuredOutput } from "@streamvisor/core"
import { FakeLlmServer, Fixtures, Script } from "@streamvisor/testkit"
import { Chunk, Effect, Schema, Stream } from "effect"
import { Agent, fetch as undiciFetch } from "undici"

let server: FakeLlmServer.Server
let agent: Agent
let claude: Provider.Provider
const unhandled: Array<unknown> = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled)
  server = await FakeLlmServer.start()
  agent = new Agent({ keepAliveTimeout: 10_000 })
  claude = Anthropic.make({
    client: new AnthropicSdk({
      apiKey: "sk-model-test",
      baseURL: server.baseUrls.anthropic,
      maxRetries: 0,
      fetch: ((url: string, init: object) => undiciFetch(url, { ...init, dispatcher: agent })) as any
    })
  })
})
afterAll(async () => {
  await agent.close()
  await server.waitFor((s) => s.open === 0, { timeoutMs: 2_000 })
  await server.close()
  process.off("unhandledRejection", onUnhandled)
})
afterEach(async () => {
  await server.waitFor((s) => s.inflight === 0, { timeoutMs: 2_000 })
  expect(unhandled).toEqual([])
  server.reset()
})

const user = (content: ChatRequest.UserMessage["content"]): ChatRequest.Message => ({ role: "user", content })
const base = { model: "claude-model", messages: [user("Hi")] }
const PNG = "iVBORw0KGgo="
const PDF = "JVBERi0xLjQ="
const weather = { name: "weather", parameters: { type: "object", properties: { city: { type: "string" } } } }

/** Send `request`, return the body that reached the server. */
const bodyOf = (request: ChatRequest.Input) =>
  Effect.gen(function*() {
    server.setScript(Script.text(["ok"]))
    yield* claude.generate(request)
    return server.lastRequest!.body as Record<string, any>
  })

/** `request` must fail as InvalidRequest naming `fragment`, and nothing may reach the server. */
const refused = (request: ChatRequest.Input, fragment: string) =>
  Effect.gen(function*() {
    const before = server.stats().total
    const error = yield* Effect.flip(claude.generate(request))
    expect(error._tag).toBe("InvalidRequest")
    expect(error.message).toContain(fragment)
    expect(server.stats().total).toBe(before)
  })

describe("each feature on the wire", () => {
  const cases: ReadonlyArray<{ readonly name: string; readonly request: ChatRequest.Input; readonly body: object }> = [
    {
      name: "images: base64 and url",
      request: {
        ...base,
        messages: [user([
          { type: "text", text: "What is this?" },
          { type: "image", mediaType: "image/png", data: PNG },
          { type: "image", url: "https://example.com/cat.jpg" }
        ])]
      },
      body: {
        messages: [{
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
            { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } }
          ]
        }]
      }
    },
    {
      name: "files: PDF by data and url, plain text by data, filename as title",
      request: {
        ...base,
        messages: [user([
          { type: "file", mediaType: "application/pdf", data: PDF, filename: "a.pdf" },
          { type: "file", mediaType: "application/pdf", url: "https://example.com/b.pdf" },
          { type: "file", mediaType: "text/plain", data: btoa("plain words") }
        ])]
      },
      body: {
        messages: [{
          role: "user",
          content: [
            { type: "document", source: { type: "base64", media_type: "application/pdf", data: PDF }, title: "a.pdf" },
            { type: "document", source: { type: "url", url: "https://example.com/b.pdf" } },
            { type: "document", source: { type: "text", media_type: "text/plain", data: "plain words" } }
          ]
        }]
      }
    },
    {
      name: "a tool result with text and an image",
      request: {
        ...base,
        tools: [weather],
        messages: [
          user("Look"),
          { role: "assistant", content: [{ type: "tool-call", id: "t1", name: "weather", arguments: {} }] },
          {
            role: "tool",
            toolCallId: "t1",
            name: "weather",
            content: [{ type: "text", text: "map:" }, { type: "image", mediaType: "image/png", data: PNG }]
          }
        ]
      },
      body: {
        messages: [
          { role: "user", content: "Look" },
          { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "weather", input: {} }] },
          {
            role: "user",
            content: [{
              type: "tool_result",
              tool_use_id: "t1",
              content: [
                { type: "text", text: "map:" },
                { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } }
              ]
            }]
          }
        ]
      }
    },
    { name: "toolChoice auto", request: { ...base, tools: [weather], toolChoice: "auto" }, body: { tool_choice: { type: "auto" } } },
    { name: "toolChoice none (native)", request: { ...base, tools: [weather], toolChoice: "none" }, body: { tool_choice: { type: "none" }, tools: [{ name: "weather" }] } },
    { name: "toolChoice required → any", request: { ...base, tools: [weather], toolChoice: "required" }, body: { tool_choice: { type: "any" } } },
    { name: "toolChoice { tool } → tool", request: { ...base, tools: [weather], toolChoice: { tool: "weather" } }, body: { tool_choice: { type: "tool", name: "weather" } } },
    {
      name: "reasoning.budgetTokens → thinking; max_tokens default + budget",
      request: { ...base, reasoning: { budgetTokens: 2000 } },
      body: { thinking: { type: "enabled", budget_tokens: 2000 }, max_tokens: 4096 + 2000 }
    },
    { name: "reasoning.effort low", request: { ...base, reasoning: { effort: "low" } }, body: { thinking: { type: "enabled", budget_tokens: 1024 } } },
    { name: "reasoning.effort medium", request: { ...base, reasoning: { effort: "medium" } }, body: { thinking: { type: "enabled", budget_tokens: 4096 } } },
    {
      name: "reasoning.effort high, with maxTokens as given",
      request: { ...base, maxTokens: 20000, reasoning: { effort: "high" } },
      body: { thinking: { type: "enabled", budget_tokens: 16384 }, max_tokens: 20000 }
    },
    {
      name: "cache hints → cache_control on system, tool and message",
      request: {
        ...base,
        system: { text: "Be brief.", cache: true },
        tools: [{ ...weather, cache: true }],
        messages: [{ role: "user", content: "Long document…", cache: true }, { role: "assistant", content: "ok" }, user("More")]
      },
      body: {
        system: [{ type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } }],
        tools: [{ name: "weather", cache_control: { type: "ephemeral" } }],
        messages: [
          { role: "user", content: [{ type: "text", text: "Long document…", cache_control: { type: "ephemeral" } }] },
          { role: "assistant", content: "ok" },
          { role: "user", content: "More" }
        ]
      }
    },
    {
      name: "responseFormat json_schema → forced tool after the request's tools",
      request: {
        ...base,
        tools: [weather],
        responseFormat: { type: "json_schema", name: "city", schema: { type: "object", properties: { name: { type: "string" } } } }
      },
      body: {
        tools: [{ name: "weather" }, { name: "city", input_schema: { type: "object", properties: { name: { type: "string" } } } }],
        tool_choice: { type: "tool", name: "city" }
      }
    },
    {
      name: "responseFormat json → forced tool \"json\" taking any object",
      request: { ...base, responseFormat: { type: "json" } },
      body: { tools: [{ name: "json", input_schema: { type: "object" } }], tool_choice: { type: "tool", name: "json" } }
    },
    {
      name: "providerOptions.anthropic merged last (the user wins, stream stays)",
      request: { ...base, maxTokens: 100, providerOptions: { anthropic: { top_k: 5, max_tokens: 50, stream: false, metadata: { user_id: "u1" } }, openai: { seed: 1 } } },
      body: { top_k: 5, max_tokens: 50, stream: true, metadata: { user_id: "u1" } }
    }
  ]

  it.effect.each(cases)("$name", ({ body, request }) =>
    Effect.gen(function*() {
      const sent = yield* bodyOf(request)
      expect(sent).toMatchObject(body)
    }))

  it.effect("without the features, the body is what it was (no tool_choice, thinking, cache_control, seed)", () =>
    Effect.gen(function*() {
      const sent = yield* bodyOf({ ...base, tools: [weather], providerOptions: { openai: { seed: 1 } } })
      expect(sent).toEqual({
        model: "claude-model",
        max_tokens: 4096,
        stream: true,
        messages: [{ role: "user", content: "Hi" }],
        tools: [{ name: "weather", input_schema: weather.parameters }]
      })
    }))

  it.effect("reasoning history: thinking and redacted blocks go back in order; another provider's reasoning is left out", () =>
    Effect.gen(function*() {
      const sent = yield* bodyOf({
        ...base,
        tools: [weather],
        messages: [
          user("Weather?"),
          {
            role: "assistant",
            content: [
              { type: "reasoning", text: "", redactedData: "REDACTED", provider: "anthropic" },
              { type: "reasoning", text: "Let me look.", signature: "SIG", provider: "anthropic" },
              { type: "reasoning", text: "openai thoughts", id: "rs_1", provider: "openai" },
              { type: "text", text: "Checking." },
              { type: "tool-call", id: "t1", name: "weather", arguments: { city: "Oslo" } }
            ]
          },
          { role: "tool", toolCallId: "t1", name: "weather", content: "-3C" }
        ]
      })
      expect(sent.messages[1]).toEqual({
        role: "assistant",
        content: [
          { type: "redacted_thinking", data: "REDACTED" },
          { type: "thinking", thinking: "Let me look.", signature: "SIG" },
          { type: "text", text: "Checking." },
          { type: "tool_use", id: "t1", name: "weather", input: { city: "Oslo" } }
        ]
      })
    }))
})

describe("refused before connecting, where the API would answer 400", () => {
  const think = { reasoning: { effort: "low" as const } }
  const cases: ReadonlyArray<{ readonly name: string; readonly request: ChatRequest.Input; readonly fragment: string }> = [
    { name: "temperature above 1", request: { ...base, temperature: 1.5 }, fragment: "temperature must be between 0 and 1" },
    { name: "thinking with toolChoice required", request: { ...base, ...think, tools: [weather], toolChoice: "required" }, fragment: "forced" },
    { name: "thinking with a named tool", request: { ...base, ...think, tools: [weather], toolChoice: { tool: "weather" } }, fragment: "forced" },
    { name: "thinking with responseFormat", request: { ...base, ...think, responseFormat: { type: "json" } }, fragment: "forced tool" },
    { name: "thinking with temperature 0.5", request: { ...base, ...think, temperature: 0.5 }, fragment: "temperature may only be 1" },
    { name: "thinking with top_k (providerOptions)", request: { ...base, ...think, providerOptions: { anthropic: { top_k: 3 } } }, fragment: "top_k" },
    {
      name: "thinking from providerOptions with temperature 0.2",
      request: { ...base, temperature: 0.2, providerOptions: { anthropic: { thinking: { type: "enabled", budget_tokens: 2048 } } } },
      fragment: "temperature may only be 1"
    },
    { name: "a budget under 1024", request: { ...base, reasoning: { budgetTokens: 500 } }, fragment: "at least 1024" },
    { name: "maxTokens not above the budget", request: { ...base, maxTokens: 2000, reasoning: { effort: "medium" } }, fragment: "greater than the thinking budget" },
    {
      name: "five cache breakpoints",
      request: {
        ...base,
        system: { text: "s", cache: true },
        messages: [1, 2, 3, 4].map((i) => ({ role: "user" as const, content: `m${i}`, cache: true }))
      },
      fragment: "at most 4 cache breakpoints"
    },
    {
      name: "a plain-text file by URL",
      request: { ...base, messages: [user([{ type: "file", mediaType: "text/plain", url: "https://example.com/a.txt" }])] },
      fragment: "messages[0].content[0]: a file part by URL must be a PDF"
    },
    {
      name: "an image type Anthropic does not take",
      request: { ...base, messages: [user([{ type: "image", mediaType: "image/bmp", data: PNG }])] },
      fragment: "image/bmp"
    },
    {
      name: "a file type Anthropic does not take",
      request: { ...base, messages: [user([{ type: "file", mediaType: "audio/wav", data: PNG }])] },
      fragment: "audio/wav"
    },
    {
      name: "own reasoning without signature or redacted data",
      request: { ...base, messages: [user("q"), { role: "assistant", content: [{ type: "reasoning", text: "hm" }, { type: "text", text: "a" }] }, user("q2")] },
      fragment: "messages[1].content[0]: a reasoning part without a signature"
    },
    { name: "responseFormat with toolChoice required", request: { ...base, tools: [weather], toolChoice: "required", responseFormat: { type: "json" } }, fragment: "cannot be combined with toolChoice" },
    {
      name: "responseFormat whose name is a tool's",
      request: { ...base, tools: [weather], responseFormat: { type: "json_schema", name: "weather", schema: { type: "object" } } },
      fragment: "already has one by that name"
    },
    {
      name: "responseFormat with a non-object schema",
      request: { ...base, responseFormat: { type: "json_schema", name: "list", schema: { type: "array", items: { type: "string" } } } },
      fragment: "wrap it in an object"
    }
  ]

  it.effect.each(cases)("$name", ({ fragment, request }) => refused(request, fragment))
})

describe("the thinking round trip under the anthropic-thinking check", () => {
  const tools = [weather]
  const first = (signature: string | undefined, redacted?: string) =>
    Script.make([
      ...(redacted === undefined ? [] : [Script.redactedReasoningEvent(redacted)]),
      Script.reasoningEvent("I need the weather.", signature),
      Script.toolCallEvent({ id: "toolu_1", name: "weather", arguments: { city: "Oslo" } })
    ], { validate: ["anthropic-thinking"] })

  /** Turn 1 with thinking and a tool call; the history for turn 2 (via Provider.toMessages) plus the result. */
  const turnOne = (script: Script.Script) =>
    Effect.gen(function*() {
      server.enqueue(script)
      const request = { ...base, tools, reasoning: { effort: "low" as const } }
      const generation = yield* claude.generate(request)
      expect(generation.finish.reason).toBe("tool_calls")
      const history: Array<ChatRequest.Message> = [
        ...request.messages,
        ...Provider.toMessages(generation),
        { role: "tool", toolCallId: "toolu_1", name: "weather", content: "-3C" }
      ]
      return { request, generation, history }
    })

  it.effect("signed thinking goes back as it came, and turn 2 passes the check", () =>
    Effect.gen(function*() {
      const { generation, history, request } = yield* turnOne(first("SIG-1"))
      expect(generation.parts[0]).toEqual({ type: "reasoning", text: "I need the weather.", signature: "SIG-1", provider: "anthropic" })
      server.enqueue({ ...Script.text(["It is -3C."]), validate: ["anthropic-thinking"] })
      const answer = yield* claude.generate({ ...request, messages: history })
      expect(answer.text).toBe("It is -3C.")
      const sent = server.lastRequest!.body as Record<string, any>
      expect(sent.messages[1].content).toEqual([
        { type: "thinking", thinking: "I need the weather.", signature: "SIG-1" },
        { type: "tool_use", id: "toolu_1", name: "weather", input: { city: "Oslo" } }
      ])
    }))

  it.effect("redacted thinking goes back as redacted_thinking with its data", () =>
    Effect.gen(function*() {
      const { history, request } = yield* turnOne(first("SIG-2", "OPAQUE=="))
      server.enqueue({ ...Script.text(["ok"]), validate: ["anthropic-thinking"] })
      yield* claude.generate({ ...request, messages: history })
      const sent = server.lastRequest!.body as Record<string, any>
      expect(sent.messages[1].content.slice(0, 2)).toEqual([
        { type: "redacted_thinking", data: "OPAQUE==" },
        { type: "thinking", thinking: "I need the weather.", signature: "SIG-2" }
      ])
    }))

  it.effect("dropping the thinking block: the provider's 400 arrives as InvalidRequest", () =>
    Effect.gen(function*() {
      const { history, request } = yield* turnOne(first("SIG-3"))
      const stripped = history.map((message) =>
        message.role === "assistant" && typeof message.content !== "string"
          ? { ...message, content: message.content.filter((part) => part.type !== "reasoning") }
          : message
      )
      server.enqueue({ ...Script.text(["never"]), validate: ["anthropic-thinking"] })
      const before = server.stats().total
      const error = yield* Effect.flip(claude.generate({ ...request, messages: stripped }))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain("Expected `thinking` or `redacted_thinking`, but found `tool_use`")
      expect(server.stats().total).toBe(before + 1)
    }))

  it.effect("dropping the signature: refused before connecting (the API would 400)", () =>
    Effect.gen(function*() {
      const { history, request } = yield* turnOne(first("SIG-4"))
      const unsigned = history.map((message) =>
        message.role === "assistant" && typeof message.content !== "string"
          ? { ...message, content: message.content.map((part) => (part.type === "reasoning" ? { type: "reasoning" as const, text: part.text, provider: "anthropic" } : part)) }
          : message
      )
      yield* refused({ ...request, messages: unsigned }, "without a signature")
    }))
})

describe("the answer", () => {
  it.effect("usage: cache reads and writes are part of inputTokens and reach the ledger as detail", () =>
    Effect.gen(function*() {
      server.setScript(Script.text(["ok"], { usage: { inputTokens: 10, outputTokens: 5, cachedInputTokens: 100, cacheWriteTokens: 20 } }))
      const ledger = Ledger.make()
      const generation = yield* claude.generate(base).pipe(Effect.provideService(Ledger.Ledger, ledger))
      const usage = { inputTokens: 130, outputTokens: 5, cachedInputTokens: 100, cacheWriteTokens: 20 }
      expect(generation.usage).toEqual(usage)
      expect(ledger.snapshot().usage).toEqual(usage)
      expect(ledger.snapshot().live).toEqual([])
    }))

  const City = Schema.Struct({ name: Schema.String, population: Schema.Number })
  const oslo = { name: "Oslo", population: 709000 }

  it.effect("responseFormat: the forced tool's input streams as text; no tool-call events; finish stop", () =>
    Effect.gen(function*() {
      server.setScript(Script.json(oslo, { chunks: 4 }))
      const events = Chunk.toReadonlyArray(
        yield* Stream.runCollect(claude.stream({ ...base, responseFormat: { type: "json_schema", name: "city", schema: { type: "object" } } }))
      )
      expect(events.filter((e) => e._tag.startsWith("ToolCall"))).toEqual([])
      const texts = events.filter((e): e is StreamEvent.TextDelta => e._tag === "TextDelta")
      expect(texts.length).toBe(4)
      expect(JSON.parse(texts.map((e) => e.text).join(""))).toEqual(oslo)
      expect(events.at(-1)).toEqual(StreamEvent.finish("stop", "tool_use"))
    }))

  it.effect("generateObject decodes the forced tool's input", () =>
    Effect.gen(function*() {
      server.setScript(Script.json(oslo))
      const city = yield* StructuredOutput.generateObject(claude, base, City)
      expect(city).toEqual(oslo)
      const sent = server.lastRequest!.body as Record<string, any>
      expect(sent.tool_choice.type).toBe("tool")
      expect(sent.tools.at(-1).name).toBe(sent.tool_choice.name)
    }))

  it.effect("streamObject: partial objects, then the decoded value", () =>
    Effect.gen(function*() {
      server.setScript(Script.json(oslo, { chunks: 5 }))
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(StructuredOutput.streamObject(claude, base, City)))
      expect(events.length).toBeGreaterThan(1)
      expect(events.at(-1)).toMatchObject({ value: oslo })
    }))

  it.effect("a real tool call next to the output tool still finishes tool_calls", () =>
    Effect.gen(function*() {
      // Script.toolCall answers with a caller's tool even though the format's tool is forced
      server.setScript(Script.toolCall({ id: "toolu_9", name: "weather", arguments: { city: "Rome" } }))
      const generation = yield* claude.generate({ ...base, tools: [weather], responseFormat: { type: "json" } })
      expect(generation.toolCalls.map((c) => c.name)).toEqual(["weather"])
      expect(generation.finish.reason).toBe("tool_calls")
    }))

  it.effect("citations arrive as ProviderMetadata, one per citations_delta", () =>
    Effect.gen(function*() {
      const body = Fixtures.loadBody("anthropic", "pai-web-search-citations")
      const cited = Buffer.from(body.body).toString("utf8").split("\n").filter((line) => line.includes("\"citations_delta\"")).length
      expect(cited).toBeGreaterThan(0)
      server.setScript(Fixtures.bodyScript("anthropic", "pai-web-search-citations"))
      const generation = yield* claude.generate(base)
      expect(generation.metadata.length).toBe(cited)
      for (const m of generation.metadata) {
        expect(m.provider).toBe("anthropic")
        expect(m.kind).toBe("citations")
        expect(m.data).toMatchObject({ type: expect.any(String) })
      }
    }))
})
