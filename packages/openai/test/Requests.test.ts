/**
 * What the adapter sends (server.requests), the options it builds its own
 * client with, and the layers.
 */
import { InvalidOptions, LlmError, Provider } from "@streamvisor/core"
import type { ChatRequest } from "@streamvisor/core"
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import * as Cause from "effect/Cause"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { OpenAI } from "../src/index.js"
import { SECRET, unhandled } from "./support/Server.js"

let server: FakeLlmServer.Server

beforeAll(async () => {
  server = await FakeLlmServer.start()
})

afterEach(async () => {
  await server.waitFor((s) => s.inflight === 0)
  server.reset()
})

afterAll(async () => {
  await server?.close()
  expect(unhandled).toEqual([])
})

const conversation: ChatRequest.ChatRequest = {
  model: "gpt-request",
  system: "You are terse.",
  messages: [
    { role: "user", content: "Weather in Oslo?" },
    { role: "assistant", content: "", toolCalls: [{ id: "call_9", name: "get_weather", arguments: { city: "Oslo" } }] },
    { role: "tool", toolCallId: "call_9", name: "get_weather", content: "{\"temp\":3}" },
    { role: "assistant", content: "3 degrees." },
    { role: "user", content: "Thanks" }
  ],
  maxTokens: 64,
  temperature: 0.3,
  stop: ["END", "\n\n"],
  tools: [{ name: "get_weather", description: "Current weather", parameters: { type: "object", properties: { city: { type: "string" } } } }]
}

const generate = (provider: Provider.Provider, request: ChatRequest.ChatRequest) =>
  Effect.runPromiseExit(provider.generate(request))

const errorOf = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

describe("request mapping", () => {
  it("chat: model, system, messages with tool calls and results, max tokens, temperature, stop, tools, include_usage", async () => {
    const provider = OpenAI.make({ apiKey: SECRET, baseURL: server.baseUrls.openai })
    const exit = await generate(provider, conversation)
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(server.requests).toHaveLength(1)
    const recorded = server.requests[0]
    expect(recorded.path).toBe("/v1/chat/completions")
    expect(recorded.headers.authorization).toBe("<redacted>")
    expect(recorded.body).toEqual({
      model: "gpt-request",
      stream: true,
      stream_options: { include_usage: true },
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "Weather in Oslo?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "call_9", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Oslo\"}" } }]
        },
        { role: "tool", tool_call_id: "call_9", content: "{\"temp\":3}" },
        { role: "assistant", content: "3 degrees." },
        { role: "user", content: "Thanks" }
      ],
      max_completion_tokens: 64,
      temperature: 0.3,
      stop: ["END", "\n\n"],
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            description: "Current weather",
            parameters: { type: "object", properties: { city: { type: "string" } } }
          }
        }
      ]
    })
  })

  it("chat: maxTokensParameter max_tokens, organization header", async () => {
    const provider = OpenAI.make({
      apiKey: Redacted.make(SECRET),
      baseURL: server.baseUrls.openai,
      organization: "org-test",
      maxTokensParameter: "max_tokens"
    })
    await generate(provider, { model: "m", messages: [{ role: "user", content: "x" }], maxTokens: 5 })
    const body = server.requests[0].body as Record<string, unknown>
    expect(body.max_tokens).toBe(5)
    expect(body).not.toHaveProperty("max_completion_tokens")
    expect(server.requests[0].headers["openai-organization"]).toBe("org-test")
  })

  it("responses: instructions, input items, max_output_tokens, temperature, tools", async () => {
    const provider = OpenAI.make({ apiKey: SECRET, baseURL: server.baseUrls.openai, api: "responses" })
    const { stop: _stop, ...withoutStop } = conversation
    const exit = await generate(provider, withoutStop)
    expect(Exit.isSuccess(exit)).toBe(true)
    const recorded = server.requests[0]
    expect(recorded.path).toBe("/v1/responses")
    expect(recorded.body).toEqual({
      model: "gpt-request",
      stream: true,
      instructions: "You are terse.",
      input: [
        { role: "user", content: "Weather in Oslo?" },
        { type: "function_call", call_id: "call_9", name: "get_weather", arguments: "{\"city\":\"Oslo\"}" },
        { type: "function_call_output", call_id: "call_9", output: "{\"temp\":3}" },
        { role: "assistant", content: "3 degrees." },
        { role: "user", content: "Thanks" }
      ],
      max_output_tokens: 64,
      temperature: 0.3,
      tools: [
        {
          type: "function",
          name: "get_weather",
          description: "Current weather",
          parameters: { type: "object", properties: { city: { type: "string" } } },
          strict: false
        }
      ]
    })
  })

  it("responses: stop sequences fail with InvalidRequest before any connection", async () => {
    const provider = OpenAI.make({ apiKey: SECRET, baseURL: server.baseUrls.openai, api: "responses" })
    const exit = await generate(provider, conversation)
    expect(errorOf(exit)).toBeInstanceOf(LlmError.InvalidRequest)
    expect(server.stats().total).toBe(0)
  })

  it("an invalid ChatRequest fails with InvalidRequest before any connection", async () => {
    const provider = OpenAI.make({ apiKey: SECRET, baseURL: server.baseUrls.openai })
    const exit = await generate(provider, { model: "", messages: [] })
    expect((errorOf(exit) as LlmError.LlmError)._tag).toBe("InvalidRequest")
    expect(server.stats().total).toBe(0)
  })

  it("the adapter's own client does not retry (maxRetries: 0)", async () => {
    server.setScript(Script.status(500))
    const provider = OpenAI.make({ apiKey: SECRET, baseURL: server.baseUrls.openai })
    const exit = await generate(provider, { model: "m", messages: [{ role: "user", content: "x" }] })
    expect((errorOf(exit) as LlmError.LlmError)._tag).toBe("ServerError")
    expect(server.stats().total).toBe(1)
  })

  it("an empty key throws InvalidOptions at make, without a connection", () => {
    // The bad-configuration policy (core README): thrown at make, not a failing stream.
    expect(() => OpenAI.make({ apiKey: "", baseURL: server.baseUrls.openai })).toThrow(InvalidOptions.InvalidOptions)
    expect(() => OpenAI.make({ apiKey: "", baseURL: server.baseUrls.openai })).toThrow(/openai: the apiKey option is empty/)
    expect(server.stats().total).toBe(0)
  })
})

describe("layers", () => {
  const ask = Effect.flatMap(Provider.LlmProvider, (p) => p.generate({ model: "m", messages: [{ role: "user", content: "x" }] }))

  it("layer provides the provider", async () => {
    const g = await Effect.runPromise(Effect.provide(ask, OpenAI.layer({ apiKey: SECRET, baseURL: server.baseUrls.openai })))
    expect(g.text).toBe("Hello! How can I help you today?")
  })

  it("layerConfig reads OPENAI_API_KEY (and OPENAI_BASE_URL) through Config", async () => {
    const config = ConfigProvider.fromMap(new Map([["OPENAI_API_KEY", SECRET], ["OPENAI_BASE_URL", server.baseUrls.openai]]))
    const g = await Effect.runPromise(
      Effect.provide(ask, OpenAI.layerConfig({ api: "responses" })).pipe(Effect.withConfigProvider(config))
    )
    expect(g.finish.raw).toBe("completed")
    expect(server.requests[0].path).toBe("/v1/responses")
  })

  it("layerConfig fails with a ConfigError when the key is missing", async () => {
    const exit = await Effect.runPromiseExit(
      Effect.provide(ask, OpenAI.layerConfig()).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map())))
    )
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(errorOf(exit))).toContain("OPENAI_API_KEY")
  })
})
