/**
 * The SSE parser choice (issue #14 §1), measured: streamvisor's `Sse` parser
 * against `eventsource-parser` 4.1.3 on the bodies the bench server sends
 * (captured once as the network chunks `fetch` delivers), each parsing every
 * chunk synchronously, interleaved, no forced GC; timed by the clock (the
 * parse is synchronous, so that is its CPU time).
 */
import { Sse } from "@streamvisor/core"
import { createParser } from "eventsource-parser"
import { stats, type Stats } from "./Cpu.js"
import type { WireFormat } from "./libraries/index.js"
import type { Urls } from "./ServerClient.js"

const captureBody = async (format: WireFormat, urls: Urls): Promise<Array<Uint8Array>> => {
  const target = format === "anthropic"
    ? { url: `${urls.anthropic}/v1/messages`, body: { model: "bench", max_tokens: 10, stream: true, messages: [] } }
    : format === "openai-chat"
    ? { url: `${urls.openai}/chat/completions`, body: { model: "bench", stream: true, messages: [] } }
    : format === "openai-responses"
    ? { url: `${urls.openai}/responses`, body: { model: "bench", stream: true, input: "Hi" } }
    : { url: `${urls.gemini}/v1beta/models/bench:streamGenerateContent?alt=sse`, body: { contents: [] } }
  const response = await fetch(target.url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": "sk-bench", authorization: "Bearer sk-bench", "x-goog-api-key": "sk-bench" },
    body: JSON.stringify(target.body)
  })
  const chunks: Array<Uint8Array> = []
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk)
  return chunks
}

const parsers = {
  "streamvisor Sse (eventsource-parser + UTF-8 check + bound)": (chunks: ReadonlyArray<Uint8Array>): number => {
    let n = 0
    const parser = Sse.framing()("bench")
    const onItem = (event: Sse.Event) => {
      n += event.data.length > 0 ? 1 : 0
    }
    for (const chunk of chunks) parser.write(chunk, onItem)
    parser.end(onItem)
    return n
  },
  "eventsource-parser 4.1.3": (chunks: ReadonlyArray<Uint8Array>): number => {
    let n = 0
    const parser = createParser({
      onEvent: (event) => {
        n += event.data.length > 0 ? 1 : 0
      }
    })
    // it takes strings: the decode is part of its cost, as it is of ours
    const text = new TextDecoder()
    for (const chunk of chunks) parser.feed(text.decode(chunk, { stream: true }))
    return n
  }
} as const

export interface ParserRow {
  readonly format: WireFormat
  readonly parser: string
  readonly events: number
  readonly cpu: Stats
}

export const run = async (
  formats: ReadonlyArray<WireFormat>,
  rounds: number,
  server: { setScript(script: { deltas: number }): Promise<void>; urls: Urls },
  deltas: number
): Promise<Array<ParserRow>> => {
  const rows: Array<ParserRow> = []
  for (const format of formats) {
    if (format === "ollama") continue
    await server.setScript({ deltas })
    const chunks = await captureBody(format, server.urls)
    const samples = new Map<string, Array<number>>()
    const events = new Map<string, number>()
    const names = Object.keys(parsers) as Array<keyof typeof parsers>
    for (let round = 0; round < rounds + 2; round++) {
      for (const name of round % 2 === 0 ? names : [...names].reverse()) {
        // Synchronous work on this thread only: wall time is its CPU time, at
        // a resolution the scheduler's counters (ticks of 4 ms) do not have.
        const start = performance.now()
        events.set(name, parsers[name](chunks))
        const cpu = performance.now() - start
        if (round >= 2) samples.set(name, [...(samples.get(name) ?? []), cpu])
      }
    }
    for (const name of names) rows.push({ format, parser: name, events: events.get(name)!, cpu: stats(samples.get(name)!) })
  }
  return rows
}

export const report = (rows: ReadonlyArray<ParserRow>): string =>
  [
    "\n### SSE parser: time to parse one captured body, synchronous (ms)\n",
    "| wire format | parser | events | median | min | IQR |",
    "|---|---|---|---|---|---|",
    ...rows.map((r) =>
      `| ${r.format} | ${r.parser} | ${r.events} | ${r.cpu.median.toFixed(2)} | ${r.cpu.min.toFixed(2)} | ${r.cpu.q1.toFixed(2)}–${r.cpu.q3.toFixed(2)} |`
    )
  ].join("\n")
