/**
 * The NDJSON decoder on its own: line splitting across network chunks, the
 * line bound, the mapping of each line to events, and its failures.
 */
import type { StreamEvent } from "@streamvisor/core"
import { Redaction } from "@streamvisor/core"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as ChatChunk from "../src/internal/ChatChunk.js"
import * as Decoder from "../src/internal/Decoder.js"

const encoder = new TextEncoder()

interface Run {
  readonly events: Array<StreamEvent.StreamEvent>
  readonly usage: Array<[number, number]>
  /** Whether `step` reported the terminal line. */
  readonly terminal: boolean
}

const decoder = (maxLineBytes = Decoder.DEFAULT_MAX_LINE_BYTES, secret?: string) => {
  const usage: Array<[number, number]> = []
  const instance = Decoder.make({
    maxLineBytes,
    scrub: Redaction.makeScrub(() => [secret], { keepBearer: true }),
    callIds: () => (index) => `call_${index}`
  })({
    provider: "ollama",
    model: "m",
    signal: new AbortController().signal,
    recordUsage: (input, output) => usage.push([input, output])
  })
  return { instance, usage }
}

/** Feed `chunks` (strings or bytes) and run `end`, as `acquire` does. */
const run = (chunks: ReadonlyArray<string | Uint8Array>, maxLineBytes?: number): Run => {
  const { instance, usage } = decoder(maxLineBytes)
  const events: Array<StreamEvent.StreamEvent> = []
  const emit = (event: StreamEvent.StreamEvent) => events.push(event)
  let terminal = false
  for (const chunk of chunks) {
    if (instance.step(typeof chunk === "string" ? encoder.encode(chunk) : chunk, emit)) {
      terminal = true
      break
    }
  }
  instance.end(emit)
  return { events, usage, terminal }
}

const failure = (f: () => unknown): { _tag: string; message: string; status?: number } => {
  try {
    f()
  } catch (error) {
    return error as { _tag: string; message: string }
  }
  throw new Error("expected a failure")
}

const text = (content: string) => JSON.stringify({ model: "m", message: { role: "assistant", content }, done: false }) + "\n"
const final = (fields: Record<string, unknown> = {}) =>
  JSON.stringify({ model: "m", message: { role: "assistant", content: "" }, done: true, ...fields }) + "\n"

