/**
 * The decoders alone, fed parsed chunks (no HTTP): the event sequences, the
 * edge cases of the recorded fixtures, and the error mapping.
 */
import { describe, expect, it } from "@effect/vitest"
import type { StreamEvent } from "@streamvisor/core"
import { LlmError, Redaction } from "@streamvisor/core"
import { Fixtures } from "@streamvisor/testkit"
import * as Duration from "effect/Duration"
import * as Chat from "../src/internal/Chat.js"
import { mapError, retryAfter, statusOfCode } from "../src/internal/Errors.js"
import * as Responses from "../src/internal/Responses.js"

const scrub = Redaction.makeScrub(() => ["sk-SECRET-KEY-1234567890"], { keepBearer: true })

interface Run {
  readonly events: Array<StreamEvent.StreamEvent>
  readonly usage: Array<[number, number] | [number, number, StreamEvent.UsageDetail]>
  /** Index of the item on which `step` returned true, or -1. */
  readonly terminalAt: number
  readonly error: unknown
}

const run = (decoder: (ctx: any) => { step: (item: any, emit: any) => boolean; end: (emit: any) => void }, items: ReadonlyArray<unknown>): Run => {
  const events: Array<StreamEvent.StreamEvent> = []
  const usage: Array<[number, number] | [number, number, StreamEvent.UsageDetail]> = []
  const d = decoder({
    provider: "openai",
    model: "m",
    signal: new AbortController().signal,
    recordUsage: (i: number, o: number, detail?: StreamEvent.UsageDetail) =>
      usage.push(detail === undefined ? [i, o] : [i, o, detail])
  })
  const emit = (e: StreamEvent.StreamEvent) => events.push(e)
  let terminalAt = -1
  try {
    for (let i = 0; i < items.length; i++) {
      if (d.step(items[i], emit) === true) {
        terminalAt = i
        break
      }
    }
    d.end(emit)
  } catch (error) {
    return { events, usage, terminalAt, error }
  }
  return { events, usage, terminalAt, error: undefined }
}

const chunksOf = (format: "openai-chat" | "openai-responses", name: string) =>
  Fixtures.load(format, name).chunks.map((line) => JSON.parse(line))

const tags = (events: ReadonlyArray<StreamEvent.StreamEvent>) => events.map((e) => e._tag)

const chunk = (delta: unknown, finish: string | null = null, extra: Record<string, unknown> = {}) => ({
  id: "c",
  object: "chat.completion.chunk",
  created: 0,
  model: "m",
  choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
  ...extra
})
const usageChunk = (i: number, o: number) => ({ id: "c", choices: [], usage: { prompt_tokens: i, completion_tokens: o } })

