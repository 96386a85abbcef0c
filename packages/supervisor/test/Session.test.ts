/**
 * Sessions as actors, against in-memory providers: ask and tell, mailbox
 * order, history committed only on `Finish`, cancellation, events, stop, ids.
 */
import { describe, expect, it } from "@effect/vitest"
import { ChatRequest } from "@streamvisor/core"
import { Cause, Chunk, Effect, Exit, Fiber, Option, pipe, Queue, Schema, Stream, TestClock } from "effect"
import { Session, SessionError, Supervisor, SupervisorError } from "../src/index.js"
import * as Fake from "./support/Fake.js"
import { infoOf, outcome, statusOf, tick, waitUntil, withSupervisor } from "./support/Harness.js"

const texts = (events: Chunk.Chunk<{ readonly _tag: string; readonly text?: string }>) =>
  Chunk.toReadonlyArray(events).flatMap((e) => (e._tag === "TextDelta" ? [e.text!] : []))

const turn = (text: string): ReadonlyArray<ChatRequest.Message> => [
  { role: "user", content: text },
  { role: "assistant", content: Fake.answer(text) }
]

describe("send and tell", () => {
  it.effect("send streams the answer, ends with Finish, and commits user + assistant to history", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      const { value } = yield* withSupervisor({}, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "a", provider: fake.provider, model: "m", system: "be kind" })
          const events = yield* Stream.runCollect(ref.send("hello"))
          expect(Chunk.last(events).pipe(Option.map((e) => e._tag))).toEqual(Option.some("Finish"))
          expect(texts(events).join("")).toBe("re: hello")
          expect(yield* ref.history).toEqual(turn("hello"))
          expect(fake.requests[0]).toMatchObject({ model: "m", system: "be kind" })
          return yield* infoOf(supervisor, "a")
        }))
      expect(value).toMatchObject({ id: "a", status: "idle", turns: 1, pending: 0, restarts: 0, liveStreams: 0 })
    }))

  it.effect("each turn sees the committed history before it", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      yield* withSupervisor({}, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ provider: fake.provider, model: "m" })
          yield* Stream.runDrain(ref.send("one"))
          yield* Stream.runDrain(ref.send("two"))
          expect(fake.requests[1].messages).toEqual([...turn("one"), { role: "user", content: "two" }])
          expect(yield* ref.history).toEqual([...turn("one"), ...turn("two")])
        }))
    }))

  it.effect("mailbox order: tells and sends are processed one at a time in the order they were enqueued", () =>
    Effect.gen(function*() {
      // every turn takes 10 ms of TestClock time, so they pile up in the mailbox
      const fake = Fake.make(() => Fake.slow(10))
      yield* withSupervisor({}, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "o", provider: fake.provider, model: "m" })
          const numbers: Array<number> = []
          numbers.push(yield* ref.tell("t1"))
          numbers.push(yield* ref.tell("t2"))
          const asked = yield* Effect.fork(Stream.runCollect(ref.send("s3")))
          yield* waitUntil(
            Effect.map(infoOf(supervisor, "o"), (i) => i.currentTurn === 1 && i.pending === 2),
            "two queued behind t1"
          )
          numbers.push(yield* ref.tell("t4"))
          expect(numbers).toEqual([1, 2, 4])
          yield* waitUntil(Effect.map(TestClock.sleeps(), (s) => Chunk.size(s) === 1), "t1 sleeping")
          // one provider stream at a time: t2 has not started while t1 runs
          expect(fake.requests.length).toBe(1)
          yield* tick(10, "t1")
          yield* tick(10, "t2")
          yield* tick(10, "s3")
          const events = yield* Fiber.join(asked)
          expect(texts(events).join("")).toBe("re: s3")
          yield* tick(10, "t4")
          yield* waitUntil(Effect.map(infoOf(supervisor, "o"), (i) => i.turns === 4), "four turns committed")
          expect(fake.texts()).toEqual(["t1", "t2", "s3", "t4"])
          expect(yield* ref.history).toEqual([...turn("t1"), ...turn("t2"), ...turn("s3"), ...turn("t4")])
        }))
    }))
})

