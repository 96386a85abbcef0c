/**
 * The request model on `/api/chat`, end to end over real HTTP to FakeLlmServer: what each feature
 * puts in the body (`server.lastRequest.body`), the thinking round trip through
 * `Provider.toMessages`, structured output through `format`, and what Ollama has no field for,
 * refused before anything connects.
 */
import { type ChatRequest, Provider, StreamEvent, StructuredOutput } from "@streamvisor/core"
import { Script } from "@streamvisor/testkit"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import type * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { harness, type Harness, run, server, settle, useFakeServer } from "./support/Harness.js"

useFakeServer()

let h: Harness
beforeEach(() => {
  h = harness(server)
})
afterEach(async () => {
  await settle(server, h)
})

const base = { model: "qwen3:8b", messages: [{ role: "user" as const, content: "Hi" }] }
const PNG = "iVBORw0KGgo="
const weather = { name: "weather", parameters: { type: "object", properties: { city: { type: "string" } } } }

const succeed = async <A, E>(effect: Effect.Effect<A, E>): Promise<A> => {
  const exit = await run(h, effect)
  if (Exit.isFailure(exit)) throw new Error(Cause.pretty(exit.cause))
  return exit.value
}

const bodyOf = async (request: ChatRequest.Input): Promise<Record<string, any>> => {
  server.setScript(Script.text(["ok"]))
  await succeed(h.provider.generate(request))
  return server.lastRequest!.body as Record<string, any>
}

describe("each feature on the wire", () => {
  const cases: ReadonlyArray<{ readonly name: string; readonly request: ChatRequest.Input; readonly body: object }> = [
    {
      name: "images (base64) beside the text",
      request: {
        ...base,
        messages: [{
          role: "user",
          content: [{ type: "text", text: "What is " }, { type: "image", mediaType: "image/png", data: PNG }, { type: "text", text: "this?" }]
        }]
      },
      body: { messages: [{ role: "user", content: "What is this?", images: [PNG] }] }
    },
    { name: "responseFormat json → format \"json\"", request: { ...base, responseFormat: { type: "json" } }, body: { format: "json" } },
    {
      name: "responseFormat json_schema → format: the schema",
      request: { ...base, responseFormat: { type: "json_schema", name: "city", schema: { type: "object", properties: { name: { type: "string" } } } } },
      body: { format: { type: "object", properties: { name: { type: "string" } } } }
    },
    { name: "reasoning.effort → think: the level", request: { ...base, reasoning: { effort: "high" } }, body: { think: "high" } },
    { name: "reasoning without effort → think: true", request: { ...base, reasoning: {} }, body: { think: true } },
    { name: "toolChoice auto → tools sent", request: { ...base, tools: [weather], toolChoice: "auto" }, body: { tools: [{ type: "function", function: { name: "weather" } }] } },
    {
      name: "providerOptions.ollama merged last: options key by key, other fields over the body",
      request: {
        ...base,
        maxTokens: 64,
        temperature: 0.5,
        providerOptions: { ollama: { options: { seed: 7, top_p: 0.9, temperature: 0.1 }, keep_alive: "1m", think: false, stream: false }, anthropic: { top_k: 1 } }
      },
      body: { options: { num_predict: 64, temperature: 0.1, seed: 7, top_p: 0.9 }, keep_alive: "1m", think: false, stream: true }
    }
  ]

  it.each(cases)("$name", async ({ body, request }) => {
    expect(await bodyOf(request)).toMatchObject(body)
  })

  it("toolChoice none: the tools are not sent", async () => {
    const sent = await bodyOf({ ...base, tools: [weather], toolChoice: "none" })
    expect(sent.tools).toBeUndefined()
  })

  it("a cache hint is taken and changes nothing (Ollama caches the loaded prompt itself)", async () => {
    const plain = await bodyOf(base)
    const cached = await bodyOf({ ...base, system: { text: "s", cache: true }, messages: [{ role: "user", content: "Hi", cache: true }] })
    expect(cached).toEqual({ ...plain, messages: [{ role: "system", content: "s" }, ...plain.messages] })
  })

  it("request reasoning wins over the adapter's think option; the option stays the default", async () => {
    await h.agent.close()
    h = harness(server, { think: "low" })
    expect((await bodyOf(base)).think).toBe("low")
    expect((await bodyOf({ ...base, reasoning: { effort: "medium" } })).think).toBe("medium")
  })

  it("reasoning history goes back as thinking; another provider's reasoning is left out", async () => {
    const sent = await bodyOf({
      ...base,
      messages: [
        { role: "user", content: "q" },
        {
          role: "assistant",
          content: [
            { type: "reasoning", text: "claude thought", signature: "S", provider: "anthropic" },
            { type: "reasoning", text: "my thought", provider: "ollama" },
            { type: "text", text: "a" }
          ]
        },
        { role: "user", content: "q2" }
      ]
    })
    expect(sent.messages[1]).toEqual({ role: "assistant", content: "a", thinking: "my thought" })
  })
})