describe("Chat decoder", () => {
  it("text-usage: skips the empty first delta, terminal on the usage chunk after finish_reason", () => {
    const items = chunksOf("openai-chat", "text-usage")
    const r = run(Chat.decoder, items)
    expect(r.error).toBeUndefined()
    expect(r.terminalAt).toBe(items.length - 1)
    expect(r.events.every((e) => e._tag !== "TextDelta" || e.text !== "")).toBe(true)
    // the detail as reported: completion_tokens_details.reasoning_tokens 0, no prompt_tokens_details
    expect(r.events.at(-2)).toEqual({ _tag: "Usage", inputTokens: 14, outputTokens: 30, reasoningTokens: 0 })
    expect(r.events.at(-1)).toEqual({ _tag: "Finish", reason: "stop", raw: "stop" })
    expect(r.usage).toEqual([[14, 30, { reasoningTokens: 0 }]])
  })

  it("parallel-tool-calls: assembled by index, start/delta…/end per call, ends at finish_reason", () => {
    const r = run(Chat.decoder, chunksOf("openai-chat", "parallel-tool-calls"))
    expect(r.error).toBeUndefined()
    const starts = r.events.filter((e) => e._tag === "ToolCallStart")
    expect(starts).toEqual([
      { _tag: "ToolCallStart", id: "call_JMW1whyEaYG438VE1OIflxA2", name: "GetWeatherArgs" },
      { _tag: "ToolCallStart", id: "call_DNYTawLBoN8fj3KN6qU9N1Ou", name: "get_stock_price" }
    ])
    // Deltas of each call concatenate to the parsed arguments.
    for (const start of starts) {
      if (start._tag !== "ToolCallStart") continue
      const text = r.events
        .filter((e): e is StreamEvent.ToolCallDelta => e._tag === "ToolCallDelta" && e.id === start.id)
        .map((e) => e.argumentsDelta)
        .join("")
      const end = r.events.find((e): e is StreamEvent.ToolCallEnd => e._tag === "ToolCallEnd" && e.id === start.id)!
      expect(JSON.parse(text)).toEqual(end.arguments)
    }
    expect(tags(r.events).slice(-4)).toEqual(["ToolCallEnd", "ToolCallEnd", "Usage", "Finish"])
    expect(r.events.at(-1)).toEqual({ _tag: "Finish", reason: "tool_calls", raw: "tool_calls" })
  })

  it("refusal: no text, the refusal as ProviderMetadata once, raw finish kept", () => {
    const r = run(Chat.decoder, chunksOf("openai-chat", "refusal"))
    expect(tags(r.events)).toEqual(["ProviderMetadata", "Usage", "Finish"])
    expect(r.events[0]).toMatchObject({ _tag: "ProviderMetadata", provider: "openai", kind: "refusal" })
    const data = (r.events[0] as StreamEvent.ProviderMetadata).data as { refusal: string }
    expect(data.refusal.length).toBeGreaterThan(0)
    expect(r.events.at(-1)).toEqual({ _tag: "Finish", reason: "stop", raw: "stop" })
  })

  it("azure: the prompt_filter_results chunk (choices: []) is skipped", () => {
    const r = run(Chat.decoder, chunksOf("openai-chat", "azure-prompt-filter-first-chunk"))
    expect(r.error).toBeUndefined()
    expect(r.events.filter((e) => e._tag === "TextDelta").map((e) => (e as StreamEvent.TextDelta).text).join("")).toBe(
      "Capital of Denmark."
    )
    expect(r.events.at(-2)).toEqual({ _tag: "Usage", inputTokens: 15, outputTokens: 78, cachedInputTokens: 0, reasoningTokens: 64 })
  })

  it("reasoning_content and reasoning (compatible servers) become ReasoningDelta", () => {
    const r = run(Chat.decoder, [
      chunk({ role: "assistant", reasoning_content: "think " }),
      chunk({ reasoning: "more" }),
      chunk({ content: "answer" }),
      chunk({}, "stop"),
      usageChunk(1, 2)
    ])
    expect(r.events).toEqual([
      { _tag: "ReasoningDelta", text: "think " },
      { _tag: "ReasoningDelta", text: "more" },
      { _tag: "ReasoningEnd", provider: "openai" },
      { _tag: "TextDelta", text: "answer" },
      { _tag: "Usage", inputTokens: 1, outputTokens: 2 },
      { _tag: "Finish", reason: "stop", raw: "stop" }
    ])
  })

  it("a finish_reason without a usage chunk (include_usage ignored) is still a normal finish", () => {
    const r = run(Chat.decoder, [chunk({ content: "hi" }), chunk({}, "length")])
    expect(r.error).toBeUndefined()
    expect(r.terminalAt).toBe(-1)
    expect(r.events).toEqual([{ _tag: "TextDelta", text: "hi" }, { _tag: "Finish", reason: "length", raw: "length" }])
  })

  it("no finish_reason at all → Disconnected", () => {
    const r = run(Chat.decoder, [chunk({ content: "hi" })])
    expect((r.error as LlmError.LlmError)._tag).toBe("Disconnected")
  })

  it("no finish_reason but the usage chunk (Snowflake Cortex) → a clean Finish with raw null", () => {
    const r = run(Chat.decoder, [chunk({ content: "4" }), usageChunk(22, 5)])
    expect(r.error).toBeUndefined()
    expect(r.events).toEqual([
      { _tag: "TextDelta", text: "4" },
      { _tag: "Usage", inputTokens: 22, outputTokens: 5 },
      { _tag: "Finish", reason: "stop", raw: null }
    ])
  })

  it("usage and finish_reason in the same chunk is terminal at once", () => {
    const r = run(Chat.decoder, [chunk({ content: "a" }), chunk({}, "stop", { usage: { prompt_tokens: 3, completion_tokens: 4 } }), usageChunk(9, 9)])
    expect(r.terminalAt).toBe(1)
    expect(r.events.at(-2)).toEqual({ _tag: "Usage", inputTokens: 3, outputTokens: 4 })
  })

  it("finish mapping: forced tool choice reports stop with calls → tool_calls; function_call; unknown → other", () => {
    expect(Chat.finishReason("stop", true)).toBe("tool_calls")
    expect(Chat.finishReason("function_call", false)).toBe("tool_calls")
    expect(Chat.finishReason("content_filter", false)).toBe("content_filter")
    expect(Chat.finishReason("eos", false)).toBe("other")
  })

  it("empty tool arguments → {}; a different id at the same index is a new call", () => {
    const r = run(Chat.decoder, [
      chunk({ tool_calls: [{ index: 0, id: "a", type: "function", function: { name: "f", arguments: "" } }] }),
      chunk({ tool_calls: [{ index: 0, id: "b", type: "function", function: { name: "g", arguments: "{\"x\":1}" } }] }),
      chunk({}, "tool_calls"),
      usageChunk(1, 1)
    ])
    expect(r.events.filter((e) => e._tag === "ToolCallEnd")).toEqual([
      { _tag: "ToolCallEnd", id: "a", name: "f", arguments: {} },
      { _tag: "ToolCallEnd", id: "b", name: "g", arguments: { x: 1 } }
    ])
  })

  it("unparsable final arguments → ProtocolError naming the cut", () => {
    const r = run(Chat.decoder, [
      chunk({ tool_calls: [{ index: 0, id: "a", type: "function", function: { name: "f", arguments: "{\"x\":" } }] }),
      chunk({}, "length")
    ])
    const error = r.error as LlmError.LlmError
    expect(error._tag).toBe("ProtocolError")
    expect(error.message).toContain("length")
  })
})

