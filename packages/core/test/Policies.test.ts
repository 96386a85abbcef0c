/**
 * Policies against FakeLlmServer faults. Time-based behaviour is driven by
 * `TestClock` (the server's own delays are real but bounded); after every case
 * the server has no response in flight and the ledger no live stream.
 */
import { describe, expect, it } from "@effect/vitest"
import { fallback, hedge, Ledger, retry, timeouts } from "@streamvisor/core"
import type { StreamEvent } from "@streamvisor/core"
import { type FakeLlmServer, Script } from "@streamvisor/testkit"
import { Cause, Chunk, Effect, Exit, Fiber, Option, Schedule, Stream, TestClock } from "effect"
import { Agent } from "undici"
import { server, unhandled, useFakeServer } from "./support/FakeServer.js"
import * as NdjsonProvider from "./support/NdjsonProvider.js"
import { until } from "./support/Poll.js"

let agent: Agent

useFakeServer()

const provider = (name = "ndjson") => NdjsonProvider.make({ url: server.url, agent: () => agent, name })
const request = { model: "m", messages: [{ role: "user" as const, content: "hi" }] }
const texts = (events: Chunk.Chunk<StreamEvent.StreamEvent>) =>
  Chunk.toReadonlyArray(events).flatMap((e) => (e._tag === "TextDelta" ? [e.text] : []))

const waitServer = (predicate: (s: FakeLlmServer.Stats) => boolean) =>
  Effect.promise(() => server.waitFor(predicate, { timeoutMs: 2_000 }))

/** Runs `body` with a fresh ledger and pool, then checks the release invariants. */
const checked = <A, E>(body: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const ledger = Ledger.make()
    agent = new Agent()
    const exit = yield* body.pipe(Effect.provideService(Ledger.Ledger, ledger), Effect.exit)
    yield* waitServer((s) => s.inflight === 0)
    yield* Effect.promise(() => agent.close())
    yield* waitServer((s) => s.open === 0)
    const snapshot = ledger.snapshot()
    expect(snapshot.live).toEqual([])
    expect(snapshot.released).toBe(snapshot.opened)
    expect(ledger.doubleReleases()).toBe(0)
    expect(unhandled).toEqual([])
    return { exit, snapshot, ledger }
  })

const failureTag = (exit: Exit.Exit<unknown, { _tag: string }>) =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Option.map(Cause.failureOption(exit.cause), (e) => e._tag)) : undefined

describe("timeouts", () => {
  it.effect("first-token: a server that never sends headers is cut when the timer fires", () =>
    Effect.gen(function*() {
      server.setScript({ fault: { type: "hangBeforeHeaders" } })
      const { exit } = yield* checked(Effect.gen(function*() {
        const fiber = yield* provider().stream(request).pipe(
          timeouts({ firstToken: "10 seconds" }),
          Stream.runCollect,
          Effect.fork
        )
        yield* waitServer((s) => s.inflight === 1)
        yield* TestClock.adjust("9999 millis")
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        yield* TestClock.adjust("1 millis")
        return yield* Fiber.join(fiber)
      }))
      expect(failureTag(exit)).toBe("Timeout")
      if (Exit.isFailure(exit)) expect(String(exit.cause)).toContain("first-token")
    }))

  it.effect("idle: a server that hangs after two events is cut", () =>
    Effect.gen(function*() {
      server.setScript({ ...Script.text(10), fault: { type: "hang", afterEvents: 2 } })
      let seen = 0
      const { exit } = yield* checked(Effect.gen(function*() {
        const fiber = yield* provider().stream(request).pipe(
          timeouts({ firstToken: "10 seconds", idle: "2 seconds" }),
          Stream.runForEach(() => Effect.sync(() => seen++)),
          Effect.fork
        )
        yield* Effect.promise(() => until(() => seen === 2))
        yield* TestClock.adjust("2 seconds")
        return yield* Fiber.join(fiber)
      }))
      expect(seen).toBe(2)
      expect(failureTag(exit)).toBe("Timeout")
      if (Exit.isFailure(exit)) expect(String(exit.cause)).toContain("idle")
    }))

  it.effect("total bounds the whole stream even while events flow", () =>
    Effect.gen(function*() {
      server.setScript({ ...Script.text(10), fault: { type: "hang", afterEvents: 3 } })
      let seen = 0
      const { exit } = yield* checked(Effect.gen(function*() {
        const fiber = yield* provider().stream(request).pipe(
          timeouts({ idle: "1 hour", total: "30 seconds" }),
          Stream.runForEach(() => Effect.sync(() => seen++)),
          Effect.fork
        )
        yield* Effect.promise(() => until(() => seen === 3))
        yield* TestClock.adjust("30 seconds")
        return yield* Fiber.join(fiber)
      }))
      expect(failureTag(exit)).toBe("Timeout")
      if (Exit.isFailure(exit)) expect(String(exit.cause)).toContain("total")
    }))

  it.effect("a stream that finishes in time is untouched", () =>
    Effect.gen(function*() {
      server.setScript(Script.text(5))
      const { exit } = yield* checked(
        provider().stream(request).pipe(timeouts({ firstToken: 1000, idle: 1000, total: 5000 }), Stream.runCollect)
      )
      expect(texts(Exit.getOrElse(exit, () => Chunk.empty()))).toHaveLength(5)
    }))
})

