/**
 * Throughput of the adapter against a raw `fetch` + line-split loop over the
 * same FakeLlmServer stream (20,000 deltas, ~2.3 MB of NDJSON), and the
 * per-line cost of the line-validation choices. The server runs in a child
 * process so its CPU time is not billed to the client.
 *
 * Opt-in, as it takes a while and wants a quiet machine:
 *   OLLAMA_BENCH=1 npx vitest run packages/ollama/test/Throughput.bench.test.ts
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { acquire, Ledger } from "@streamvisor/core"
import { streamText } from "@streamvisor/core/promise"
import { Script } from "@streamvisor/testkit"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Ollama } from "../src/index.js"
import * as Body from "../src/internal/Body.js"
import * as ChatChunk from "../src/internal/ChatChunk.js"
import * as Decoder from "../src/internal/Decoder.js"

const DELTAS = 20_000
const ROUNDS = Number(process.env.OLLAMA_BENCH_ROUNDS ?? 21)
const enabled = process.env.OLLAMA_BENCH === "1"

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

const request = { model: "bench", messages: [{ role: "user" as const, content: "go" }] }
const body = JSON.stringify({ ...request, stream: true })
const identity = (text: string) => text
const decoderFactory = Decoder.make({ maxLineBytes: Decoder.DEFAULT_MAX_LINE_BYTES, scrub: identity })

describe.skipIf(!enabled)("throughput (20,000 deltas)", () => {
  let child: ChildProcess
  let host: string

  beforeAll(async () => {
    const file = path.join(os.tmpdir(), `streamvisor-ollama-bench-${process.pid}.json`)
    fs.writeFileSync(file, JSON.stringify(Script.text(DELTAS)))
    const bin = new URL("../../testkit/src/bin.ts", import.meta.url).pathname
    child = spawn(process.execPath, ["--import", "tsx", bin, "--script", file], { stdio: ["ignore", "pipe", "inherit"] })
    host = await new Promise<string>((resolve, reject) => {
      let out = ""
      child.once("exit", (code) => reject(new Error(`fake server exited (${code})`)))
      child.stdout!.on("data", (data) => {
        out += data
        const match = /listening on (\S+)/.exec(out)
        if (match) resolve(match[1])
      })
    })
  })
  afterAll(() => {
    child.kill("SIGTERM")
  })

  /**
   * The floor: fetch, split lines (carry only the unfinished tail), JSON.parse,
   * read `message.content`. No checks, no events.
   */
  const raw = async (): Promise<number> => {
    const response = await fetch(`${host}/api/chat`, { method: "POST", headers: { "content-type": "application/json" }, body })
    const decoder = new TextDecoder()
    let carry = ""
    let chars = 0
    for await (const bytes of response.body!) {
      const text = decoder.decode(bytes, { stream: true })
      let end = text.indexOf("\n")
      if (end === -1) {
        carry += text
        continue
      }
      let line = carry + text.slice(0, end)
      let start = 0
      for (;;) {
        const content = JSON.parse(line).message?.content
        if (content) chars += content.length
        start = end + 1
        end = text.indexOf("\n", start)
        if (end === -1) break
        line = text.slice(start, end)
      }
      carry = text.slice(start)
    }
    return chars
  }

  const context = {
    provider: "ollama",
    model: "bench",
    signal: new AbortController().signal,
    recordUsage: () => {}
  }

  /** Raw fetch, this adapter's decoder. */
  const fetchDecoder = async (): Promise<number> => {
    const response = await fetch(`${host}/api/chat`, { method: "POST", headers: { "content-type": "application/json" }, body })
    const decoder = decoderFactory(context)
    let chars = 0
    const emit = (event: { _tag: string; text?: string }) => {
      if (event._tag === "TextDelta") chars += event.text!.length
    }
    for await (const bytes of response.body!) if (decoder.step(bytes, emit)) break
    decoder.end(emit)
    return chars
  }

  const client = Effect.runSync(Effect.provide(HttpClient.HttpClient, FetchHttpClient.layer))
  const httpRequest = () => HttpClientRequest.post(`${host}/api/chat`).pipe(HttpClientRequest.bodyUnsafeJson({ ...request, stream: true }))

  const countText = <E>(events: Stream.Stream<{ _tag: string; text?: string }, E>) => {
    let chars = 0
    return Effect.runPromise(
      Stream.runForEachChunk(events, (chunk) =>
        Effect.sync(() => {
          for (const event of chunk) if (event._tag === "TextDelta") chars += event.text!.length
        })).pipe(Effect.provideService(Ledger.Ledger, Ledger.make()), Effect.map(() => chars))
    )
  }

  /** `acquire` over raw fetch, this adapter's decoder. */
  const acquireFetch = () =>
    countText(
      acquire({
        provider: "ollama",
        model: "bench",
        open: async (signal) =>
          (await fetch(`${host}/api/chat`, { method: "POST", headers: { "content-type": "application/json" }, body, signal }))
            .body!,
        decoder: decoderFactory
      })
    )

  /** `acquire` over the HttpClient body: the adapter without `Provider.make`'s validation and span. */
  const acquireHttpClient = () =>
    countText(
      acquire({
        provider: "ollama",
        model: "bench",
        open: (signal) => Body.open(client, httpRequest(), signal, identity),
        decoder: decoderFactory
      })
    )

  it("adapter vs raw fetch", async () => {
    const ollama = Ollama.make({ host })
    const variants: Record<string, () => Promise<number>> = {
      "raw fetch + split + JSON.parse": raw,
      "fetch + adapter decoder": fetchDecoder,
      "acquire(fetch) + decoder": acquireFetch,
      "acquire(HttpClient) + decoder": acquireHttpClient,
      "Ollama provider (Effect, chunks)": () => countText(ollama.stream(request)),
      "Ollama provider (streamText facade)": async () => {
        let chars = 0
        for await (const event of streamText(ollama, request, { ledger: Ledger.make() })) {
          if (event._tag === "TextDelta") chars += event.text.length
        }
        return chars
      }
    }
    const names = Object.keys(variants)
    const wall: Record<string, Array<number>> = Object.fromEntries(names.map((name) => [name, []]))
    const cpu: Record<string, Array<number>> = Object.fromEntries(names.map((name) => [name, []]))
    const expected = await raw()
    expect(expected).toBeGreaterThan(DELTAS)
    for (const name of names) for (let i = 0; i < 3; i++) expect(await variants[name]()).toBe(expected)
    for (let round = 0; round < ROUNDS; round++) {
      // rotate the order so no variant always runs first
      for (let j = 0; j < names.length; j++) {
        const name = names[(round + j) % names.length]
        const cpuStart = process.cpuUsage()
        const start = performance.now()
        await variants[name]()
        wall[name].push(performance.now() - start)
        const used = process.cpuUsage(cpuStart)
        cpu[name].push((used.user + used.system) / 1000)
      }
    }
    // Wall time is what the budget speaks of; this process's CPU time (the
    // server runs in another) is steadier on a busy machine.
    const rows = names.map((name) => ({
      variant: name,
      wallMs: +median(wall[name]).toFixed(2),
      wallRatio: +(median(wall[name]) / median(wall[names[0]])).toFixed(3),
      cpuMs: +median(cpu[name]).toFixed(2),
      cpuRatio: +(median(cpu[name]) / median(cpu[names[0]])).toFixed(3)
    }))
    console.table(rows)
  }, 300_000)

  it("per-line validation cost", () => {
    const lines: Array<string> = []
    for (let i = 0; i < DELTAS; i++) {
      lines.push(
        `{"model":"bench","created_at":"2025-01-01T00:00:00.000Z","message":{"role":"assistant","content":"w${i} "},"done":false}`
      )
    }
    const parsed = lines.map((line) => JSON.parse(line))
    const is = Schema.is(ChatChunk.ChatChunk)
    const decode = Schema.decodeUnknownEither(ChatChunk.ChatChunk)
    const bytes = new TextEncoder().encode(lines.join("\n") + "\n")
    const slices: Array<Uint8Array> = []
    for (let i = 0; i < bytes.length; i += 65536) slices.push(bytes.subarray(i, i + 65536))
    const measure = (f: () => void): string => {
      const xs: Array<number> = []
      for (let r = 0; r < 21; r++) {
        const start = performance.now()
        f()
        xs.push(performance.now() - start)
      }
      return `${((median(xs) * 1e6) / DELTAS).toFixed(0)} ns/line`
    }
    let sink = 0
    const emit = () => {
      sink++
    }
    console.table({
      "JSON.parse": measure(() => {
        for (const line of lines) sink += JSON.parse(line).done ? 1 : 0
      }),
      "plain property checks (what the decoder does)": measure(() => {
        for (const value of parsed) {
          const message = value.message
          if (typeof message === "object" && message !== null && typeof message.content === "string" && value.done === false) {
            sink++
          }
        }
      }),
      "Schema.is(ChatChunk)": measure(() => {
        for (const value of parsed) sink += is(value) ? 1 : 0
      }),
      "Schema.decodeUnknownEither(ChatChunk), pre-built": measure(() => {
        for (const value of parsed) sink += decode(value)._tag === "Right" ? 1 : 0
      }),
      "raw loop: split + JSON.parse, 64 KiB chunks": measure(() => {
        const utf8 = new TextDecoder()
        let carry = ""
        for (const slice of slices) {
          const text = utf8.decode(slice, { stream: true })
          let end = text.indexOf("\n")
          if (end === -1) {
            carry += text
            continue
          }
          let line = carry + text.slice(0, end)
          let start = 0
          for (;;) {
            if (JSON.parse(line).message?.content) sink++
            start = end + 1
            end = text.indexOf("\n", start)
            if (end === -1) break
            line = text.slice(start, end)
          }
          carry = text.slice(start)
        }
      }),
      "decoder.step: split + JSON.parse + checks + events, 64 KiB chunks": measure(() => {
        const decoder = decoderFactory(context)
        for (const slice of slices) decoder.step(slice, emit)
      })
    })
    expect(sink).toBeGreaterThan(0)
  })
})
