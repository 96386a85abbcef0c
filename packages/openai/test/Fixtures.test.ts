/**
 * Every recorded OpenAI fixture (Chat Completions and Responses), replayed byte
 * for byte by FakeLlmServer and read through the adapter, yields its
 * expected.json: text, reasoning (null ↔ ""), tool calls (name + parsed
 * arguments), usage and the raw finish reason. A fixture that ends in failure
 * (Responses `response.failed`) is checked by its partial output and typed error.
 */
import type { StreamEvent } from "@streamvisor/core"
import { FakeLlmServer, Fixtures } from "@streamvisor/testkit"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Api } from "./support/Server.js"
import { harness, run, settle, unhandled } from "./support/Server.js"

let server: FakeLlmServer.Server

beforeAll(async () => {
  server = await FakeLlmServer.start()
})

afterAll(async () => {
  await server?.close()
  expect(unhandled).toEqual([])
})

const fixtures = Fixtures.list().filter((f) => f.format === "openai-chat" || f.format === "openai-responses")

/** The typed error a fixture that fails must produce, by fixture name. */
const failing: Record<string, string> = { "error-insufficient-quota": "RateLimited" }

describe("recorded fixtures", () => {
  it("covers both wire formats", () => {
    expect(fixtures.filter((f) => f.format === "openai-chat").length).toBeGreaterThanOrEqual(6)
    expect(fixtures.filter((f) => f.format === "openai-responses").length).toBeGreaterThanOrEqual(5)
  })

  it.each(fixtures)("$format/$name", async ({ format, name }) => {
    const api: Api = format === "openai-chat" ? "chat" : "responses"
    const { expected } = Fixtures.load(format, name)
    const model = `fixture-${format}-${name}`
    server.scriptFor(model, Fixtures.script(format, name))
    const h = harness(server, api)
    const req = { model, messages: [{ role: "user" as const, content: "replay" }] }

    if (failing[name] !== undefined) {
      const events: Array<StreamEvent.StreamEvent> = []
      const exit = await run(h, h.provider.stream(req).pipe(Stream.runForEach((e) => Effect.sync(() => events.push(e)))))
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
      expect((error as { _tag: string })._tag).toBe(failing[name])
      const text = events.filter((e) => e._tag === "TextDelta").map((e) => (e as StreamEvent.TextDelta).text).join("")
      const reasoning = events.filter((e) => e._tag === "ReasoningDelta").map((e) => (e as StreamEvent.ReasoningDelta).text).join("")
      expect(text).toBe(expected.text)
      expect(reasoning === "" ? null : reasoning).toBe(expected.reasoning)
      expect(events.filter((e) => e._tag === "ToolCallEnd").length).toBe(expected.toolCalls.length)
      expect(events.some((e) => e._tag === "Finish")).toBe(false)
      expect(expected.finishReason).toBe("failed")
      await settle(server, h)
      return
    }

    const exit = await run(h, h.provider.generate(req))
    if (Exit.isFailure(exit)) throw new Error(Cause.pretty(exit.cause))
    const g = exit.value
    expect(g.text).toBe(expected.text)
    expect(g.reasoning === "" ? null : g.reasoning).toBe(expected.reasoning)
    expect(g.toolCalls.map((c) => ({ name: c.name, arguments: c.arguments }))).toEqual(expected.toolCalls)
    // toMatchObject: the usage detail (cached, reasoning tokens) is checked in RequestModel tests
    expect(g.usage ?? { inputTokens: null, outputTokens: null }).toMatchObject(expected.usage)
    expect(g.finish.raw).toBe(expected.finishReason)
    await settle(server, h)
  })
})
