/**
 * Unit tests of the pure parts: the decoder over parsed SDK events (the
 * recorded fixtures' chunks and hand-made edge cases), the request mapping and
 * the error classification. No network here; the end-to-end suites are in
 * Anthropic.test.ts and test/secrets/Secrets.test.ts (every adapter).
 */
import type AnthropicSdk from "@anthropic-ai/sdk"
import { Ledger, LlmError, Redaction, StreamEvent } from "@streamvisor/core"
import { Fixtures } from "@streamvisor/testkit"
import * as Duration from "effect/Duration"
import { describe, expect, it } from "vitest"
import * as Decoder from "../src/internal/Decoder.js"
import { mapError, retryAfter } from "../src/internal/Errors.js"
import { toParams } from "../src/internal/Request.js"

type Event = AnthropicSdk.RawMessageStreamEvent

const scrub = Redaction.makeScrub(() => ["sk-SECRET-KEY-1234567890"])

/** Decode `events` and return what was emitted plus every recordUsage call. */
const decode = (events: ReadonlyArray<unknown>) => {
  const out: Array<StreamEvent.StreamEvent> = []
  const usage: Array<[number, number]> = []
  const decoder = Decoder.make(scrub)({
    provider: "anthropic",
    model: "test",
    signal: new AbortController().signal,
    recordUsage: (i, o) => usage.push([i, o])
  })
  const emit = (e: StreamEvent.StreamEvent) => out.push(e)
  let terminalAt = -1
  events.forEach((event, i) => {
    if (decoder.step(event as Event, emit) === true && terminalAt < 0) terminalAt = i
  })
  decoder.end!(emit)
  return { out, usage, terminalAt }
}

const fixture = (name: string) => Fixtures.load("anthropic", name)
const parsed = (name: string): Array<unknown> => fixture(name).chunks.map((line) => JSON.parse(line))

const text = (events: ReadonlyArray<StreamEvent.StreamEvent>) =>
  events.filter((e): e is StreamEvent.TextDelta => e._tag === "TextDelta").map((e) => e.text)
const reasoning = (events: ReadonlyArray<StreamEvent.StreamEvent>) =>
  events.filter((e): e is StreamEvent.ReasoningDelta => e._tag === "ReasoningDelta").map((e) => e.text)

const start = { type: "message_start", message: { usage: { input_tokens: 5, output_tokens: 1 } } }
const stop = { type: "message_stop" }
const delta = (reason: string) => ({ type: "message_delta", delta: { stop_reason: reason }, usage: { output_tokens: 9 } })

/**
 * A fixture's usage as `Usage` reports it: expected.json counts `input_tokens` alone; the decoder
 * adds the last cache read and write counts the chunks carry, and reports them as the detail.
 */
const withCache = (usage: { readonly inputTokens: number | null; readonly outputTokens: number | null }, chunks: ReadonlyArray<any>) => {
  let read: number | undefined
  let write: number | undefined
  for (const event of chunks) {
    const u = event.type === "message_start" ? event.message?.usage : event.type === "message_delta" ? event.usage : undefined
    if (typeof u?.cache_read_input_tokens === "number") read = u.cache_read_input_tokens
    if (typeof u?.cache_creation_input_tokens === "number") write = u.cache_creation_input_tokens
  }
  return StreamEvent.usage(
    usage.inputTokens! + (read ?? 0) + (write ?? 0),
    usage.outputTokens!,
    read === undefined && write === undefined ? undefined : { cachedInputTokens: read, cacheWriteTokens: write }
  )
}

