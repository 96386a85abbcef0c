/**
 * Unit tests of the pure parts: the decoder over parsed Gemini chunks (the
 * recorded fixtures and hand-made edge cases), the request mapping and the
 * error classification. No network here; the end-to-end suites are in
 * Google.test.ts and Release.test.ts (the key-never-leaks suite of every
 * adapter is test/secrets/Secrets.test.ts).
 */
import {
  GoogleGenerativeAIAbortError,
  GoogleGenerativeAIError,
  GoogleGenerativeAIFetchError,
  GoogleGenerativeAIRequestInputError
} from "@google/generative-ai"
import { type ChatRequest, LlmError, Redaction, StreamEvent } from "@streamvisor/core"
import { Fixtures } from "@streamvisor/testkit"
import * as Duration from "effect/Duration"
import { describe, expect, it } from "vitest"
import * as Decoder from "../src/internal/Decoder.js"
import { fromErrorFrame, mapError, parseProtoDuration, retryDelay } from "../src/internal/Errors.js"
import { toArgs, toGenerateContentRequest, toResponse } from "../src/internal/Request.js"

/** The ids `AdapterKit.callIds` would make, without the per-stream tag, so expectations can name them. */
const fixedIds = () => (index: number) => `call_${index}`

const KEY = "sk-SECRET-KEY-1234567890"
const scrub = Redaction.makeScrub(() => [KEY])

/** Decode `chunks` and return what was emitted, every recordUsage call, and where step said "terminal". */
const decode = (chunks: ReadonlyArray<unknown>, options: { end?: boolean } = {}) => {
  const out: Array<StreamEvent.StreamEvent> = []
  const usage: Array<[number, number]> = []
  const decoder = Decoder.make(scrub, fixedIds)({
    provider: "google",
    model: "test",
    signal: new AbortController().signal,
    recordUsage: (i, o) => usage.push([i, o])
  })
  const emit = (e: StreamEvent.StreamEvent) => out.push(e)
  let terminalAt = -1
  chunks.forEach((chunk, i) => {
    if (decoder.step(chunk, emit) === true && terminalAt < 0) terminalAt = i
  })
  if (options.end !== false) decoder.end!(emit)
  return { out, usage, terminalAt }
}

const fixture = (name: string) => Fixtures.load("google", name)
const parsed = (name: string): Array<unknown> => fixture(name).chunks.map((line) => JSON.parse(line))
const texts = (events: ReadonlyArray<StreamEvent.StreamEvent>, tag: "TextDelta" | "ReasoningDelta") =>
  events.filter((e): e is StreamEvent.TextDelta => e._tag === tag).map((e) => e.text)
const thrown = (f: () => unknown): unknown => {
  try {
    f()
  } catch (error) {
    return error
  }
  throw new Error("did not throw")
}

const chunk = (parts: Array<unknown>, extra: Record<string, unknown> = {}) => ({
  candidates: [{ content: { role: "model", parts }, index: 0, ...extra }]
})
const done = (reason = "STOP", usage = { promptTokenCount: 3, candidatesTokenCount: 4 }) => ({
  candidates: [{ content: { role: "model", parts: [{ text: "" }] }, finishReason: reason, index: 0 }],
  usageMetadata: usage
})

