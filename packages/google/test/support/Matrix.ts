/**
 * The end-to-end suites both Gemini adapters run (`Google` over
 * `@google/generative-ai`, `GoogleGenAI` over `@google/genai`), against the
 * same FakeLlmServer wire: the scenario matrix of the common brief, the
 * recorded fixtures replayed through the adapter, and the release matrix
 * (break / throw / abort / stop pulling each close the socket within 1 s,
 * with no unhandled rejection). Each test file installs its own harness and
 * calls these with it; the harness checks the invariants after every test.
 */
import { describe, expect, it } from "@effect/vitest"
import { type ChatRequest, Ledger, LlmError, Provider, StreamEvent } from "@streamvisor/core"
import { streamText } from "@streamvisor/core/promise"
import { Fixtures, Script } from "@streamvisor/testkit"
import { Chunk, Deferred, Duration, Effect, Exit, Fiber, Option, Scope, Stream } from "effect"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { flushRejections, type Harness, unhandled } from "./Harness.js"

/**
 * The scenario matrix and the recorded fixtures, for the adapter `h` makes.
 */
export const scenarioMatrix = (h: Harness): void => {
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
        // a call Gemini names no id for gets `call_<n>_<tag>`, the tag random per stream
        const id = (events[3] as StreamEvent.ToolCallStart).id
        expect(id).toMatch(/^call_0_[a-z0-9]{6}$/)
        expect(events.slice(0, 6)).toEqual([
          StreamEvent.reasoningDelta("think"),
          StreamEvent.reasoningEnd("google"),
          StreamEvent.textDelta("ok"),
          StreamEvent.toolCallStart(id, "weather"),
          StreamEvent.toolCallDelta(id, "{\"city\":\"Paris\"}"),
          StreamEvent.toolCallEnd(id, "weather", { city: "Paris" })
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
        // outputTokens adds the thoughts Gemini counts apart; reasoningTokens is that part.
        const reasoningTokens = generation.usage?.reasoningTokens ?? 0
        expect(generation.usage).toMatchObject({
          inputTokens: expected.usage.inputTokens ?? 0,
          outputTokens: (expected.usage.outputTokens ?? 0) + reasoningTokens
        })
        expect(generation.finish.raw).toBe(expected.finishReason)
      }))
  })
}

/**
 * The release matrix (the JS twin of the original Google bug), for the adapter `h` makes.
 */
export const releaseMatrix = (h: Harness): void => {
  const hi: ChatRequest.ChatRequest = { model: "gemini-test", messages: [{ role: "user", content: "Hi" }] }
  const slow = () => Script.text(100, { delayMs: 20 })

  /** Resolves with how long after `since` the server saw the client close the response; fails after 1 s. */
  const closedWithin1s = async (since: number): Promise<number> => {
    await h.server.waitFor((s) => s.closedByClient === 1 && s.inflight === 0, {
      timeoutMs: 1000,
      message: "the server did not see the connection close within 1 s"
    })
    return performance.now() - since
  }


  describe("Gemini release: break / throw / abort / stop pulling each close the socket within 1 s, with no unhandled rejection (JS twin of the Google bug)", () => {
    it("break out of the loop", async () => {
      h.server.setScript(slow())
      let n = 0
      for await (const _ of streamText(h.provider, hi, { ledger: h.ledger })) {
        if (++n === 2) break
      }
      expect(await closedWithin1s(performance.now())).toBeLessThan(1000)
      await flushRejections()
      expect(unhandled).toEqual([])
      expect(h.ledger.snapshot().outcomes).toMatchObject({ cancelled: 1 })
    })

    it("throw inside the loop", async () => {
      h.server.setScript(slow())
      let n = 0
      let since = 0
      const run = async () => {
        for await (const _ of streamText(h.provider, hi, { ledger: h.ledger })) {
          if (++n === 2) {
            since = performance.now()
            throw new Error("consumer blew up")
          }
        }
      }
      await expect(run()).rejects.toThrow("consumer blew up")
      expect(await closedWithin1s(since)).toBeLessThan(1000)
      await flushRejections()
      expect(unhandled).toEqual([])
    })

    it("abort through an AbortSignal", async () => {
      h.server.setScript(slow())
      const controller = new AbortController()
      let n = 0
      let since = 0
      const run = async () => {
        for await (const _ of streamText(h.provider, hi, { ledger: h.ledger, signal: controller.signal })) {
          if (++n === 2) {
            since = performance.now()
            controller.abort()
          }
        }
      }
      await expect(run()).rejects.toMatchObject({ name: "AbortError" })
      expect(await closedWithin1s(since)).toBeLessThan(1000)
      await flushRejections()
      expect(unhandled).toEqual([])
    })

    it.live("stop pulling (Effect): the consumer stops asking and its scope closes", () =>
      Effect.gen(function*() {
        h.server.setScript(slow())
        const scope = yield* Scope.make()
        const pull = yield* Stream.toPull(h.provider.stream(hi)).pipe(
          Scope.extend(scope),
          Effect.provideService(Ledger.Ledger, h.ledger)
        )
        const first = yield* pull
        expect(Chunk.size(first)).toBeGreaterThan(0)
        // The consumer stops pulling here; the connection stays until its scope is closed.
        expect(h.server.stats().inflight).toBe(1)
        const since = performance.now()
        yield* Scope.close(scope, Exit.void)
        const ms = yield* Effect.promise(() => closedWithin1s(since))
        expect(ms).toBeLessThan(1000)
      }))

    it("stop pulling (promise facade): the dropped iterator is released when it is garbage-collected", async () => {
      v8.setFlagsFromString("--expose-gc")
      const gc = vm.runInNewContext("gc") as () => void
      h.server.setScript(slow())
      const start = async () => {
        const iterator = streamText(h.provider, hi, { ledger: h.ledger })
        const first = await iterator.next()
        return (first.value as StreamEvent.StreamEvent)._tag
      }
      expect(await start()).toBe("TextDelta")
      // Nothing references the iterator any more. The ledger shows it live until the backstop runs.
      expect(h.ledger.snapshot().live).toHaveLength(1)
      const since = performance.now()
      let closed = false
      while (!closed && performance.now() - since < 1000) {
        gc()
        await new Promise<void>((resolve) => setTimeout(resolve, 10))
        closed = h.server.stats().closedByClient === 1
      }
      expect(await closedWithin1s(since)).toBeLessThan(1000)
    })

    it.live("interrupting a pull that waits on a silent server", () =>
      Effect.gen(function*() {
        h.server.setScript(Script.withFault(Script.text(3), { type: "hang", afterEvents: 1 }))
        const scope = yield* Scope.make()
        const pull = yield* Stream.toPull(h.provider.stream(hi)).pipe(
          Scope.extend(scope),
          Effect.provideService(Ledger.Ledger, h.ledger)
        )
        yield* pull
        // The next pull waits forever on the hung body; a timeout interrupts it.
        const next = yield* pull.pipe(Effect.timeoutOption(50))
        expect(Option.isNone(next)).toBe(true)
        const since = performance.now()
        yield* Scope.close(scope, Exit.void)
        expect(yield* Effect.promise(() => closedWithin1s(since))).toBeLessThan(1000)
      }))
  })
}
