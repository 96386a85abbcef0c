/**
 * The JS twin of the original Google bug (a Go service whose Gemini streaming
 * loop never closed its stream): with `@google/generative-ai` alone, leaving
 * the loop early does not close the connection (the SDK keeps reading the body
 * for its aggregated `response`), and aborting raises an unhandled rejection.
 * Through the adapter, every way of leaving — break, throw, abort, stop
 * pulling — closes the socket promptly (the server observes the close within
 * 1 s) and raises no unhandled rejection. The harness also checks, after each
 * test, inflight = 0, ledger live = 0, no double release and open = 0.
 */
import { GoogleGenerativeAI } from "@google/generative-ai"
import { describe, expect, it } from "@effect/vitest"
import { type ChatRequest, Ledger, type StreamEvent } from "@streamvisor/core"
import { streamText } from "@streamvisor/core/promise"
import { Script } from "@streamvisor/testkit"
import { Chunk, Effect, Exit, Option, Scope, Stream } from "effect"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { flushRejections, harness, KEY, unhandled } from "./support/Harness.js"

const h = harness()

const hi: ChatRequest.ChatRequest = { model: "gemini-test", messages: [{ role: "user", content: "Hi" }] }

/** 100 deltas, 20 ms apart: reading to the end takes 2 s, far beyond the 1 s bound. */
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
  it("control: the raw SDK does NOT close the socket on break, and its `response` rejects once aborted", async () => {
    h.server.setScript(slow())
    const controller = new AbortController()
    const model = new GoogleGenerativeAI(KEY).getGenerativeModel({ model: "gemini-test" }, { baseUrl: h.server.baseUrls.gemini })
    const result = await model.generateContentStream("Hi", { signal: controller.signal })
    let n = 0
    for await (const _ of result.stream) {
      if (++n === 2) break
    }
    // The SDK keeps reading for `response`: after `break` the response is still in flight.
    await expect(h.server.waitFor((s) => s.closedByClient >= 1, { timeoutMs: 500 })).rejects.toThrow()
    expect(h.server.stats()).toMatchObject({ inflight: 1, closedByClient: 0 })
    // Only an abort closes it, and then `response` rejects (handled here; unhandled it would crash Node 20).
    const since = performance.now()
    controller.abort()
    await expect(result.response).rejects.toThrow()
    expect(await closedWithin1s(since)).toBeLessThan(1000)
  })

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
