/**
 * The request the adapter sends, as the server received it: model, messages
 * (system first, assistant tool calls, tool results), options, tools, headers.
 */
import type { ChatRequest } from "@streamvisor/core"
import { Script } from "@streamvisor/testkit"
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import { describe, expect, it } from "vitest"
import { Ollama } from "../src/index.js"
import { harness, type Harness, run, server, settle, useFakeServer } from "./support/Harness.js"

let h: Harness

useFakeServer()

const full: ChatRequest.ChatRequest = {
  model: "qwen3:8b",
  system: "You are terse.",
  maxTokens: 256,
  temperature: 0.3,
  stop: ["\n\n", "END"],
  tools: [
    {
      name: "get_weather",
      description: "Weather for a city",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
    },
    { name: "now", parameters: { type: "object", properties: {} } }
  ],
  messages: [
    { role: "user", content: "Weather in Paris?" },
    {
      role: "assistant",
      content: "",
      toolCalls: [
        { id: "call_0", name: "get_weather", arguments: { city: "Paris" } },
        { id: "call_1", name: "now", arguments: "{}" }
      ]
    },
    { role: "tool", toolCallId: "call_0", name: "get_weather", content: "{\"temp\":21}" },
    { role: "tool", toolCallId: "call_1", name: "now", content: "12:00", isError: false },
    { role: "assistant", content: "21 °C at noon." },
    { role: "user", content: "Thanks" }
  ]
}

describe("request", () => {
  it("carries model, messages, system, options and tools", async () => {
    h = harness(server)
    server.setScript(Script.text(["ok"]))
    const exit = await run(h, h.provider.generate(full))
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(server.requests).toHaveLength(1)
    const recorded = server.requests[0]
    expect(recorded.method).toBe("POST")
    expect(recorded.path).toBe("/api/chat")
    expect(recorded.format).toBe("ollama")
    expect(recorded.body).toEqual({
      model: "qwen3:8b",
      stream: true,
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "Weather in Paris?" },
        {
          role: "assistant",
          content: "",
          tool_calls: [
            { function: { name: "get_weather", arguments: { city: "Paris" } } },
            { function: { name: "now", arguments: {} } }
          ]
        },
        { role: "tool", content: "{\"temp\":21}", tool_name: "get_weather" },
        { role: "tool", content: "12:00", tool_name: "now" },
        { role: "assistant", content: "21 °C at noon." },
        { role: "user", content: "Thanks" }
      ],
      options: { num_predict: 256, temperature: 0.3, stop: ["\n\n", "END"] },
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            description: "Weather for a city",
            parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
          }
        },
        { type: "function", function: { name: "now", parameters: { type: "object", properties: {} } } }
      ]
    })
    expect(recorded.headers["content-type"]).toBe("application/json")
    expect(recorded.headers.accept).toBe("application/x-ndjson")
    expect(recorded.headers.authorization).toBe("<redacted>")
    await settle(server, h)
  })

  it("a minimal request has no options, tools or system message; no key → no authorization", async () => {
    h = harness(server, { apiKey: undefined })
    server.setScript(Script.text(["ok"]))
    await run(h, h.provider.generate({ model: "m", messages: [{ role: "user", content: "Hi" }] }))
    expect(server.requests[0].body).toEqual({ model: "m", stream: true, messages: [{ role: "user", content: "Hi" }] })
    expect(server.requests[0].headers.authorization).toBeUndefined()
    await settle(server, h)
  })

  it("think and keepAlive are passed through", async () => {
    h = harness(server, { think: "high", keepAlive: "10m" })
    server.setScript(Script.text(["ok"]))
    await run(h, h.provider.generate({ model: "m", messages: [{ role: "user", content: "Hi" }] }))
    expect(server.requests[0].body).toMatchObject({ think: "high", keep_alive: "10m" })
    await settle(server, h)
  })

  it("history tool-call arguments that are not a JSON object → InvalidRequest, nothing sent", async () => {
    h = harness(server)
    const exit = await run(
      h,
      h.provider.generate({
        model: "m",
        messages: [
          { role: "user", content: "Hi" },
          { role: "assistant", content: "", toolCalls: [{ id: "c", name: "f", arguments: "[1, 2]" }] }
        ]
      })
    )
    expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toMatchObject({ _tag: "InvalidRequest" })
    expect(server.stats().total).toBe(0)
    await settle(server, h)
  })

  it("an invalid ChatRequest fails with InvalidRequest before any connection", async () => {
    h = harness(server)
    const exit = await run(h, h.provider.generate({ model: "", messages: [] }))
    expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toMatchObject({ _tag: "InvalidRequest", provider: "ollama" })
    expect(server.stats().total).toBe(0)
    await settle(server, h)
  })

  it("the default client (global fetch) works without any option but the host", async () => {
    server.setScript(Script.text(["via", " fetch"]))
    const provider = Ollama.make({ host: server.baseUrls.ollama })
    h = harness(server)
    const exit = await run(h, provider.generate({ model: "m", messages: [{ role: "user", content: "Hi" }] }))
    expect(Exit.isSuccess(exit) && exit.value.text).toBe("via fetch")
    await server.waitFor((s) => s.inflight === 0)
    expect(h.ledger.snapshot().live).toEqual([])
    // The global pool is not ours to close: let the server drop the idle socket.
    await server.closeIdleSockets()
    await settle(server, h)
  })
})
