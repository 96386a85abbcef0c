/**
 * End to end: the real `@google/generative-ai` SDK over real HTTP to the
 * FakeLlmServer. The scenario matrix of the common brief, the recorded
 * fixtures replayed through the adapter, the request the adapter sends, and
 * keep-alive reuse. After every test the harness checks: server inflight = 0,
 * ledger live = 0, no double release, open sockets = 0 once the agent is
 * closed, no unhandled rejection.
 */
import { describe, expect, it } from "@effect/vitest"
import { type ChatRequest, LlmError, Provider, StreamEvent } from "@streamvisor/core"
import { streamText } from "@streamvisor/core/promise"
import { Ledger } from "@streamvisor/core"
import { Fixtures, Script } from "@streamvisor/testkit"
import { Chunk, ConfigError, ConfigProvider, Deferred, Duration, Effect, Exit, Fiber, Stream } from "effect"
import { Google } from "../src/index.js"
import { harness } from "./support/Harness.js"

const h = harness()

const MODEL = "gemini-test"
const hi: ChatRequest.ChatRequest = { model: MODEL, messages: [{ role: "user", content: "Hi" }] }

/** A slow answer: 100 deltas, 20 ms apart (2 s in all), so anything that reads to the end is visible. */
const slow = () => Script.text(100, { delayMs: 20 })

const withLedger = <A, E>(effect: Effect.Effect<A, E>) => Effect.provideService(effect, Ledger.Ledger, h.ledger)

const collect = (request: ChatRequest.ChatRequest = hi) =>
  h.provider.stream(request).pipe(Stream.runCollect, Effect.map(Chunk.toReadonlyArray), withLedger)

/** Run to the end, keeping what arrived before a failure. */
const collectUntilError = (request: ChatRequest.ChatRequest = hi) =>
  Effect.gen(function*() {
    const seen: Array<StreamEvent.StreamEvent> = []
    const exit = yield* h.provider.stream(request).pipe(
      Stream.runForEach((event) => Effect.sync(() => seen.push(event))),
      withLedger,
      Effect.exit
    )
    return { seen, exit }
  })

const failure = (exit: Exit.Exit<unknown, LlmError.LlmError>): LlmError.LlmError => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (error === undefined) throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return error
}

/** Resolves when the server has seen the client close a response; measures how long that took from `since`. */
const clientClosed = (since: number, timeoutMs = 1000) =>
  Effect.promise(() =>
    h.server.waitFor((s) => s.closedByClient >= 1 && s.inflight === 0, { timeoutMs, message: "client did not close" })
  ).pipe(Effect.map((stats) => ({ stats, ms: performance.now() - since })))

const texts = (events: ReadonlyArray<StreamEvent.StreamEvent>) =>
  events.filter((e): e is StreamEvent.TextDelta => e._tag === "TextDelta").map((e) => e.text)