describe("decoder over every recorded fixture", () => {
  const names = Fixtures.list().filter((f) => f.format === "google").map((f) => f.name)

  it("finds the google fixtures", () => {
    expect(names).toEqual(
      expect.arrayContaining(["prompt-blocked", "text-thought-signature", "thought-parts", "tool-call", "vertex-partial-args-multi-call"])
    )
  })

  it.each(names)("%s: matches expected.json and ends with exactly one Finish", (name) => {
    const { expected } = fixture(name)
    const chunks = parsed(name)
    const { out, terminalAt } = decode(chunks)
    // Every fixture's last chunk carries the finish (or block) reason and the token counts.
    expect(terminalAt).toBe(chunks.length - 1)
    expect(texts(out, "TextDelta").join("")).toBe(expected.text)
    expect(texts(out, "ReasoningDelta").join("")).toBe(expected.reasoning ?? "")
    const ends = out.filter((e): e is StreamEvent.ToolCallEnd => e._tag === "ToolCallEnd")
    expect(ends.map((e) => ({ name: e.name, arguments: e.arguments }))).toEqual(expected.toolCalls)
    // outputTokens adds the thoughts Gemini counts apart (thinking is billed as output).
    const last = chunks.at(-1) as { usageMetadata?: { thoughtsTokenCount?: number } }
    const thoughts = last.usageMetadata?.thoughtsTokenCount
    expect(out.filter((e) => e._tag === "Usage")).toEqual([
      StreamEvent.usage(
        expected.usage.inputTokens ?? 0,
        (expected.usage.outputTokens ?? 0) + (thoughts ?? 0),
        thoughts === undefined ? undefined : { reasoningTokens: thoughts }
      )
    ])
    expect(out.filter(StreamEvent.isFinish)).toHaveLength(1)
    expect(out.at(-1)).toMatchObject({ _tag: "Finish", raw: expected.finishReason })
    for (const e of out) {
      if (e._tag === "TextDelta" || e._tag === "ReasoningDelta") expect(e.text).not.toBe("")
    }
    // Each call: Start, then one Delta whose JSON is the arguments, then End, ids unique.
    for (const end of ends) {
      const startAt = out.findIndex((e) => e._tag === "ToolCallStart" && e.id === end.id && e.name === end.name)
      const pieces = out.filter((e): e is StreamEvent.ToolCallDelta => e._tag === "ToolCallDelta" && e.id === end.id)
      expect(startAt).toBeGreaterThanOrEqual(0)
      expect(startAt).toBeLessThan(out.indexOf(end))
      expect(pieces).toHaveLength(1)
      expect(JSON.parse(pieces[0].argumentsDelta)).toEqual(end.arguments)
    }
    expect(new Set(ends.map((e) => e.id)).size).toBe(ends.length)
  })

  it("prompt-blocked: Finish content_filter with raw null, input usage only", () => {
    const { out } = decode(parsed("prompt-blocked"))
    expect(out).toEqual([StreamEvent.usage(9, 0), StreamEvent.finish("content_filter", null)])
  })

  it("tool-call: STOP after a function call is reported as tool_calls, id call_0, signature kept", () => {
    const { out } = decode(parsed("tool-call"))
    const SIGNATURE = (parsed("tool-call")[0] as any).candidates[0].content.parts[0].thoughtSignature as string
    expect(out).toEqual([
      StreamEvent.toolCallStart("call_0", "weather"),
      StreamEvent.toolCallDelta("call_0", "{\"location\":\"San Francisco\"}"),
      StreamEvent.toolCallEnd("call_0", "weather", { location: "San Francisco" }, SIGNATURE, "google"),
      StreamEvent.usage(29, 60, { reasoningTokens: 45 }),
      StreamEvent.finish("tool_calls", "STOP")
    ])
  })

  it("vertex-partial-args-multi-call: Start when a call opens, Delta + End when it closes", () => {
    const { out } = decode(parsed("vertex-partial-args-multi-call"))
    const calls = out.filter((e) => e._tag.startsWith("ToolCall"))
    const SIGNATURE = (parsed("vertex-partial-args-multi-call")[1] as any).candidates[0].content.parts[0].thoughtSignature as string
    expect(calls).toEqual([
      StreamEvent.toolCallStart("call_0", "read_theme"),
      StreamEvent.toolCallDelta("call_0", "{}"),
      StreamEvent.toolCallEnd("call_0", "read_theme", {}, SIGNATURE, "google"),
      StreamEvent.toolCallStart("call_1", "read_screen"),
      StreamEvent.toolCallDelta("call_1", "{\"id\":\"A\"}"),
      StreamEvent.toolCallEnd("call_1", "read_screen", { id: "A" }),
      StreamEvent.toolCallStart("call_2", "read_screen"),
      StreamEvent.toolCallDelta("call_2", "{\"id\":\"B\"}"),
      StreamEvent.toolCallEnd("call_2", "read_screen", { id: "B" }),
      StreamEvent.toolCallStart("call_3", "read_screen"),
      StreamEvent.toolCallDelta("call_3", "{\"id\":\"C\"}"),
      StreamEvent.toolCallEnd("call_3", "read_screen", { id: "C" })
    ])
    // The Start of a streamed call goes out with the chunk that opens it, before its arguments.
    const stepwise: Array<number> = []
    const decoder = Decoder.make(scrub, fixedIds)({ provider: "google", model: "t", signal: new AbortController().signal, recordUsage: () => {} })
    for (const c of parsed("vertex-partial-args-multi-call")) {
      let n = 0
      decoder.step(c, () => n++)
      stepwise.push(n)
    }
    // The second chunk also closes the thought block before the call (ReasoningEnd).
    expect(stepwise.slice(0, 6)).toEqual([1, 4, 1, 0, 0, 2])
    expect(out.at(-1)).toEqual(StreamEvent.finish("tool_calls", "STOP"))
  })

  it("thought-parts: usage keeps the last value of each field (thoughts added to output); the ledger learns it as it comes", () => {
    const { out, usage } = decode(parsed("thought-parts"))
    expect(usage[0]).toEqual([6, 14])
    expect(usage.at(-1)).toEqual([6, 77])
    expect(out.filter((e) => e._tag === "Usage")).toEqual([StreamEvent.usage(6, 77, { reasoningTokens: 76 })])
  })
})