describe("Chat request", () => {
  it("maps system, tool calls, tool results, tools, stop, max tokens", () => {
    const body = Chat.params(
      {
        model: "gpt",
        system: "be brief",
        messages: [
          { role: "user", content: "weather?" },
          { role: "assistant", content: "", toolCalls: [{ id: "call_1", name: "get", arguments: { city: "Oslo" } }] },
          { role: "tool", toolCallId: "call_1", name: "get", content: "sunny" }
        ],
        maxTokens: 5,
        temperature: 0.5,
        stop: ["\n"],
        tools: [{ name: "get", description: "d", parameters: { type: "object" } }]
      },
      "max_tokens"
    )
    expect(body).toEqual({
      model: "gpt",
      stream: true,
      stream_options: { include_usage: true },
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "weather?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "call_1", type: "function", function: { name: "get", arguments: "{\"city\":\"Oslo\"}" } }]
        },
        { role: "tool", tool_call_id: "call_1", content: "sunny" }
      ],
      max_tokens: 5,
      temperature: 0.5,
      stop: ["\n"],
      tools: [{ type: "function", function: { name: "get", description: "d", parameters: { type: "object" } } }]
    })
  })
})

describe("Responses decoder", () => {
  const decoder = Responses.decoder(scrub)

  it("copilot-rotating-item-ids: deltas matched by output_index, reasoning summary, usage on completed", () => {
    const items = chunksOf("openai-responses", "copilot-rotating-item-ids")
    const r = run(decoder, items)
    expect(r.error).toBeUndefined()
    expect(r.terminalAt).toBe(items.length - 1)
    expect(r.events.filter((e) => e._tag === "ReasoningDelta")).toEqual([
      { _tag: "ReasoningDelta", text: "**Counting character occurrences**" }
    ])
    expect(r.events.at(-2)).toEqual({ _tag: "Usage", inputTokens: 19, outputTokens: 105, cachedInputTokens: 0, reasoningTokens: 44 })
    expect(r.events.at(-1)).toEqual({ _tag: "Finish", reason: "stop", raw: "completed" })
  })

  it("function-call: start(call_id, name), deltas, end with parsed arguments; finish tool_calls/completed", () => {
    const r = run(decoder, chunksOf("openai-responses", "function-call"))
    expect(r.error).toBeUndefined()
    // a reasoning item without summary: a bare ReasoningEnd with its id and encrypted content
    expect(r.events[0]).toMatchObject({ _tag: "ReasoningEnd", provider: "openai", id: "rs_017eebd5643f46d6016a4b35df548c819b98c75bcad2f28e4e" })
    expect((r.events[0] as StreamEvent.ReasoningEnd).encryptedContent).toMatch(/^gAAAAA/)
    expect(r.events[1]).toEqual({ _tag: "ToolCallStart", id: "call_wMUhph1s1bedjPJraJvGw62X", name: "lookupVerificationCode" })
    expect(tags(r.events)).toEqual(["ReasoningEnd", "ToolCallStart", ...Array(8).fill("ToolCallDelta"), "ToolCallEnd", "Usage", "Finish"])
    // the call followed the reasoning item: its item id rides as the signature, to go back with it
    expect(r.events[10]).toMatchObject({
      _tag: "ToolCallEnd",
      id: "call_wMUhph1s1bedjPJraJvGw62X",
      name: "lookupVerificationCode",
      arguments: { label: "issue-11239" }
    })
    expect((r.events[10] as StreamEvent.ToolCallEnd).signature).toMatch(/^fc_/)
    expect(r.events.at(-1)).toEqual({ _tag: "Finish", reason: "tool_calls", raw: "completed" })
  })

  it("error-insufficient-quota (nested error shape) → RateLimited naming the quota, key-free", () => {
    const r = run(decoder, chunksOf("openai-responses", "error-insufficient-quota"))
    const error = r.error as LlmError.LlmError
    expect(error._tag).toBe("RateLimited")
    expect(error.message).toContain("insufficient_quota")
    expect(r.events).toEqual([])
  })

  it("the flat OpenAI error event shape, and response.failed alone", () => {
    const flat = run(decoder, [{ type: "error", code: "server_error", message: "boom", param: null, sequence_number: 1 }])
    expect((flat.error as LlmError.LlmError)._tag).toBe("ServerError")
    const failed = run(decoder, [
      { type: "response.output_text.delta", delta: "x", output_index: 0 },
      { type: "response.failed", response: { status: "failed", error: { code: "rate_limit_exceeded", message: "slow down" }, usage: null } }
    ])
    expect((failed.error as LlmError.LlmError)._tag).toBe("RateLimited")
    expect(failed.events).toEqual([{ _tag: "TextDelta", text: "x" }])
  })

  it("response.incomplete (max_output_tokens) → length / incomplete", () => {
    const r = run(decoder, [
      { type: "response.output_text.delta", delta: "cut", output_index: 0 },
      {
        type: "response.incomplete",
        response: { status: "incomplete", incomplete_details: { reason: "max_output_tokens" }, usage: { input_tokens: 2, output_tokens: 3 } }
      }
    ])
    expect(r.events).toEqual([
      { _tag: "TextDelta", text: "cut" },
      { _tag: "Usage", inputTokens: 2, outputTokens: 3 },
      { _tag: "Finish", reason: "length", raw: "incomplete" }
    ])
    expect(Responses.finishReason("incomplete", "content_filter", false)).toBe("content_filter")
  })

  it("no terminal event → Disconnected", () => {
    const r = run(decoder, [{ type: "response.output_text.delta", delta: "x", output_index: 0 }])
    expect((r.error as LlmError.LlmError)._tag).toBe("Disconnected")
  })
})

