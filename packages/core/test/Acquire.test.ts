/**
 * `acquire` over a raw async iterable: a real `fetch` body from FakeLlmServer.
 * After every ending the server must see the response closed (inflight 0),
 * the socket gone once the pool is closed (open 0), and the ledger empty.
 */
import { describe, expect, it } from "@effect/vitest"
import { acquire, Ledger } from "@streamvisor/core"
import { Script } from "@streamvisor/testkit"
import { Chunk, Effect, Exit, Fiber, Stream } from "effect"
import { Agent, fetch as undiciFetch } from "undici"
import * as LlmError from "../src/LlmError.js"
import { server, unhandled, useFakeServer } from "./support/FakeServer.js"
import { until } from "./support/Poll.js"

useFakeServer()

/** A fetch of Ollama's NDJSON stream over a dedicated pool that the test can close. */
const rawSource = (agent: Agent) => ({
  provider: "raw",
  model: "raw-model",
  open: async (signal: AbortSignal): Promise<AsyncIterable<Uint8Array>> => {
    const response = await undiciFetch(`${server.url}/api/chat`, {
      method: "POST",
      body: JSON.stringify({ model: "raw-model", messages: [{ role: "user", content: "hi" }], stream: true }),
      headers: { "content-type": "application/json" },
      signal,
      dispatcher: agent
    })
    if (!response.ok || response.body === null) throw new Error(`HTTP ${response.status}`)
    return response.body as AsyncIterable<Uint8Array>
  },
  mapError: (cause: unknown) => new LlmError.Disconnected({ provider: "raw", message: String(cause) })
})

/** Run `body` with a fresh ledger and pool; then check every leak invariant. */
const withLeakChecks = <A, E>(body: (agent: Agent) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const ledger = Ledger.make()
    const agent = new Agent({ keepAliveTimeout: 10_000 })
    const result = yield* body(agent).pipe(Effect.provideService(Ledger.Ledger, ledger), Effect.exit)
    yield* Effect.promise(() => server.waitFor((s) => s.inflight === 0, { timeoutMs: 1_000 }))
    yield* Effect.promise(() => agent.close())
    yield* Effect.promise(() => server.waitFor((s) => s.open === 0, { timeoutMs: 1_000 }))
    const snapshot = ledger.snapshot()
    expect(snapshot.live).toEqual([])
    expect(snapshot.opened).toBe(1)
    expect(snapshot.released).toBe(1)
    expect(ledger.doubleReleases()).toBe(0)
    expect(unhandled).toEqual([])
    return { result, snapshot }
  })

const slow = (events: number, delayMs: number): Script.Script => ({ ...Script.text(events), delayMs })

describe("acquire over a real fetch body", () => {
  it.live("full consumption: every byte arrives, released as completed", () =>
    Effect.gen(function*() {
      server.setScript(Script.text(50))
      const { result, snapshot } = yield* withLeakChecks((agent) =>
        acquire(rawSource(agent)).pipe(
          Stream.decodeText(),
          Stream.splitLines,
          Stream.runCollect
        )
      )
      const lines = Chunk.toReadonlyArray(Exit.getOrElse(result, () => Chunk.empty<string>()))
      expect(lines.length).toBe(51)
      expect(JSON.parse(lines.at(-1)!).done).toBe(true)
      expect(snapshot.outcomes.completed).toBe(1)
      expect(server.stats().completed).toBe(1)
    }))

  it.live("Stream.take(n) on a slow stream closes the connection", () =>
    Effect.gen(function*() {
      server.setScript(slow(200, 20))
      const { result, snapshot } = yield* withLeakChecks((agent) =>
        acquire(rawSource(agent)).pipe(Stream.take(1), Stream.runCollect)
      )
      expect(Exit.isSuccess(result)).toBe(true)
      expect(snapshot.outcomes.cancelled).toBe(1)
      expect(server.stats().closedByClient).toBe(1)
    }))

  it.live("fiber interruption mid-stream closes the connection", () =>
    Effect.gen(function*() {
      server.setScript(slow(200, 20))
      const { result } = yield* withLeakChecks((agent) =>
        Effect.gen(function*() {
          let seen = 0
          const fiber = yield* acquire(rawSource(agent)).pipe(
            Stream.runForEach(() => Effect.sync(() => seen++)),
            Effect.fork
          )
          yield* Effect.promise(() => until(() => seen >= 2))
          yield* Fiber.interrupt(fiber)
          return seen
        })
      )
      expect(Exit.isSuccess(result)).toBe(true)
      expect(server.stats().closedByClient).toBe(1)
    }))

  it.live("a failure raised by the consumer closes the connection", () =>
    Effect.gen(function*() {
      server.setScript(slow(200, 20))
      let seen = 0
      const { result } = yield* withLeakChecks((agent) =>
        acquire(rawSource(agent)).pipe(
          Stream.mapEffect(() => (++seen === 2 ? Effect.fail("consumer gave up" as const) : Effect.succeed(seen))),
          Stream.runDrain
        )
      )
      expect(seen).toBe(2)
      expect(Exit.isFailure(result)).toBe(true)
      expect(String(Exit.isFailure(result) && result.cause)).toContain("consumer gave up")
    }))

  it.live("a failure raised by the source (server disconnect) is typed and released", () =>
    Effect.gen(function*() {
      server.setScript({ ...slow(200, 5), fault: { type: "disconnect", afterEvents: 3 } })
      const { result, snapshot } = yield* withLeakChecks((agent) => acquire(rawSource(agent)).pipe(Stream.runDrain))
      expect(Exit.isFailure(result)).toBe(true)
      if (Exit.isFailure(result)) expect(String(result.cause)).toContain("Disconnected")
      expect(snapshot.outcomes.failed).toBe(1)
    }))

  it.live("interruption during a pending next() on a hung server releases within 1 s", () =>
    Effect.gen(function*() {
      server.setScript({ ...Script.text(10), fault: { type: "hang", afterEvents: 2 } })
      const { result } = yield* withLeakChecks((agent) =>
        Effect.gen(function*() {
          let seen = 0
          const fiber = yield* acquire(rawSource(agent)).pipe(
            Stream.runForEach(() => Effect.sync(() => seen++)),
            Effect.fork
          )
          // the server has written its two events and now hangs: the pull waits in next()
          yield* Effect.promise(() => until(() => seen >= 1))
          const started = performance.now()
          yield* Fiber.interrupt(fiber)
          yield* Effect.promise(() => server.waitFor((s) => s.inflight === 0, { timeoutMs: 1_000 }))
          return performance.now() - started
        })
      )
      expect(Exit.isSuccess(result)).toBe(true)
      expect(Exit.getOrElse(result, () => Infinity)).toBeLessThan(1_000)
    }))
})
