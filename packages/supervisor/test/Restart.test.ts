/**
 * Supervision: restart types (OTP meanings), restart intensity, escalation,
 * backoff timing under `TestClock`, and what a crash does to the turn in
 * flight (fails to its caller, no replay) and to the mailbox (kept).
 */
import { describe, expect, it } from "@effect/vitest"
import type { ChatRequest, LlmError, StreamEvent } from "@streamvisor/core"
import { Effect, Exit, Fiber, Metric, Schedule, Stream, TestClock } from "effect"
import { SessionError, Supervisor, SupervisorError } from "../src/index.js"
import * as Fake from "./support/Fake.js"
import { infoOf, outcome, statusOf, tick, waitUntil, withSupervisor } from "./support/Harness.js"

const turn = (text: string): ReadonlyArray<ChatRequest.Message> => [
  { role: "user", content: text },
  { role: "assistant", content: Fake.answer(text) }
]

let names = 0
const uniqueName = (prefix: string) => `${prefix}-${++names}`

const counter = (metric: Metric.Metric.Counter<number>) => Effect.map(Metric.value(metric), (s) => s.count)

/** A provider that dies on its first `n` calls, then answers. */
const diesFirst = (n: number) => Fake.make((_, call) => (call < n ? Fake.die : Fake.ok))

const ask = (ref: { readonly send: (text: string) => Stream.Stream<unknown, { readonly _tag: string }> }, text: string) =>
  Effect.map(Effect.exit(Stream.runDrain(ref.send(text))), outcome)

describe("restart types against a provider that dies twice", () => {
  for (const restart of ["permanent", "transient"] as const) {
    it.effect(`${restart}: restarted after each crash; the crashed turns fail to their callers, later turns commit`, () =>
      Effect.gen(function*() {
        const fake = diesFirst(2)
        const name = uniqueName(restart)
        yield* withSupervisor({ name, restart, backoff: Schedule.forever }, (supervisor) =>
          Effect.gen(function*() {
            const ref = yield* supervisor.spawn({ id: "r", provider: fake.provider, model: "m" })
            expect(yield* ask(ref, "a")).toBe("SessionCrashed")
            expect(yield* ask(ref, "b")).toBe("SessionCrashed")
            expect(yield* ask(ref, "c")).toBe("success")
            expect(yield* ref.history).toEqual(turn("c"))
            expect(yield* infoOf(supervisor, "r")).toMatchObject({ status: "idle", restarts: 2, turns: 1 })
            expect(yield* counter(supervisor.metrics.restarts)).toBe(2)
            expect(yield* counter(supervisor.metrics.turns.crashed)).toBe(2)
            // no silent replay: each crashed turn reached the provider once
            expect(fake.texts()).toEqual(["a", "b", "c"])
          }))
      }))
  }

  it.effect("temporary: never restarted; the session is failed and refuses turns", () =>
    Effect.gen(function*() {
      const fake = diesFirst(2)
      const name = uniqueName("temporary")
      yield* withSupervisor({ name, restart: "temporary", backoff: Schedule.forever }, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "t", provider: fake.provider, model: "m" })
          expect(yield* ask(ref, "a")).toBe("SessionCrashed")
          yield* waitUntil(Effect.map(statusOf(supervisor, "t"), (s) => s === "failed"), "failed")
          const refused = yield* Effect.exit(Stream.runDrain(ref.send("b")))
          expect(refused).toEqual(Exit.fail(new SessionError.SessionStopped({ sessionId: "t", reason: "failed" })))
          expect(yield* infoOf(supervisor, "t")).toMatchObject({ restarts: 0, turns: 0 })
          expect(yield* counter(supervisor.metrics.sessionsFailed)).toBe(1)
          expect(fake.texts()).toEqual(["a"])
          // a failed session's id is free again
          yield* supervisor.spawn({ id: "t", provider: fake.provider, model: "m" })
        }))
    }))

  it.effect("a typed LlmError is not a crash: no restart under any type", () =>
    Effect.gen(function*() {
      const fake = Fake.make((_, call) => (call < 2 ? Fake.fail : Fake.ok))
      yield* withSupervisor({ restart: "permanent" }, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "l", provider: fake.provider, model: "m" })
          expect(yield* ask(ref, "a")).toBe("ServerError")
          expect(yield* ask(ref, "b")).toBe("ServerError")
          expect(yield* ask(ref, "c")).toBe("success")
          expect(yield* infoOf(supervisor, "l")).toMatchObject({ restarts: 0, turns: 1 })
        }))
    }))
})