describe("decoder edge cases", () => {
  it("a stream with no finishReason is Disconnected, never a normal finish", () => {
    const decoder = Decoder.make(scrub, fixedIds)({ provider: "google", model: "t", signal: new AbortController().signal, recordUsage: () => {} })
    const out: Array<StreamEvent.StreamEvent> = []
    decoder.step(chunk([{ text: "partial" }]), (e) => out.push(e))
    const error = thrown(() => decoder.end!((e) => out.push(e)))
    expect(error).toBeInstanceOf(LlmError.Disconnected)
    expect(out).toEqual([StreamEvent.textDelta("partial")])
  })

  it("an empty body (no chunk at all) is Disconnected", () => {
    expect(thrown(() => decode([]))).toBeInstanceOf(LlmError.Disconnected)
  })

  it("a finish chunk without counts is not terminal; the usage after it is kept", () => {
    const { out, terminalAt } = decode([
      chunk([{ text: "a" }]),
      { candidates: [{ content: { parts: [{ text: "b" }] }, finishReason: "STOP" }] },
      { usageMetadata: { promptTokenCount: 7, candidatesTokenCount: 2 } }
    ])
    expect(terminalAt).toBe(-1)
    expect(out).toEqual([
      StreamEvent.textDelta("a"),
      StreamEvent.textDelta("b"),
      StreamEvent.usage(7, 2),
      StreamEvent.finish("stop", "STOP")
    ])
  })

  it("no usage at all: no Usage event, Finish still last", () => {
    const { out } = decode([{ candidates: [{ content: { parts: [{ text: "x" }] }, finishReason: "STOP" }] }])
    expect(out).toEqual([StreamEvent.textDelta("x"), StreamEvent.finish("stop", "STOP")])
  })

  it.each([
    ["STOP", "stop"],
    ["MAX_TOKENS", "length"],
    ["SAFETY", "content_filter"],
    ["RECITATION", "content_filter"],
    ["BLOCKLIST", "content_filter"],
    ["PROHIBITED_CONTENT", "content_filter"],
    ["SPII", "content_filter"],
    ["IMAGE_SAFETY", "content_filter"],
    ["MALFORMED_FUNCTION_CALL", "other"],
    ["LANGUAGE", "other"],
    ["OTHER", "other"],
    ["FINISH_REASON_UNSPECIFIED", "other"]
  ])("finishReason %s → %s, raw kept", (raw, reason) => {
    const { out } = decode([done(raw)])
    expect(out.at(-1)).toEqual(StreamEvent.finish(reason as StreamEvent.FinishReason, raw))
  })

  it("SAFETY with parts: the text that came is emitted and no helper is called (chunk.text() would throw)", () => {
    const { out } = decode([
      chunk([{ text: "begin" }]),
      {
        candidates: [{ content: { parts: [{ text: "!" }] }, finishReason: "SAFETY" }],
        usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 2 },
        text: () => {
          throw new Error("helper called")
        }
      }
    ])
    expect(out).toEqual([
      StreamEvent.textDelta("begin"),
      StreamEvent.textDelta("!"),
      StreamEvent.usage(1, 2),
      StreamEvent.finish("content_filter", "SAFETY")
    ])
  })

  it("MAX_TOKENS after a function call stays length (tool_calls only replaces STOP)", () => {
    const { out } = decode([chunk([{ functionCall: { name: "f", args: {} } }]), done("MAX_TOKENS")])
    expect(out.at(-1)).toEqual(StreamEvent.finish("length", "MAX_TOKENS"))
  })

  it("several parts in one chunk keep their order; empty parts are skipped, a signature-only part is a bare ReasoningEnd", () => {
    const { out } = decode([
      chunk([
        { text: "think", thought: true },
        { text: "", thoughtSignature: "sig" },
        { text: "say" },
        { functionCall: { name: "a", args: { x: 1 } } },
        { functionCall: { name: "b" } },
        { text: "after" }
      ]),
      done()
    ])
    expect(out.map((e) => e._tag)).toEqual([
      "ReasoningDelta",
      "ReasoningEnd",
      "ReasoningEnd",
      "TextDelta",
      "ToolCallStart",
      "ToolCallDelta",
      "ToolCallEnd",
      "ToolCallStart",
      "ToolCallDelta",
      "ToolCallEnd",
      "TextDelta",
      "Usage",
      "Finish"
    ])
    expect(out[1]).toEqual(StreamEvent.reasoningEnd("google"))
    expect(out[2]).toEqual(StreamEvent.reasoningEnd("google", { signature: "sig" }))
    expect(out[6]).toEqual(StreamEvent.toolCallEnd("call_0", "a", { x: 1 }))
    expect(out[9]).toEqual(StreamEvent.toolCallEnd("call_1", "b", {}))
  })

  it("a provider call id is used when present", () => {
    const { out } = decode([chunk([{ functionCall: { id: "fc-9", name: "a", args: {} } }]), done()])
    expect(out[0]).toEqual(StreamEvent.toolCallStart("fc-9", "a"))
  })

  it("streamed partialArgs: continued strings, numbers, booleans, null, nested paths and arrays", () => {
    const { out } = decode([
      chunk([{ functionCall: { name: "f", willContinue: true } }]),
      chunk([{
        functionCall: {
          partialArgs: [
            { jsonPath: "$.text", stringValue: "Hel", willContinue: true },
            { jsonPath: "$.n", numberValue: 2.5 }
          ],
          willContinue: true
        }
      }]),
      chunk([{ functionCall: { partialArgs: [{ jsonPath: "$.text", stringValue: "lo" }], willContinue: true } }]),
      chunk([{
        functionCall: {
          partialArgs: [
            { jsonPath: "$.opts.deep['a b']", boolValue: false },
            { jsonPath: "$.list[0]", stringValue: "x" },
            { jsonPath: "$.list[1].k", nullValue: "NULL_VALUE" }
          ],
          willContinue: true
        }
      }]),
      chunk([{ functionCall: {} }]),
      done()
    ])
    expect(out.find((e) => e._tag === "ToolCallEnd")).toEqual(
      StreamEvent.toolCallEnd("call_0", "f", { text: "Hello", n: 2.5, opts: { deep: { "a b": false } }, list: ["x", { k: null }] })
    )
  })

  it("a string that is not continued is replaced, not appended", () => {
    const { out } = decode([
      chunk([{ functionCall: { name: "f", willContinue: true } }]),
      chunk([{ functionCall: { partialArgs: [{ jsonPath: "$.s", stringValue: "one" }], willContinue: true } }]),
      chunk([{ functionCall: { partialArgs: [{ jsonPath: "$.s", stringValue: "two" }] } }]),
      done()
    ])
    expect(out.find((e) => e._tag === "ToolCallEnd")).toMatchObject({ arguments: { s: "two" } })
  })

  it("a new named call closes one left open; a call open at the finish is closed before Usage", () => {
    const { out } = decode([
      chunk([{ functionCall: { name: "a", willContinue: true } }]),
      chunk([{ functionCall: { name: "b", args: { y: 1 }, willContinue: true } }]),
      done()
    ])
    expect(out.map((e) => e._tag)).toEqual([
      "ToolCallStart",
      "ToolCallDelta",
      "ToolCallEnd",
      "ToolCallStart",
      "ToolCallDelta",
      "ToolCallEnd",
      "Usage",
      "Finish"
    ])
    expect(out[5]).toEqual(StreamEvent.toolCallEnd("call_1", "b", { y: 1 }))
  })

  it("malformed function calls are ProtocolErrors", () => {
    expect(thrown(() => decode([chunk([{ functionCall: { name: "f", args: "nope" } }])], { end: false }))).toBeInstanceOf(
      LlmError.ProtocolError
    )
    expect(
      thrown(() =>
        decode([
          chunk([{ functionCall: { name: "f", willContinue: true } }]),
          chunk([{ functionCall: { partialArgs: [{ jsonPath: "bad", stringValue: "x" }] } }])
        ], { end: false })
      )
    ).toBeInstanceOf(LlmError.ProtocolError)
    expect(thrown(() => decode([chunk([{ functionCall: { partialArgs: [] } }])], { end: false }))).toBeInstanceOf(
      LlmError.ProtocolError
    )
    // A stray closing `{}` with nothing open is ignored.
    expect(decode([chunk([{ functionCall: {} }]), done()]).out.at(-1)).toEqual(StreamEvent.finish("stop", "STOP"))
  })

  it("JSONPath parsing", () => {
    expect(Decoder.parseJsonPath("$.a.b[2]['c d'][\"e\"]")).toEqual(["a", "b", 2, "c d", "e"])
    expect(Decoder.parseJsonPath("$")).toEqual([])
    expect(Decoder.parseJsonPath("a.b")).toBeUndefined()
    expect(Decoder.parseJsonPath("$..a")).toBeUndefined()
    expect(Decoder.parseJsonPath("$[x]")).toBeUndefined()
  })

  it.each([
    [{ code: 503, message: "The model is overloaded.", status: "UNAVAILABLE" }, "Overloaded"],
    [{ code: 500, message: "An internal error has occurred.", status: "INTERNAL" }, "ServerError"],
    [{ code: 429, message: "quota", status: "RESOURCE_EXHAUSTED" }, "RateLimited"],
    [{ code: 400, message: "bad", status: "INVALID_ARGUMENT" }, "InvalidRequest"],
    [{ code: 401, message: "no", status: "UNAUTHENTICATED" }, "Unauthorized"],
    [{ message: "what", status: "UNAVAILABLE" }, "Overloaded"],
    [{ message: "mystery" }, "Unknown"]
  ])("an error chunk %j is thrown as %s", (error, tag) => {
    const e = thrown(() => decode([chunk([{ text: "a" }]), { error }], { end: false }))
    expect(e).toMatchObject({ _tag: tag, provider: "google" })
  })

  it("an error chunk's retryDelay and key are handled", () => {
    const e = thrown(() =>
      decode([{
        error: {
          code: 429,
          message: `quota for ${KEY}`,
          details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "1.5s" }]
        }
      }], { end: false })
    ) as LlmError.RateLimited
    expect(e._tag).toBe("RateLimited")
    expect(Duration.toMillis(e.retryAfter!)).toBe(1500)
    expect(e.message).not.toContain(KEY)
    expect(e.message).toContain("<redacted>")
  })
})

