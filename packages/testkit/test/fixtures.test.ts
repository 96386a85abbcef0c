/**
 * Protocol fidelity: every recorded fixture, replayed byte for byte, is read by the official SDK
 * (fetch for Ollama) into exactly the expected text.
 */
import * as fs from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { FakeLlmServer, Fixtures } from "../src/index.js"
import { readers, type Seen } from "./utils.js"

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
