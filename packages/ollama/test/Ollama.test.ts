/**
 * End to end against FakeLlmServer's `POST /api/chat` NDJSON: the scenario
 * matrix, HTTP errors, line faults and releases. After every scenario the
 * server has nothing in flight, the ledger nothing live, no stream was
 * released twice, and once the client's pool is closed no socket is open.
 */
import { Ledger, type LlmError, Provider, type StreamEvent } from "@streamvisor/core"
import { streamText } from "@streamvisor/core/promise"
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { afterAll, describe, expect, it } from "vitest"
import { Ollama } from "../src/index.js"
import { bounded, harness, type Harness, latch, run, server, settle, unhandled, useFakeServer, user } from "./support/Harness.js"

let h: Harness

useFakeServer()
afterAll(() => {
  expect(unhandled).toEqual([])
})

const request = { model: "llama3.2", messages: user() }

const collect = (stream: Stream.Stream<StreamEvent.StreamEvent, LlmError.LlmError>) =>
  run(h, Stream.runCollect(stream).pipe(Effect.map(Chunk.toArray)))

const failureOf = <A>(exit: Exit.Exit<A, LlmError.LlmError>): LlmError.LlmError => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) throw new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  return failure.value
}

/** A slow script: `n` deltas, one every `delayMs`. */
const slow = (n = 100, delayMs = 50) => Script.text(n, { delayMs })

describe("full read", () => {
  it("text deltas, usage, one Finish last", async () => {
    h = harness(server)
    server.setScript(Script.text(["Hello", ", ", "world"], { usage: { inputTokens: 12, outputTokens: 3 } }))
    const exit = await collect(h.provider.stream(request))
    expect(exit).toEqual(
      Exit.succeed([
        { _tag: "TextDelta", text: "Hello" },
        { _tag: "TextDelta", text: ", " },
        { _tag: "TextDelta", text: "world" },
        { _tag: "Usage", inputTokens: 12, outputTokens: 3 },
        { _tag: "Finish", reason: "stop", raw: "stop" }
      ])
    )
    expect(h.ledger.snapshot().outcomes.completed).toBe(1)
    expect(h.ledger.snapshot().usage).toEqual({ inputTokens: 12, outputTokens: 3 })
    await settle(server, h)
  })

  it("reasoning, text and a tool call", async () => {
    h = harness(server)
    server.setScript(
      Script.make([
        { type: "reasoning", text: "Let me think. " },
        { type: "reasoning", text: "Weather." },
        { type: "text", text: "Checking" },
        Script.toolCallEvent({ name: "get_weather", arguments: { city: "Paris", days: 2 } })
      ])
    )
    const exit = await run(h, h.provider.generate(request))
    expect(Exit.isSuccess(exit)).toBe(true)
    const generation = Exit.isSuccess(exit) ? exit.value : undefined
    expect(generation).toMatchObject({
      text: "Checking",
      reasoning: "Let me think. Weather.",
      toolCalls: [{ id: expect.stringMatching(/^call_0_[a-z0-9]{6}$/), name: "get_weather", arguments: { city: "Paris", days: 2 } }],
      finish: { reason: "tool_calls", raw: "stop" }
    })
    await settle(server, h)
  })

  it("length finish", async () => {
    h = harness(server)
    server.setScript(Script.text(["cut"], { finishReason: "length" }))
    const exit = await collect(h.provider.stream(request))
    expect(Exit.isSuccess(exit) && exit.value.at(-1)).toEqual({ _tag: "Finish", reason: "length", raw: "length" })
    await settle(server, h)
  })
})