describe("history is committed only when a turn completes with Finish", () => {
  it.effect("a failed turn fails its caller with the LlmError and leaves history unchanged", () =>
    Effect.gen(function*() {
      const fake = Fake.make((text) => (text === "bad" ? Fake.fail : Fake.ok))
      yield* withSupervisor({}, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "f", provider: fake.provider, model: "m" })
          yield* Stream.runDrain(ref.send("good"))
          const exit = yield* Effect.exit(Stream.runDrain(ref.send("bad")))
          expect(outcome(exit)).toBe("ServerError")
          expect(yield* ref.history).toEqual(turn("good"))
          // the session carries on: an LlmError is not a crash
          yield* Stream.runDrain(ref.send("after"))
          expect(yield* ref.history).toEqual([...turn("good"), ...turn("after")])
          expect((yield* infoOf(supervisor, "f")).restarts).toBe(0)
        }))
    }))

  it.effect("a stream that ends without Finish is Disconnected, not committed", () =>
    Effect.gen(function*() {
      const fake = Fake.make(() => Fake.noFinish)
      yield* withSupervisor({}, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ provider: fake.provider, model: "m" })
          expect(outcome(yield* Effect.exit(Stream.runDrain(ref.send("x"))))).toBe("Disconnected")
          expect(yield* ref.history).toEqual([])
        }))
    }))

  it.effect("interrupting the consumer cancels the running turn, releases its stream, keeps history", () =>
    Effect.gen(function*() {
      const fake = Fake.make((text) => (text === "stuck" ? Fake.hang : Fake.ok))
      const { ledger } = yield* withSupervisor({}, (supervisor, ledger) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "i", provider: fake.provider, model: "m" })
          yield* Stream.runDrain(ref.send("first"))
          const consumer = yield* Effect.fork(Stream.runDrain(ref.send("stuck")))
          yield* waitUntil(Effect.sync(() => ledger.snapshot().live.length === 1), "stuck is streaming")
          expect((yield* infoOf(supervisor, "i")).liveStreams).toBe(1)
          yield* Fiber.interrupt(consumer)
          // the consumer's interruption returns only after the provider stream is released
          expect(ledger.snapshot().live).toEqual([])
          expect(yield* ref.history).toEqual(turn("first"))
          yield* Stream.runDrain(ref.send("next"))
          expect(yield* ref.history).toEqual([...turn("first"), ...turn("next")])
        }))
      expect(ledger.snapshot().opened).toBe(3)
    }))

  it.effect("a queued turn whose consumer goes away is skipped: the provider never sees it", () =>
    Effect.gen(function*() {
      const fake = Fake.make((text) => (text === "long" ? Fake.slow(100) : Fake.ok))
      yield* withSupervisor({}, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "q", provider: fake.provider, model: "m" })
          const first = yield* Effect.fork(Stream.runDrain(ref.send("long")))
          yield* waitUntil(Effect.map(infoOf(supervisor, "q"), (i) => i.liveStreams === 1), "long streaming")
          const queued = yield* Effect.fork(Stream.runDrain(ref.send("never")))
          yield* waitUntil(Effect.map(infoOf(supervisor, "q"), (i) => i.pending === 1), "never queued")
          yield* Fiber.interrupt(queued)
          yield* tick(100, "long")
          yield* Fiber.join(first)
          yield* Stream.runDrain(ref.send("last"))
          expect(fake.texts()).toEqual(["long", "last"])
          expect(yield* ref.history).toEqual([...turn("long"), ...turn("last")])
        }))
    }))

  it.effect("a consumer that stops reading right after Finish still gets the turn committed", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      yield* withSupervisor({}, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ provider: fake.provider, model: "m" })
          yield* Stream.runDrain(Stream.takeUntil(ref.send("x"), (e) => e._tag === "Finish"))
          expect(yield* ref.history).toEqual(turn("x"))
        }))
    }))
})

describe("events", () => {
  it.scoped("subscribers see every turn's events tagged with its number, including tells", () =>
    Effect.gen(function*() {
      const fake = Fake.make((text) => (text === "bad" ? Fake.fail : Fake.ok))
      yield* withSupervisor({}, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "e", provider: fake.provider, model: "m" })
          const events = yield* ref.events
          const asStream = yield* Effect.fork(Stream.runCollect(Session.eventStream(ref)))
          // suspended = subscribed and waiting on its queue
          yield* waitUntil(Effect.map(Fiber.status(asStream), (s) => s._tag === "Suspended"), "subscribed")
          yield* ref.tell("a")
          yield* ref.tell("bad")
          yield* waitUntil(Effect.map(infoOf(supervisor, "e"), (i) => i.turns === 1 && i.currentTurn === null && i.pending === 0), "both settled")
          yield* ref.stop
          const seen = Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.fromQueue(events).pipe(Stream.takeUntil((e) => e._tag === "Terminated"))))
          expect(seen.map((e) => `${e._tag}${"turn" in e ? `#${e.turn}` : ""}`)).toEqual([
            "TurnStarted#1",
            "TurnEvent#1",
            "TurnEvent#1",
            "TurnEvent#1",
            "TurnEvent#1",
            "TurnCommitted#1",
            "TurnStarted#2",
            "TurnEvent#2",
            "TurnFailed#2",
            "Terminated"
          ])
          // the Stream form ends by itself after Terminated
          expect(Chunk.toReadonlyArray(yield* Fiber.join(asStream)).map((e) => e._tag)).toEqual(seen.map((e) => e._tag))
          const failed = seen.find((e) => e._tag === "TurnFailed")
          expect(failed).toMatchObject({ error: { _tag: "ServerError" } })
          // subscribing after termination ends at once
          const late = yield* ref.events
          expect(Chunk.size(yield* Stream.runCollect(Stream.fromQueue(late)))).toBe(0)
          expect(yield* Queue.isShutdown(late)).toBe(true)
        }))
    }))
})