describe("Responses request", () => {
  it("maps instructions, input items, tools (strict: false), max_output_tokens", () => {
    const body = Responses.params({
      model: "gpt",
      system: "be brief",
      messages: [
        { role: "user", content: "weather?" },
        { role: "assistant", content: "checking", toolCalls: [{ id: "call_1", name: "get", arguments: { city: "Oslo" } }] },
        { role: "tool", toolCallId: "call_1", name: "get", content: "sunny" }
      ],
      maxTokens: 7,
      temperature: 0,
      tools: [{ name: "get", parameters: { type: "object" } }]
    })
    expect(body).toEqual({
      model: "gpt",
      stream: true,
      instructions: "be brief",
      input: [
        { role: "user", content: "weather?" },
        { role: "assistant", content: "checking" },
        { type: "function_call", call_id: "call_1", name: "get", arguments: "{\"city\":\"Oslo\"}" },
        { type: "function_call_output", call_id: "call_1", output: "sunny" }
      ],
      max_output_tokens: 7,
      temperature: 0,
      tools: [{ type: "function", name: "get", parameters: { type: "object" }, strict: false }]
    })
  })

  it("stop sequences are refused (InvalidRequest)", () => {
    expect(Responses.checkRequest({ model: "m", messages: [{ role: "user", content: "x" }], stop: ["x"] })?._tag).toBe(
      "InvalidRequest"
    )
    expect(Responses.checkRequest({ model: "m", messages: [{ role: "user", content: "x" }], stop: [] })).toBeUndefined()
  })
})

