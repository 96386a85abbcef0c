/**
 * The conversation model on the Gemini wire, for both adapters (`Google` over
 * `@google/generative-ai`, `GoogleGenAI` over `@google/genai`): the request
 * each feature puts on the wire (`server.lastRequest.body`), the two-turn
 * thinking + tool-call round trip under the fake's `gemini-thought-signature`
 * check (and the 400 when a signature is dropped), usage detail reaching the
 * Ledger, generateObject / streamObject, metadata, and what stays refused
 * before connecting.
 */
import { describe, expect, it } from "@effect/vitest"
import { type ChatRequest, Ledger, Provider, StreamEvent, StructuredOutput } from "@streamvisor/core"
import { Script } from "@streamvisor/testkit"
import { Chunk, Effect, Schema, Stream } from "effect"
import { GoogleGenAI } from "../src/genai.js"
import { Google } from "../src/index.js"
import { harness, KEY } from "./support/Harness.js"

const adapters = [
  ["Google", (baseURL: string) => Google.make({ apiKey: KEY, baseURL })],
  ["GoogleGenAI", (baseURL: string) => GoogleGenAI.make({ apiKey: KEY, baseURL })]
] as const

const user = (content: ChatRequest.UserMessage["content"]): ChatRequest.ChatRequest => ({
  model: "gemini-2.5-flash",
  messages: [{ role: "user", content }]
})
const weather = { name: "weather", parameters: { type: "object", properties: { city: { type: "string" } } } }

/** [feature, request, what must be in the body] */
const wire: ReadonlyArray<readonly [string, ChatRequest.Input, Record<string, unknown>]> = [
  ["image (base64) → inlineData", user([{ type: "text", text: "What?" }, { type: "image", mediaType: "image/png", data: "iVBORw0KGgo=" }]), {
    contents: [{ role: "user", parts: [{ text: "What?" }, { inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } }] }]
  }],
  ["image by URL → fileData (type from the extension)", user([{ type: "image", url: "https://example.com/cat.JPG" }]), {
    contents: [{ role: "user", parts: [{ fileData: { mimeType: "image/jpeg", fileUri: "https://example.com/cat.JPG" } }] }]
  }],
  ["image data: URL → inlineData", user([{ type: "image", url: "data:image/webp;base64,UklGRg==" }]), {
    contents: [{ role: "user", parts: [{ inlineData: { mimeType: "image/webp", data: "UklGRg==" } }] }]
  }],
  ["PDF (base64) → inlineData, filename not sent", user([{ type: "file", mediaType: "application/pdf", data: "JVBERi0=", filename: "a.pdf" }]), {
    contents: [{ role: "user", parts: [{ inlineData: { mimeType: "application/pdf", data: "JVBERi0=" } }] }]
  }],
  ["file by URL → fileData", user([{ type: "file", mediaType: "application/pdf", url: "https://example.com/a.pdf" }]), {
    contents: [{ role: "user", parts: [{ fileData: { mimeType: "application/pdf", fileUri: "https://example.com/a.pdf" } }] }]
  }],
  ["tool result with an image → functionResponse.parts", {
    model: "gemini-3-pro-preview",
    messages: [
      { role: "user", content: "Screenshot?" },
      { role: "assistant", content: [{ type: "tool-call", id: "c1", name: "shot", arguments: {}, signature: "S" }] },
      { role: "tool", toolCallId: "c1", name: "shot", content: [{ type: "text", text: "{\"ok\":true}" }, { type: "image", mediaType: "image/png", data: "iVBO" }] }
    ]
  }, {
    contents: [
      { role: "user", parts: [{ text: "Screenshot?" }] },
      { role: "model", parts: [{ functionCall: { name: "shot", args: {} }, thoughtSignature: "S" }] },
      { role: "user", parts: [{ functionResponse: { name: "shot", response: { ok: true }, parts: [{ inlineData: { mimeType: "image/png", data: "iVBO" } }] } }] }
    ]
  }],
  ["toolChoice auto → AUTO", { ...user("Hi"), tools: [weather], toolChoice: "auto" }, { toolConfig: { functionCallingConfig: { mode: "AUTO" } } }],
  ["toolChoice none → NONE (tools still sent)", { ...user("Hi"), tools: [weather], toolChoice: "none" }, {
    toolConfig: { functionCallingConfig: { mode: "NONE" } },
    tools: [{ functionDeclarations: [{ name: "weather" }] }]
  }],
  ["toolChoice required → ANY", { ...user("Hi"), tools: [weather], toolChoice: "required" }, { toolConfig: { functionCallingConfig: { mode: "ANY" } } }],
  ["toolChoice { tool } → ANY + allowedFunctionNames", { ...user("Hi"), tools: [weather], toolChoice: { tool: "weather" } }, {
    toolConfig: { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["weather"] } }
  }],
  ["responseFormat json → responseMimeType", { ...user("Hi"), responseFormat: { type: "json" } }, {
    generationConfig: { responseMimeType: "application/json" }
  }],
  ["responseFormat json_schema → responseJsonSchema ($schema removed, description kept)", {
    ...user("Hi"),
    responseFormat: {
      type: "json_schema",
      name: "City",
      description: "A city",
      schema: { $schema: "http://json-schema.org/draft-07/schema#", type: "object", properties: { name: { type: ["string", "null"] } }, required: ["name"], additionalProperties: false }
    }
  }, {
    generationConfig: {
      responseMimeType: "application/json",
      responseJsonSchema: { type: "object", properties: { name: { type: ["string", "null"] } }, required: ["name"], additionalProperties: false, description: "A city" }
    }
  }],
  ["reasoning budgetTokens → thinkingBudget + includeThoughts", { ...user("Hi"), reasoning: { budgetTokens: 3000 } }, {
    generationConfig: { thinkingConfig: { includeThoughts: true, thinkingBudget: 3000 } }
  }],
  ["reasoning effort on 2.5 → thinkingBudget from the table", { ...user("Hi"), reasoning: { effort: "medium" } }, {
    generationConfig: { thinkingConfig: { includeThoughts: true, thinkingBudget: 8192 } }
  }],
  ["reasoning effort on Gemini 3 → thinkingLevel", { ...user("Hi"), model: "gemini-3-pro-preview", reasoning: { effort: "high" } }, {
    generationConfig: { thinkingConfig: { includeThoughts: true, thinkingLevel: "HIGH" } }
  }],
  ["cache hint → nothing on the wire (implicit caching)", { ...user("Hi"), system: { text: "Long prompt", cache: true } }, {
    systemInstruction: { role: "system", parts: [{ text: "Long prompt" }] }
  }],
  ["providerOptions.google: flat generationConfig fields, safetySettings, cachedContent; the user has the last word", {
    ...user("Hi"),
    maxTokens: 100,
    providerOptions: {
      google: { topP: 0.9, seed: 7, generationConfig: { maxOutputTokens: 50 }, safetySettings: [{ category: "HARM_CATEGORY_HATE_SPEECH", threshold: "BLOCK_NONE" }], cachedContent: "cachedContents/abc" },
      openai: { ignored: true }
    }
  }, {
    generationConfig: { maxOutputTokens: 50, topP: 0.9, seed: 7 },
    safetySettings: [{ category: "HARM_CATEGORY_HATE_SPEECH", threshold: "BLOCK_NONE" }],
    cachedContent: "cachedContents/abc"
  }]
]