describe("decoder over every recorded fixture", () => {
  const names = Fixtures.list().filter((f) => f.format === "anthropic").map((f) => f.name)

  it("finds the anthropic fixtures", () => {
    expect(names.length).toBeGreaterThanOrEqual(7)
  })

  it.each(names)("%s: matches expected.json and ends with exactly one Finish", (name) => {
    const { expected } = fixture(name)
    const chunks = parsed(name)
    const { out, terminalAt } = decode(chunks)
    expect(terminalAt).toBe(chunks.length - 1)
    expect(text(out).join("")).toBe(expected.text)
    expect(reasoning(out).join("")).toBe(expected.reasoning ?? "")
    const ends = out.filter((e): e is StreamEvent.ToolCallEnd => e._tag === "ToolCallEnd")
    expect(ends.map((e) => ({ name: e.name, arguments: e.arguments }))).toEqual(expected.toolCalls)
    const usage = out.filter((e) => e._tag === "Usage")
    expect(usage).toEqual([withCache(expected.usage, chunks)])
    expect(out.filter(StreamEvent.isFinish)).toHaveLength(1)
    expect(out.at(-1)).toEqual(StreamEvent.finish(Decoder.finishReason(expected.finishReason), expected.finishReason))
    // No empty deltas, and every tool call is started, streamed and ended in order.
    for (const e of out) {
      if (e._tag === "TextDelta" || e._tag === "ReasoningDelta") expect(e.text).not.toBe("")
      if (e._tag === "ToolCallDelta") expect(e.argumentsDelta).not.toBe("")
    }
    for (const end of ends) {
      const startAt = out.findIndex((e) => e._tag === "ToolCallStart" && e.id === end.id && e.name === end.name)
      expect(startAt).toBeGreaterThanOrEqual(0)
      const pieces = out.filter((e): e is StreamEvent.ToolCallDelta => e._tag === "ToolCallDelta" && e.id === end.id)
      const json = pieces.map((p) => p.argumentsDelta).join("")
      expect(json === "" ? {} : JSON.parse(json)).toEqual(end.arguments)
    }
  })

  it("tool-use-escaped-quotes: skips the empty first piece, keeps every other piece as a delta", () => {
    const chunks = parsed("tool-use-escaped-quotes") as Array<{ delta?: { partial_json?: string } }>
    const pieces = chunks.flatMap((c) => (typeof c.delta?.partial_json === "string" ? [c.delta.partial_json] : []))
    expect(pieces[0]).toBe("")
    const { out } = decode(chunks)
    expect(out[0]).toEqual(StreamEvent.toolCallStart("toolu_01Cr31vcGoeeRgi3Eo5Ds8qN", "website_update"))
    expect(out.filter((e) => e._tag === "ToolCallDelta").map((e) => (e as StreamEvent.ToolCallDelta).argumentsDelta))
      .toEqual(pieces.slice(1))
  })

  it("thinking-signature: the empty thinking_delta emits nothing; the signature closes the block as ReasoningEnd", () => {
    const chunks = parsed("thinking-signature") as Array<{ delta?: { type?: string; signature?: string } }>
    const signature = chunks.find((c) => c.delta?.type === "signature_delta")!.delta!.signature!
    expect(signature.length).toBeGreaterThan(0)
    const { out } = decode(chunks)
    expect(reasoning(out)).toHaveLength(9)
    expect(out.map((e) => e._tag).filter((t) => t !== "ReasoningDelta" && t !== "TextDelta")).toEqual(["ReasoningEnd", "Usage", "Finish"])
    expect(out.find((e) => e._tag === "ReasoningEnd")).toEqual(StreamEvent.reasoningEnd("anthropic", { signature }))
    // the block ends before the text starts
    expect(out.findIndex((e) => e._tag === "ReasoningEnd")).toBeLessThan(out.findIndex((e) => e._tag === "TextDelta"))
  })

  it("message-delta-input-tokens: the later input_tokens wins, also in the ledger", () => {
    const { out, usage } = decode(parsed("message-delta-input-tokens"))
    expect(usage).toEqual([[43, 1], [61, 2]])
    expect(out.find((e) => e._tag === "Usage")).toEqual(StreamEvent.usage(61, 2))
  })

  it("synthetic-duplicate-message-start: nothing is duplicated, not even usage in the ledger", () => {
    const { out, usage } = decode(parsed("synthetic-duplicate-message-start"))
    expect(out).toEqual([
      StreamEvent.textDelta("Hello, World!"),
      StreamEvent.usage(17, 227),
      StreamEvent.finish("stop", "end_turn")
    ])
    const ledger = Ledger.make()
    const entry = ledger.open("anthropic", "m")
    for (const [i, o] of usage) entry.recordUsage(i, o)
    expect(ledger.snapshot().usage).toEqual({ inputTokens: 17, outputTokens: 227 })
  })

  it("max-tokens-cache-read-padded: cache reads are added to input and reported as cachedInputTokens", () => {
    const { out, usage } = decode(parsed("max-tokens-cache-read-padded"))
    const total = 3 + 18639
    expect(out.slice(-2)).toEqual([
      StreamEvent.usage(total, 1, { cachedInputTokens: 18639, cacheWriteTokens: 0 }),
      StreamEvent.finish("length", "max_tokens")
    ])
    expect(usage.at(-1)).toEqual([total, 1])
  })
})

