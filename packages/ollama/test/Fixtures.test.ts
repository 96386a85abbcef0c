/**
 * Every recorded Ollama fixture replayed byte for byte by FakeLlmServer and
 * read through the adapter yields exactly its expected.json: text, reasoning
 * (null ↔ ""), tool calls (name + parsed arguments), usage (null ↔ no Usage)
 * and the raw finish reason. Each fixture is replayed twice: all lines in one
 * write, and with a delay between lines, so each line is its own network chunk.
 */
import { Fixtures } from "@streamvisor/testkit"
import * as Exit from "effect/Exit"
import { describe, expect, it } from "vitest"
import { harness, type Harness, run, server, settle, useFakeServer, user } from "./support/Harness.js"

let h: Harness

useFakeServer()

const fixtures = Fixtures.list().filter((fixture) => fixture.format === "ollama")

describe("recorded Ollama fixtures", () => {
  it("there are fixtures to replay", () => {
    expect(fixtures.map((f) => f.name).sort()).toEqual(
      ["docs-chat-final-without-message", "docs-chat-load", "docs-chat-text", "docs-chat-tool-call"]
    )
  })

  describe.each([0, 5])("with %i ms between lines", (delayMs) => {
    it.each(fixtures.map((f) => f.name))("%s", async (name) => {
      const { expected } = Fixtures.load("ollama", name)
      h = harness(server)
      server.setScript(Fixtures.script("ollama", name, { delayMs }))
      const exit = await run(h, h.provider.generate({ model: "llama3.2", messages: user() }))
      if (Exit.isFailure(exit)) throw new Error(`${name}: ${String(exit.cause)}`)
      const generation = exit.value
      expect(generation.text).toBe(expected.text)
      expect(generation.reasoning).toBe(expected.reasoning ?? "")
      expect(generation.toolCalls.map(({ arguments: args, name }) => ({ name, arguments: args }))).toEqual(
        expected.toolCalls
      )
      expect(generation.finish.raw).toBe(expected.finishReason)
      if (expected.usage.inputTokens === null && expected.usage.outputTokens === null) {
        expect(generation.usage).toBeUndefined()
      } else {
        expect(generation.usage).toEqual({
          inputTokens: expected.usage.inputTokens ?? 0,
          outputTokens: expected.usage.outputTokens ?? 0
        })
      }
      await settle(server, h)
    })
  })

  it("maps the fixtures' finish reasons", async () => {
    h = harness(server)
    const reasons: Record<string, unknown> = {}
    for (const { name } of fixtures) {
      server.setScript(Fixtures.script("ollama", name))
      const exit = await run(h, h.provider.generate({ model: "llama3.2", messages: user() }))
      reasons[name] = Exit.isSuccess(exit) ? exit.value.finish.reason : exit.cause
    }
    expect(reasons).toEqual({
      "docs-chat-final-without-message": "stop", // no done_reason: raw null
      "docs-chat-load": "other", // "load"
      "docs-chat-text": "stop",
      "docs-chat-tool-call": "tool_calls" // raw "stop", but a tool call was made
    })
    await settle(server, h)
  })
})
