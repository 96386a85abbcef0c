/**
 * The supervisor against FakeLlmServer over real HTTP: the stream cap counted
 * at the server, shutdown with hung streams within `shutdownTimeout`, drain,
 * and cancellation seen from the server side. After each case the server has
 * no response in flight and the ledger no live stream.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Ledger } from "@streamvisor/core"
import { FakeLlmServer, Script } from "@streamvisor/testkit"
import { Cause, Chunk, Effect, Exit, Fiber, Option, Stream } from "effect"
import { SessionError, type Supervisor } from "../src/index.js"
import { outcome, waitLive, withSupervisor } from "./support/Harness.js"
import * as Ollama from "./support/Ollama.js"

let server: FakeLlmServer.Server
let pool: Ollama.Pool

beforeAll(async () => {
  server = await FakeLlmServer.start()
})
afterAll(async () => {
  await server.close()
})

const lastUser = (request: FakeLlmServer.RecordedRequest): string => {
  const messages = (request.body as { messages: Array<{ content: string }> }).messages
  return messages[messages.length - 1].content
}

/** Answers "re: <text>"; "stuck" hangs after one event; "slow" takes ~100 ms. */
const script: Script.ScriptFn = (request) => {
  const text = lastUser(request)
  if (text === "stuck") return Script.text(["re: ", "stu"], { fault: { type: "hang", afterEvents: 1 } })
  if (text.startsWith("slow")) return Script.text(["re: ", text], { firstDelayMs: 50, delayMs: 25 })
  return Script.text(["re: ", text])
}

/** The real Ollama adapter over this scenario's pool. */
const provider = () => pool.provider()

/** A scenario on a fresh server state and pool; afterwards nothing in flight, no socket, no live stream. */
const scenario = <A, E>(
  options: Supervisor.Options,
  body: (supervisor: Supervisor.Supervisor, ledger: Ledger.Service) => Effect.Effect<A, E, any>
) =>
  Effect.gen(function*() {
    server.reset()
    server.setScript(script)
    pool = Ollama.pool(server)
    const result = yield* withSupervisor(options, body)
    yield* Effect.promise(() => server.waitFor((s) => s.inflight === 0, { timeoutMs: 1_000 }))
    yield* Effect.promise(() => pool.agent.close())
    yield* Effect.promise(() => server.waitFor((s) => s.open === 0, { timeoutMs: 1_000 }))
    return result
  })

const inflight = Effect.sync(() => server.stats().inflight)

describe("maxConcurrentStreams", () => {
  it.live("concurrent responses at the server never exceed the limit (and reach it)", () =>
    Effect.gen(function*() {
      const limit = 3
      // every response's [arrival, close] interval, as the server saw it
      const closedAt = new Map<number, number>()
      const unsubscribe = server.onResponseClosed((info) => closedAt.set(info.id, info.closedAt))
      const { value } = yield* scenario({ maxConcurrentStreams: limit }, (supervisor) =>
        Effect.gen(function*() {
          const sessions = yield* Effect.forEach(
            Array.from({ length: 10 }, (_, i) => i),
            (i) => supervisor.spawn({ id: `c${i}`, provider: provider(), model: "m" })
          )
          yield* Effect.forEach(
            sessions,
            (ref) =>
              Effect.zipRight(Stream.runDrain(ref.send(`slow ${ref.id} 1`)), Stream.runDrain(ref.send(`slow ${ref.id} 2`))),
            { concurrency: "unbounded", discard: true }
          )
          return yield* Effect.forEach(sessions, (ref) => ref.history)
        }))
      unsubscribe()
      const intervals = server.requests.map((r) => ({ start: r.receivedAt, end: closedAt.get(r.id)! }))
      expect(intervals).toHaveLength(20)
      const points = intervals.flatMap((i) => [
        { at: i.start, delta: 1 },
        { at: i.end, delta: -1 }
      ]).sort((a, b) => a.at - b.at || a.delta - b.delta)
      let current = 0
      let peak = 0
      for (const p of points) {
        current += p.delta
        peak = Math.max(peak, current)
      }
      expect(peak).toBeLessThanOrEqual(limit)
      expect(peak).toBe(limit)
      for (const history of value) expect(history).toHaveLength(4)
    }))
})