describe("request mapping", () => {
  const request: ChatRequest.ChatRequest = {
    model: "gemini-2.5-flash",
    system: "Be brief.",
    maxTokens: 100,
    temperature: 0.3,
    stop: ["END"],
    messages: [
      { role: "user", content: "Weather in Paris and Rome?" },
      {
        role: "assistant",
        content: "Checking.",
        toolCalls: [
          { id: "call_0", name: "weather", arguments: { city: "Paris" } },
          { id: "call_1", name: "weather", arguments: "{\"city\":\"Rome\"}" }
        ]
      },
      { role: "tool", toolCallId: "call_0", name: "weather", content: "{\"temp\":21}" },
      { role: "tool", toolCallId: "call_1", name: "weather", content: "sunny", isError: false },
      { role: "assistant", content: "", toolCalls: [{ id: "c", name: "broken", arguments: undefined }] },
      { role: "tool", toolCallId: "c", name: "broken", content: "timeout", isError: true },
      { role: "assistant", content: "" },
      { role: "user", content: "Thanks" }
    ],
    tools: [
      {
        name: "weather",
        description: "Current weather",
        parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
      },
      { name: "now", parameters: { type: "object", properties: {} } }
    ]
  }

  it("maps every field", () => {
    expect(toGenerateContentRequest(request)).toEqual({
      systemInstruction: { role: "system", parts: [{ text: "Be brief." }] },
      generationConfig: { maxOutputTokens: 100, temperature: 0.3, stopSequences: ["END"] },
      contents: [
        { role: "user", parts: [{ text: "Weather in Paris and Rome?" }] },
        {
          role: "model",
          parts: [
            { text: "Checking." },
            { functionCall: { name: "weather", args: { city: "Paris" } } },
            { functionCall: { name: "weather", args: { city: "Rome" } } }
          ]
        },
        {
          role: "user",
          parts: [
            { functionResponse: { name: "weather", response: { temp: 21 } } },
            { functionResponse: { name: "weather", response: { content: "sunny" } } }
          ]
        },
        { role: "model", parts: [{ functionCall: { name: "broken", args: {} } }] },
        { role: "user", parts: [{ functionResponse: { name: "broken", response: { error: "timeout" } } }] },
        { role: "user", parts: [{ text: "Thanks" }] }
      ],
      tools: [
        {
          functionDeclarations: [
            {
              name: "weather",
              description: "Current weather",
              parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
            },
            { name: "now" }
          ]
        }
      ]
    })
  })

  it("leaves out what the request does not set", () => {
    expect(toGenerateContentRequest({ model: "m", messages: [{ role: "user", content: "hi" }] })).toEqual({
      contents: [{ role: "user", parts: [{ text: "hi" }] }]
    })
  })

  it("arguments and responses", () => {
    expect(toArgs({ a: 1 })).toEqual({ a: 1 })
    expect(toArgs("{\"a\":1}")).toEqual({ a: 1 })
    expect(toArgs("")).toEqual({})
    expect(toArgs(null)).toEqual({})
    expect(toArgs([1, 2])).toEqual({ value: [1, 2] })
    expect(toArgs("plain")).toEqual({ value: "plain" })
    expect(toResponse("[1,2]", undefined)).toEqual({ content: "[1,2]" })
    expect(toResponse("{\"ok\":true}", true)).toEqual({ error: { ok: true } })
    expect(toResponse("{broken", undefined)).toEqual({ content: "{broken" })
  })
})

