/**
 * Properties over random scripts: every SDK sees exactly the scripted deltas; under any
 * terminating fault it sees a prefix, and every response ends exactly once.
 */
import * as fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Arbitraries, FakeLlmServer, LeakCheck, Script } from "../src/index.js"
import { formats, readers } from "./support/Readers.js"

let server: FakeLlmServer.Server
let n = 0

beforeAll(async () => {
  server = await FakeLlmServer.start()
})

afterAll(async () => {
  await server?.close()
})

const normalize = (json: string): string => JSON.stringify(JSON.parse(json.trim() === "" ? "{}" : json))

const expectedOf = (script: Script.Scripted) => {
  const events = script.events ?? []
  return {
    text: events.flatMap((e) => (e.type === "text" ? [e.text] : [])),
    reasoning: events.flatMap((e) => (e.type === "reasoning" ? [e.text] : [])),
    toolCalls: events.flatMap((e) => (e.type === "toolCall" ? [{ name: e.name, arguments: normalize(e.arguments) }] : []))
  }
}

describe.each(formats)("%s", (format) => {
  const read = readers[format]

  it("sees exactly the scripted deltas, for any script", async () => {
    await fc.assert(
      fc.asyncProperty(Arbitraries.script({ maxEvents: 12 }), async (script) => {
        const model = `prop-${++n}`
        server.scriptFor(model, script)
        const seen = await read(server, { model })
        const expected = expectedOf(script)
        expect(seen.error).toBeUndefined()
        expect(seen.text).toEqual(expected.text)
        expect(seen.reasoning).toEqual(expected.reasoning)
        expect(seen.toolCalls.map((c) => ({ name: c.name, arguments: normalize(c.arguments) }))).toEqual(expected.toolCalls)
        if (format !== "openai-responses" && format !== "ollama") {
          const usage = Script.usageOf(script)
          expect(seen.usage).toEqual({ input: usage.inputTokens, output: usage.outputTokens })
        }
      }),
      { numRuns: 20 }
    )
  })

  it("reads any conversation-model script (signed / redacted reasoning, JSON, signed calls, usage detail) intact", async () => {
    await fc.assert(
      fc.asyncProperty(Arbitraries.script({ rich: true, maxEvents: 6 }), async (script) => {
        const model = `prop-rich-${++n}`
        server.scriptFor(model, script)
        const mark = LeakCheck.mark(server)
        const seen = await read(server, { model })
        const events = script.events ?? []
        expect(seen.error).toBeUndefined()
        const text = events.flatMap((e) => (e.type === "text" ? [e.text] : e.type === "json" ? [e.json] : [])).join("")
        expect(seen.text.join("")).toBe(text)
        expect(seen.reasoning.join("")).toBe(expectedOf(script).reasoning.join(""))
        expect(seen.toolCalls.map((c) => ({ name: c.name, arguments: normalize(c.arguments) }))).toEqual(expectedOf(script).toolCalls)
        const delta = await LeakCheck.settled(mark)
        expect(delta.completed).toBe(1)
      }),
      { numRuns: 15 }
    )
  })

  it("under any terminating fault: a prefix, and every response ends exactly once", async () => {
    await fc.assert(
      fc.asyncProperty(Arbitraries.script({ maxEvents: 8, fault: Arbitraries.terminatingFault(10), faultRate: 0.8 }), async (script) => {
        const model = `prop-fault-${++n}`
        server.scriptFor(model, script)
        const mark = LeakCheck.mark(server)
        const seen = await read(server, { model })
        const expected = expectedOf(script)
        expect(expected.text.slice(0, seen.text.length)).toEqual(seen.text)
        const delta = await LeakCheck.settled(mark)
        expect(delta.started).toBe(1)
        const fault = script.fault
        if (fault === undefined) {
          expect(seen.text).toEqual(expected.text)
          expect(delta.completed).toBe(1)
        } else if (fault.type === "disconnect") {
          expect(delta.closedByServer).toBe(1)
        } else {
          expect(delta.completed).toBe(1)
        }
      }),
      { numRuns: 20 }
    )
  })
})