describe("shutdown", () => {
  it.live("hung streams are interrupted at shutdownTimeout; queued turns dropped; everything released", () =>
    Effect.gen(function*() {
      const timeout = 300
      const exits: Array<Fiber.RuntimeFiber<Exit.Exit<void, unknown>>> = []
      let closeStarted = 0
      const { report } = yield* scenario({ shutdownTimeout: timeout }, (supervisor, ledger) =>
        Effect.gen(function*() {
          for (let i = 0; i < 4; i++) {
            const ref = yield* supervisor.spawn({ id: `h${i}`, provider: provider(), model: "m" })
            exits.push(yield* Effect.fork(Effect.exit(Stream.runDrain(ref.send("stuck")))))
            yield* waitLive(Effect.map(inflight, (n) => n === i + 1), `h${i} streaming`)
            exits.push(yield* Effect.fork(Effect.exit(Stream.runDrain(ref.send("queued")))))
            yield* ref.tell("told")
          }
          yield* waitLive(
            Effect.map(supervisor.snapshot, (s) => s.sessions.every((i) => i.pending === 2)),
            "two queued per session"
          )
          expect(ledger.snapshot().live).toHaveLength(4)
          closeStarted = performance.now()
        }))
      const elapsed = performance.now() - closeStarted
      expect(elapsed).toBeGreaterThanOrEqual(timeout - 5)
      expect(elapsed).toBeLessThan(timeout + 700)
      expect(report).toMatchObject({
        reason: "closed",
        sessionsStopped: 4,
        sessionsInterrupted: 4,
        turnsCancelled: 4 + 8,
        turnsFinished: 0,
        streamsReleased: 4,
        streamsLive: 0,
        timedOut: true
      })
      for (const fiber of exits) {
        const exit = yield* Fiber.join(fiber)
        expect(outcome(exit)).toBe("SessionStopped")
        const error = Option.getOrThrow(Cause.failureOption((exit as Exit.Failure<void, unknown>).cause))
        expect(error).toMatchObject({ _tag: "SessionStopped", reason: "shutdown" })
      }
      // the server saw every hung response closed by the client
      expect(server.stats()).toMatchObject({ inflight: 0, total: 4, closedByClient: 4 })
    }))

  it.live("turns in flight finish within shutdownTimeout and are committed", () =>
    Effect.gen(function*() {
      const fibers: Array<Fiber.RuntimeFiber<Chunk.Chunk<unknown>, unknown>> = []
      const { report, value } = yield* scenario({ shutdownTimeout: "5 seconds" }, (supervisor) =>
        Effect.gen(function*() {
          const refs = []
          for (let i = 0; i < 3; i++) {
            const ref = yield* supervisor.spawn({ id: `d${i}`, provider: provider(), model: "m" })
            fibers.push(yield* Effect.fork(Stream.runCollect(ref.send(`slow ${i}`))))
            refs.push(ref)
          }
          yield* waitLive(Effect.map(inflight, (n) => n === 3), "three in flight")
          return refs
        }))
      expect(report).toMatchObject({ turnsFinished: 3, turnsCancelled: 0, timedOut: false, sessionsInterrupted: 0 })
      expect(report.durationMs).toBeLessThan(2_000)
      for (const fiber of fibers) expect(Chunk.size(yield* Fiber.join(fiber))).toBeGreaterThan(0)
      for (const ref of value) expect(yield* ref.history).toHaveLength(2)
      expect(server.stats()).toMatchObject({ completed: 3, closedByClient: 0 })
    }))
})

describe("cancellation", () => {
  it.live("interrupting a consumer closes its connection at the server before the interruption returns", () =>
    Effect.gen(function*() {
      yield* scenario({}, (supervisor, ledger) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "x", provider: provider(), model: "m" })
          const consumer = yield* Effect.fork(Stream.runDrain(ref.send("stuck")))
          yield* waitLive(Effect.map(inflight, (n) => n === 1), "streaming")
          yield* Fiber.interrupt(consumer)
          expect(ledger.snapshot().live).toEqual([])
          yield* Effect.promise(() => server.waitFor((s) => s.inflight === 0 && s.closedByClient === 1, { timeoutMs: 1_000 }))
          expect(yield* ref.history).toEqual([])
          yield* Stream.runDrain(ref.send("after"))
          expect(yield* ref.history).toEqual([
            { role: "user", content: "after" },
            { role: "assistant", content: "re: after" }
          ])
          const refused = yield* Effect.exit(ref.stop.pipe(Effect.zipRight(ref.tell("late"))))
          expect(refused).toEqual(Exit.fail(new SessionError.SessionStopped({ sessionId: "x", reason: "stopped" })))
        }))
    }))
})