describe("stop", () => {
  it.effect("finishes the current turn, drops the queued ones, refuses new ones", () =>
    Effect.gen(function*() {
      const fake = Fake.make(() => Fake.slow(50))
      yield* withSupervisor({ shutdownTimeout: "1 second" }, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "s", provider: fake.provider, model: "m" })
          const current = yield* Effect.fork(Stream.runCollect(ref.send("current")))
          yield* waitUntil(Effect.map(infoOf(supervisor, "s"), (i) => i.liveStreams === 1), "current streaming")
          const queued = yield* Effect.fork(Effect.exit(Stream.runDrain(ref.send("queued"))))
          yield* waitUntil(Effect.map(infoOf(supervisor, "s"), (i) => i.pending === 1), "queued")
          const stopping = yield* Effect.fork(ref.stop)
          yield* waitUntil(Effect.map(statusOf(supervisor, "s"), (s) => s === "stopping"), "stopping")
          const queuedExit = yield* Fiber.join(queued)
          expect(outcome(queuedExit)).toBe("SessionStopped")
          const refused = yield* Effect.exit(ref.tell("late"))
          expect(refused).toEqual(Exit.fail(new SessionError.SessionStopped({ sessionId: "s", reason: "stopped" })))
          yield* tick(50, "current")
          yield* Fiber.join(stopping)
          expect(texts(yield* Fiber.join(current)).join("")).toBe("re: current")
          expect(yield* ref.history).toEqual(turn("current"))
          expect(yield* statusOf(supervisor, "s")).toBe("stopped")
          expect(fake.texts()).toEqual(["current"])
        }))
    }))

  it.effect("a turn still running at the deadline is interrupted: its caller gets SessionStopped, its stream is released", () =>
    Effect.gen(function*() {
      const fake = Fake.make(() => Fake.hang)
      yield* withSupervisor({ shutdownTimeout: "2 seconds" }, (supervisor, ledger) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "h", provider: fake.provider, model: "m" })
          const caller = yield* Effect.fork(Effect.exit(Stream.runDrain(ref.send("stuck"))))
          yield* waitUntil(Effect.sync(() => ledger.snapshot().live.length === 1), "streaming")
          const stopping = yield* Effect.fork(ref.stop)
          yield* tick("1999 millis", "the stop deadline")
          expect(yield* statusOf(supervisor, "h")).toBe("stopping")
          expect(ledger.snapshot().live).toHaveLength(1)
          yield* TestClock.adjust("1 millis")
          yield* Fiber.join(stopping)
          expect(ledger.snapshot().live).toEqual([])
          const exit = yield* Fiber.join(caller)
          expect(exit).toEqual(Exit.fail(new SessionError.SessionStopped({ sessionId: "h", turn: 1, reason: "stopped" })))
          expect(yield* ref.history).toEqual([])
        }))
    }))
})

describe("ids", () => {
  it.effect("spawning an id in use is a typed error; a stopped session's id can be reused", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      yield* withSupervisor({}, (supervisor) =>
        Effect.gen(function*() {
          const first = yield* supervisor.spawn({ id: "x", provider: fake.provider, model: "m" })
          const again = yield* Effect.exit(supervisor.spawn({ id: "x", provider: fake.provider, model: "m" }))
          expect(again).toEqual(Exit.fail(new SupervisorError.SessionIdInUse({ sessionId: "x" })))
          yield* first.stop
          const second = yield* supervisor.spawn({ id: "x", provider: fake.provider, model: "other" })
          expect((yield* infoOf(supervisor, "x")).model).toBe("other")
          expect(Option.map(yield* supervisor.get("x"), (r) => r === second)).toEqual(Option.some(true))
          const generated = yield* Effect.all([
            supervisor.spawn({ provider: fake.provider, model: "m" }),
            supervisor.spawn({ provider: fake.provider, model: "m" })
          ])
          expect(generated.map((r) => r.id)).toEqual(["session-1", "session-2"])
        }))
    }))

  it.effect("after shutdown, spawn fails with SupervisorClosed and sessions refuse turns", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      yield* withSupervisor({}, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "z", provider: fake.provider, model: "m" })
          const report = yield* supervisor.shutdown
          expect(report).toMatchObject({ reason: "closed", sessionsStopped: 1, turnsCancelled: 0, timedOut: false })
          expect(outcome(yield* Effect.exit(supervisor.spawn({ provider: fake.provider, model: "m" })))).toBe(
            "SupervisorClosed"
          )
          const refused = yield* Effect.exit(Stream.runDrain(ref.send("hi")))
          expect(refused).toEqual(Exit.fail(new SessionError.SessionStopped({ sessionId: "z", reason: "shutdown" })))
        }))
    }))
})