describe("decoder edge cases", () => {
  it("maps every stop_reason", () => {
    const cases: Array<[string, StreamEvent.FinishReason]> = [
      ["end_turn", "stop"],
      ["stop_sequence", "stop"],
      ["pause_turn", "other"],
      ["max_tokens", "length"],
      ["model_context_window_exceeded", "length"],
      ["tool_use", "tool_calls"],
      ["refusal", "content_filter"],
      ["something_new", "other"]
    ]
    for (const [raw, reason] of cases) {
      const { out } = decode([start, delta(raw), stop])
      expect(out).toEqual([StreamEvent.usage(5, 9), StreamEvent.finish(reason, raw)])
    }
  })

  it("no stop_reason at all: Finish other with raw null", () => {
    expect(decode([start, stop]).out).toEqual([StreamEvent.usage(5, 1), StreamEvent.finish("other", null)])
  })

  it("no usage at all: no Usage event", () => {
    expect(decode([stop]).out).toEqual([StreamEvent.finish("other", null)])
  })

  it("a body that ends before message_stop is Disconnected, even after message_delta", () => {
    expect(() => decode([start, delta("end_turn")])).toThrow(LlmError.Disconnected)
    expect(() => decode([])).toThrow(LlmError.Disconnected)
  })

  it("tool call without arguments gets {}; a repeated content_block_stop ends it once", () => {
    const { out } = decode([
      start,
      { type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "t1", name: "now", input: {} } },
      { type: "content_block_stop", index: 0 },
      { type: "content_block_stop", index: 0 },
      delta("tool_use"),
      stop
    ])
    expect(out.filter((e) => e._tag.startsWith("ToolCall"))).toEqual([
      StreamEvent.toolCallStart("t1", "now"),
      StreamEvent.toolCallEnd("t1", "now", {})
    ])
  })

  it("a tool_use that starts with its whole input and streams none keeps that input", () => {
    const { out } = decode([
      start,
      { type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "t1", name: "f", input: { a: 1 } } },
      { type: "content_block_stop", index: 0 },
      delta("tool_use"),
      stop
    ])
    expect(out.filter((e) => e._tag.startsWith("ToolCall"))).toEqual([
      StreamEvent.toolCallStart("t1", "f"),
      StreamEvent.toolCallDelta("t1", `{"a":1}`),
      StreamEvent.toolCallEnd("t1", "f", { a: 1 })
    ])
  })

  it("unparsable final tool arguments are a ProtocolError", () => {
    const events = [
      start,
      { type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "t1", name: "f", input: {} } },
      { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: "{\"a\":" } },
      { type: "content_block_stop", index: 0 }
    ]
    expect(() => decode(events)).toThrow(LlmError.ProtocolError)
  })

  it("input_json_delta for a block never started is a ProtocolError", () => {
    const events = [start, { type: "content_block_delta", index: 3, delta: { type: "input_json_delta", partial_json: "{}" } }]
    expect(() => decode(events)).toThrow(LlmError.ProtocolError)
  })

  it("server-tool blocks and unknown events emit nothing; redacted thinking and citations are kept", () => {
    const { out } = decode([
      start,
      { type: "ping" },
      { type: "content_block_start", index: 0, content_block: { type: "server_tool_use", id: "s1", name: "web_search", input: {} } },
      { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: "{\"q\":1}" } },
      { type: "content_block_stop", index: 0 },
      { type: "content_block_start", index: 1, content_block: { type: "redacted_thinking", data: "xx" } },
      { type: "content_block_stop", index: 1 },
      { type: "content_block_start", index: 2, content_block: { type: "text", text: "" } },
      { type: "content_block_delta", index: 2, delta: { type: "citations_delta", citation: {} } },
      { type: "content_block_delta", index: 2, delta: { type: "text_delta", text: "" } },
      { type: "content_block_delta", index: 2, delta: { type: "text_delta", text: "ok" } },
      { type: "content_block_stop", index: 2 },
      { type: "some_future_event" },
      delta("end_turn"),
      stop
    ])
    expect(out).toEqual([
      StreamEvent.reasoningEnd("anthropic", { redactedData: "xx" }),
      StreamEvent.providerMetadata("anthropic", "citations", {}),
      StreamEvent.textDelta("ok"),
      StreamEvent.usage(5, 9),
      StreamEvent.finish("stop", "end_turn")
    ])
  })

  it("an error body reaching the decoder is classified by its type", () => {
    const error = (type: string) => [start, { type: "error", error: { type, message: "x" } }]
    expect(() => decode(error("overloaded_error"))).toThrow(LlmError.Overloaded)
    expect(() => decode(error("api_error"))).toThrow(LlmError.ServerError)
    expect(() => decode(error("rate_limit_error"))).toThrow(LlmError.RateLimited)
  })
})