describe("scenario matrix", () => {
  it.live("full read: every event, Usage, one Finish last; the response completes and the socket goes back to the pool", () =>
    Effect.gen(function*() {
      h.server.setScript(Script.text(["Hel", "lo", " there"], { usage: { inputTokens: 4, outputTokens: 3 } }))
      const events = yield* collect()
      expect(events).toEqual([
        StreamEvent.textDelta("Hel"),
        StreamEvent.textDelta("lo"),
        StreamEvent.textDelta(" there"),
        StreamEvent.usage(4, 3),
        StreamEvent.finish("stop", "STOP")
      ])
      const stats = yield* Effect.promise(() => h.server.waitForIdle())
      expect(stats).toMatchObject({ completed: 1, closedByClient: 0, open: 1 })
      expect(h.ledger.snapshot()).toMatchObject({ outcomes: { completed: 1 }, usage: { inputTokens: 4, outputTokens: 3 } })
    }))

  it.live("reasoning, text and a tool call; STOP after a call is tool_calls", () =>
    Effect.gen(function*() {
      h.server.setScript(
        Script.make([
          Script.reasoningEvent("think"),
          Script.textEvent("ok"),
          Script.toolCallEvent({ name: "weather", arguments: { city: "Paris" } })
        ])
      )
      const events = yield* collect()
      expect(events.slice(0, 5)).toEqual([
        StreamEvent.reasoningDelta("think"),
        StreamEvent.textDelta("ok"),
        StreamEvent.toolCallStart("call_0", "weather"),
        StreamEvent.toolCallDelta("call_0", "{\"city\":\"Paris\"}"),
        StreamEvent.toolCallEnd("call_0", "weather", { city: "Paris" })
      ])
      expect(events.at(-1)).toEqual(StreamEvent.finish("tool_calls", "STOP"))
    }))

  it.live.each([
    ["length", "MAX_TOKENS", "length"],
    ["content_filter", "SAFETY", "content_filter"]
  ] as const)("finish %s arrives as raw %s", ([script, raw, reason]) =>
    Effect.gen(function*() {
      h.server.setScript(Script.text(2, { finishReason: script }))
      const events = yield* collect()
      expect(events.at(-1)).toEqual(StreamEvent.finish(reason, raw))
    }))

  it.live("Stream.take(2): two events, then the socket is closed within 1 s", () =>
    Effect.gen(function*() {
      h.server.setScript(slow())
      const events = yield* h.provider.stream(hi).pipe(Stream.take(2), Stream.runCollect, withLedger)
      const since = performance.now()
      expect(Chunk.toReadonlyArray(events)).toEqual([StreamEvent.textDelta("w0 "), StreamEvent.textDelta("w1 ")])
      const { ms, stats } = yield* clientClosed(since)
      expect(ms).toBeLessThan(1000)
      expect(stats.completed).toBe(0)
      expect(h.ledger.snapshot().outcomes).toMatchObject({ cancelled: 1 })
    }))

  it.live("interrupt mid-stream: released and the server sees the close within 1 s", () =>
    Effect.gen(function*() {
      h.server.setScript(slow())
      const started = yield* Deferred.make<void>()
      const fiber = yield* h.provider.stream(hi).pipe(
        Stream.tap(() => Deferred.succeed(started, undefined)),
        Stream.runDrain,
        withLedger,
        Effect.fork
      )
      yield* Deferred.await(started)
      const since = performance.now()
      yield* Fiber.interrupt(fiber)
      const { ms } = yield* clientClosed(since)
      expect(ms).toBeLessThan(1000)
      expect(h.ledger.snapshot().outcomes).toMatchObject({ cancelled: 1 })
    }))

  it.live("consumer error after 2 events: the consumer's error, and the socket is closed", () =>
    Effect.gen(function*() {
      h.server.setScript(slow())
      let n = 0
      const error = yield* h.provider.stream(hi).pipe(
        Stream.mapEffect((event) => (++n > 2 ? Effect.fail("consumer failed" as const) : Effect.succeed(event))),
        Stream.runDrain,
        withLedger,
        Effect.flip
      )
      const since = performance.now()
      expect(error).toBe("consumer failed")
      expect(n).toBe(3)
      const { ms } = yield* clientClosed(since)
      expect(ms).toBeLessThan(1000)
    }))

  it.live("server disconnect mid-stream → Disconnected after the events that came", () =>
    Effect.gen(function*() {
      h.server.setScript(Script.withFault(Script.text(5), { type: "disconnect", afterEvents: 2 }))
      const { exit, seen } = yield* collectUntilError()
      expect(failure(exit)._tag).toBe("Disconnected")
      expect(texts(seen)).toEqual(["w0 ", "w1 "])
      expect(seen.some(StreamEvent.isFinish)).toBe(false)
      expect(h.ledger.snapshot().outcomes).toMatchObject({ failed: 1 })
    }))

  it.live("a body that ends without a finishReason → Disconnected, never a normal finish", () =>
    Effect.gen(function*() {
      const first = Fixtures.load("google", "text-thought-signature").chunks[0]
      h.server.setScript(Script.replay([first]))
      const { exit, seen } = yield* collectUntilError()
      expect(failure(exit)._tag).toBe("Disconnected")
      expect(texts(seen)).toEqual(["There are **3**"])
    }))

  it.live("the finish chunk ends the stream even if the body then hangs; the tail is drained, then aborted", () =>
    Effect.gen(function*() {
      const { chunks } = Fixtures.load("google", "text-thought-signature")
      h.server.setScript(Fixtures.script("google", "text-thought-signature", { fault: { type: "hang", afterEvents: chunks.length } }))
      const events = yield* collect()
      expect(events.at(-1)).toEqual(StreamEvent.finish("stop", "STOP"))
      expect(h.ledger.snapshot().outcomes).toMatchObject({ completed: 1 })
      // The pump's drain gives the tail 1 s, then aborts: the server sees the close.
      const stats = yield* Effect.promise(() => h.server.waitFor((s) => s.closedByClient === 1, { timeoutMs: 2000 }))
      expect(stats.inflight).toBe(0)
    }))

  it.live.each([
    ["overloaded", "Overloaded"],
    ["server", "ServerError"],
    ["rate_limit", "RateLimited"]
  ] as const)("provider error frame (%s) in a 200 stream → %s", ([kind, tag]) =>
    Effect.gen(function*() {
      h.server.setScript(Script.withFault(Script.text(5), { type: "errorEvent", afterEvents: 2, kind }))
      const { exit, seen } = yield* collectUntilError()
      const error = failure(exit)
      expect(error._tag).toBe(tag)
      expect(error.provider).toBe("google")
      expect(texts(seen)).toEqual(["w0 ", "w1 "])
    }))

  it.live("malformed frame → ProtocolError", () =>
    Effect.gen(function*() {
      h.server.setScript(Script.withFault(Script.text(5), { type: "malformed", afterEvents: 1 }))
      const { exit, seen } = yield* collectUntilError()
      expect(failure(exit)._tag).toBe("ProtocolError")
      expect(texts(seen)).toEqual(["w0 "])
    }))

  it.live.each([
    [400, "InvalidRequest"],
    [401, "Unauthorized"],
    [403, "Unauthorized"],
    [500, "ServerError"],
    [503, "ServerError"],
    [529, "Overloaded"]
  ] as const)("HTTP %i → %s", ([status, tag]) =>
    Effect.gen(function*() {
      h.server.setScript(Script.status(status))
      const { exit, seen } = yield* collectUntilError()
      const error = failure(exit)
      expect(error._tag).toBe(tag)
      expect(error.message).toContain(String(status))
      expect(seen).toEqual([])
    }))

  it.live("HTTP 429 → RateLimited with retryAfter from RetryInfo.retryDelay", () =>
    Effect.gen(function*() {
      h.server.setScript(Script.status(429, { headers: { "retry-after": "2" } }))
      const { exit } = yield* collectUntilError()
      const error = failure(exit) as LlmError.RateLimited
      expect(error._tag).toBe("RateLimited")
      expect(error.retryable).toBe(true)
      expect(Duration.toMillis(error.retryAfter!)).toBe(2000)
    }))

  it.live("HTTP 503 'The model is overloaded' (Gemini's own wording) → Overloaded", () =>
    Effect.gen(function*() {
      h.server.setScript(
        Script.status(503, {
          body: { error: { code: 503, message: "The model is overloaded. Please try again later.", status: "UNAVAILABLE" } }
        })
      )
      const { exit } = yield* collectUntilError()
      expect(failure(exit)._tag).toBe("Overloaded")
    }))

  it.live.each([
    ["hang after one event", { type: "hang", afterEvents: 1 }, 1],
    ["stall (Gemini writes nothing)", { type: "stall", afterEvents: 1 }, 1],
    ["headers then hang", { type: "headersThenHang" }, 0],
    ["hang before headers", { type: "hangBeforeHeaders" }, 0]
  ] as const)("%s, then interrupt: released, server sees the close within 1 s", ([_, fault, before]) =>
    Effect.gen(function*() {
      h.server.setScript(Script.withFault(Script.text(5), fault))
      const seen: Array<StreamEvent.StreamEvent> = []
      const fiber = yield* h.provider.stream(hi).pipe(
        Stream.runForEach((e) => Effect.sync(() => seen.push(e))),
        withLedger,
        Effect.fork
      )
      // Wait for the server to be stuck: the request arrived and the events before the fault were read.
      yield* Effect.promise(() => h.server.waitFor((s) => s.total === 1 && s.inflight === 1))
      while (seen.length < before) yield* Effect.sleep(5)
      const since = performance.now()
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      const { ms } = yield* clientClosed(since)
      expect(ms).toBeLessThan(1000)
      expect(seen.length).toBe(before)
    }))

  it("promise facade, break: the socket is closed within 1 s", async () => {
    h.server.setScript(slow())
    const seen: Array<StreamEvent.StreamEvent> = []
    for await (const event of streamText(h.provider, hi, { ledger: h.ledger })) {
      seen.push(event)
      if (seen.length === 2) break
    }
    const since = performance.now()
    await h.server.waitFor((s) => s.closedByClient === 1 && s.inflight === 0, { timeoutMs: 1000 })
    expect(performance.now() - since).toBeLessThan(1000)
    expect(texts(seen)).toEqual(["w0 ", "w1 "])
  })

  it("promise facade, AbortSignal: next() rejects with the reason, the socket is closed within 1 s", async () => {
    h.server.setScript(slow())
    const controller = new AbortController()
    const reason = new Error("user cancelled")
    const seen: Array<StreamEvent.StreamEvent> = []
    let since = 0
    const error = await (async () => {
      for await (const event of streamText(h.provider, hi, { ledger: h.ledger, signal: controller.signal })) {
        seen.push(event)
        if (seen.length === 2) {
          since = performance.now()
          controller.abort(reason)
        }
      }
    })().then(() => undefined, (e: unknown) => e)
    expect(error).toBe(reason)
    await h.server.waitFor((s) => s.closedByClient === 1 && s.inflight === 0, { timeoutMs: 1000 })
    expect(performance.now() - since).toBeLessThan(1000)
    expect(seen.length).toBe(2)
  })

  it("promise facade, provider error: the iterator throws the LlmError itself", async () => {
    h.server.setScript(Script.status(401))
    const error = await (async () => {
      for await (const _ of streamText(h.provider, hi, { ledger: h.ledger })) {
        // nothing arrives
      }
    })().then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(LlmError.Unauthorized)
  })

  it.live("an invalid ChatRequest fails as InvalidRequest before any connection opens", () =>
    Effect.gen(function*() {
      const error = yield* collect({ model: "", messages: [] }).pipe(Effect.flip)
      expect(error._tag).toBe("InvalidRequest")
      expect(h.server.stats().total).toBe(0)
    }))
})

