/**
 * OpenAI-compatible servers, on the real SDK over FakeLlmServer: a stream
 * that never sends a `finish_reason` but ends with the usage chunk is a clean
 * end (Snowflake Cortex), while a body that ends with neither, or a cut, is
 * still `Disconnected`; an in-stream `{"error":…}` with a numeric `code`
 * (OpenRouter) maps like the HTTP status it names, so `retry` reacts to a 502.
 */
import { type LlmError, retry, type StreamEvent } from "@streamvisor/core"
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { harness, type Harness, run, settle, unhandled } from "./support/Server.js"

let server: FakeLlmServer.Server
let models = 0

beforeAll(async () => {
  server = await FakeLlmServer.start()
})

afterAll(async () => {
  await server?.close()
  expect(unhandled).toEqual([])
})

/** A model name routed to `script`. */
const route = (script: Script.ScriptSource): string => {
  const model = `compatible-${++models}`
  server.scriptFor(model, script)
  return model
}

const request = (model: string) => ({ model, messages: [{ role: "user" as const, content: "hi" }] })

/** Chunks as Snowflake Cortex sends them: no `id`, `created: 0`, and never a `finish_reason`. */
const chunk = (delta: Record<string, unknown>): string =>
  JSON.stringify({ id: "", object: "chat.completion.chunk", created: 0, model: "m", choices: [{ index: 0, delta, logprobs: null }] })
const usage = JSON.stringify({
  id: "",
  object: "chat.completion.chunk",
  created: 0,
  model: "m",
  choices: [],
  usage: { prompt_tokens: 22, completion_tokens: 5, total_tokens: 27 }
})
const errorChunk = (code: unknown, message: string) => JSON.stringify({ error: { code, message } })

const collect = async (h: Harness, stream: Stream.Stream<StreamEvent.StreamEvent, LlmError.LlmError>) => {
  const events: Array<StreamEvent.StreamEvent> = []
  const exit = await run(h, Stream.runForEach(stream, (e) => Effect.sync(() => events.push(e))))
  const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (Exit.isFailure(exit) && error === undefined) throw new Error(String(exit.cause))
  return { events, error }
}

describe("a stream without finish_reason", () => {
  it("text, the usage chunk and [DONE]: Finish stop with raw null, and its usage", async () => {
    const h = harness(server, "chat")
    const model = route(Script.replay([chunk({ role: "assistant", content: "4" }), chunk({ content: "" }), usage]))
    const exit = await run(h, h.provider.generate(request(model)))
    if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
    expect(exit.value.text).toBe("4")
    expect(exit.value.finish).toEqual({ _tag: "Finish", reason: "stop", raw: null })
    expect(exit.value.usage).toEqual({ inputTokens: 22, outputTokens: 5 })
    await settle(server, h)
  })

  it("a streamed tool call, then the usage chunk: Finish tool_calls with raw null, the call ended", async () => {
    const h = harness(server, "chat")
    const call = (args: string, first: boolean) =>
      chunk({ tool_calls: [{ index: 0, ...(first ? { id: "call_1", type: "function" } : {}), function: { ...(first ? { name: "lookup" } : {}), arguments: args } }] })
    const model = route(Script.replay([call('{"q":', true), call('"x"}', false), usage]))
    const { error, events } = await collect(h, h.provider.stream(request(model)))
    expect(error).toBeUndefined()
    expect(events.filter((e) => e._tag === "ToolCallEnd")).toEqual([
      { _tag: "ToolCallEnd", id: "call_1", name: "lookup", arguments: { q: "x" } }
    ])
    expect(events.at(-1)).toEqual({ _tag: "Finish", reason: "tool_calls", raw: null })
    await settle(server, h)
  })

  it("a body that ends cleanly with neither finish_reason nor usage is still Disconnected", async () => {
    const h = harness(server, "chat")
    const model = route(Script.replay([chunk({ role: "assistant", content: "The answer is" })]))
    const { error, events } = await collect(h, h.provider.stream(request(model)))
    expect(error?._tag).toBe("Disconnected")
    expect(events).toEqual([{ _tag: "TextDelta", text: "The answer is" }])
    await settle(server, h)
  })

  it.each([1, 2])("a socket cut after %i chunk(s), even after the usage chunk, is Disconnected", async (afterEvents) => {
    const h = harness(server, "chat")
    const model = route(Script.replay([chunk({ content: "4" }), usage], { fault: { type: "disconnect", afterEvents } }))
    const { error, events } = await collect(h, h.provider.stream(request(model)))
    expect(error?._tag).toBe("Disconnected")
    expect(events.some((e) => e._tag === "Finish")).toBe(false)
    await settle(server, h)
  })
})

describe("an in-stream error with a numeric code", () => {
  it.each([
    [400, "InvalidRequest", false],
    [429, "RateLimited", true],
    [502, "ServerError", true],
    ["503", "ServerError", true]
  ] as const)("code %j → %s (retryable %s)", async (code, tag, retryable) => {
    const h = harness(server, "chat")
    const model = route(Script.replay([chunk({ content: "partial" }), errorChunk(code, "upstream trouble")]))
    const { error, events } = await collect(h, h.provider.stream(request(model)))
    expect(error?._tag).toBe(tag)
    expect(error?.retryable).toBe(retryable)
    expect(error?.message).toContain("upstream trouble")
    expect(events).toEqual([{ _tag: "TextDelta", text: "partial" }])
    await settle(server, h)
  })

  it("retry reacts to a 502 reported before the first event", async () => {
    const h = harness(server, "chat")
    let calls = 0
    const model = route(() =>
      ++calls === 1
        ? Script.replay([errorChunk(502, "Provider returned error")])
        : Script.text(["ok"], { usage: { inputTokens: 1, outputTokens: 1 } })
    )
    const { error, events } = await collect(
      h,
      h.provider.stream(request(model)).pipe(retry({ times: 1, schedule: Schedule.spaced("1 millis") }))
    )
    expect(error).toBeUndefined()
    expect(calls).toBe(2)
    expect(events.filter((e) => e._tag === "TextDelta")).toEqual([{ _tag: "TextDelta", text: "ok" }])
    expect(events.at(-1)).toEqual({ _tag: "Finish", reason: "stop", raw: "stop" })
    await settle(server, h)
  })

  it("a numeric code outside 400..599 stays Unknown", async () => {
    const h = harness(server, "chat")
    const model = route(Script.replay([errorChunk(42, "odd")]))
    const { error } = await collect(h, h.provider.stream(request(model)))
    expect(error?._tag).toBe("Unknown")
    await settle(server, h)
  })
})