describe("serialisable state", () => {
  it.effect("State round-trips through Schema; a session restored from it keeps its history and goes on numbering turns", () =>
    Effect.gen(function*() {
      const fake = Fake.make((text) => (text === "oops" ? Fake.fail : Fake.ok))
      yield* withSupervisor({}, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "p", provider: fake.provider, model: "m", system: "sys" })
          yield* Stream.runDrain(ref.send("remember me"))
          expect(outcome(yield* Effect.exit(Stream.runDrain(ref.send("oops"))))).toBe("ServerError")
          const state = yield* ref.state
          const json = JSON.parse(JSON.stringify(yield* Schema.encode(Session.State)(state)))
          const decoded = yield* Schema.decodeUnknown(Session.State)(json)
          // two turns taken, one committed: numbering is not derivable from history
          expect(decoded).toEqual({ id: "p", model: "m", system: "sys", history: turn("remember me"), nextTurn: 3 })
          yield* ref.stop
          const revived = yield* supervisor.spawn({ ...decoded, provider: fake.provider })
          const events = yield* revived.events
          yield* Stream.runDrain(revived.send("again"))
          expect(yield* events.take).toEqual({ _tag: "TurnStarted", turn: 3, text: "again" })
          expect(yield* revived.tell("and again")).toBe(4)
          yield* waitUntil(Effect.map(revived.info, (i) => i.turns === 2), "told committed")
          expect(yield* revived.history).toEqual([...turn("remember me"), ...turn("again"), ...turn("and again")])
          expect(fake.requests[2]).toMatchObject({ system: "sys", messages: [...turn("remember me"), { role: "user", content: "again" }] })
          expect(yield* revived.state).toMatchObject({ id: "p", nextTurn: 5 })
          const info = yield* infoOf(supervisor, "p")
          expect(Schema.is(Session.Info)(info)).toBe(true)
          // a fresh session starts at 1
          const fresh = yield* supervisor.spawn({ id: "q", provider: fake.provider, model: "m" })
          expect(yield* fresh.tell("first")).toBe(1)
          // nextTurn must be a positive integer
          for (const nextTurn of [0, -1, 1.5, Number.NaN]) {
            const exit = yield* Effect.exit(supervisor.spawn({ id: "bad", provider: fake.provider, model: "m", nextTurn }))
            expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toBeInstanceOf(SupervisorError.InvalidOptions)
          }
          expect(yield* supervisor.get("bad")).toEqual(Option.none())
        }))
    }))

  it("errors are Schema-serialisable", () => {
    const error = new SessionError.SessionCrashed({ sessionId: "s", turn: 3, defect: new Error("boom") })
    const encoded = Schema.encodeSync(SessionError.SessionError)(error)
    const decoded = Schema.decodeUnknownSync(SessionError.SessionError)(JSON.parse(JSON.stringify(encoded)))
    expect(decoded._tag).toBe("SessionCrashed")
    expect(decoded.message).toContain("turn 3")
    expect(SessionError.isSessionError(decoded)).toBe(true)
  })
})

describe("dual API", () => {
  it.effect("Supervisor.spawn and Session.send work data-first and data-last", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      yield* withSupervisor({}, (supervisor) =>
        Effect.gen(function*() {
          const a = yield* pipe(supervisor, Supervisor.spawn({ id: "d1", provider: fake.provider, model: "m" }))
          const b = yield* Supervisor.spawn(supervisor, { id: "d2", provider: fake.provider, model: "m" })
          yield* Stream.runDrain(pipe(a, Session.send("x")))
          yield* Stream.runDrain(Session.send(b, "y"))
          yield* Session.tell(a, "z")
          yield* waitUntil(Effect.map(infoOf(supervisor, "d1"), (i) => i.turns === 2), "z committed")
          expect((yield* Session.history(b)).length).toBe(2)
          yield* pipe(a, Session.crash(new Error("data-last")))
          yield* Session.crash(b, new Error("data-first"))
          yield* tick("100 millis", "the default backoff")
          yield* waitUntil(
            Effect.map(supervisor.snapshot, (s) => s.sessions.every((i) => i.restarts === 1 && i.status === "idle")),
            "both restarted"
          )
        }))
    }))
})