describe("Decoder", () => {
  it("maps content, usage and done_reason", () => {
    const { events, terminal, usage } = run([
      text("Hel") + text("lo") + final({ done_reason: "stop", prompt_eval_count: 7, eval_count: 2 })
    ])
    expect(terminal).toBe(true)
    expect(events).toEqual([
      { _tag: "TextDelta", text: "Hel" },
      { _tag: "TextDelta", text: "lo" },
      { _tag: "Usage", inputTokens: 7, outputTokens: 2 },
      { _tag: "Finish", reason: "stop", raw: "stop" }
    ])
    expect(usage).toEqual([[7, 2]])
  })

  it("splits lines at every byte boundary, including inside multi-byte characters", () => {
    const body = encoder.encode(text("héllo ") + text("wörld 🌍") + text("日本") + final({ eval_count: 3 }))
    const expected = run([body]).events
    expect(expected.filter((e) => e._tag === "TextDelta").map((e) => (e as { text: string }).text).join("")).toBe(
      "héllo wörld 🌍日本"
    )
    for (let cut = 1; cut < body.length; cut++) {
      expect(run([body.subarray(0, cut), body.subarray(cut)]).events).toEqual(expected)
    }
    // one byte at a time
    const bytes = Array.from(body, (_, i) => body.subarray(i, i + 1))
    expect(run(bytes).events).toEqual(expected)
  })

  it("skips blank lines and tolerates CRLF", () => {
    const { events } = run(["\n\r\n", text("a").replace("\n", "\r\n"), "   \n", final()])
    expect(events).toEqual([{ _tag: "TextDelta", text: "a" }, { _tag: "Finish", reason: "stop", raw: null }])
  })

  it("reads a final line that has no newline", () => {
    const { events, terminal } = run([text("a"), final({ done_reason: "length", eval_count: 1 }).trimEnd()])
    expect(terminal).toBe(false) // the body ended first…
    expect(events.at(-1)).toEqual({ _tag: "Finish", reason: "length", raw: "length" }) // …but the line counts
  })

  it("maps thinking to ReasoningDelta, closed by a ReasoningEnd when the answer starts; skips empty pieces", () => {
    const line = (message: Record<string, unknown>) => JSON.stringify({ message, done: false }) + "\n"
    const { events } = run([
      line({ role: "assistant", content: "", thinking: "hmm" }),
      line({ role: "assistant", content: "ok", thinking: "" }),
      final()
    ])
    expect(events).toEqual([
      { _tag: "ReasoningDelta", text: "hmm" },
      { _tag: "ReasoningEnd", provider: "ollama" },
      { _tag: "TextDelta", text: "ok" },
      { _tag: "Finish", reason: "stop", raw: null }
    ])
  })

  it("closes thinking before a tool call, and at the end when nothing follows; a line thinks before it speaks", () => {
    const line = (message: Record<string, unknown>) => JSON.stringify({ message, done: false }) + "\n"
    const call = { function: { name: "now", arguments: {} } }
    const tags = (lines: Array<string>) => run([...lines, final()]).events.map((e) => e._tag)
    expect(tags([line({ thinking: "a" }), line({ tool_calls: [call] })]))
      .toEqual(["ReasoningDelta", "ReasoningEnd", "ToolCallStart", "ToolCallDelta", "ToolCallEnd", "Finish"])
    expect(tags([line({ thinking: "a" }), line({ thinking: "b" })]))
      .toEqual(["ReasoningDelta", "ReasoningDelta", "ReasoningEnd", "Finish"])
    expect(tags([line({ content: "x", thinking: "a" })])).toEqual(["ReasoningDelta", "ReasoningEnd", "TextDelta", "Finish"])
    expect(tags([line({ content: "x" }), line({ content: "y" })])).toEqual(["TextDelta", "TextDelta", "Finish"])
  })

  it("maps complete tool calls to start, one delta and end with made-up ids", () => {
    const calls = [
      { function: { name: "get_weather", arguments: { city: "Tokyo" } } },
      { function: { name: "now", arguments: {} } },
      { id: "call_from_server", function: { name: "noargs" } },
      { function: { name: "as_text", arguments: "{\"a\":1}" } }
    ]
    const { events } = run([
      JSON.stringify({ message: { role: "assistant", content: "", tool_calls: calls.slice(0, 2) }, done: false }) + "\n",
      JSON.stringify({ message: { role: "assistant", content: "", tool_calls: calls.slice(2) }, done: false }) + "\n",
      final({ done_reason: "stop" })
    ])
    expect(events).toEqual([
      { _tag: "ToolCallStart", id: "call_0", name: "get_weather" },
      { _tag: "ToolCallDelta", id: "call_0", argumentsDelta: "{\"city\":\"Tokyo\"}" },
      { _tag: "ToolCallEnd", id: "call_0", name: "get_weather", arguments: { city: "Tokyo" } },
      { _tag: "ToolCallStart", id: "call_1", name: "now" },
      { _tag: "ToolCallDelta", id: "call_1", argumentsDelta: "{}" },
      { _tag: "ToolCallEnd", id: "call_1", name: "now", arguments: {} },
      { _tag: "ToolCallStart", id: "call_from_server", name: "noargs" },
      { _tag: "ToolCallDelta", id: "call_from_server", argumentsDelta: "{}" },
      { _tag: "ToolCallEnd", id: "call_from_server", name: "noargs", arguments: {} },
      { _tag: "ToolCallStart", id: "call_3", name: "as_text" },
      { _tag: "ToolCallDelta", id: "call_3", argumentsDelta: "{\"a\":1}" },
      { _tag: "ToolCallEnd", id: "call_3", name: "as_text", arguments: { a: 1 } },
      { _tag: "Finish", reason: "tool_calls", raw: "stop" }
    ])
  })

  it("maps done_reason: absent → stop/null, length, load → other", () => {
    const finish = (fields: Record<string, unknown>) => run([final(fields)]).events.at(-1)
    expect(finish({})).toEqual({ _tag: "Finish", reason: "stop", raw: null })
    expect(finish({ done_reason: "" })).toEqual({ _tag: "Finish", reason: "stop", raw: null })
    expect(finish({ done_reason: "length" })).toEqual({ _tag: "Finish", reason: "length", raw: "length" })
    expect(finish({ done_reason: "load" })).toEqual({ _tag: "Finish", reason: "other", raw: "load" })
    expect(finish({ done_reason: "unload" })).toEqual({ _tag: "Finish", reason: "other", raw: "unload" })
  })

  it("emits no Usage when the final line has no counts, and 0 for a missing one", () => {
    expect(run([final({ done_reason: "load" })]).events.map((e) => e._tag)).toEqual(["Finish"])
    expect(run([final({ eval_count: 4 })]).events[0]).toEqual({ _tag: "Usage", inputTokens: 0, outputTokens: 4 })
  })

  it("ignores what follows the done line in the same chunk", () => {
    const { events, terminal } = run([final() + text("late") + "garbage\n"])
    expect(terminal).toBe(true)
    expect(events).toEqual([{ _tag: "Finish", reason: "stop", raw: null }])
  })

  it("fails with Disconnected when the body ends before done: true", () => {
    expect(failure(() => run([text("a"), text("b")]))._tag).toBe("Disconnected")
    expect(failure(() => run([]))._tag).toBe("Disconnected")
    // a body that ends in the middle of a line
    expect(failure(() => run([text("a") + "{\"message\":{\"content\":\"b"]))._tag).toBe("Disconnected")
  })

  it("fails with ProtocolError on a line that is not JSON", () => {
    const error = failure(() => run([text("a"), "{not json\n", final()]))
    expect(error._tag).toBe("ProtocolError")
    expect(error.message).toContain("not JSON")
    expect(error.message).toContain("{not json")
  })

  it("fails with ProtocolError, in the Schema's words, on a line of the wrong shape", () => {
    const cases: Array<[unknown, string]> = [
      [[1, 2], "not a JSON object"],
      ["just a string", "not a JSON object"],
      [{ message: { content: 5 }, done: false }, "message.content"],
      [{ message: { content: "a", thinking: {} }, done: false }, "message.thinking"],
      [{ message: { content: "", tool_calls: {} }, done: false }, "message.tool_calls"],
      [{ message: { content: "", tool_calls: [{ function: { name: "" } }] }, done: false }, "name"],
      [{ message: { content: "", tool_calls: [{ function: { name: "f", arguments: [1] } }] }, done: false }, "arguments"],
      [{ message: { content: "a" } }, "done"],
      [{ message: { content: "a" }, done: "yes" }, "done"],
      [{ done: true, eval_count: "5" }, "eval_count"],
      [{ done: true, done_reason: 3 }, "done_reason"]
    ]
    for (const [line, mentions] of cases) {
      const error = failure(() => run([JSON.stringify(line) + "\n"]))
      expect(error._tag, JSON.stringify(line)).toBe("ProtocolError")
      expect(error.message, JSON.stringify(line)).toContain(mentions)
      expect(error.message, JSON.stringify(line)).not.toContain("unexpected shape")
    }
  })

  it("fails with ProtocolError on tool-call arguments that are not a JSON object", () => {
    const line = (args: unknown) =>
      JSON.stringify({ message: { content: "", tool_calls: [{ function: { name: "f", arguments: args } }] }, done: false }) + "\n"
    expect(failure(() => run([line("{oops")])).message).toContain("not JSON")
    expect(failure(() => run([line("[1]")])).message).toContain("not a JSON object")
  })

  it("classifies {\"error\": …} lines", () => {
    const errorLine = (error: unknown) => failure(() => run([text("a"), JSON.stringify({ error }) + "\n"]))
    expect(errorLine("server busy, please try again. maximum pending requests exceeded")._tag).toBe("Overloaded")
    expect(errorLine("model is overloaded")._tag).toBe("Overloaded")
    expect(errorLine("too many requests")._tag).toBe("RateLimited")
    const server = errorLine("an error was encountered while running the model: unexpected EOF")
    expect(server).toMatchObject({ _tag: "ServerError", status: 500 })
    expect(server.message).toContain("unexpected EOF")
    expect(errorLine({ message: "nested" }).message).toContain("nested")
  })

  describe("maxLineBytes", () => {
    const max = 1000

    it("accepts a line of exactly the bound", () => {
      const filler = "x".repeat(max - text("").length + 1) // +1: the newline is not part of the line
      const line = text(filler)
      expect(encoder.encode(line).length - 1).toBe(max)
      expect(run([line, final()], max).events[0]).toEqual({ _tag: "TextDelta", text: filler })
    })

    it("fails a line that grows past the bound across chunks, before buffering it all", () => {
      const { instance } = decoder(max)
      const emit = () => {}
      instance.step(encoder.encode(text("a")), emit)
      const piece = encoder.encode("{\"message\":{\"content\":\"" + "x".repeat(400))
      instance.step(piece, emit)
      instance.step(encoder.encode("x".repeat(400)), emit)
      const error = failure(() => instance.step(encoder.encode("x".repeat(400)), emit))
      expect(error._tag).toBe("ProtocolError")
      expect(error.message).toContain("maxLineBytes")
    })

    it("fails a long line completed within one chunk, counting UTF-8 bytes", () => {
      // 400 three-byte characters: 400 UTF-16 units but 1200+ bytes
      const error = failure(() => run([text("a") + text("€".repeat(400)) + final()], max))
      expect(error._tag).toBe("ProtocolError")
      expect(error.message).toContain("maxLineBytes")
      // the same line fits a larger bound
      expect(run([text("a") + text("€".repeat(400)) + final()], 2000).events).toHaveLength(3)
    })

    it("fails a long first line whose head was carried over", () => {
      const long = text("y".repeat(1500))
      const error = failure(() => run([long.slice(0, 900), long.slice(900) + final()], max))
      expect(error.message).toContain("maxLineBytes")
    })

    it("fails a long unfinished tail in a chunk that also ends lines, after emitting those lines", () => {
      const { instance } = decoder(max)
      const events: Array<StreamEvent.StreamEvent> = []
      const chunk = encoder.encode(text("a") + text("b") + "{\"message\":{\"content\":\"" + "z".repeat(1200))
      const error = failure(() => instance.step(chunk, (event) => events.push(event)))
      expect(error.message).toContain("maxLineBytes")
      expect(events).toEqual([{ _tag: "TextDelta", text: "a" }, { _tag: "TextDelta", text: "b" }])
    })
  })

  it("scrubs the key out of error messages built from server text", () => {
    const secret = "sk-SECRET-KEY-1234567890"
    const { instance } = decoder(1000, secret)
    const error = failure(() => instance.step(encoder.encode(JSON.stringify({ error: `bad key Bearer ${secret}` }) + "\n"), () => {}))
    expect(error.message).not.toContain(secret)
    expect(error.message).toContain("<redacted>")
  })
})