describe("consumer stops early", () => {
  it("Stream.take(2) cuts the response", async () => {
    h = harness(server)
    server.setScript(slow())
    const exit = await collect(h.provider.stream(request).pipe(Stream.take(2)))
    expect(exit).toEqual(Exit.succeed([{ _tag: "TextDelta", text: "w0 " }, { _tag: "TextDelta", text: "w1 " }]))
    expect(h.ledger.snapshot().outcomes.cancelled).toBe(1)
    await settle(server, h)
    expect(server.stats().closedByClient).toBe(1)
  })

  it("interrupt mid-stream", async () => {
    h = harness(server)
    server.setScript(slow())
    const seen: Array<StreamEvent.StreamEvent> = []
    const two = latch()
    const fiber = Effect.runFork(
      Stream.runForEach(h.provider.stream(request), (event) =>
        Effect.sync(() => {
          seen.push(event)
          if (seen.length === 2) two.open()
        })).pipe(Effect.provideService(Ledger.Ledger, h.ledger))
    )
    await bounded(two.promise, 5000, "two events")
    const exit = await Effect.runPromise(Fiber.interrupt(fiber))
    expect(Exit.isInterrupted(exit)).toBe(true)
    await settle(server, h, 1000)
    expect(seen.slice(0, 2).map((e) => e._tag)).toEqual(["TextDelta", "TextDelta"])
    expect(server.stats().closedByClient).toBe(1)
  })

  it("consumer error after 2 events", async () => {
    h = harness(server)
    server.setScript(slow())
    let count = 0
    const exit = await run(
      h,
      Stream.runDrain(
        h.provider.stream(request).pipe(
          Stream.mapEffect((event) => (++count > 2 ? Effect.fail("consumer gave up" as const) : Effect.succeed(event)))
        )
      )
    )
    expect(exit).toEqual(Exit.fail("consumer gave up"))
    await settle(server, h)
    expect(server.stats().closedByClient).toBe(1)
  })

  it("promise facade: break", async () => {
    h = harness(server)
    server.setScript(slow())
    const seen: Array<string> = []
    for await (const event of streamText(h.provider, request, { ledger: h.ledger })) {
      seen.push(event._tag)
      if (seen.length === 2) break
    }
    expect(seen).toEqual(["TextDelta", "TextDelta"])
    await settle(server, h)
    expect(server.stats().closedByClient).toBe(1)
  })

  it("promise facade: AbortSignal", async () => {
    h = harness(server)
    server.setScript(slow())
    const controller = new AbortController()
    const seen: Array<string> = []
    const reason = new Error("user aborted")
    await expect(
      (async () => {
        for await (const event of streamText(h.provider, request, { ledger: h.ledger, signal: controller.signal })) {
          seen.push(event._tag)
          if (seen.length === 2) controller.abort(reason)
        }
      })()
    ).rejects.toBe(reason)
    expect(seen).toEqual(["TextDelta", "TextDelta"])
    await settle(server, h)
  })
})

describe("server faults", () => {
  it("disconnect mid-stream → Disconnected after the prefix", async () => {
    h = harness(server)
    server.setScript(Script.withFault(Script.text(10), { type: "disconnect", afterEvents: 3 }))
    const seen: Array<StreamEvent.StreamEvent> = []
    const exit = await run(h, Stream.runForEach(h.provider.stream(request), (e) => Effect.sync(() => seen.push(e))))
    expect(failureOf(exit)._tag).toBe("Disconnected")
    expect(seen).toEqual(["w0 ", "w1 ", "w2 "].map((text) => ({ _tag: "TextDelta", text })))
    await settle(server, h)
  })

  it("body ends without done: true → Disconnected", async () => {
    h = harness(server)
    const line = (content: string) => JSON.stringify({ model: "m", message: { role: "assistant", content }, done: false })
    server.setScript(Script.replay([line("a"), line("b")]))
    const exit = await collect(h.provider.stream(request))
    const error = failureOf(exit)
    expect(error._tag).toBe("Disconnected")
    expect(error.message).toContain("done")
    await settle(server, h)
  })

  it.each([
    ["overloaded", "Overloaded"],
    ["server", "ServerError"],
    ["rate_limit", "RateLimited"]
  ] as const)("{\"error\"} line (%s) → %s, after the prefix", async (kind, tag) => {
    h = harness(server)
    server.setScript(Script.withFault(Script.text(10), { type: "errorEvent", afterEvents: 2, kind }))
    const seen: Array<StreamEvent.StreamEvent> = []
    const exit = await run(h, Stream.runForEach(h.provider.stream(request), (e) => Effect.sync(() => seen.push(e))))
    const error = failureOf(exit)
    expect(error._tag).toBe(tag)
    if (error._tag === "ServerError") expect(error.status).toBe(500)
    expect(seen).toHaveLength(2)
    await settle(server, h)
  })

  it("malformed line → ProtocolError", async () => {
    h = harness(server)
    server.setScript(Script.withFault(Script.text(10), { type: "malformed", afterEvents: 2 }))
    const exit = await collect(h.provider.stream(request))
    const error = failureOf(exit)
    expect(error._tag).toBe("ProtocolError")
    expect(error.message).toContain("not JSON")
    await settle(server, h)
  })

  it("a line over maxLineBytes → ProtocolError, and the connection is released", async () => {
    h = harness(server, { maxLineBytes: 4096 })
    const huge = JSON.stringify({ model: "m", message: { role: "assistant", content: "x".repeat(200_000) }, done: false })
    server.setScript(Script.replay([JSON.stringify({ message: { content: "ok" }, done: false }), huge], { delayMs: 0 }))
    const seen: Array<StreamEvent.StreamEvent> = []
    const exit = await run(h, Stream.runForEach(h.provider.stream(request), (e) => Effect.sync(() => seen.push(e))))
    const error = failureOf(exit)
    expect(error._tag).toBe("ProtocolError")
    expect(error.message).toContain("maxLineBytes")
    expect(seen).toEqual([{ _tag: "TextDelta", text: "ok" }])
    await settle(server, h)
  })
})

