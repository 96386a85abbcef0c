/**
 * The supervisor as a whole: passivation of idle sessions, many concurrent
 * callers on one session, the shutdown report and its log line, options.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, HashMap, Logger, LogLevel, Option, Stream } from "effect"
import { Session, Supervisor } from "../src/index.js"
import * as Fake from "./support/Fake.js"
import { infoOf, tick, waitUntil, withSupervisor } from "./support/Harness.js"

describe("passivation", () => {
  it.effect("an idle session holds no fiber; a message starts one, which ends when the mailbox is empty", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      yield* withSupervisor({}, (supervisor) =>
        Effect.gen(function*() {
          const refs = yield* Effect.forEach(["p1", "p2", "p3"], (id) => supervisor.spawn({ id, provider: fake.provider, model: "m" }))
          expect((yield* supervisor.snapshot).fibers).toBe(0)
          yield* Stream.runDrain(refs[0].send("hi"))
          yield* waitUntil(Effect.map(supervisor.snapshot, (s) => s.fibers === 0), "passivated again")
          yield* refs[1].tell("told")
          yield* waitUntil(Effect.map(infoOf(supervisor, "p2"), (i) => i.turns === 1), "told committed")
          yield* waitUntil(Effect.map(supervisor.snapshot, (s) => s.fibers === 0), "passivated again")
          // a crash of a passivated session still goes through the restart policy
          yield* refs[2].crash()
          yield* tick("100 millis", "the default backoff")
          yield* waitUntil(Effect.map(infoOf(supervisor, "p3"), (i) => i.restarts === 1 && i.status === "idle"), "restarted")
          yield* waitUntil(Effect.map(supervisor.snapshot, (s) => s.fibers === 0), "passivated after the restart")
          expect((yield* supervisor.snapshot).running).toBe(3)
        }))
    }))

  it.effect("with an idleTimeout, the fiber stays while idle (it runs the timer)", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      yield* withSupervisor({ idleTimeout: "10 seconds" }, (supervisor) =>
        Effect.gen(function*() {
          yield* supervisor.spawn({ id: "t", provider: fake.provider, model: "m" })
          yield* waitUntil(Effect.map(supervisor.snapshot, (s) => s.fibers === 1), "fiber started at spawn")
          yield* tick("10 seconds", "the idle timer")
          yield* waitUntil(Effect.map(infoOf(supervisor, "t"), (i) => i.status === "stopped"), "idle exit")
          expect((yield* supervisor.snapshot).fibers).toBe(0)
        }))
    }))
})

describe("concurrency", () => {
  it.effect("many concurrent callers on one session: turn numbers follow mailbox order, history follows both", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      yield* withSupervisor({}, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "busy", provider: fake.provider, model: "m" })
          const events = yield* ref.events
          const texts = Array.from({ length: 40 }, (_, i) => `m${i}`)
          yield* Effect.forEach(
            texts,
            (text, i) => (i % 2 === 0 ? Stream.runDrain(ref.send(text)) : Effect.asVoid(ref.tell(text))),
            { concurrency: "unbounded", discard: true }
          )
          yield* waitUntil(Effect.map(infoOf(supervisor, "busy"), (i) => i.turns === 40), "all committed")
          const started = new Map<number, string>()
          let done = false
          while (!done) {
            const event = yield* events.take
            if (event._tag === "TurnStarted") started.set(event.turn, event.text)
            if (event._tag === "TurnCommitted" && event.turn === 40) done = true
          }
          const byNumber = [...started.entries()].sort((a, b) => a[0] - b[0]).map(([, text]) => text)
          expect(byNumber).toEqual(fake.texts())
          const history = yield* ref.history
          expect(history.filter((m) => m.role === "user").map((m) => m.content)).toEqual(fake.texts())
          expect([...fake.texts()].sort()).toEqual([...texts].sort())
        }))
    }))

  it.effect("maxConcurrentStreams: turns across sessions wait for a permit (status waiting)", () =>
    Effect.gen(function*() {
      const fake = Fake.make(() => Fake.slow(100))
      yield* withSupervisor({ maxConcurrentStreams: 2 }, (supervisor, ledger) =>
        Effect.gen(function*() {
          const refs = yield* Effect.forEach(["w1", "w2", "w3", "w4"], (id) =>
            supervisor.spawn({ id, provider: fake.provider, model: "m" }))
          const fibers = yield* Effect.forEach(refs, (ref) => Effect.fork(Stream.runDrain(ref.send("x"))))
          yield* waitUntil(
            Effect.map(supervisor.snapshot, (s) =>
              s.sessions.filter((i) => i.status === "waiting").length === 2 && s.liveStreams === 2),
            "two streaming, two waiting"
          )
          expect(ledger.snapshot().live.length).toBeLessThanOrEqual(2)
          yield* tick(100, "the first two")
          yield* waitUntil(Effect.map(supervisor.snapshot, (s) => s.sessions.filter((i) => i.turns === 1).length === 2), "first two done")
          expect(ledger.snapshot().live.length).toBeLessThanOrEqual(2)
          yield* tick(100, "the last two")
          yield* Effect.forEach(fibers, (f) => f.await, { discard: true })
          expect((yield* supervisor.snapshot).sessions.every((i) => i.turns === 1)).toBe(true)
        }))
    }))
})

describe("shutdown report", () => {
  it.effect("is returned by shutdown, awaitable, and logged with its fields", () =>
    Effect.gen(function*() {
      const fake = Fake.make(() => Fake.hang)
      const logs: Array<{ message: unknown; annotations: HashMap.HashMap<string, unknown> }> = []
      const logger = Logger.make(({ annotations, message }) => {
        logs.push({ message, annotations })
      })
      yield* withSupervisor({ name: "reporting", shutdownTimeout: "1 second" }, (supervisor, ledger) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ provider: fake.provider, model: "m" })
          const caller = yield* Effect.fork(Stream.runDrain(ref.send("stuck")))
          yield* waitUntil(Effect.sync(() => ledger.snapshot().live.length === 1), "streaming")
          yield* ref.tell("queued")
          const shutdown = yield* Effect.fork(
            supervisor.shutdown.pipe(
              Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
              Logger.withMinimumLogLevel(LogLevel.Info)
            )
          )
          yield* tick("1 second", "the shutdown deadline")
          const report = yield* shutdown.await.pipe(Effect.flatten)
          expect(report).toMatchObject({
            reason: "closed",
            sessionsStopped: 1,
            sessionsInterrupted: 1,
            turnsCancelled: 2,
            turnsFinished: 0,
            streamsReleased: 1,
            streamsLive: 0,
            timedOut: true,
            durationMs: 1000
          })
          expect(yield* supervisor.shutdownReport).toEqual(report)
          expect(yield* supervisor.join).toEqual(report)
          yield* caller.await
        }))
      const line = logs.find((l) => String(l.message).includes("supervisor reporting shut down"))
      expect(line).toBeDefined()
      expect(Option.getOrUndefined(HashMap.get(line!.annotations, "turnsCancelled"))).toBe(2)
      expect(Option.getOrUndefined(HashMap.get(line!.annotations, "streamsReleased"))).toBe(1)
    }))
})

describe("defaults and options", () => {
  it.effect("spawn options override the supervisor's restart type; Session.Info reports it", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      yield* withSupervisor({ restart: "permanent" }, (supervisor) =>
        Effect.gen(function*() {
          yield* supervisor.spawn({ id: "d", provider: fake.provider, model: "m" })
          yield* supervisor.spawn({ id: "o", provider: fake.provider, model: "m", restart: "temporary" })
          expect((yield* infoOf(supervisor, "d")).restart).toBe("permanent")
          expect((yield* infoOf(supervisor, "o")).restart).toBe("temporary")
          expect(Supervisor.defaultBackoff).toBeDefined()
          expect(typeof Session.send).toBe("function")
        }))
    }))
})