describe("restart types on a normal exit (idleTimeout)", () => {
  for (const [restart, expected] of [["permanent", "idle"], ["transient", "stopped"], ["temporary", "stopped"]] as const) {
    it.effect(`${restart}: after the idle timeout the session is ${expected === "idle" ? "passivated" : "stopped"}`, () =>
      Effect.gen(function*() {
        const fake = Fake.make()
        yield* withSupervisor(
          { restart, idleTimeout: "1 minute", backoff: Schedule.forever, maxRestarts: 10, window: "1 second" },
          (supervisor) =>
            Effect.gen(function*() {
              const ref = yield* supervisor.spawn({ id: "n", provider: fake.provider, model: "m" })
              yield* Stream.runDrain(ref.send("before"))
              yield* tick("59 seconds", "the idle timer")
              expect(yield* statusOf(supervisor, "n")).toBe("idle")
              yield* TestClock.adjust("1 second")
              yield* waitUntil(
                Effect.map(infoOf(supervisor, "n"), (i) => i.status === expected && i.restarts === 0),
                `${restart} ${expected}`
              )
              if (expected === "idle") {
                // passivated: no fiber, no timer, not a restart
                yield* waitUntil(Effect.map(supervisor.snapshot, (s) => s.fibers === 0), "passivated")
                expect(yield* ask(ref, "after")).toBe("success")
                expect(yield* ref.history).toEqual([...turn("before"), ...turn("after")])
              } else {
                const refused = yield* Effect.exit(ref.tell("after"))
                expect(refused).toEqual(Exit.fail(new SessionError.SessionStopped({ sessionId: "n", reason: "idle" })))
                expect(yield* ref.history).toEqual(turn("before"))
              }
            })
        )
      }))
  }
})

describe("a crash mid-turn", () => {
  it.effect("a policy that throws is a defect like any other: the turn fails with SessionCrashed, the session restarts", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      let calls = 0
      const policies = (events: Stream.Stream<StreamEvent.StreamEvent, LlmError.LlmError>) => {
        if (calls++ === 0) throw new Error("bug in a policy")
        return events
      }
      yield* withSupervisor({ backoff: Schedule.forever }, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "p", provider: fake.provider, model: "m", policies })
          const exit = yield* Effect.exit(Stream.runDrain(ref.send("a")))
          expect(outcome(exit)).toBe("SessionCrashed")
          expect(yield* ask(ref, "b")).toBe("success")
          expect(yield* infoOf(supervisor, "p")).toMatchObject({ restarts: 1, turns: 1 })
        }))
    }))

  it.effect("fails the turn in flight to its caller, keeps history and the unprocessed mailbox, processes it in order after the restart", () =>
    Effect.gen(function*() {
      const fake = Fake.make((text) => (text === "stuck" ? Fake.hang : Fake.ok))
      yield* withSupervisor({ backoff: Schedule.spaced("1 second") }, (supervisor, ledger) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "c", provider: fake.provider, model: "m" })
          yield* Stream.runDrain(ref.send("first"))
          const stuck = yield* Effect.fork(Effect.exit(Stream.runDrain(ref.send("stuck"))))
          yield* waitUntil(Effect.sync(() => ledger.snapshot().live.length === 1), "stuck streaming")
          const queued = yield* Effect.fork(Stream.runDrain(ref.send("queued")))
          yield* waitUntil(Effect.map(infoOf(supervisor, "c"), (i) => i.pending === 1), "queued")
          yield* ref.tell("told")
          const defect = new Error("pulled the plug")
          yield* ref.crash(defect)
          const stuckExit = yield* Fiber.join(stuck)
          expect(stuckExit).toEqual(
            Exit.fail(new SessionError.SessionCrashed({ sessionId: "c", turn: 2, defect }))
          )
          expect(ledger.snapshot().live).toEqual([])
          yield* waitUntil(Effect.map(statusOf(supervisor, "c"), (s) => s === "restarting"), "restarting")
          expect(yield* infoOf(supervisor, "c")).toMatchObject({ pending: 2, turns: 1 })
          yield* tick("1 second", "the backoff")
          yield* Fiber.join(queued)
          yield* waitUntil(Effect.map(infoOf(supervisor, "c"), (i) => i.turns === 3), "queued and told committed")
          expect(yield* ref.history).toEqual([...turn("first"), ...turn("queued"), ...turn("told")])
          expect(fake.texts()).toEqual(["first", "stuck", "queued", "told"])
          expect((yield* infoOf(supervisor, "c")).restarts).toBe(1)
        }))
    }))

  it.effect("crash does nothing to a session that is not running", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      yield* withSupervisor({}, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "x", provider: fake.provider, model: "m" })
          yield* ref.stop
          yield* ref.crash()
          expect(yield* infoOf(supervisor, "x")).toMatchObject({ status: "stopped", restarts: 0 })
        }))
    }))
})