describe("retry", () => {
  it.effect("429 with retry-after waits at least that long, then succeeds with one attempt's events", () =>
    Effect.gen(function*() {
      server.enqueue({ fault: { type: "status", status: 429, headers: { "retry-after": "5" } } }, Script.text(4))
      const { exit, snapshot } = yield* checked(Effect.gen(function*() {
        const fiber = yield* provider().stream(request).pipe(
          retry({ times: 3, schedule: Schedule.spaced("100 millis") }),
          Stream.runCollect,
          Effect.fork
        )
        yield* waitServer((s) => s.total === 1 && s.inflight === 0)
        yield* TestClock.adjust("4 seconds")
        expect(server.stats().total).toBe(1)
        yield* TestClock.adjust("1 second")
        return yield* Fiber.join(fiber)
      }))
      expect(texts(Exit.getOrElse(exit, () => Chunk.empty()))).toEqual(["w0 ", "w1 ", "w2 ", "w3 "].map((w) => w))
      expect(server.stats().total).toBe(2)
      expect(snapshot.opened).toBe(2)
    }))

  it.effect("500 then success; each attempt is released before the next opens", () =>
    Effect.gen(function*() {
      const liveAtRequest: Array<number> = []
      let ledger: Ledger.Service | undefined
      server.setScript(() => {
        liveAtRequest.push(ledger!.snapshot().live.length)
        return liveAtRequest.length <= 2 ? { fault: { type: "status", status: 500 } } : Script.text(3)
      })
      const { exit } = yield* checked(Effect.gen(function*() {
        ledger = yield* Ledger.Ledger
        const fiber = yield* provider().stream(request).pipe(
          retry({ times: 5, schedule: Schedule.spaced("1 second") }),
          Stream.runCollect,
          Effect.fork
        )
        yield* waitServer((s) => s.total === 1 && s.inflight === 0)
        yield* TestClock.adjust("1 second")
        yield* waitServer((s) => s.total === 2 && s.inflight === 0)
        yield* TestClock.adjust("1 second")
        return yield* Fiber.join(fiber)
      }))
      expect(texts(Exit.getOrElse(exit, () => Chunk.empty()))).toHaveLength(3)
      expect(liveAtRequest).toEqual([1, 1, 1])
    }))

  it.effect("never retries once an event reached the consumer", () =>
    Effect.gen(function*() {
      server.setScript({ ...Script.text(10), fault: { type: "disconnect", afterEvents: 2 } })
      const { exit } = yield* checked(
        provider().stream(request).pipe(retry({ times: 3, schedule: Schedule.spaced(0) }), Stream.runCollect)
      )
      expect(failureTag(exit)).toBe("Disconnected")
      expect(server.stats().total).toBe(1)
    }))

  it.effect("gives up after `times` and does not retry non-retryable errors", () =>
    Effect.gen(function*() {
      server.setScript({ fault: { type: "status", status: 503 } })
      const { exit } = yield* checked(
        provider().stream(request).pipe(retry({ times: 2, schedule: Schedule.spaced(0) }), Stream.runCollect)
      )
      expect(failureTag(exit)).toBe("ServerError")
      expect(server.stats().total).toBe(3)
      server.reset()
      server.setScript({ fault: { type: "status", status: 401 } })
      const second = yield* checked(
        provider().stream(request).pipe(retry({ times: 2, schedule: Schedule.spaced(0) }), Stream.runCollect)
      )
      expect(failureTag(second.exit)).toBe("Unauthorized")
      expect(server.stats().total).toBe(1)
    }))
})

