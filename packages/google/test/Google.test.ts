/**
 * End to end: the real `@google/generative-ai` SDK over real HTTP to the
 * FakeLlmServer. The scenario matrix and the recorded fixtures (shared with
 * `GoogleGenAI`, in `matrix.ts`), the request the adapter sends, and
 * keep-alive reuse. After every test the harness checks: server inflight = 0,
 * ledger live = 0, no double release, open sockets = 0 once the agent is
 * closed, no unhandled rejection.
 */
import { describe, expect, it } from "@effect/vitest"
import { type ChatRequest, Ledger, Provider, StreamEvent } from "@streamvisor/core"
import { Script } from "@streamvisor/testkit"
import { ConfigError, ConfigProvider, Effect } from "effect"
import { Google } from "../src/index.js"
import { harness } from "./support/Harness.js"
import { scenarioMatrix } from "./support/Matrix.js"

const h = harness()

const MODEL = "gemini-test"
const hi: ChatRequest.ChatRequest = { model: MODEL, messages: [{ role: "user", content: "Hi" }] }

const withLedger = <A, E>(effect: Effect.Effect<A, E>) => Effect.provideService(effect, Ledger.Ledger, h.ledger)

scenarioMatrix(h)

describe("the request the adapter sends", () => {
  it.live("carries model, messages (with tool calls and results), system, max tokens, temperature, stop and tools", () =>
    Effect.gen(function*() {
      const request: ChatRequest.ChatRequest = {
        model: "gemini-2.5-flash",
        system: "You are terse.",
        maxTokens: 256,
        temperature: 0.2,
        stop: ["STOP!", "END"],
        messages: [
          { role: "user", content: "Weather in Paris?" },
          { role: "assistant", content: "", toolCalls: [{ id: "call_0", name: "weather", arguments: { city: "Paris" } }] },
          { role: "tool", toolCallId: "call_0", name: "weather", content: "{\"tempC\":21}" },
          { role: "assistant", content: "21°C." },
          { role: "user", content: "And tomorrow?" }
        ],
        tools: [{
          name: "weather",
          description: "Current weather for a city",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
        }]
      }
      yield* withLedger(h.provider.generate(request))
      expect(h.server.requests).toHaveLength(1)
      const sent = h.server.requests[0]
      expect(sent.method).toBe("POST")
      expect(sent.path).toBe("/v1beta/models/gemini-2.5-flash:streamGenerateContent")
      expect(sent.model).toBe("gemini-2.5-flash")
      expect(sent.query).toEqual({ alt: "sse" })
      expect(sent.headers["x-goog-api-key"]).toBe("<redacted>")
      expect(sent.body).toEqual({
        contents: [
          { role: "user", parts: [{ text: "Weather in Paris?" }] },
          { role: "model", parts: [{ functionCall: { name: "weather", args: { city: "Paris" } } }] },
          { role: "user", parts: [{ functionResponse: { name: "weather", response: { tempC: 21 } } }] },
          { role: "model", parts: [{ text: "21°C." }] },
          { role: "user", parts: [{ text: "And tomorrow?" }] }
        ],
        systemInstruction: { role: "system", parts: [{ text: "You are terse." }] },
        generationConfig: { maxOutputTokens: 256, temperature: 0.2, stopSequences: ["STOP!", "END"] },
        safetySettings: [],
        tools: [{
          functionDeclarations: [{
            name: "weather",
            description: "Current weather for a city",
            parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
          }]
        }]
      })
    }))

  it.live("apiVersion and a ready-made client are honoured", () =>
    Effect.gen(function*() {
      const { GoogleGenerativeAI } = yield* Effect.promise(() => import("@google/generative-ai"))
      const provider = Google.make({
        client: new GoogleGenerativeAI("another-key-0987654321"),
        baseURL: `${h.server.baseUrls.gemini}/`,
        apiVersion: "v1beta"
      })
      const generation = yield* withLedger(provider.generate(hi))
      expect(generation.finish).toEqual(StreamEvent.finish("stop", "STOP"))
      expect(h.server.requests[0].path).toBe(`/v1beta/models/${MODEL}:streamGenerateContent`)
    }))
})

describe("keep-alive", () => {
  it.live("100 sequential full reads through one client reuse connections", () =>
    Effect.gen(function*() {
      h.server.setScript(Script.text(5))
      for (let i = 0; i < 100; i++) {
        const generation = yield* withLedger(h.provider.generate(hi))
        expect(generation.text).toBe("w0 w1 w2 w3 w4 ")
      }
      const stats = yield* Effect.promise(() => h.server.waitForIdle())
      expect(stats.total).toBe(100)
      expect(stats.completed).toBe(100)
      expect(stats.closedByClient).toBe(0)
      console.log(`keep-alive: 100 sequential streams used ${h.connects} connection(s)`)
      expect(h.connects).toBeLessThanOrEqual(2)
      expect(h.ledger.snapshot().outcomes).toMatchObject({ completed: 100 })
    }))
})

describe("layers", () => {
  it.live("layer provides an LlmProvider named google", () =>
    Effect.gen(function*() {
      h.server.setScript(Script.text(["ok"]))
      const provider = yield* Provider.LlmProvider
      expect(provider.name).toBe("google")
      const generation = yield* withLedger(provider.generate(hi))
      expect(generation.text).toBe("ok")
    }).pipe(Effect.provide(Google.layer({ apiKey: "layer-key-123456", baseURL: h.server.baseUrls.gemini }))))

  it.live("layerConfig reads GEMINI_API_KEY through Config, and sends it", () =>
    Effect.gen(function*() {
      h.server.setScript(Script.text(["ok"]))
      const provider = yield* Provider.LlmProvider.pipe(
        Effect.provide(Google.layerConfig({ baseURL: h.server.baseUrls.gemini })),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["GEMINI_API_KEY", "config-key-123456"]])))
      )
      const generation = yield* withLedger(provider.generate(hi))
      expect(generation.text).toBe("ok")
      expect(h.server.requests[0].headers["x-goog-api-key"]).toBe("<redacted>")
    }))

  it.live("layerConfig without GEMINI_API_KEY fails with a ConfigError", () =>
    Effect.gen(function*() {
      const error = yield* Provider.LlmProvider.pipe(
        Effect.provide(Google.layerConfig()),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map())),
        Effect.flip
      )
      expect(ConfigError.isConfigError(error)).toBe(true)
    }))
})
