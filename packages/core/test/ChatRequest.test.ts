import { describe, expect, it } from "@effect/vitest"
import { ChatRequest, Provider, StreamEvent } from "@streamvisor/core"
import { Effect, Either, Exit, Schema, Stream } from "effect"

const png = "iVBORw0KGgo="
const base = { model: "m", messages: [{ role: "user", content: "hi" }] }
const decodeSync = (input: unknown) => Effect.runSync(Effect.either(ChatRequest.decode("p", input)))

describe("ChatRequest: what it accepts", () => {
  it.each<[string, unknown]>([
    ["string content", base],
    ["text, image (data, url) and file parts", {
      ...base,
      messages: [{
        role: "user",
        content: [
          { type: "text", text: "what is this?" },
          { type: "image", mediaType: "image/png", data: png },
          { type: "image", url: "https://example.com/a.png" },
          { type: "file", mediaType: "application/pdf", data: png, filename: "a.pdf" },
          { type: "file", mediaType: "application/pdf", url: "https://example.com/a.pdf" }
        ]
      }]
    }],
    ["assistant parts with reasoning signatures, and tool results with images", {
      ...base,
      messages: [
        { role: "user", content: "hi" },
        {
          role: "assistant",
          content: [
            { type: "reasoning", text: "hmm", signature: "sig", provider: "anthropic" },
            { type: "reasoning", text: "", redactedData: "opaque" },
            { type: "reasoning", text: "sum", id: "rs_1", encryptedContent: "enc", provider: "openai" },
            { type: "text", text: "calling" },
            { type: "tool-call", id: "c1", name: "f", arguments: { a: 1 }, signature: "gsig" }
          ],
          cache: true
        },
        { role: "tool", toolCallId: "c1", name: "f", content: [{ type: "text", text: "ok" }, { type: "image", mediaType: "image/png", data: png }] }
      ]
    }],
    ["tool choice, response format, reasoning, cache hints and provider options", {
      ...base,
      system: { text: "be brief", cache: true },
      tools: [{ name: "f", parameters: { type: "object" }, cache: true }],
      toolChoice: { tool: "f" },
      responseFormat: { type: "json_schema", name: "out", schema: { type: "object" }, strict: true },
      reasoning: { effort: "high", budgetTokens: 2048 },
      providerOptions: { anthropic: { top_k: 5 }, openai: { seed: 1 }, google: {}, ollama: { keep_alive: 0 } }
    }],
    ["a response format of any JSON", { ...base, responseFormat: { type: "json" } }]
  ])("accepts %s", (_, input) => {
    expect(Either.isRight(decodeSync(input))).toBe(true)
  })

  it("derives a tool's JSON Schema from an effect/Schema (without $schema)", () => {
    const request = Effect.runSync(ChatRequest.decode("p", {
      ...base,
      tools: [{ name: "weather", parameters: Schema.Struct({ city: Schema.String }) }],
      responseFormat: { type: "json_schema", name: "w", schema: Schema.Struct({ t: Schema.Number }) }
    }))
    expect(request.tools![0]!.parameters).toEqual({
      type: "object",
      required: ["city"],
      properties: { city: { type: "string" } },
      additionalProperties: false
    })
    expect(request.responseFormat).toMatchObject({ schema: { type: "object", required: ["t"] } })
  })

  it.each<[string, unknown, string]>([
    ["an unknown top-level field (a typo)", { ...base, maxToken: 5 }, "maxToken"],
    ["an unknown field in a part", {
      ...base,
      messages: [{ role: "user", content: [{ type: "text", text: "x", cache: true }] }]
    }, "cache"],
    ["an image with both data and url", {
      ...base,
      messages: [{ role: "user", content: [{ type: "image", mediaType: "image/png", data: png, url: "https://x/a.png" }] }]
    }, "url"],
    ["base64 given as a data: URL", {
      ...base,
      messages: [{ role: "user", content: [{ type: "image", mediaType: "image/png", data: `data:image/png;base64,${png}` }] }]
    }, "base64"],
    ["a relative image URL", { ...base, messages: [{ role: "user", content: [{ type: "image", url: "a.png" }] }] }, "absolute URL"],
    ["a file without a media type", {
      ...base,
      messages: [{ role: "user", content: [{ type: "file", data: png }] }]
    }, "mediaType"],
    ["empty content parts", { ...base, messages: [{ role: "user", content: [] }] }, "content parts must not be empty"],
    ["a user reasoning part", { ...base, messages: [{ role: "user", content: [{ type: "reasoning", text: "x" }] }] }, "reasoning"],
    ["a named tool choice not in tools", { ...base, tools: [{ name: "f", parameters: {} }], toolChoice: { tool: "g" } }, "toolChoice names tool \"g\", which is not in tools"],
    ["toolChoice required without tools", { ...base, toolChoice: "required" }, "needs at least one tool"],
    ["a tool name given twice", { ...base, tools: [{ name: "f", parameters: {} }, { name: "f", parameters: {} }] }, "given twice"],
    ["a bad reasoning effort", { ...base, reasoning: { effort: "max" } }, "effort"],
    ["a zero reasoning budget", { ...base, reasoning: { budgetTokens: 0 } }, "budgetTokens must be a positive integer"],
    ["provider options for an unknown provider", { ...base, providerOptions: { antropic: {} } }, "antropic"],
    ["a json_schema format without a schema", { ...base, responseFormat: { type: "json_schema", name: "x" } }, "schema"],
    ["a Schema with no JSON Schema form", {
      ...base,
      tools: [{ name: "f", parameters: Schema.declare((u): u is string => typeof u === "string") }]
    }, "no JSON Schema form"]
  ])("rejects %s", (_, input, message) => {
    const result = decodeSync(input)
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) {
      expect(result.left._tag).toBe("InvalidRequest")
      expect(result.left.message).toContain(message)
    }
  })
})