describe("recorded fixtures replayed through the adapter", () => {
  const names = Fixtures.list().filter((f) => f.format === "google").map((f) => f.name)

  it.live.each(names)("%s", (name) =>
    Effect.gen(function*() {
      const { expected } = Fixtures.load("google", name)
      h.server.setScript(Fixtures.script("google", name))
      const generation: Provider.Generation = yield* withLedger(h.provider.generate(hi))
      expect(generation.text).toBe(expected.text)
      expect(generation.reasoning).toBe(expected.reasoning ?? "")
      expect(generation.toolCalls.map((c) => ({ name: c.name, arguments: c.arguments }))).toEqual(expected.toolCalls)
      expect(generation.usage).toEqual({
        inputTokens: expected.usage.inputTokens ?? 0,
        outputTokens: expected.usage.outputTokens ?? 0
      })
      expect(generation.finish.raw).toBe(expected.finishReason)
    }))
})

describe("the request the adapter sends", () => {
  it.live("carries model, messages (with tool calls and results), system, max tokens, temperature, stop and tools", () =>
    Effect.gen(function*() {
      const request: ChatRequest.ChatRequest = {
        model: "gemini-2.5-flash",
        system: "You are terse.",
        maxTokens: 256,
        temperature: 0.2,
        stop: ["STOP!", "END"],
        messages: [
          { role: "user", content: "Weather in Paris?" },
          { role: "assistant", content: "", toolCalls: [{ id: "call_0", name: "weather", arguments: { city: "Paris" } }] },
          { role: "tool", toolCallId: "call_0", name: "weather", content: "{\"tempC\":21}" },
          { role: "assistant", content: "21°C." },
          { role: "user", content: "And tomorrow?" }
        ],
        tools: [{
          name: "weather",
          description: "Current weather for a city",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
        }]
      }
      yield* withLedger(h.provider.generate(request))
      expect(h.server.requests).toHaveLength(1)
      const sent = h.server.requests[0]
      expect(sent.method).toBe("POST")
      expect(sent.path).toBe("/v1beta/models/gemini-2.5-flash:streamGenerateContent")
      expect(sent.model).toBe("gemini-2.5-flash")
      expect(sent.query).toEqual({ alt: "sse" })
      expect(sent.headers["x-goog-api-key"]).toBe("<redacted>")
      expect(sent.body).toEqual({
        contents: [
          { role: "user", parts: [{ text: "Weather in Paris?" }] },
          { role: "model", parts: [{ functionCall: { name: "weather", args: { city: "Paris" } } }] },
          { role: "user", parts: [{ functionResponse: { name: "weather", response: { tempC: 21 } } }] },
          { role: "model", parts: [{ text: "21°C." }] },
          { role: "user", parts: [{ text: "And tomorrow?" }] }
        ],
        systemInstruction: { role: "system", parts: [{ text: "You are terse." }] },
        generationConfig: { maxOutputTokens: 256, temperature: 0.2, stopSequences: ["STOP!", "END"] },
        safetySettings: [],
        tools: [{
          functionDeclarations: [{
            name: "weather",
            description: "Current weather for a city",
            parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
          }]
        }]
      })
    }))

  it.live("apiVersion and a ready-made client are honoured", () =>
    Effect.gen(function*() {
      const { GoogleGenerativeAI } = yield* Effect.promise(() => import("@google/generative-ai"))
      const provider = Google.make({
        client: new GoogleGenerativeAI("another-key-0987654321"),
        baseURL: `${h.server.baseUrls.gemini}/`,
        apiVersion: "v1beta"
      })
      const generation = yield* withLedger(provider.generate(hi))
      expect(generation.finish).toEqual(StreamEvent.finish("stop", "STOP"))
      expect(h.server.requests[0].path).toBe(`/v1beta/models/${MODEL}:streamGenerateContent`)
    }))
})

