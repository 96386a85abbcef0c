/**
 * The promise facade: `break`, `return()`, `AbortSignal` and a dropped
 * iterator all release the connection; failures are the `LlmError` itself.
 */
import { describe, expect, it } from "vitest"
import { acquire, Ledger, Provider, StreamEvent } from "@streamvisor/core"
import { streamText } from "@streamvisor/core/promise"
import { Script } from "@streamvisor/testkit"
import { Agent, fetch as undiciFetch } from "undici"
import * as LlmError from "../src/LlmError.js"
import { server, unhandled, useFakeServer } from "./support/FakeServer.js"

let agent: Agent

useFakeServer()

/** A tiny provider over a raw fetch of the NDJSON route: each network chunk becomes one TextDelta. */
const rawProvider = Provider.make({
  name: "raw",
  stream: (request) =>
    acquire<Uint8Array, StreamEvent.StreamEvent>({
      provider: "raw",
      model: request.model,
      open: async (signal) => {
        const response = await undiciFetch(`${server.url}/api/chat`, {
          method: "POST",
          body: JSON.stringify({ model: request.model, messages: request.messages, stream: true }),
          headers: { "content-type": "application/json" },
          signal,
          dispatcher: agent
        })
        if (response.status === 429) {
          throw new LlmError.RateLimited({ provider: "raw" })
        }
        return response.body as AsyncIterable<Uint8Array>
      },
      decoder: () => {
        const decoder = new TextDecoder()
        return {
          step: (bytes, emit) => emit(StreamEvent.textDelta(decoder.decode(bytes, { stream: true }))),
          end: (emit) => emit(StreamEvent.finish("stop", null))
        }
      },
      mapError: (cause) => new LlmError.Disconnected({ provider: "raw", message: String(cause) })
    })
})

const request = { model: "m", messages: [{ role: "user" as const, content: "hi" }] }

/** After each scenario: the response closed, the socket gone once the pool closes, the ledger empty. */
const assertReleased = async (ledger: Ledger.Service) => {
  await server.waitFor((s) => s.inflight === 0, { timeoutMs: 1_000 })
  await agent.close()
  await server.waitFor((s) => s.open === 0, { timeoutMs: 1_000 })
  expect(ledger.snapshot().live).toEqual([])
  expect(ledger.snapshot().released).toBe(ledger.snapshot().opened)
  expect(ledger.doubleReleases()).toBe(0)
  expect(unhandled).toEqual([])
}

describe("streamText", () => {
  it("reads to the end", async () => {
    agent = new Agent()
    const ledger = Ledger.make()
    server.setScript(Script.text(20))
    const tags: Array<string> = []
    for await (const event of streamText(rawProvider, request, { ledger })) tags.push(event._tag)
    expect(tags.at(-1)).toBe("Finish")
    await assertReleased(ledger)
  })

  it("break releases the connection", async () => {
    agent = new Agent()
    const ledger = Ledger.make()
    server.setScript({ ...Script.text(200), delayMs: 20 })
    let seen = 0
    for await (const _ of streamText(rawProvider, request, { ledger })) {
      if (++seen === 2) break
    }
    expect(ledger.snapshot().live).toEqual([])
    await assertReleased(ledger)
    expect(server.stats().closedByClient).toBe(1)
  })

  it("return() releases the connection", async () => {
    agent = new Agent()
    const ledger = Ledger.make()
    server.setScript({ ...Script.text(200), delayMs: 20 })
    const iterator = streamText(rawProvider, request, { ledger })
    expect((await iterator.next()).done).toBe(false)
    expect(ledger.snapshot().live).toHaveLength(1)
    expect(await iterator.return()).toEqual({ done: true, value: undefined })
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
    await assertReleased(ledger)
  })

  it("an AbortSignal ends a pending next() promptly with the signal's reason", async () => {
    agent = new Agent()
    const ledger = Ledger.make()
    server.setScript({ ...Script.text(10), fault: { type: "hang", afterEvents: 1 } })
    const controller = new AbortController()
    const iterator = streamText(rawProvider, request, { ledger, signal: controller.signal })
    await iterator.next()
    const pending = iterator.next()
    const started = performance.now()
    controller.abort()
    await expect(pending).rejects.toMatchObject({ name: "AbortError" })
    expect(performance.now() - started).toBeLessThan(1_000)
    await assertReleased(ledger)
  })

  it("an already aborted signal opens nothing", async () => {
    agent = new Agent()
    const ledger = Ledger.make()
    const before = server.stats().total
    const iterator = streamText(rawProvider, request, { ledger, signal: AbortSignal.abort() })
    await expect(iterator.next()).rejects.toMatchObject({ name: "AbortError" })
    expect(server.stats().total).toBe(before)
    expect(ledger.snapshot().opened).toBe(0)
    await agent.close()
  })

  it("throws the LlmError itself, with its _tag", async () => {
    agent = new Agent()
    const ledger = Ledger.make()
    server.setScript({ fault: { type: "status", status: 429, headers: { "retry-after": "1" } } })
    const error = await (async () => {
      for await (const _ of streamText(rawProvider, request, { ledger })) {
        // nothing arrives
      }
    })().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LlmError.RateLimited)
    expect((error as LlmError.LlmError)._tag).toBe("RateLimited")
    await assertReleased(ledger)
  })

  it("an invalid request fails before any connection opens", async () => {
    agent = new Agent()
    const ledger = Ledger.make()
    const before = server.stats().total
    const error = await streamText(rawProvider, { model: "", messages: [] }, { ledger }).next().catch((e) => e)
    expect(error._tag).toBe("InvalidRequest")
    expect(error.message).toContain("model must not be empty")
    expect(server.stats().total).toBe(before)
    await agent.close()
  })

  it.runIf(typeof globalThis.gc === "function")(
    "a dropped iterator is released by the FinalizationRegistry backstop",
    async () => {
      agent = new Agent()
      const ledger = Ledger.make()
      server.setScript({ ...Script.text(500), delayMs: 10 })
      await (async () => {
        const iterator = streamText(rawProvider, request, { ledger })
        await iterator.next()
        await iterator.next()
      })()
      expect(ledger.snapshot().live).toHaveLength(1)
      const deadline = performance.now() + 5_000
      while (ledger.snapshot().live.length > 0 && performance.now() < deadline) {
        globalThis.gc!()
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      await assertReleased(ledger)
    }
  )
})

describe("streamText with policies", () => {
  it("timeouts and retry work without Effect: a hung first attempt is cut, the second answers", async () => {
    agent = new Agent()
    const ledger = Ledger.make()
    server.enqueue({ fault: { type: "headersThenHang" } }, Script.text(3))
    const texts: Array<string> = []
    for await (const event of streamText(rawProvider, request, {
      ledger,
      timeouts: { firstToken: 100 },
      retry: { times: 1 }
    })) {
      if (event._tag === "TextDelta") texts.push(event.text)
    }
    expect(texts.join("")).toContain("w2")
    expect(server.stats().total).toBe(2)
    expect(ledger.snapshot().opened).toBe(2)
    await assertReleased(ledger)
  })
})