describe("error mapping", () => {
  it("retry-after: ms header, seconds, HTTP date, garbage", () => {
    const h = (o: Record<string, string>) => new Headers(o)
    expect(Duration.toMillis(retryAfter(h({ "retry-after-ms": "1500" }))!)).toBe(1500)
    expect(Duration.toMillis(retryAfter(h({ "retry-after": "2" }))!)).toBe(2000)
    const date = retryAfter(h({ "retry-after": new Date(Date.now() + 10_000).toUTCString() }))!
    expect(Duration.toMillis(date)).toBeGreaterThan(8000)
    expect(Duration.toMillis(date)).toBeLessThanOrEqual(10_000)
    expect(retryAfter(h({ "retry-after": "soon" }))).toBeUndefined()
    expect(retryAfter(undefined)).toBeUndefined()
  })

  it("statusOfCode: a numeric code 400..599 (or its 3-digit string) is the status; other numbers are not", () => {
    expect([400, 429, 502, "503", 599].map((code) => statusOfCode(code, undefined))).toEqual([400, 429, 502, 503, 599])
    expect([200, 42, 600, 400.5, "4000", "x400"].map((code) => statusOfCode(code, undefined))).toEqual(
      [undefined, undefined, undefined, undefined, undefined, undefined]
    )
    expect(statusOfCode("rate_limit_exceeded", undefined)).toBe(429)
  })

  it("raw TypeError: terminated → Disconnected; SyntaxError → ProtocolError; other → Unknown with a key-free cause", () => {
    const map = mapError(scrub)
    expect(map(new TypeError("terminated"))._tag).toBe("Disconnected")
    expect(map(new SyntaxError("Unexpected token"))._tag).toBe("ProtocolError")
    const unknown = map(new Error("weird sk-SECRET-KEY-1234567890 Bearer abc"))
    expect(unknown._tag).toBe("Unknown")
    expect(unknown.message).not.toContain("SECRET")
    expect(unknown.message).toContain("Bearer <redacted>")
    expect(String((unknown as LlmError.Unknown).cause)).not.toContain("SECRET")
  })
})