describe("ChatRequest", () => {
  it.effect("accepts a full request", () =>
    Effect.gen(function*() {
      const request = yield* ChatRequest.decode("p", {
        model: "m",
        system: "be brief",
        maxTokens: 10,
        temperature: 0.5,
        stop: ["\n\n"],
        tools: [{ name: "get_weather", description: "weather", parameters: { type: "object" } }],
        messages: [
          { role: "user", content: "hi" },
          { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "get_weather", arguments: { city: "Oslo" } }] },
          { role: "tool", toolCallId: "c1", name: "get_weather", content: "{\"t\":3}" }
        ]
      })
      expect(request.messages).toHaveLength(3)
    }))

  it.effect("rejects bad input with a readable InvalidRequest listing every problem", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        ChatRequest.decode("p", { model: "", messages: [], temperature: 7, maxTokens: -1 })
      )
      expect(error._tag).toBe("InvalidRequest")
      expect(error.retryable).toBe(false)
      expect(error.message).toContain("model must not be empty")
      expect(error.message).toContain("messages must hold at least one message")
      expect(error.message).toContain("temperature must be between 0 and 2")
      expect(error.message).toContain("maxTokens must be a positive integer")
    }))

  it.effect("Provider.make validates before calling the adapter", () =>
    Effect.gen(function*() {
      let opened = 0
      const provider = Provider.make({
        name: "p",
        stream: () => {
          opened++
          return Stream.make(StreamEvent.finish("stop", "stop"))
        }
      })
      const exit = yield* Stream.runDrain(provider.stream({ model: "m", messages: [{ role: "robot", content: "x" }] } as never)).pipe(Effect.exit)
      expect(Exit.isFailure(exit)).toBe(true)
      expect(opened).toBe(0)
      const ok = yield* provider.generate(ChatRequest.user("m", "hi"))
      expect(ok.finish).toEqual(StreamEvent.finish("stop", "stop"))
      expect(opened).toBe(1)
    }))

  it.effect("generate folds text, reasoning, tool calls and usage; no Finish is Disconnected", () =>
    Effect.gen(function*() {
      const events = [
        StreamEvent.reasoningDelta("think"),
        StreamEvent.textDelta("Hel"),
        StreamEvent.textDelta("lo"),
        StreamEvent.toolCallStart("c", "f"),
        StreamEvent.toolCallDelta("c", "{}"),
        StreamEvent.toolCallEnd("c", "f", {}),
        StreamEvent.usage(3, 4),
        StreamEvent.finish("tool_calls", "tool_use")
      ]
      const provider = Provider.make({ name: "p", stream: () => Stream.fromIterable(events) })
      const generation = yield* Provider.generate(provider, ChatRequest.user("m", "hi"))
      expect(generation).toEqual({
        text: "Hello",
        reasoning: "think",
        toolCalls: [{ id: "c", name: "f", arguments: {} }],
        usage: { inputTokens: 3, outputTokens: 4 },
        finish: StreamEvent.finish("tool_calls", "tool_use"),
        parts: [
          { type: "reasoning", text: "think" },
          { type: "text", text: "Hello" },
          { type: "tool-call", id: "c", name: "f", arguments: {} }
        ],
        metadata: []
      })
      const cut = Provider.make({ name: "p", stream: () => Stream.fromIterable(events.slice(0, 3)) })
      const error = yield* Effect.flip(cut.generate(ChatRequest.user("m", "hi")))
      expect(error._tag).toBe("Disconnected")
    }))
})

describe("Provider.withModel", () => {
  it.effect("pins the model of every request, data-first and pipeable", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const provider = Provider.make({
        name: "p",
        stream: (request) => {
          seen.push(request.model)
          return Stream.make(StreamEvent.finish("stop", "stop"))
        }
      })
      yield* Provider.withModel(provider, "pinned-a").generate(ChatRequest.user("asked", "hi"))
      yield* Stream.runDrain(Provider.withModel("pinned-b")(provider).stream(ChatRequest.user("asked", "hi")))
      expect(seen).toEqual(["pinned-a", "pinned-b"])
    }))
})