describe("request mapping", () => {
  it("maps system, tool calls, merged tool results, limits and tools", () => {
    const params = toParams(
      {
        model: "claude-test",
        system: "Be brief.",
        maxTokens: 100,
        temperature: 0.3,
        stop: ["END"],
        tools: [{ name: "weather", description: "Weather", parameters: { properties: { city: { type: "string" } } } }],
        messages: [
          { role: "user", content: "Weather in Oslo and Rome?" },
          {
            role: "assistant",
            content: "",
            toolCalls: [
              { id: "t1", name: "weather", arguments: { city: "Oslo" } },
              { id: "t2", name: "weather", arguments: { city: "Rome" } }
            ]
          },
          { role: "tool", toolCallId: "t1", name: "weather", content: "-3C" },
          { role: "tool", toolCallId: "t2", name: "weather", content: "boom", isError: true },
          { role: "assistant", content: "Cold and unknown." },
          { role: "user", content: "Thanks" }
        ]
      },
      4096
    )
    expect(params).toEqual({
      model: "claude-test",
      max_tokens: 100,
      stream: true,
      system: "Be brief.",
      temperature: 0.3,
      stop_sequences: ["END"],
      tools: [{
        name: "weather",
        description: "Weather",
        input_schema: { type: "object", properties: { city: { type: "string" } } }
      }],
      messages: [
        { role: "user", content: "Weather in Oslo and Rome?" },
        {
          role: "assistant",
          content: [
            { type: "tool_use", id: "t1", name: "weather", input: { city: "Oslo" } },
            { type: "tool_use", id: "t2", name: "weather", input: { city: "Rome" } }
          ]
        },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "t1", content: "-3C" },
            { type: "tool_result", tool_use_id: "t2", content: "boom", is_error: true }
          ]
        },
        { role: "assistant", content: "Cold and unknown." },
        { role: "user", content: "Thanks" }
      ]
    })
  })

  it("defaults max_tokens and leaves out what the request does not set", () => {
    expect(toParams({ model: "m", messages: [{ role: "user", content: "hi" }] }, 777)).toEqual({
      model: "m",
      max_tokens: 777,
      stream: true,
      messages: [{ role: "user", content: "hi" }]
    })
  })

  it("keeps assistant text before its tool calls; results of separate turns are separate user turns", () => {
    const params = toParams(
      {
        model: "m",
        messages: [
          { role: "user", content: "go" },
          { role: "assistant", content: "Checking.", toolCalls: [{ id: "a", name: "f", arguments: undefined }] },
          { role: "tool", toolCallId: "a", name: "f", content: "1" },
          { role: "assistant", content: "", toolCalls: [{ id: "b", name: "f", arguments: {} }] },
          { role: "tool", toolCallId: "b", name: "f", content: "2" }
        ]
      },
      10
    )
    expect(params.messages).toEqual([
      { role: "user", content: "go" },
      {
        role: "assistant",
        content: [{ type: "text", text: "Checking." }, { type: "tool_use", id: "a", name: "f", input: {} }]
      },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "a", content: "1" }] },
      { role: "assistant", content: [{ type: "tool_use", id: "b", name: "f", input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "b", content: "2" }] }
    ])
  })
})

