/**
 * The scenario matrix, for both wire formats (Chat Completions and Responses),
 * end to end: the real `openai` SDK against FakeLlmServer over loopback HTTP.
 * After every scenario: inflight 0, open 0 once the pool is closed, ledger
 * live 0, no double release; and no unhandled rejection in the whole file.
 */
import { Ledger } from "@streamvisor/core"
import type { LlmError, StreamEvent } from "@streamvisor/core"
import { streamText } from "@streamvisor/core/promise"
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Api, Harness } from "./support/Server.js"
import { bounded, harness, latch, run, settle, unhandled } from "./support/Server.js"

let server: FakeLlmServer.Server
let n = 0

beforeAll(async () => {
  server = await FakeLlmServer.start()
})

afterAll(async () => {
  await server?.close()
  expect(unhandled).toEqual([])
})

/** A model name routed to `script` (one per test). */
const route = (script: Script.Script): string => {
  const model = `model-${++n}`
  server.scriptFor(model, script)
  return model
}

const request = (model: string) => ({ model, messages: [{ role: "user" as const, content: "Hi" }] })

const failure = <A>(exit: Exit.Exit<A, unknown>): unknown => {
  if (Exit.isSuccess(exit)) return undefined
  return Option.getOrUndefined(Cause.failureOption(exit.cause))
}

/** Collect events until the stream ends or fails; returns the events and the failure. */
const collect = async (h: Harness, model: string) => {
  const events: Array<StreamEvent.StreamEvent> = []
  const exit = await run(
    h,
    h.provider.stream(request(model)).pipe(
      Stream.runForEach((event) => Effect.sync(() => events.push(event)))
    )
  )
  return { events, error: failure(exit) as LlmError.LlmError | undefined }
}

const texts = (events: ReadonlyArray<StreamEvent.StreamEvent>) =>
  events.filter((e): e is StreamEvent.TextDelta => e._tag === "TextDelta").map((e) => e.text)

/** A slow stream: if a release did not cut it, the server would still be writing for 4 s. */
const slow = () => Script.text(200, { delayMs: 20 })