describe("refused before connecting", () => {
  const cases: ReadonlyArray<{ readonly name: string; readonly request: ChatRequest.Input; readonly fragment: string }> = [
    {
      name: "an image by URL (Ollama takes base64 only)",
      request: { ...base, messages: [{ role: "user", content: [{ type: "image", url: "https://example.com/a.png" }] }] },
      fragment: "messages[0].content[0]: an image part (url) is not supported by ollama"
    },
    {
      name: "a file",
      request: { ...base, messages: [{ role: "user", content: [{ type: "file", mediaType: "application/pdf", data: PNG }] }] },
      fragment: "a file part (application/pdf, data) is not supported by ollama"
    },
    {
      name: "an image in a tool result",
      request: {
        ...base,
        messages: [
          { role: "user", content: "q" },
          { role: "assistant", content: "", toolCalls: [{ id: "c", name: "weather", arguments: {} }] },
          { role: "tool", toolCallId: "c", name: "weather", content: [{ type: "image", mediaType: "image/png", data: PNG }] }
        ]
      },
      fragment: "in a tool result is not supported by ollama"
    },
    { name: "toolChoice required", request: { ...base, tools: [weather], toolChoice: "required" }, fragment: "toolChoice \"required\" is not supported by ollama" },
    { name: "a named tool choice", request: { ...base, tools: [weather], toolChoice: { tool: "weather" } }, fragment: "toolChoice { tool: \"weather\" } is not supported" },
    { name: "a reasoning token budget", request: { ...base, reasoning: { budgetTokens: 2048 } }, fragment: "a reasoning token budget is not supported by ollama" }
  ]

  it.each(cases)("$name", async ({ fragment, request }) => {
    const exit = await run(h, h.provider.generate(request))
    const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
    expect(error?._tag).toBe("InvalidRequest")
    expect(error?.message).toContain(fragment)
    expect(server.stats().total).toBe(0)
  })
})

describe("the answer", () => {
  it("thinking round trip: turn 1 thinks and calls a tool; turn 2 sends both back with the result", async () => {
    server.enqueue(Script.make([
      Script.reasoningEvent("Need "),
      Script.reasoningEvent("the weather."),
      Script.toolCallEvent({ id: "x", name: "weather", arguments: { city: "Oslo" } })
    ]))
    const request = { ...base, tools: [weather], reasoning: { effort: "low" as const } }
    const first = await succeed(h.provider.generate(request))
    expect(first.parts[0]).toEqual({ type: "reasoning", text: "Need the weather.", provider: "ollama" })
    expect(first.finish.reason).toBe("tool_calls")
    const call = first.toolCalls[0]!
    server.enqueue(Script.text(["-3C in Oslo."]))
    const history: Array<ChatRequest.Message> = [
      ...request.messages,
      ...Provider.toMessages(first),
      { role: "tool", toolCallId: call.id, name: call.name, content: "-3C" }
    ]
    const second = await succeed(h.provider.generate({ ...request, messages: history }))
    expect(second.text).toBe("-3C in Oslo.")
    expect((server.lastRequest!.body as Record<string, any>).messages.slice(1)).toEqual([
      {
        role: "assistant",
        content: "",
        thinking: "Need the weather.",
        tool_calls: [{ function: { name: "weather", arguments: { city: "Oslo" } } }]
      },
      { role: "tool", content: "-3C", tool_name: "weather" }
    ])
  })

  const City = Schema.Struct({ name: Schema.String, population: Schema.Number })
  const oslo = { name: "Oslo", population: 709000 }

  it("generateObject: format carries the Schema's JSON Schema; the answer is decoded", async () => {
    server.setScript(Script.json(oslo, { chunks: 3 }))
    expect(await succeed(StructuredOutput.generateObject(h.provider, base, City))).toEqual(oslo)
    expect((server.lastRequest!.body as Record<string, any>).format).toMatchObject({ type: "object", required: ["name", "population"] })
  })

  it("streamObject: partial objects, then the decoded value", async () => {
    server.setScript(Script.json(oslo, { chunks: 4 }))
    const events = Chunk.toReadonlyArray(await succeed(Stream.runCollect(StructuredOutput.streamObject(h.provider, base, City))))
    expect(events.length).toBeGreaterThan(1)
    expect(events.at(-1)).toMatchObject({ value: oslo })
  })

  it("thinking then text: the block is closed before the answer, and usage has no detail", async () => {
    server.setScript(Script.reasoning(["hm"], ["ok"], { usage: { inputTokens: 3, outputTokens: 2 } }))
    const events = Chunk.toReadonlyArray(await succeed(Stream.runCollect(h.provider.stream(base))))
    expect(events).toEqual([
      StreamEvent.reasoningDelta("hm"),
      StreamEvent.reasoningEnd("ollama"),
      StreamEvent.textDelta("ok"),
      StreamEvent.usage(3, 2),
      StreamEvent.finish("stop", "stop")
    ])
  })
})