describe("error classification", () => {
  it("parses retry-after as seconds, as an HTTP date, and retry-after-ms first", () => {
    const now = Date.parse("2030-01-01T00:00:00Z")
    const headers = (record: Record<string, string>) => new Headers(record)
    expect(retryAfter(headers({ "retry-after": "7" }))).toEqual(Duration.seconds(7))
    expect(retryAfter(headers({ "retry-after": "1.5" }))).toEqual(Duration.millis(1500))
    expect(retryAfter(headers({ "retry-after": "Tue, 01 Jan 2030 00:00:30 GMT" }), now)).toEqual(Duration.seconds(30))
    expect(retryAfter(headers({ "retry-after": "Mon, 31 Dec 2029 00:00:00 GMT" }), now)).toEqual(Duration.zero)
    expect(retryAfter(headers({ "retry-after-ms": "250", "retry-after": "9" }))).toEqual(Duration.millis(250))
    expect(retryAfter(headers({ "retry-after": "soon" }))).toBeUndefined()
    expect(retryAfter(headers({}))).toBeUndefined()
    expect(retryAfter({ "retry-after": "2" })).toEqual(Duration.seconds(2))
    expect(retryAfter(undefined)).toBeUndefined()
  })

  it("classifies undici's cut, JSON failures and unknown errors", () => {
    const classify = mapError(scrub)
    const cut = Object.assign(new TypeError("terminated"), {
      cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" })
    })
    expect(classify(cut)._tag).toBe("Disconnected")
    expect(classify(new SyntaxError("Unexpected token"))._tag).toBe("ProtocolError")
    const unknown = classify(new Error("weird Bearer sk-SECRET-KEY-1234567890"))
    expect(unknown._tag).toBe("Unknown")
    expect(unknown.message).toBe("anthropic: Error: weird <redacted>")
    const given = new LlmError.Overloaded({ provider: "anthropic" })
    expect(classify(given)).toBe(given)
  })

  it("scrubs the key and `Bearer <key>`, ignoring missing or short secrets", () => {
    expect(scrub("a Bearer sk-SECRET-KEY-1234567890 b sk-SECRET-KEY-1234567890")).toBe("a <redacted> b <redacted>")
    expect(Redaction.makeScrub(() => [null, undefined, "", "abc"])("abc")).toBe("abc")
  })

  it("sanitize keeps name, status and a scrubbed message, stack and cause", () => {
    const original = Object.assign(new Error("has sk-SECRET-KEY-1234567890"), {
      status: 418,
      secretObject: { key: "sk-SECRET-KEY-1234567890" },
      cause: new Error("inner sk-SECRET-KEY-1234567890")
    })
    original.name = "TeapotError"
    const copy = Redaction.sanitizeCause(original, scrub) as Error & { status: number; cause: Error }
    expect(copy).not.toBe(original)
    expect(copy.name).toBe("TeapotError")
    expect(copy.status).toBe(418)
    expect(copy.message).toBe("has <redacted>")
    expect(copy.cause.message).toBe("inner <redacted>")
    expect(copy.stack).not.toContain("sk-SECRET")
    expect("secretObject" in copy).toBe(false)
    expect(Redaction.sanitizeCause({ key: "sk-SECRET-KEY-1234567890" }, scrub)).toBe(`{"key":"<redacted>"}`)
  })
})