describe.each<Api>(["chat", "responses"])("%s API", (api) => {
  const raw = api === "chat" ? { stop: "stop", length: "length" } : { stop: "completed", length: "incomplete" }

  it("full read: text deltas, usage, one Finish last", async () => {
    const h = harness(server, api)
    const model = route(Script.text(["Hel", "lo", " 🎉"], { usage: { inputTokens: 7, outputTokens: 3 } }))
    const { error, events } = await collect(h, model)
    expect(error).toBeUndefined()
    expect(events).toEqual([
      { _tag: "TextDelta", text: "Hel" },
      { _tag: "TextDelta", text: "lo" },
      { _tag: "TextDelta", text: " 🎉" },
      // Responses always reports the detail (0 here); the fake's chat usage chunk has none unless scripted
      api === "chat"
        ? { _tag: "Usage", inputTokens: 7, outputTokens: 3 }
        : { _tag: "Usage", inputTokens: 7, outputTokens: 3, cachedInputTokens: 0, reasoningTokens: 0 },
      { _tag: "Finish", reason: "stop", raw: raw.stop }
    ])
    expect(h.ledger.snapshot()).toMatchObject({ outcomes: { completed: 1 }, usage: { inputTokens: 7, outputTokens: 3 } })
    await settle(server, h)
  })

  it("full read: reasoning, text and a tool call", async () => {
    const h = harness(server, api)
    const model = route(
      Script.make([
        Script.reasoningEvent("Let me "),
        Script.reasoningEvent("think."),
        Script.textEvent("Checking."),
        Script.toolCallEvent({ id: "call_1", name: "get_weather", arguments: "{\"city\":\"Paris\"}", chunks: 3 })
      ])
    )
    const { error, events } = await collect(h, model)
    expect(error).toBeUndefined()
    expect(events.filter((e) => e._tag === "ReasoningDelta").map((e) => (e as StreamEvent.ReasoningDelta).text)).toEqual([
      "Let me ",
      "think."
    ])
    expect(texts(events)).toEqual(["Checking."])
    expect(events.filter((e) => e._tag === "ToolCallStart")).toEqual([{ _tag: "ToolCallStart", id: "call_1", name: "get_weather" }])
    expect(
      events.filter((e) => e._tag === "ToolCallDelta").map((e) => (e as StreamEvent.ToolCallDelta).argumentsDelta).join("")
    ).toBe("{\"city\":\"Paris\"}")
    expect(events.filter((e) => e._tag === "ToolCallEnd")).toEqual([
      { _tag: "ToolCallEnd", id: "call_1", name: "get_weather", arguments: { city: "Paris" } }
    ])
    expect(events.at(-1)).toEqual({ _tag: "Finish", reason: "tool_calls", raw: api === "chat" ? "tool_calls" : "completed" })
    await settle(server, h)
  })

  it("length finish", async () => {
    const h = harness(server, api)
    const { error, events } = await collect(h, route(Script.text(["a"], { finishReason: "length" })))
    expect(error).toBeUndefined()
    expect(events.at(-1)).toEqual({ _tag: "Finish", reason: "length", raw: raw.length })
    await settle(server, h)
  })

  it("Stream.take(2) cuts the response", async () => {
    const h = harness(server, api)
    const before = server.stats()
    const exit = await run(h, h.provider.stream(request(route(slow()))).pipe(Stream.take(2), Stream.runCollect))
    expect(Exit.isSuccess(exit)).toBe(true)
    if (Exit.isSuccess(exit)) expect(texts([...exit.value])).toEqual(["w0 ", "w1 "])
    await settle(server, h, 1000)
    const after = server.stats()
    expect(after.closedByClient - before.closedByClient).toBe(1)
    expect(after.completed - before.completed).toBe(0)
    expect(h.ledger.snapshot().outcomes.cancelled).toBe(1)
  })

  it("interrupt mid-stream", async () => {
    const h = harness(server, api)
    const two = latch()
    let seen = 0
    const fiber = Effect.runFork(
      h.provider.stream(request(route(slow()))).pipe(
        Stream.tap(() => Effect.sync(() => ++seen === 2 && two.open())),
        Stream.runDrain,
        Effect.provideService(Ledger.Ledger, h.ledger)
      )
    )
    await bounded(two.promise, 2000, "two events")
    const exit = await Effect.runPromise(Fiber.interrupt(fiber))
    expect(Exit.isInterrupted(exit)).toBe(true)
    await settle(server, h, 1000)
    expect(h.ledger.snapshot().outcomes.cancelled).toBe(1)
  })

  it("consumer error after 2 events", async () => {
    const h = harness(server, api)
    let count = 0
    const exit = await run(
      h,
      h.provider.stream(request(route(slow()))).pipe(
        Stream.mapEffect((event) => (++count > 2 ? Effect.fail("consumer gave up" as const) : Effect.succeed(event))),
        Stream.runDrain
      )
    )
    expect(failure(exit)).toBe("consumer gave up")
    await settle(server, h, 1000)
  })

  it("promise facade: break", async () => {
    const h = harness(server, api)
    const got: Array<StreamEvent.StreamEvent> = []
    for await (const event of streamText(h.provider, request(route(slow())), { ledger: h.ledger })) {
      got.push(event)
      if (got.length === 2) break
    }
    expect(texts(got)).toEqual(["w0 ", "w1 "])
    await settle(server, h, 1000)
  })

  it("promise facade: AbortSignal", async () => {
    const h = harness(server, api)
    const controller = new AbortController()
    const reason = new Error("user aborted")
    const got: Array<StreamEvent.StreamEvent> = []
    const loop = (async () => {
      for await (const event of streamText(h.provider, request(route(slow())), { ledger: h.ledger, signal: controller.signal })) {
        got.push(event)
        if (got.length === 2) controller.abort(reason)
      }
    })()
    await expect(bounded(loop, 2000, "abort")).rejects.toBe(reason)
    expect(got.length).toBeGreaterThanOrEqual(2)
    await settle(server, h, 1000)
  })

  it("server disconnect mid-stream → Disconnected, after a prefix", async () => {
    const h = harness(server, api)
    const { error, events } = await collect(h, route(Script.text(5, { fault: { type: "disconnect", afterEvents: 2 } })))
    expect(error?._tag).toBe("Disconnected")
    expect(texts(events)).toEqual(["w0 ", "w1 "])
    expect(events.some((e) => e._tag === "Finish")).toBe(false)
    await settle(server, h)
  })

  it.each([
    ["server", "ServerError"],
    ["overloaded", "Overloaded"],
    ["rate_limit", "RateLimited"]
  ] as const)("provider error event (%s) → %s", async (kind, tag) => {
    const h = harness(server, api)
    const { error, events } = await collect(h, route(Script.text(4, { fault: { type: "errorEvent", afterEvents: 2, kind } })))
    expect(error?._tag).toBe(tag)
    expect(texts(events)).toEqual(["w0 ", "w1 "])
    await settle(server, h)
  })

  it("malformed frame → ProtocolError", async () => {
    const h = harness(server, api)
    const { error, events } = await collect(h, route(Script.text(4, { fault: { type: "malformed", afterEvents: 2 } })))
    expect(error?._tag).toBe("ProtocolError")
    expect(texts(events)).toEqual(["w0 ", "w1 "])
    await settle(server, h)
  })

  it("HTTP 401 → Unauthorized", async () => {
    const h = harness(server, api)
    const { error, events } = await collect(h, route(Script.status(401)))
    expect(error?._tag).toBe("Unauthorized")
    expect(events).toEqual([])
    await settle(server, h)
  })

  it("HTTP 429 with retry-after → RateLimited with retryAfter", async () => {
    const h = harness(server, api)
    const seconds = await collect(h, route(Script.status(429, { headers: { "retry-after": "3" } })))
    expect(seconds.error?._tag).toBe("RateLimited")
    const a = seconds.error as LlmError.RateLimited
    expect(a.retryAfter && Duration.toMillis(a.retryAfter)).toBe(3000)
    const ms = await collect(h, route(Script.status(429, { headers: { "retry-after-ms": "250", "retry-after": "9" } })))
    expect(ms.error && Duration.toMillis((ms.error as LlmError.RateLimited).retryAfter!)).toBe(250)
    const none = await collect(h, route(Script.status(429)))
    expect((none.error as LlmError.RateLimited).retryAfter).toBeUndefined()
    await settle(server, h)
  })

  it("HTTP 500 → ServerError; 529 → Overloaded; 400 → InvalidRequest", async () => {
    const h = harness(server, api)
    const e500 = await collect(h, route(Script.status(500)))
    expect(e500.error?._tag).toBe("ServerError")
    expect((e500.error as LlmError.ServerError).status).toBe(500)
    const e529 = await collect(h, route(Script.status(529)))
    expect(e529.error?._tag).toBe("Overloaded")
    const e400 = await collect(h, route(Script.status(400)))
    expect(e400.error?._tag).toBe("InvalidRequest")
    expect(h.ledger.snapshot().outcomes.failed).toBe(3)
    await settle(server, h)
  })

  it("hang then interrupt: the server sees the release within 1 s", async () => {
    const h = harness(server, api)
    const two = latch()
    let seen = 0
    const closed = new Promise<number>((resolve) => {
      const off = server.onResponseClosed((info) => {
        off()
        resolve(info.closedAt)
      })
    })
    const fiber = Effect.runFork(
      h.provider.stream(request(route(Script.text(5, { fault: { type: "hang", afterEvents: 2 } })))).pipe(
        Stream.tap(() => Effect.sync(() => ++seen === 2 && two.open())),
        Stream.runDrain,
        Effect.provideService(Ledger.Ledger, h.ledger)
      )
    )
    await bounded(two.promise, 2000, "two events")
    const started = performance.now()
    await Effect.runPromise(Fiber.interrupt(fiber))
    const closedAt = await bounded(closed, 1000, "server saw the close")
    expect(closedAt - started).toBeLessThan(1000)
    await settle(server, h, 1000)
  })

  it.each(["hangBeforeHeaders", "headersThenHang"] as const)("%s then interrupt: released within 1 s", async (type) => {
    const h = harness(server, api)
    const model = route({ fault: { type } })
    const fiber = Effect.runFork(
      h.provider.stream(request(model)).pipe(Stream.runDrain, Effect.provideService(Ledger.Ledger, h.ledger))
    )
    await server.waitFor((s) => s.inflight === 1, { timeoutMs: 2000 })
    if (type === "headersThenHang") {
      // the SDK has the 200 headers and waits in the body
      await bounded(
        new Promise<void>((resolve) => {
          const check = () => (server.inflightResponses()[0]?.bytesWritten ?? 0) > 0 ? resolve() : setImmediate(check)
          check()
        }),
        2000,
        "headers written"
      )
    }
    const exit = await bounded(Effect.runPromise(Fiber.interrupt(fiber)), 1000, "interrupt")
    expect(Exit.isInterrupted(exit)).toBe(true)
    await settle(server, h, 1000)
    expect(h.ledger.snapshot().outcomes.cancelled).toBe(1)
  })
})