describe("keep-alive", () => {
  it.live("100 sequential full reads through one client reuse connections", () =>
    Effect.gen(function*() {
      h.server.setScript(Script.text(5))
      for (let i = 0; i < 100; i++) {
        const generation = yield* withLedger(h.provider.generate(hi))
        expect(generation.text).toBe("w0 w1 w2 w3 w4 ")
      }
      const stats = yield* Effect.promise(() => h.server.waitForIdle())
      expect(stats.total).toBe(100)
      expect(stats.completed).toBe(100)
      expect(stats.closedByClient).toBe(0)
      console.log(`keep-alive: 100 sequential streams used ${h.connects} connection(s)`)
      expect(h.connects).toBeLessThanOrEqual(2)
      expect(h.ledger.snapshot().outcomes).toMatchObject({ completed: 100 })
    }))
})

describe("layers", () => {
  it.live("layer provides an LlmProvider named google", () =>
    Effect.gen(function*() {
      h.server.setScript(Script.text(["ok"]))
      const provider = yield* Provider.LlmProvider
      expect(provider.name).toBe("google")
      const generation = yield* withLedger(provider.generate(hi))
      expect(generation.text).toBe("ok")
    }).pipe(Effect.provide(Google.layer({ apiKey: "layer-key-123456", baseURL: h.server.baseUrls.gemini }))))

  it.live("layerConfig reads GEMINI_API_KEY through Config, and sends it", () =>
    Effect.gen(function*() {
      h.server.setScript(Script.text(["ok"]))
      const provider = yield* Provider.LlmProvider.pipe(
        Effect.provide(Google.layerConfig({ baseURL: h.server.baseUrls.gemini })),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["GEMINI_API_KEY", "config-key-123456"]])))
      )
      const generation = yield* withLedger(provider.generate(hi))
      expect(generation.text).toBe("ok")
      expect(h.server.requests[0].headers["x-goog-api-key"]).toBe("<redacted>")
    }))

  it.live("layerConfig without GEMINI_API_KEY fails with a ConfigError", () =>
    Effect.gen(function*() {
      const error = yield* Provider.LlmProvider.pipe(
        Effect.provide(Google.layerConfig()),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map())),
        Effect.flip
      )
      expect(ConfigError.isConfigError(error)).toBe(true)
    }))
})