describe("HTTP errors", () => {
  const statusError = async (script: Script.Script, options?: Omit<Ollama.Options, "httpClient">) => {
    h = harness(server, options)
    server.setScript(script)
    const error = failureOf(await collect(h.provider.stream(request)))
    await settle(server, h)
    return error
  }

  it("401 → Unauthorized", async () => {
    const error = await statusError(Script.status(401))
    expect(error).toMatchObject({ _tag: "Unauthorized", status: 401, retryable: false })
    expect(error.message).toContain("HTTP 401")
  })

  it("429 with retry-after seconds → RateLimited with retryAfter", async () => {
    const error = await statusError(Script.status(429, { headers: { "retry-after": "7" } }))
    expect(error._tag).toBe("RateLimited")
    expect(error._tag === "RateLimited" && error.retryAfter && Duration.toMillis(error.retryAfter)).toBe(7000)
  })

  it("429 with retry-after as an HTTP date, and retry-after-ms", async () => {
    const date = new Date(Date.now() + 30_000).toUTCString()
    const byDate = await statusError(Script.status(429, { headers: { "retry-after": date } }))
    const millis = byDate._tag === "RateLimited" && byDate.retryAfter ? Duration.toMillis(byDate.retryAfter) : -1
    expect(millis).toBeGreaterThan(25_000)
    expect(millis).toBeLessThanOrEqual(30_000)
    const byMs = await statusError(Script.status(429, { headers: { "retry-after-ms": "1500", "retry-after": "9" } }))
    expect(byMs._tag === "RateLimited" && byMs.retryAfter && Duration.toMillis(byMs.retryAfter)).toBe(1500)
  })

  it("500 → ServerError; 529 → Overloaded; 503 \"server busy\" → Overloaded", async () => {
    expect(await statusError(Script.status(500))).toMatchObject({ _tag: "ServerError", status: 500, retryable: true })
    expect((await statusError(Script.status(529)))._tag).toBe("Overloaded")
    const busy = await statusError(
      Script.status(503, { body: { error: "server busy, please try again.  maximum pending requests exceeded" } })
    )
    expect(busy._tag).toBe("Overloaded")
    expect(busy.message).toContain("server busy")
  })

  it("404 model not found → InvalidRequest with Ollama's message", async () => {
    const error = await statusError(Script.status(404, { body: { error: "model \"nope\" not found, try pulling it first" } }))
    expect(error).toMatchObject({ _tag: "InvalidRequest", status: 404 })
    expect(error.message).toContain("not found, try pulling it first")
  })

  it("a non-JSON error body is kept as text", async () => {
    const error = await statusError(Script.status(502, { body: "<html>Bad Gateway</html>" }))
    expect(error).toMatchObject({ _tag: "ServerError", status: 502 })
    expect(error.message).toContain("Bad Gateway")
  })

  it("connection refused → Disconnected", async () => {
    const closed = await FakeLlmServer.start()
    const host = closed.baseUrls.ollama
    await closed.close()
    h = harness(server)
    const provider = Ollama.make({ host, httpClient: h.httpClient })
    const error = failureOf(await collect(provider.stream(request)))
    expect(error._tag).toBe("Disconnected")
    expect(error.message).toContain("ECONNREFUSED")
    await settle(server, h)
  })
})