describe("fallback", () => {
  it.effect("moves on after a retryable failure before the first event, releasing the failed attempt first", () =>
    Effect.gen(function*() {
      let ledger: Ledger.Service | undefined
      const liveAtRequest: Array<number> = []
      server.enqueue(
        () => {
          liveAtRequest.push(ledger!.snapshot().live.length)
          return { fault: { type: "status", status: 529 } }
        },
        () => {
          liveAtRequest.push(ledger!.snapshot().live.length)
          return Script.text(3)
        }
      )
      const { exit } = yield* checked(Effect.gen(function*() {
        ledger = yield* Ledger.Ledger
        return yield* fallback([provider("first"), provider("second")]).stream(request).pipe(Stream.runCollect)
      }))
      expect(texts(Exit.getOrElse(exit, () => Chunk.empty()))).toHaveLength(3)
      expect(liveAtRequest).toEqual([1, 1])
      expect(ledger!.snapshot().live).toEqual([])
    }))

  it.effect("stays with a provider once it produced an event", () =>
    Effect.gen(function*() {
      server.setScript({ ...Script.text(10), fault: { type: "disconnect", afterEvents: 2 } })
      const { exit } = yield* checked(
        fallback([provider("first"), provider("second")]).stream(request).pipe(Stream.runCollect)
      )
      expect(failureTag(exit)).toBe("Disconnected")
      expect(server.stats().total).toBe(1)
    }))

  it.effect("an invalid request fails once, before any connection", () =>
    Effect.gen(function*() {
      const { exit } = yield* checked(
        fallback([provider("first"), provider("second")]).stream({ model: "", messages: [] }).pipe(Stream.runCollect)
      )
      expect(failureTag(exit)).toBe("InvalidRequest")
      expect(server.stats().total).toBe(0)
    }))
})

describe("hedge", () => {
  it.effect("starts the second provider after `after`; the first to produce wins and the loser is released", () =>
    Effect.gen(function*() {
      server.enqueue({ fault: { type: "headersThenHang" } }, Script.text(3))
      const { exit } = yield* checked(Effect.gen(function*() {
        const fiber = yield* hedge([provider("slow"), provider("fast")], { after: "500 millis" }).stream(request).pipe(
          Stream.runCollect,
          Effect.fork
        )
        yield* waitServer((s) => s.total === 1)
        expect(server.stats().total).toBe(1)
        yield* TestClock.adjust("500 millis")
        return yield* Fiber.join(fiber)
      }))
      expect(texts(Exit.getOrElse(exit, () => Chunk.empty()))).toEqual(["w0 ", "w1 ", "w2 "])
      expect(server.stats().total).toBe(2)
      expect(server.stats().closedByClient).toBeGreaterThanOrEqual(1)
    }))

  it.effect("a primary that answers in time is the only request", () =>
    Effect.gen(function*() {
      server.setScript(Script.text(3))
      const { exit } = yield* checked(
        hedge([provider("a"), provider("b")], { after: "10 seconds" }).stream(request).pipe(Stream.runCollect)
      )
      expect(texts(Exit.getOrElse(exit, () => Chunk.empty()))).toHaveLength(3)
      expect(server.stats().total).toBe(1)
    }))

  it.effect("a primary failing retryably before `after` hands over to the secondary at once", () =>
    Effect.gen(function*() {
      server.enqueue({ fault: { type: "status", status: 500 } }, Script.text(2))
      const { exit } = yield* checked(
        hedge([provider("a"), provider("b")], { after: "1 hour" }).stream(request).pipe(Stream.runCollect)
      )
      expect(texts(Exit.getOrElse(exit, () => Chunk.empty()))).toHaveLength(2)
      expect(server.stats().total).toBe(2)
    }))
})
