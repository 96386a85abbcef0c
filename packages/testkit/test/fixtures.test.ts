/**
 * Protocol fidelity: every recorded fixture, replayed byte for byte, is read by the official SDK
 * (fetch for Ollama) into exactly the expected text.
 */
import * as fs from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import OpenAI from "openai"
import { FakeLlmServer, Fixtures, Script } from "../src/index.js"
import { readAnthropic, readers, readOpenAIChat, type Seen } from "./support/Readers.js"

let server: FakeLlmServer.Server

beforeAll(async () => {
  server = await FakeLlmServer.start()
})

afterAll(async () => {
  await server?.close()
})

const parsedCalls = (seen: Seen) =>
  seen.toolCalls.map((call) => ({ name: call.name, arguments: call.arguments.trim() === "" ? {} : JSON.parse(call.arguments) }))

describe("Fixtures", () => {
  it("lists every recorded fixture", () => {
    const all = Fixtures.list()
    expect(all.length).toBe(27)
    for (const format of Fixtures.formats) expect(all.some((f) => f.format === format)).toBe(true)
  })

  it("loads chunks byte for byte", () => {
    const fixture = Fixtures.load("anthropic", "max-tokens-cache-read-padded")
    const file = fs.readFileSync(new URL("anthropic/max-tokens-cache-read-padded.chunks.jsonl", Fixtures.directory), "utf8")
    expect(fixture.chunks.join("\n") + "\n").toBe(file)
    expect(fixture.chunks[2]).toBe(`{"type": "ping"}`)
    expect(fixture.expected.finishReason).toBe("max_tokens")
  })

  it("fails loudly on an unknown fixture", () => {
    expect(() => Fixtures.load("anthropic", "nope")).toThrow(/unknown fixture anthropic\/nope \(available: /)
    expect(() => Fixtures.parseId("nope")).toThrow(/invalid fixture id/)
    expect(Fixtures.parseId("gemini/tool-call")).toEqual({ format: "google", name: "tool-call" })
  })
})

describe("replayed fixtures read by the real SDKs", () => {
  for (const { format, name } of Fixtures.list()) {
    it(`${format}/${name}`, async () => {
      const fixture = Fixtures.load(format, name)
      const wire = Fixtures.wireFormat(format)
      const model = `replay-${format}-${name}`
      server.scriptFor(model, Fixtures.script(format, name))
      const seen = await readers[wire](server, { model })
      const { expected } = fixture

      if (format === "openai-responses" && name === "error-insufficient-quota") {
        // this recording nests the error under `error`, which the SDK throws as an APIError
        expect((seen.error as Error)?.constructor.name).toBe("APIError")
      } else {
        expect(seen.error).toBeUndefined()
      }
      expect(seen.text.join("")).toBe(expected.text)

      if (format === "anthropic" || format === "openai-responses" || format === "google" || format === "ollama") {
        expect(seen.reasoning.length === 0 ? null : seen.reasoning.join("")).toBe(expected.reasoning)
      }
      if (format !== "google" || name !== "vertex-partial-args-multi-call") {
        expect(parsedCalls(seen)).toEqual(expected.toolCalls)
      }
      if (!(format === "openai-responses" && name === "error-insufficient-quota")) {
        expect(seen.finish).toBe(expected.finishReason)
      }
      const last = server.requests[server.requests.length - 1]
      expect(last.model).toBe(model)
      expect(last.format).toBe(wire)
    })
  }

  it("leaves nothing in flight", async () => {
    await server.waitForIdle()
    expect(server.stats().closedByServer).toBe(0)
  })
})

describe("replay framing", () => {
  const paths = {
    anthropic: "/v1/messages",
    "openai-chat": "/v1/chat/completions",
    "openai-responses": "/v1/responses",
    gemini: "/v1beta/models/MODEL:streamGenerateContent",
    ollama: "/api/chat"
  } as const

  const framed = (format: Fixtures.Format, chunks: ReadonlyArray<string>): string => {
    switch (format) {
      case "anthropic":
      case "openai-responses":
        return chunks.map((c) => `event: ${JSON.parse(c).type}\ndata: ${c}\n\n`).join("")
      case "openai-chat":
        return chunks.map((c) => `data: ${c}\n\n`).join("") + "data: [DONE]\n\n"
      case "google":
        return chunks.map((c) => `data: ${c}\r\n\r\n`).join("")
      case "ollama":
        return chunks.map((c) => `${c}\n`).join("")
    }
  }

  for (const { format, name } of Fixtures.list()) {
    it(`${format}/${name} is written byte for byte`, async () => {
      const model = `bytes-${format}-${name}`
      server.scriptFor(model, Fixtures.script(format, name))
      const path = paths[Fixtures.wireFormat(format)].replace("MODEL", model)
      const response = await fetch(`${server.url}${path}?alt=sse`, { method: "POST", body: JSON.stringify({ model, stream: true }) })
      const bytes = Buffer.from(await response.arrayBuffer())
      expect(bytes.equals(Buffer.from(framed(format, Fixtures.load(format, name).chunks), "utf8"))).toBe(true)
    })
  }
})

describe("replay with faults (afterEvents counts chunks)", () => {
  it("disconnect mid-replay", async () => {
    const { chunks } = Fixtures.load("anthropic", "text")
    const cut = 6
    const deltasBefore = chunks.slice(0, cut).filter((c) => c.includes("text_delta")).length
    server.scriptFor("replay-cut", Fixtures.script("anthropic", "text", { fault: { type: "disconnect", afterEvents: cut } }))
    const seen = await readAnthropic(server, { model: "replay-cut" })
    expect(seen.text).toHaveLength(deltasBefore)
    expect(String((seen.error as Error).message)).toMatch(/terminated/)
  })

  it("provider error event mid-replay", async () => {
    server.scriptFor(
      "replay-error",
      Fixtures.script("openai-chat", "text-usage", { fault: { type: "errorEvent", afterEvents: 5, kind: "server" } })
    )
    const seen = await readOpenAIChat(server, { model: "replay-error" })
    expect(seen.error).toBeInstanceOf(OpenAI.APIError)
    expect(seen.text.length).toBeGreaterThan(0)
  })

  it("responses error event continues the sequence numbers", async () => {
    server.scriptFor(
      "replay-responses-error",
      Fixtures.script("openai-responses", "text", { fault: { type: "errorEvent", afterEvents: 4 } })
    )
    const response = await fetch(`${server.url}/v1/responses`, {
      method: "POST",
      body: JSON.stringify({ model: "replay-responses-error", stream: true })
    })
    const text = await response.text()
    expect(text).toMatch(/event: error\ndata: \{"type":"error","sequence_number":4,/)
    expect(text).toMatch(/event: response\.failed\ndata: \{"type":"response\.failed","sequence_number":5,/)
  })

  it("replays with delays", async () => {
    server.scriptFor("replay-slow", Fixtures.script("anthropic", "message-delta-input-tokens", { delayMs: 2 }))
    const seen = await readAnthropic(server, { model: "replay-slow" })
    expect(seen.text.join("")).toBe(Fixtures.load("anthropic", "message-delta-input-tokens").expected.text)
    expect(Script.isReplay(Fixtures.script("anthropic", "text"))).toBe(true)
  })
})
