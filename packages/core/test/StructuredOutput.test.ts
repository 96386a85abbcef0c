import { describe, expect, it } from "@effect/vitest"
import { Capabilities, type ChatRequest, InvalidOutput, Ledger, Provider, StreamEvent, StructuredOutput } from "@streamvisor/core"
import { Script } from "@streamvisor/testkit"
import { Chunk, Effect, Schema, Stream } from "effect"
import { Agent } from "undici"
import { server, useFakeServer } from "./support/FakeServer.js"
import * as NdjsonProvider from "./support/NdjsonProvider.js"

useFakeServer()

const City = Schema.Struct({
  name: Schema.String,
  population: Schema.Number,
  districts: Schema.Array(Schema.String)
}).annotations({ identifier: "City" })

const request = { model: "m", messages: [{ role: "user" as const, content: "The largest city of Norway, as JSON" }] }

/** A provider over the fake server that records the requests it was given. */
const withServer = <A, E>(body: (provider: Provider.Provider, seen: Array<ChatRequest.ChatRequest>) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const agent = new Agent()
    const ledger = Ledger.make()
    const inner = NdjsonProvider.make({ url: server.url, agent: () => agent })
    const seen: Array<ChatRequest.ChatRequest> = []
    const provider = Provider.make({
      name: "json",
      capabilities: Capabilities.make({ features: ["responseFormat.json_schema"] }),
      stream: (r) => {
        seen.push(r)
        return inner.stream(r)
      }
    })
    const result = yield* Effect.either(body(provider, seen).pipe(Effect.provideService(Ledger.Ledger, ledger)))
    yield* Effect.promise(() => agent.close())
    expect(ledger.snapshot().live).toEqual([])
    return result
  })

const oslo = ["{\"name\": \"Os", "lo\", \"population\": 70", "9000, \"districts\": [\"Frogner\", \"Gr", "ünerløkka\"]}"]

describe("generateObject", () => {
  it.effect("asks with the Schema's JSON Schema and returns the decoded value", () =>
    Effect.gen(function*() {
      server.setScript(Script.text(oslo))
      const result = yield* withServer((provider, seen) =>
        Effect.map(StructuredOutput.generateObject(provider, request, City), (city) => ({ city, seen }))
      )
      const { city, seen } = yield* result
      expect(city).toEqual({ name: "Oslo", population: 709000, districts: ["Frogner", "Grünerløkka"] })
      expect(seen[0]!.responseFormat).toEqual({
        type: "json_schema",
        name: "City",
        schema: expect.objectContaining({ type: "object", required: ["name", "population", "districts"] })
      })
    }))

  it.effect("data-last: output that does not match the Schema is InvalidOutput with the text and the Schema's message", () =>
    Effect.gen(function*() {
      server.setScript(Script.text(["{\"name\": \"Oslo\", \"population\": \"many\", \"districts\": []}"]))
      const result = yield* withServer((provider) => StructuredOutput.generateObject(request, City)(provider))
      const error = yield* Effect.flip(result)
      expect(InvalidOutput.isInvalidOutput(error)).toBe(true)
      if (error._tag !== "InvalidOutput") throw error
      expect(error.text).toBe("{\"name\": \"Oslo\", \"population\": \"many\", \"districts\": []}")
      expect(error.message).toContain("population")
      expect(error.message).toContain("Expected number, actual \"many\"")
    }))

  it.effect("text that is not JSON is InvalidOutput, not a defect", () =>
    Effect.gen(function*() {
      server.setScript(Script.text(["Sure! Here is the city: Oslo"]))
      const error = yield* Effect.flip(yield* withServer((provider) => StructuredOutput.generateObject(provider, request, City)))
      expect(error._tag).toBe("InvalidOutput")
      expect(error.message).toContain("not JSON")
    }))
})

describe("streamObject", () => {
  it.effect("emits the object as it grows, then the decoded value", () =>
    Effect.gen(function*() {
      server.setScript({ ...Script.text(oslo), delayMs: 5 })
      const events = yield* yield* withServer((provider) =>
        Stream.runCollect(StructuredOutput.streamObject(provider, request, City)).pipe(Effect.map(Chunk.toReadonlyArray))
      )
      const last = events.at(-1)!
      expect(last).toMatchObject({
        _tag: "Object",
        value: { name: "Oslo", population: 709000, districts: ["Frogner", "Grünerløkka"] },
        finish: { reason: "stop" }
      })
      const partials = events.slice(0, -1).map((e) => (e as StructuredOutput.PartialObject<unknown>).partial)
      expect(partials.length).toBeGreaterThanOrEqual(2)
      expect(partials[0]).toEqual({ name: "Os" })
      expect(partials).toContainEqual({ name: "Oslo", population: 709000, districts: ["Frogner", "Gr"] })
    }))

  it.effect("a mismatch at the end is InvalidOutput after the partials", () =>
    Effect.gen(function*() {
      const provider = Provider.make({
        name: "mem",
        stream: () =>
          Stream.make(
            StreamEvent.textDelta("{\"name\": \"Oslo\", \"popul"),
            StreamEvent.finish("length", "max_tokens")
          )
      })
      const seen: Array<unknown> = []
      const error = yield* Effect.flip(
        Stream.runForEach(StructuredOutput.streamObject(provider, request, City), (e) => Effect.sync(() => seen.push(e)))
      )
      expect(seen).toEqual([{ _tag: "PartialObject", partial: { name: "Oslo" } }])
      expect(error._tag).toBe("InvalidOutput")
      expect(error.message).toContain("token limit")
      expect((error as InvalidOutput.InvalidOutput).text).toBe("{\"name\": \"Oslo\", \"popul")
    }))

  it.effect("a provider that cannot take a response format refuses before connecting", () =>
    Effect.gen(function*() {
      const agent = new Agent()
      const plain = NdjsonProvider.make({ url: server.url, agent: () => agent, capabilities: Capabilities.make({}) })
      const error = yield* Effect.flip(Stream.runDrain(StructuredOutput.streamObject(plain, request, City)))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain("responseFormat \"json_schema\" is not supported by ndjson")
      expect(server.stats().total).toBe(0)
      yield* Effect.promise(() => agent.close())
    }))
})
