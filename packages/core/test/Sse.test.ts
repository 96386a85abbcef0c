import { LlmError, Sse } from "@streamvisor/core"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"

const encoder = new TextEncoder()

/** Parse `chunks` (strings or bytes) with a fresh parser; every event, in order. */
const parse = (chunks: ReadonlyArray<string | Uint8Array>, options?: Sse.Options): Array<Sse.Event> => {
  const parser = Sse.framing(options)("test")
  const events: Array<Sse.Event> = []
  const push = (event: Sse.Event) => void events.push(event)
  for (const chunk of chunks) parser.write(typeof chunk === "string" ? encoder.encode(chunk) : chunk, push)
  parser.end(push)
  return events
}

const ev = (data: string, event?: string, id?: string): Sse.Event => ({ event, data, id })

describe("Sse", () => {
  it("LF, CRLF and CR line ends, alone and mixed", () => {
    const expected = [ev("{\"a\":1}", "x"), ev("two")]
    expect(parse(["event: x\ndata: {\"a\":1}\n\ndata: two\n\n"])).toEqual(expected)
    expect(parse(["event: x\r\ndata: {\"a\":1}\r\n\r\ndata: two\r\n\r\n"])).toEqual(expected)
    expect(parse(["event: x\rdata: {\"a\":1}\r\rdata: two\r\r"])).toEqual(expected)
    expect(parse(["event: x\r\ndata: {\"a\":1}\n\rdata: two\n\n"])).toEqual(expected)
  })

  it("a CRLF split between chunks is one line end", () => {
    expect(parse(["data: a\r", "\ndata: b\r", "\n\r", "\n"])).toEqual([ev("a\nb")])
  })

  it("drops a leading BOM, comments, unknown fields and one space after the colon", () => {
    const bom = new Uint8Array([0xef, 0xbb, 0xbf])
    expect(parse([bom, ": keepalive\n\nretry: 10\nfoo: bar\ndata:no-space\ndata:  two\nid: 7\n\n"])).toEqual([
      ev("no-space\n two", undefined, "7")
    ])
  })

  it("a comment-only body yields nothing", () => {
    expect(parse([": ping\n\n: ping\n\n"])).toEqual([])
  })

  it("dispatches no event without data, nor an unfinished last event", () => {
    expect(parse(["event: ping\n\ndata: one\n\ndata: cut"])).toEqual([ev("one")])
  })

  it("a multi-byte character split across chunks", () => {
    const bytes = encoder.encode("data: é€😀\n\n")
    expect(parse([bytes.slice(0, 7), bytes.slice(7, 9), bytes.slice(9)])).toEqual([ev("é€😀")])
  })

  it("any split of a body yields the same events", () => {
    const body = "event: a\r\ndata: 1\r\n\r\n: c\ndata: 2\ndata: 3\n\nevent: b\rdata: é\r\r"
    const whole = parse([body])
    const bytes = encoder.encode(body)
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 8 }), (cuts) => {
        const points = [0, ...[...cuts].sort((a, b) => a - b), bytes.length]
        const chunks = points.slice(1).map((end, i) => bytes.slice(points[i], end))
        expect(parse(chunks)).toEqual(whole)
      })
    )
  })

  it("an event past maxEventBytes fails with ProtocolError, in one line or across lines and chunks", () => {
    const fails = (chunks: Array<string>) => {
      try {
        parse(chunks, { maxEventBytes: 64 })
      } catch (error) {
        expect(LlmError.isLlmError(error) && error._tag).toBe("ProtocolError")
        return
      }
      expect.unreachable("no error")
    }
    fails(["data: ", "x".repeat(40), "x".repeat(40)]) // an unfinished line across chunks
    fails([...Array.from({ length: 10 }, () => "data: 0123456789\n")]) // an unfinished event across chunks
    // what is buffered is bounded: an event that arrives whole in one chunk is not buffered
    expect(parse([`data: ${"x".repeat(100)}\n\n`], { maxEventBytes: 64 })).toHaveLength(1)
    // events each under the bound pass, however many
    expect(parse(Array.from({ length: 100 }, () => "data: 0123456789\n\n"), { maxEventBytes: 64 })).toHaveLength(100)
  })

  it("bytes that are not UTF-8 fail with ProtocolError", () => {
    expect(() => parse([new Uint8Array([0x64, 0x61, 0x74, 0x61, 0x3a, 0xff, 0x0a, 0x0a])])).toThrow(/not UTF-8/)
  })

  it("rejects a non-positive bound", () => {
    expect(() => Sse.framing({ maxEventBytes: 0 })).toThrow(RangeError)
  })
})