describe("ChatChunk schema", () => {
  it("agrees with the decoder's own checks on generated lines", () => {
    const maybe = <A>(arb: fc.Arbitrary<A>) => fc.option(arb, { nil: undefined, freq: 3 })
    const junk = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.string(), fc.array(fc.integer(), { maxLength: 2 }), fc.constant({}))
    const text = fc.oneof({ weight: 4, arbitrary: fc.string() }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: junk })
    const call = fc.oneof(
      { weight: 4, arbitrary: fc.record({
        id: maybe(fc.oneof(fc.string(), fc.constant(null), fc.integer())),
        function: fc.oneof(
          { weight: 5, arbitrary: fc.record({
            name: fc.oneof({ weight: 4, arbitrary: fc.string({ minLength: 1 }) }, { weight: 1, arbitrary: fc.constant("") }, { weight: 1, arbitrary: junk }),
            arguments: maybe(fc.oneof(fc.dictionary(fc.string(), fc.integer(), { maxKeys: 2 }), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }), fc.integer()))
          }, { requiredKeys: ["name"] }) },
          { weight: 1, arbitrary: junk }
        )
      }, { requiredKeys: ["function"] }) },
      { weight: 1, arbitrary: junk }
    )
    const message = fc.oneof(
      { weight: 6, arbitrary: fc.record({ role: maybe(fc.constant("assistant")), content: maybe(text), thinking: maybe(text), tool_calls: maybe(fc.oneof({ weight: 4, arbitrary: fc.array(call, { maxLength: 2 }) }, { weight: 1, arbitrary: junk })) }, { requiredKeys: [] }) },
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: junk }
    )
    const count = fc.oneof({ weight: 4, arbitrary: fc.nat() }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: junk })
    const line = fc.record({
      model: maybe(fc.constant("m")),
      message: maybe(message),
      done: fc.oneof({ weight: 8, arbitrary: fc.boolean() }, { weight: 1, arbitrary: junk }),
      done_reason: maybe(text),
      prompt_eval_count: maybe(count),
      eval_count: maybe(count)
    }, { requiredKeys: [] })
    fc.assert(
      fc.property(line, (value) => {
        let decoderAccepts = true
        try {
          run([JSON.stringify(value) + "\n", final()])
        } catch (error) {
          expect((error as { _tag: string })._tag).toBe("ProtocolError")
          decoderAccepts = false
        }
        expect(decoderAccepts, JSON.stringify(value)).toBe(ChatChunk.explain(value) === undefined)
      }),
      { numRuns: 2000 }
    )
  })

  it("accepts what the decoder accepts", () => {
    const lines = [
      { model: "m", message: { role: "assistant", content: "a", images: null }, done: false },
      { message: { content: "", thinking: "t", tool_calls: [{ function: { name: "f", arguments: { x: 1 } } }] }, done: false },
      { done: true, done_reason: "stop", prompt_eval_count: 1, eval_count: 2, total_duration: 5 },
      { done: true }
    ]
    for (const line of lines) {
      expect(ChatChunk.explain(line)).toBeUndefined()
      expect(() => run([JSON.stringify(line) + "\n", final()])).not.toThrow()
    }
  })
})