/** [what, request, a piece of the InvalidRequest message] — all refused before connecting. */
const refused: ReadonlyArray<readonly [string, ChatRequest.Input, string]> = [
  ["a GIF image", user([{ type: "image", mediaType: "image/gif", data: "R0lG" }]), "image/gif"],
  ["a zip file", user([{ type: "file", mediaType: "application/zip", data: "UEs=" }]), "application/zip"],
  ["an image URL with no type", user([{ type: "image", url: "https://example.com/picture" }]), "needs its mediaType"],
  ["a JSON Schema keyword outside Gemini's subset", {
    ...user("Hi"),
    responseFormat: { type: "json_schema", name: "X", schema: { type: "object", properties: { code: { type: "string", pattern: "^[A-Z]+$" } } } }
  }, "\"pattern\""]
]

for (const [label, make] of adapters) {
  describe(`${label}: the conversation model on the wire`, () => {
    const h = harness({ make })
    const withLedger = <A, E>(effect: Effect.Effect<A, E>) => Effect.provideService(effect, Ledger.Ledger, h.ledger)

    it.live.each(wire)("%s", ([_, request, body]) =>
      Effect.gen(function*() {
        h.server.setScript(Script.text(["ok"]))
        yield* withLedger(h.provider.generate(request))
        expect(h.server.lastRequest?.body).toMatchObject(body)
        const sent = h.server.lastRequest?.body as { generationConfig?: Record<string, unknown> }
        expect(JSON.stringify(sent)).not.toContain("ignored")
        if (_.startsWith("cache hint")) expect(JSON.stringify(sent)).not.toContain("cache")
      }))

    it.live.each(refused)("refused before connecting: %s", ([_, request, piece]) =>
      Effect.gen(function*() {
        const error = yield* withLedger(h.provider.generate(request)).pipe(Effect.flip)
        expect(error._tag).toBe("InvalidRequest")
        expect(error.message).toContain(piece)
        expect(h.server.stats().total).toBe(0)
      }))

    it.live("round trip: thinking + a signed tool call, then the result back, under the gemini-thought-signature check", () =>
      Effect.gen(function*() {
        const tools = [weather]
        const turn1: ChatRequest.ChatRequest = { model: "gemini-3-pro-preview", messages: [{ role: "user", content: "Weather in Paris?" }], tools, reasoning: { effort: "low" } }
        h.server.enqueue(
          Script.make([
            Script.reasoningEvent("Need the tool.", "SIG-THOUGHT"),
            Script.toolCallEvent({ id: "x", name: "weather", arguments: { city: "Paris" }, signature: "SIG-CALL" })
          ], { usage: { inputTokens: 20, outputTokens: 5, reasoningTokens: 7, cachedInputTokens: 12 } })
        )
        const first = yield* withLedger(h.provider.generate(turn1))
        expect(first.reasoning).toBe("Need the tool.")
        const callId = first.toolCalls[0]?.id ?? ""
        expect(first.toolCalls).toEqual([{ id: expect.stringMatching(/^call_0_[a-z0-9]{6}$/), name: "weather", arguments: { city: "Paris" }, signature: "SIG-CALL", provider: "google" }])
        expect(first.parts[0]).toEqual({ type: "reasoning", text: "Need the tool.", signature: "SIG-THOUGHT", provider: "google" })
        // Usage detail: thoughts added into output, cached part of input; the ledger has it too.
        expect(first.usage).toEqual({ inputTokens: 20, outputTokens: 12, cachedInputTokens: 12, reasoningTokens: 7 })
        expect(h.ledger.snapshot().usage).toMatchObject({ inputTokens: 20, outputTokens: 12, cachedInputTokens: 12, reasoningTokens: 7 })

        const history: Array<ChatRequest.Message> = [
          ...turn1.messages,
          ...Provider.toMessages(first),
          { role: "tool", toolCallId: callId, name: "weather", content: "{\"tempC\":21}" }
        ]
        h.server.enqueue({ ...Script.text(["It is 21°C."]), validate: ["gemini-thought-signature"] })
        const second = yield* withLedger(h.provider.generate({ ...turn1, messages: history }))
        expect(second.text).toBe("It is 21°C.")
        expect((h.server.lastRequest?.body as { contents: unknown }).contents).toEqual([
          { role: "user", parts: [{ text: "Weather in Paris?" }] },
          {
            role: "model",
            parts: [
              { text: "Need the tool.", thought: true, thoughtSignature: "SIG-THOUGHT" },
              { functionCall: { name: "weather", args: { city: "Paris" } }, thoughtSignature: "SIG-CALL" }
            ]
          },
          { role: "user", parts: [{ functionResponse: { name: "weather", response: { tempC: 21 } } }] }
        ])

        // Dropping the call's signature: the provider's 400 → InvalidRequest.
        const unsigned = history.map((message) =>
          message.role === "assistant" && typeof message.content !== "string"
            ? { ...message, content: message.content.map((part) => (part.type === "tool-call" ? { ...part, signature: undefined } : part)) }
            : message
        ) as Array<ChatRequest.Message>
        h.server.enqueue({ ...Script.text(["never"]), validate: ["gemini-thought-signature"] })
        const error = yield* withLedger(h.provider.generate({ ...turn1, messages: unsigned })).pipe(Effect.flip)
        expect(error._tag).toBe("InvalidRequest")
        expect(error.message).toContain("thought_signature")
      }))

    it.live("another provider's reasoning is not sent; a bare signature goes back as an empty signed part", () =>
      Effect.gen(function*() {
        h.server.setScript(Script.text(["ok"]))
        yield* withLedger(h.provider.generate({
          model: "gemini-3-pro-preview",
          messages: [
            { role: "user", content: "Hi" },
            {
              role: "assistant",
              content: [
                { type: "reasoning", text: "claude thinking", signature: "ANTHROPIC", provider: "anthropic" },
                { type: "text", text: "Hello" },
                { type: "reasoning", text: "", signature: "BARE", provider: "google" }
              ]
            },
            { role: "user", content: "Again" }
          ]
        }))
        expect((h.server.lastRequest?.body as { contents: Array<unknown> }).contents[1]).toEqual({
          role: "model",
          parts: [{ text: "Hello" }, { text: "", thoughtSignature: "BARE" }]
        })
      }))

    it.live("a tool call's signature from another provider (an OpenAI item id) is not sent as a thoughtSignature", () =>
      Effect.gen(function*() {
        h.server.setScript(Script.text(["ok"]))
        yield* withLedger(h.provider.generate({
          model: "gemini-3-pro-preview",
          messages: [
            { role: "user", content: "Screenshot?" },
            {
              role: "assistant",
              content: [
                { type: "tool-call", id: "c1", name: "shot", arguments: {}, signature: "fc_123", provider: "openai" },
                { type: "tool-call", id: "c2", name: "shot", arguments: {}, signature: "SIG", provider: "google" }
              ]
            },
            { role: "tool", toolCallId: "c1", name: "shot", content: "{\"ok\":true}" },
            { role: "tool", toolCallId: "c2", name: "shot", content: "{\"ok\":true}" }
          ]
        }))
        expect((h.server.lastRequest?.body as { contents: Array<unknown> }).contents[1]).toEqual({
          role: "model",
          parts: [{ functionCall: { name: "shot", args: {} } }, { functionCall: { name: "shot", args: {} }, thoughtSignature: "SIG" }]
        })
      }))

    it.live("a text answer's trailing signature (Gemini 3) is kept as a bare reasoning part", () =>
      Effect.gen(function*() {
        h.server.setScript(Script.make([Script.textEvent("Hi"), Script.redactedReasoningEvent("TRAILING")]))
        const generation = yield* withLedger(h.provider.generate(user("Hi")))
        expect(generation.text).toBe("Hi")
        expect(generation.parts).toEqual([
          { type: "text", text: "Hi" },
          { type: "reasoning", text: "", signature: "TRAILING", provider: "google" }
        ])
      }))

    const City = Schema.Struct({ name: Schema.String, population: Schema.Number })

    it.live("generateObject: responseJsonSchema on the wire, the decoded value back", () =>
      Effect.gen(function*() {
        h.server.setScript(Script.json({ name: "Oslo", population: 709000 }))
        const city = yield* withLedger(StructuredOutput.generateObject(h.provider, user("Oslo?"), City))
        expect(city).toEqual({ name: "Oslo", population: 709000 })
        expect(h.server.lastRequest?.body).toMatchObject({
          generationConfig: { responseMimeType: "application/json", responseJsonSchema: { type: "object", required: ["name", "population"] } }
        })
      }))

    it.live("streamObject: partial objects, then the decoded value", () =>
      Effect.gen(function*() {
        h.server.setScript(Script.json({ name: "Oslo", population: 709000 }, { chunks: 4 }))
        const events = yield* withLedger(
          Stream.runCollect(StructuredOutput.streamObject(h.provider, user("Oslo?"), City)).pipe(Effect.map(Chunk.toReadonlyArray))
        )
        expect(events.length).toBeGreaterThanOrEqual(2)
        expect(events.at(-1)).toMatchObject({ _tag: "Object", value: { name: "Oslo", population: 709000 } })
      }))

    it.live("grounding and safety metadata arrive as ProviderMetadata before Usage", () =>
      Effect.gen(function*() {
        const grounding = { webSearchQueries: ["q"], groundingChunks: [{ web: { uri: "https://a", title: "a" } }] }
        const safetyRatings = [{ category: "HARM_CATEGORY_HARASSMENT", probability: "NEGLIGIBLE" }]
        h.server.setScript(Script.replay([
          JSON.stringify({ candidates: [{ content: { role: "model", parts: [{ text: "Sunny" }] }, groundingMetadata: {}, index: 0 }] }),
          JSON.stringify({
            candidates: [{ content: { role: "model", parts: [{ text: "" }] }, finishReason: "STOP", groundingMetadata: grounding, safetyRatings, citationMetadata: { citationSources: [{ uri: "https://a" }] }, index: 0 }],
            usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 1 }
          })
        ]))
        const generation = yield* withLedger(h.provider.generate(user("Weather?")))
        expect(generation.metadata).toEqual([
          StreamEvent.providerMetadata("google", "grounding", grounding),
          StreamEvent.providerMetadata("google", "citations", { citationSources: [{ uri: "https://a" }] }),
          StreamEvent.providerMetadata("google", "safety", { safetyRatings })
        ])
      }))
  })
}