describe("hangs", () => {
  const hangThenInterrupt = async (fault: Script.Fault, afterEvents: number) => {
    h = harness(server)
    server.setScript(Script.withFault(Script.text(10), fault))
    const seen: Array<StreamEvent.StreamEvent> = []
    const enough = latch()
    if (afterEvents === 0) enough.open()
    const fiber = Effect.runFork(
      Stream.runForEach(h.provider.stream(request), (event) =>
        Effect.sync(() => {
          seen.push(event)
          if (seen.length === afterEvents) enough.open()
        })).pipe(Effect.provideService(Ledger.Ledger, h.ledger))
    )
    await bounded(enough.promise, 5000, "events before the hang")
    await server.waitFor((s) => s.inflight === 1, { timeoutMs: 2000 })
    // the ledger shows the stream live while it is open…
    expect(h.ledger.snapshot().live).toMatchObject([{ provider: "ollama", model: "llama3.2" }])
    const start = performance.now()
    await Effect.runPromise(Fiber.interrupt(fiber))
    await server.waitFor((s) => s.inflight === 0, { timeoutMs: 1000, message: "release seen by the server" })
    const elapsed = performance.now() - start
    expect(elapsed).toBeLessThan(1000)
    expect(seen).toHaveLength(afterEvents)
    // …and released, once, after
    expect(h.ledger.snapshot()).toMatchObject({ live: [], opened: 1, released: 1, outcomes: { cancelled: 1 } })
    await settle(server, h)
    expect(server.stats().closedByClient).toBe(1)
  }

  it("hang mid-body, then interrupt: released within 1 s", () => hangThenInterrupt({ type: "hang", afterEvents: 2 }, 2))
  it("stall (Ollama writes nothing), then interrupt", () => hangThenInterrupt({ type: "stall", afterEvents: 3 }, 3))
  it("headers then nothing, then interrupt", () => hangThenInterrupt({ type: "headersThenHang" }, 0))
  it("no headers at all, then interrupt", () => hangThenInterrupt({ type: "hangBeforeHeaders" }, 0))
})

describe("config", () => {
  it("layerConfig reads OLLAMA_HOST and OLLAMA_API_KEY", async () => {
    h = harness(server)
    const config = ConfigProvider.fromMap(new Map([["OLLAMA_HOST", server.baseUrls.ollama.replace("http://", "")], ["OLLAMA_API_KEY", "k-1"]]))
    const program = Effect.flatMap(Provider.LlmProvider, (provider) => provider.generate(request)).pipe(
      Effect.provide(Ollama.layerConfig({ httpClient: h.httpClient }).pipe(Layer.provide(Layer.setConfigProvider(config))))
    )
    const exit = await run(h, program)
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(server.requests.at(-1)?.headers.authorization).toBe("<redacted>")
    await settle(server, h)
  })

  it("host forms: host:port, a trailing slash, a path prefix", async () => {
    h = harness(server)
    const url = new URL(server.baseUrls.ollama)
    for (const host of [url.host, `${server.baseUrls.ollama}/`, `  ${server.baseUrls.ollama}  `]) {
      const exit = await run(h, Ollama.make({ host, httpClient: h.httpClient }).generate(request))
      expect(Exit.isSuccess(exit), host).toBe(true)
    }
    await run(h, Ollama.make({ host: `${server.baseUrls.ollama}/prefix/`, httpClient: h.httpClient }).generate(request))
    expect(server.requests.at(-1)?.path).toBe("/prefix/api/chat")
    await settle(server, h)
  })

  it("an unusable host → InvalidRequest before any connection", async () => {
    h = harness(server)
    const exit = await collect(Ollama.make({ host: "http://[bad", httpClient: h.httpClient }).stream(request))
    expect(failureOf(exit)._tag).toBe("InvalidRequest")
    expect(server.stats().total).toBe(0)
    await settle(server, h)
  })
})