describe("error classification", () => {
  const classify = mapError(scrub)
  const url = "http://127.0.0.1:1/v1beta/models/m:streamGenerateContent?alt=sse"
  const fetchError = (status: number, statusText: string, message: string, details?: unknown) =>
    new GoogleGenerativeAIFetchError(
      `[GoogleGenerativeAI Error]: Error fetching from ${url}: [${status} ${statusText}] ${message}`,
      status,
      statusText,
      details as any
    )

  it.each([
    [400, "InvalidRequest"],
    [401, "Unauthorized"],
    [403, "Unauthorized"],
    [404, "InvalidRequest"],
    [429, "RateLimited"],
    [500, "ServerError"],
    [503, "ServerError"],
    [529, "Overloaded"]
  ])("HTTP %i → %s", (status, tag) => {
    expect(classify(fetchError(status, "x", "message"))).toMatchObject({ _tag: tag, provider: "google" })
  })

  it("HTTP 503 'The model is overloaded' → Overloaded", () => {
    expect(classify(fetchError(503, "Service Unavailable", "The model is overloaded. Please try again later."))._tag).toBe(
      "Overloaded"
    )
  })

  it("429 reads RetryInfo.retryDelay", () => {
    const error = classify(
      fetchError(429, "Too Many Requests", "quota", [
        { "@type": "type.googleapis.com/google.rpc.QuotaFailure" },
        { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "2s" }
      ])
    ) as LlmError.RateLimited
    expect(error._tag).toBe("RateLimited")
    expect(Duration.toMillis(error.retryAfter!)).toBe(2000)
    expect((classify(fetchError(429, "x", "y")) as LlmError.RateLimited).retryAfter).toBeUndefined()
  })

  it("retry delays", () => {
    expect(parseProtoDuration("2s")).toEqual(Duration.millis(2000))
    expect(parseProtoDuration("0.250s")).toEqual(Duration.millis(250))
    expect(parseProtoDuration({ seconds: "3", nanos: 500_000_000 })).toEqual(Duration.millis(3500))
    expect(parseProtoDuration("soon")).toBeUndefined()
    expect(retryDelay("nope")).toBeUndefined()
  })

  it("stream failures", () => {
    expect(classify(new GoogleGenerativeAIError("Error reading from the stream"))._tag).toBe("Disconnected")
    expect(classify(new GoogleGenerativeAIError("Failed to parse stream"))._tag).toBe("ProtocolError")
    expect(classify(new GoogleGenerativeAIError("Error parsing JSON response: \"{x\""))._tag).toBe("ProtocolError")
    expect(classify(new GoogleGenerativeAIError(`Error fetching from ${url}: fetch failed`))._tag).toBe("Disconnected")
    expect(classify(new GoogleGenerativeAIAbortError("Request aborted when reading from the stream"))._tag).toBe(
      "Disconnected"
    )
    expect(classify(new GoogleGenerativeAIRequestInputError("bad header"))._tag).toBe("InvalidRequest")
    expect(classify(new GoogleGenerativeAIError(`Error fetching from x: Failed to parse URL from x`))._tag).toBe("Unknown")
    expect(classify(Object.assign(new TypeError("terminated"), { cause: { code: "ECONNRESET" } }))._tag).toBe("Disconnected")
    expect(classify(new SyntaxError("Unexpected token"))._tag).toBe("ProtocolError")
  })

  it("an error from another copy of the SDK is recognised by its message prefix", () => {
    const foreign = Object.assign(new Error("[GoogleGenerativeAI Error]: Error fetching from u: [401 Unauthorized] no"), {
      status: 401
    })
    expect(classify(foreign)._tag).toBe("Unauthorized")
    expect(classify(new Error("[GoogleGenerativeAI Error]: Error reading from the stream"))._tag).toBe("Disconnected")
  })

  it("Unknown keeps a scrubbed copy of the cause, never the original", () => {
    const original = Object.assign(new Error(`boom ${KEY}`), { status: 7, errorDetails: [{ key: KEY }] })
    const error = classify(original) as LlmError.Unknown
    expect(error._tag).toBe("Unknown")
    expect(error.cause).not.toBe(original)
    expect(String((error.cause as Error).message)).toBe("boom <redacted>")
    expect(JSON.stringify(Redaction.sanitizeCause(original, scrub))).not.toContain(KEY)
    expect(fromErrorFrame(`plain ${KEY}`, scrub).message).not.toContain(KEY)
  })
})