describe("restart intensity", () => {
  it.effect("past maxRestarts within the window the session is failed, its queue refused, and reported", () =>
    Effect.gen(function*() {
      const fake = Fake.make((text) => (text.startsWith("boom") ? Fake.die : Fake.ok))
      const name = uniqueName("intensity")
      yield* withSupervisor({ name, maxRestarts: 2, window: "10 seconds", backoff: Schedule.forever }, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "i", provider: fake.provider, model: "m" })
          yield* Stream.runDrain(ref.send("ok"))
          expect(yield* ask(ref, "boom1")).toBe("SessionCrashed")
          expect(yield* ask(ref, "boom2")).toBe("SessionCrashed")
          // the third crash is one too many; the turn queued behind it is refused
          const third = yield* Effect.fork(ask(ref, "boom3"))
          const behind = yield* Effect.fork(Effect.exit(Stream.runDrain(ref.send("behind"))))
          expect(yield* Fiber.join(third)).toBe("SessionCrashed")
          expect(yield* Fiber.join(behind)).toEqual(
            Exit.fail(new SessionError.SessionStopped({ sessionId: "i", turn: 5, reason: "failed" }))
          )
          expect(yield* infoOf(supervisor, "i")).toMatchObject({ status: "failed", restarts: 2, turns: 1 })
          expect(yield* ref.history).toEqual(turn("ok"))
          expect(yield* counter(supervisor.metrics.sessionsFailed)).toBe(1)
          expect(yield* counter(supervisor.metrics.restarts)).toBe(2)
          expect((yield* supervisor.snapshot).state).toBe("running")
        }))
    }))

  it.effect("crashes spread wider than the window never exceed it", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      yield* withSupervisor({ maxRestarts: 1, window: "10 seconds", backoff: Schedule.forever }, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "w", provider: fake.provider, model: "m" })
          for (let i = 1; i <= 4; i++) {
            yield* ref.crash()
            yield* waitUntil(Effect.map(infoOf(supervisor, "w"), (s) => s.status === "idle" && s.restarts === i), `restart ${i}`)
            yield* TestClock.adjust("10 seconds")
          }
          expect(yield* ask(ref, "still here")).toBe("success")
        }))
    }))

  it.effect("escalate: the supervisor fails too, closing every session; join fails with RestartIntensityExceeded", () =>
    Effect.gen(function*() {
      const fake = Fake.make((text) => (text === "boom" ? Fake.die : text === "stuck" ? Fake.hang : Fake.ok))
      yield* withSupervisor(
        { maxRestarts: 0, escalate: true, shutdownTimeout: "1 second" },
        (supervisor, ledger) =>
          Effect.gen(function*() {
            const bystander = yield* supervisor.spawn({ id: "bystander", provider: fake.provider, model: "m" })
            const bystanderTurn = yield* Effect.fork(Effect.exit(Stream.runDrain(bystander.send("stuck"))))
            yield* waitUntil(Effect.sync(() => ledger.snapshot().live.length === 1), "bystander streaming")
            const ref = yield* supervisor.spawn({ id: "culprit", provider: fake.provider, model: "m" })
            expect(yield* ask(ref, "boom")).toBe("SessionCrashed")
            // the escalation shutdown drains for shutdownTimeout, then interrupts the bystander's hung turn
            yield* tick("1 second", "the shutdown deadline")
            const joined = yield* Effect.exit(supervisor.join)
            expect(Exit.isFailure(joined) && outcome(joined)).toBe("RestartIntensityExceeded")
            const report = yield* supervisor.shutdownReport
            expect(report).toMatchObject({
              reason: "escalated",
              sessionsStopped: 1,
              sessionsInterrupted: 1,
              turnsCancelled: 1,
              streamsReleased: 1,
              timedOut: true
            })
            expect(outcome(yield* Fiber.join(bystanderTurn))).toBe("SessionStopped")
            const snapshot = yield* supervisor.snapshot
            expect(snapshot.state).toBe("closed")
            expect(snapshot.sessions.map((s) => [s.id, s.status])).toEqual(
              expect.arrayContaining([["bystander", "stopped"], ["culprit", "failed"]])
            )
            const late = yield* Effect.exit(supervisor.spawn({ provider: fake.provider, model: "m" }))
            expect(late).toEqual(Exit.fail(new SupervisorError.SupervisorClosed()))
            expect(ledger.snapshot().live).toEqual([])
          })
      )
    }))
})

