/**
 * The request model on the Responses API, on the wire: each feature's request
 * body, what is refused before connecting, the usage detail in the ledger,
 * annotations as ProviderMetadata, structured output, and the reasoning round
 * trip — turn 1 with reasoning and a tool call, turn 2 sending the tool result
 * back via `Provider.toMessages` to a server running OpenAI's own check
 * (`openai-responses-reasoning`), and the 400 when the reasoning item is dropped.
 */
import type { ChatRequest } from "@streamvisor/core"
import { Ledger, Provider, StructuredOutput } from "@streamvisor/core"
import { FakeLlmServer, Fixtures, Script } from "@streamvisor/testkit"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { OpenAI } from "../src/index.js"

const KEY = "sk-request-model-responses-0123456789"
let server: FakeLlmServer.Server
let provider: Provider.Provider

beforeAll(async () => {
  server = await FakeLlmServer.start()
  provider = OpenAI.make({ apiKey: KEY, baseURL: server.baseUrls.openai, api: "responses" })
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
  model: "gpt-5-model",
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

const cases: ReadonlyArray<{
  readonly name: string
  readonly request: ChatRequest.Input
  readonly body: Record<string, unknown>
  readonly absent?: ReadonlyArray<string>
}> = [
  {
    name: "image (base64) → input_image with a data URL, detail auto",
    request: base({
      messages: [{ role: "user", content: [{ type: "text", text: "What?" }, { type: "image", mediaType: "image/png", data: PNG }] }]
    }),
    body: {
      input: [{
        role: "user",
        content: [
          { type: "input_text", text: "What?" },
          { type: "input_image", image_url: `data:image/png;base64,${PNG}`, detail: "auto" }
        ]
      }]
    }
  },
  {
    name: "image (url) with imageDetail high",
    request: base({
      messages: [{ role: "user", content: [{ type: "image", url: "https://example.com/cat.jpg" }] }],
      providerOptions: { openai: { imageDetail: "high" } }
    }),
    body: { input: [{ role: "user", content: [{ type: "input_image", image_url: "https://example.com/cat.jpg", detail: "high" }] }] },
    absent: ["imageDetail"]
  },
  {
    name: "PDF by data and by URL → input_file file_data / file_url",
    request: base({
      messages: [{
        role: "user",
        content: [
          { type: "file", mediaType: "application/pdf", data: PDF, filename: "a.pdf" },
          { type: "file", mediaType: "application/pdf", url: "https://example.com/b.pdf" }
        ]
      }]
    }),
    body: {
      input: [{
        role: "user",
        content: [
          { type: "input_file", file_data: `data:application/pdf;base64,${PDF}`, filename: "a.pdf" },
          { type: "input_file", file_url: "https://example.com/b.pdf" }
        ]
      }]
    }
  },
  {
    name: "a tool result with an image → function_call_output content parts",
    request: base({
      messages: [
        { role: "user", content: "Draw" },
        { role: "assistant", content: [{ type: "tool-call", id: "call_1", name: "get_weather", arguments: {} }] },
        {
          role: "tool",
          toolCallId: "call_1",
          name: "get_weather",
          content: [{ type: "text", text: "chart:" }, { type: "image", mediaType: "image/png", data: PNG }]
        }
      ],
      tools: [weather]
    }),
    body: {
      input: [
        { role: "user", content: "Draw" },
        { type: "function_call", call_id: "call_1", name: "get_weather", arguments: "{}" },
        {
          type: "function_call_output",
          call_id: "call_1",
          output: [
            { type: "input_text", text: "chart:" },
            { type: "input_image", image_url: `data:image/png;base64,${PNG}`, detail: "auto" }
          ]
        }
      ]
    }
  },
  { name: "toolChoice none", request: base({ tools: [weather], toolChoice: "none" }), body: { tool_choice: "none" } },
  { name: "toolChoice required", request: base({ tools: [weather], toolChoice: "required" }), body: { tool_choice: "required" } },
  {
    name: "toolChoice { tool }",
    request: base({ tools: [weather], toolChoice: { tool: "get_weather" } }),
    body: { tool_choice: { type: "function", name: "get_weather" } }
  },
  { name: "responseFormat json → text.format json_object", request: base({ responseFormat: { type: "json" } }), body: { text: { format: { type: "json_object" } } } },
  {
    name: "responseFormat json_schema → text.format json_schema",
    request: base({ responseFormat: { type: "json_schema", name: "City", schema: { type: "object" }, strict: true } }),
    body: { text: { format: { type: "json_schema", name: "City", schema: { type: "object" }, strict: true } } }
  },
  {
    name: "reasoning.effort → reasoning {effort, summary auto}, store false, include encrypted content",
    request: base({ reasoning: { effort: "medium" } }),
    body: { reasoning: { effort: "medium", summary: "auto" }, store: false, include: ["reasoning.encrypted_content"] }
  },
  {
    name: "no reasoning knob → no reasoning, store or include",
    request: base(),
    body: { input: [{ role: "user", content: "Hi" }] },
    absent: ["reasoning", "store", "include"]
  },
  {
    name: "providerOptions.openai merged last, objects one level deep",
    request: base({
      reasoning: { effort: "high" },
      providerOptions: { openai: { reasoning: { summary: "detailed" }, store: true, prompt_cache_key: "tenant-42", top_p: 0.5 } }
    }),
    body: { reasoning: { effort: "high", summary: "detailed" }, store: true, prompt_cache_key: "tenant-42", top_p: 0.5 }
  },
  {
    name: "cache hints are taken and nothing is sent for them",
    request: base({ system: { text: "Be terse.", cache: true }, messages: [{ role: "user", content: "Hi", cache: true }] }),
    body: { instructions: "Be terse.", input: [{ role: "user", content: "Hi" }] },
    absent: ["prompt_cache_key"]
  },
  {
    name: "history: a tool call's fc_ signature goes back as its id only when it is OpenAI's",
    request: base({
      messages: [
        { role: "user", content: "Q" },
        {
          role: "assistant",
          content: [
            { type: "tool-call", id: "call_1", name: "get_weather", arguments: {}, signature: "fc_1", provider: "openai" },
            { type: "tool-call", id: "call_2", name: "get_weather", arguments: {}, signature: "fc_2", provider: "google" }
          ]
        },
        { role: "tool", toolCallId: "call_1", name: "get_weather", content: "ok" },
        { role: "tool", toolCallId: "call_2", name: "get_weather", content: "ok" }
      ],
      tools: [weather]
    }),
    body: {
      input: [
        { role: "user", content: "Q" },
        { type: "function_call", id: "fc_1", call_id: "call_1", name: "get_weather", arguments: "{}" },
        { type: "function_call", call_id: "call_2", name: "get_weather", arguments: "{}" },
        { type: "function_call_output", call_id: "call_1", output: "ok" },
        { type: "function_call_output", call_id: "call_2", output: "ok" }
      ]
    }
  },
  {
    name: "history: another provider's reasoning and reasoning without an id are left out",
    request: base({
      messages: [
        { role: "user", content: "Q" },
        {
          role: "assistant",
          content: [
            { type: "reasoning", text: "claude thinking", signature: "sig", provider: "anthropic" },
            { type: "reasoning", text: "deepseek thinking", provider: "openai" },
            { type: "text", text: "A" },
            { type: "tool-call", id: "call_1", name: "get_weather", arguments: {}, signature: "gemini-sig" }
          ]
        },
        { role: "tool", toolCallId: "call_1", name: "get_weather", content: "ok" }
      ],
      tools: [weather]
    }),
    body: {
      input: [
        { role: "user", content: "Q" },
        { role: "assistant", content: "A" },
        // no id: only a Responses item id (fc_…) goes back as the id, never another provider's signature
        { type: "function_call", call_id: "call_1", name: "get_weather", arguments: "{}" },
        { type: "function_call_output", call_id: "call_1", output: "ok" }
      ]
    }
  }
]

describe("Responses: the request each feature produces", () => {
  it.each(cases)("$name", async ({ absent, body, request }) => {
    const sent = await bodyOf(request)
    expect(sent).toMatchObject(body)
    if (body.input !== undefined) expect(sent.input).toEqual(body.input)
    for (const key of absent ?? []) expect(sent).not.toHaveProperty(key)
  })
})

describe("Responses: refused before connecting", () => {
  const refused: ReadonlyArray<{ readonly name: string; readonly request: ChatRequest.Input; readonly says: string }> = [
    { name: "a reasoning token budget", request: base({ reasoning: { budgetTokens: 4096 } }), says: "a reasoning token budget is not supported by openai" },
    { name: "stop sequences", request: base({ stop: ["END"] }), says: "no stop sequences" },
    {
      name: "a non-PDF file",
      request: base({ messages: [{ role: "user", content: [{ type: "file", mediaType: "application/zip", data: "YQ==" }] }] }),
      says: "application/zip"
    },
    { name: "providerOptions.openai.stream", request: base({ providerOptions: { openai: { stream: false } } }), says: "stream cannot be set" }
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

describe("Responses: reasoning round trip", () => {
  const turn1: ChatRequest.Input = base({
    messages: [{ role: "user", content: "Weather in Paris?" }],
    tools: [weather],
    reasoning: { effort: "low" }
  })

  const firstTurn = async () => {
    server.enqueue(
      Script.make(
        [
          Script.reasoningEvent("Need "),
          Script.reasoningEvent("the tool.", "ENCRYPTED-1"),
          Script.toolCallEvent({ id: "call_9", name: "get_weather", arguments: { city: "Paris" } })
        ],
        { usage: { inputTokens: 50, outputTokens: 30, reasoningTokens: 20 } }
      )
    )
    return Effect.runPromise(provider.generate(turn1))
  }

  const secondTurn = (history: ReadonlyArray<ChatRequest.Message>): ChatRequest.Input => ({
    ...turn1,
    messages: [
      ...turn1.messages,
      ...history,
      { role: "tool", toolCallId: "call_9", name: "get_weather", content: "sunny" }
    ]
  })

  it("turn 1's reasoning item (id, encrypted content) goes back right before its function_call; OpenAI's check passes", async () => {
    const first = await firstTurn()
    expect(first.reasoning).toBe("Need the tool.")
    expect(first.usage).toEqual({ inputTokens: 50, outputTokens: 30, cachedInputTokens: 0, reasoningTokens: 20 })
    const [reasoning, call] = first.parts
    expect(reasoning).toMatchObject({ type: "reasoning", text: "Need the tool.", encryptedContent: "ENCRYPTED-1", provider: "openai" })
    expect((reasoning as ChatRequest.ReasoningPart).id).toMatch(/^rs_/)
    expect(call).toMatchObject({ type: "tool-call", id: "call_9", name: "get_weather", arguments: { city: "Paris" } })
    expect((call as ChatRequest.ToolCallPart).signature).toMatch(/^fc_/)

    server.enqueue({ ...Script.text(["Sunny."]), validate: ["openai-responses-reasoning"] })
    const second = await Effect.runPromise(provider.generate(secondTurn(Provider.toMessages(first))))
    expect(second.text).toBe("Sunny.")
    const input = (server.lastRequest!.body as { input: ReadonlyArray<unknown> }).input
    expect(input).toEqual([
      { role: "user", content: "Weather in Paris?" },
      {
        type: "reasoning",
        id: (reasoning as ChatRequest.ReasoningPart).id,
        summary: [{ type: "summary_text", text: "Need the tool." }],
        encrypted_content: "ENCRYPTED-1"
      },
      {
        type: "function_call",
        call_id: "call_9",
        name: "get_weather",
        arguments: "{\"city\":\"Paris\"}",
        id: (call as ChatRequest.ToolCallPart).signature
      },
      { type: "function_call_output", call_id: "call_9", output: "sunny" }
    ])
  })

  it("dropping the reasoning item → OpenAI's 400 → InvalidRequest", async () => {
    const first = await firstTurn()
    const withoutReasoning = Provider.toMessages({ parts: first.parts.filter((p) => p.type !== "reasoning") })
    server.enqueue({ ...Script.text(["Sunny."]), validate: ["openai-responses-reasoning"] })
    const exit = await Effect.runPromiseExit(provider.generate(secondTurn(withoutReasoning)))
    const error = failure(exit)
    expect(error?._tag).toBe("InvalidRequest")
    expect(error?.message).toContain("was provided without its required 'reasoning' item")
  })

  it("a reasoning item without its encrypted content under store: false → OpenAI's 404 → InvalidRequest", async () => {
    const first = await firstTurn()
    const stripped = first.parts.map((part) =>
      part.type === "reasoning" ? { type: "reasoning" as const, text: part.text, id: part.id, provider: part.provider } : part
    )
    server.enqueue({ ...Script.text(["Sunny."]), validate: ["openai-responses-reasoning"] })
    const exit = await Effect.runPromiseExit(provider.generate(secondTurn(Provider.toMessages({ parts: stripped }))))
    const error = failure(exit)
    expect(error?._tag).toBe("InvalidRequest")
    expect(error?.message).toContain("Items are not persisted when `store` is set to false")
  })

  it("a redacted (summary-less) reasoning item goes back as an item with an empty summary", async () => {
    server.enqueue(
      Script.make([
        Script.redactedReasoningEvent("ENCRYPTED-ONLY"),
        Script.toolCallEvent({ id: "call_9", name: "get_weather", arguments: { city: "Paris" } })
      ])
    )
    const first = await Effect.runPromise(provider.generate(turn1))
    expect(first.parts[0]).toMatchObject({ type: "reasoning", text: "", encryptedContent: "ENCRYPTED-ONLY" })
    server.enqueue({ ...Script.text(["Sunny."]), validate: ["openai-responses-reasoning"] })
    const second = await Effect.runPromise(provider.generate(secondTurn(Provider.toMessages(first))))
    expect(second.text).toBe("Sunny.")
    const input = (server.lastRequest!.body as { input: ReadonlyArray<Record<string, unknown>> }).input
    expect(input[1]).toMatchObject({ type: "reasoning", summary: [], encrypted_content: "ENCRYPTED-ONLY" })
  })
})

describe("Responses: what comes back", () => {
  it("usage detail (cached_tokens, reasoning_tokens) reaches the ledger", async () => {
    server.enqueue(Script.text(["ok"], { usage: { inputTokens: 2048, outputTokens: 40, cachedInputTokens: 1920, reasoningTokens: 12 } }))
    const ledger = Ledger.make()
    const exit = await Effect.runPromiseExit(provider.generate(base()).pipe(Effect.provideService(Ledger.Ledger, ledger)))
    if (Exit.isFailure(exit)) throw new Error(Cause.pretty(exit.cause))
    expect(exit.value.usage).toEqual({ inputTokens: 2048, outputTokens: 40, cachedInputTokens: 1920, reasoningTokens: 12 })
    expect(ledger.snapshot().usage).toEqual({ inputTokens: 2048, outputTokens: 40, cachedInputTokens: 1920, reasoningTokens: 12 })
  })

  it("web search annotations (a real stream) → ProviderMetadata citations, one per annotation", async () => {
    const body = Fixtures.loadBody("openai-responses", "pai-web-search-annotations")
    const model = "annotations-model"
    server.scriptFor(model, Fixtures.bodyScript("openai-responses", "pai-web-search-annotations"))
    const generation = await Effect.runPromise(provider.generate(base({ model })))
    const raw = new TextDecoder().decode(body.body)
    const count = raw.split("\n").filter((l) => l.startsWith("data:") && l.includes("\"response.output_text.annotation.added\"")).length
    expect(count).toBeGreaterThan(0)
    expect(generation.metadata.length).toBe(count)
    for (const m of generation.metadata) {
      expect(m).toMatchObject({ provider: "openai", kind: "citations", data: { type: "url_citation" } })
      expect(typeof (m.data as { url: unknown }).url).toBe("string")
    }
  })

  const City = Schema.Struct({ name: Schema.String, population: Schema.Number }).annotations({ identifier: "City" })

  it("generateObject: text.format json_schema on the wire, the decoded value back", async () => {
    server.enqueue(Script.json({ name: "Oslo", population: 709000 }, { chunks: 3 }))
    const value = await Effect.runPromise(StructuredOutput.generateObject(provider, base(), City, { strict: true }))
    expect(value).toEqual({ name: "Oslo", population: 709000 })
    expect((server.lastRequest!.body as { text: unknown }).text).toMatchObject({
      format: { type: "json_schema", name: "City", strict: true, schema: { type: "object" } }
    })
  })

  it("streamObject: partial objects, then the decoded value", async () => {
    server.enqueue(Script.json({ name: "Bergen", population: 291000 }, { chunks: 5, reasoning: ["Think."] }))
    const events = [...(await Effect.runPromise(Stream.runCollect(StructuredOutput.streamObject(provider, base(), City))))]
    expect(events.filter((e) => e._tag === "PartialObject").length).toBeGreaterThan(0)
    expect(events.at(-1)).toMatchObject({ _tag: "Object", value: { name: "Bergen", population: 291000 } })
  })
})