describe("backoff", () => {
  it.effect("restarts wait out the backoff schedule (TestClock), which starts over after a calm window", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      const backoff = Schedule.exponential("1 second")
      yield* withSupervisor({ backoff, maxRestarts: 10, window: "30 seconds" }, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "b", provider: fake.provider, model: "m" })
          const status = statusOf(supervisor, "b")
          const crashAndWait = (millis: number, restarts: number) =>
            Effect.gen(function*() {
              yield* ref.crash()
              yield* waitUntil(Effect.map(status, (s) => s === "restarting"), "restarting")
              yield* tick(millis - 1, "the backoff")
              expect(yield* status).toBe("restarting")
              yield* TestClock.adjust(1)
              yield* waitUntil(
                Effect.map(infoOf(supervisor, "b"), (i) => i.status === "idle" && i.restarts === restarts),
                `restart ${restarts} after ${millis} ms`
              )
            })
          yield* crashAndWait(1_000, 1)
          yield* crashAndWait(2_000, 2)
          yield* crashAndWait(4_000, 3)
          // a window without crashes: the schedule starts over
          yield* TestClock.adjust("31 seconds")
          yield* crashAndWait(1_000, 4)
          // a turn sent while restarting waits in the mailbox and runs after
          yield* ref.crash()
          const during = yield* Effect.fork(ask(ref, "during"))
          yield* waitUntil(Effect.map(infoOf(supervisor, "b"), (i) => i.pending === 1), "queued while restarting")
          yield* tick("2 seconds", "the backoff")
          expect(yield* Fiber.join(during)).toBe("success")
        }))
    }))

  it.effect("stop during the backoff does not wait it out; the queued turn is dropped", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      yield* withSupervisor({ backoff: Schedule.spaced("1 hour"), shutdownTimeout: "10 seconds" }, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "s", provider: fake.provider, model: "m" })
          yield* ref.crash()
          yield* waitUntil(Effect.map(statusOf(supervisor, "s"), (s) => s === "restarting"), "restarting")
          const queued = yield* Effect.fork(Effect.exit(Stream.runDrain(ref.send("queued"))))
          yield* waitUntil(Effect.map(infoOf(supervisor, "s"), (i) => i.pending === 1), "queued")
          yield* ref.stop // no clock moves: it must not wait for the backoff or the deadline
          expect(outcome(yield* Fiber.join(queued))).toBe("SessionStopped")
          expect(yield* infoOf(supervisor, "s")).toMatchObject({ status: "stopped", restarts: 0 })
          expect(fake.requests).toHaveLength(0)
        }))
    }))

  it.effect("a backoff schedule that is done gives up like an exceeded intensity", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      yield* withSupervisor({ backoff: Schedule.recurs(1), maxRestarts: 10 }, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "g", provider: fake.provider, model: "m" })
          yield* ref.crash()
          yield* waitUntil(Effect.map(infoOf(supervisor, "g"), (i) => i.status === "idle" && i.restarts === 1), "restart 1")
          yield* ref.crash()
          yield* waitUntil(Effect.map(statusOf(supervisor, "g"), (s) => s === "failed"), "gave up")
          expect((yield* infoOf(supervisor, "g")).restarts).toBe(1)
        }))
    }))
})

describe("metrics", () => {
  it.effect("sessions, live streams, time to first token, tokens, turns", () =>
    Effect.gen(function*() {
      const fake = Fake.make((text) => (text === "stuck" ? Fake.hang : Fake.ok))
      const name = uniqueName("metrics")
      yield* withSupervisor({ name }, (supervisor, ledger) =>
        Effect.gen(function*() {
          const m = supervisor.metrics
          const a = yield* supervisor.spawn({ provider: fake.provider, model: "m" })
          const b = yield* supervisor.spawn({ provider: fake.provider, model: "m" })
          expect((yield* Metric.value(m.sessions)).value).toBe(2)
          yield* Stream.runDrain(a.send("x"))
          yield* Stream.runDrain(a.send("y"))
          const stuck = yield* Effect.fork(Stream.runDrain(b.send("stuck")))
          yield* waitUntil(Effect.sync(() => ledger.snapshot().live.length === 1), "stuck streaming")
          expect((yield* Metric.value(m.liveStreams)).value).toBe(1)
          expect((yield* supervisor.snapshot).liveStreams).toBe(1)
          yield* Fiber.interrupt(stuck)
          expect((yield* Metric.value(m.liveStreams)).value).toBe(0)
          expect((yield* Metric.value(m.timeToFirstToken)).count).toBe(3)
          expect(yield* counter(m.inputTokens)).toBe(20)
          expect(yield* counter(m.outputTokens)).toBe(4)
          expect(yield* counter(m.turns.committed)).toBe(2)
          expect(yield* counter(m.turns.cancelled)).toBe(1)
          yield* b.stop
          expect((yield* Metric.value(m.sessions)).value).toBe(1)
          // the untagged definitions are exported for exporters and dashboards
          expect(Supervisor.metrics.sessions).toBeDefined()
        }))
    }))
})
