/**
 * What a long-running supervisor keeps: terminated sessions are forgotten
 * (only counters and the last `retainTerminated` sessions' `Info` remain),
 * terminated sessions leave no fiber and no timer, and metrics are never
 * tagged by session id (their number does not grow with the sessions run).
 */
import { describe, expect, it } from "@effect/vitest"
import type { ChatRequest } from "@streamvisor/core"
import { Cause, Effect, Exit, Metric, Option, Schedule, Stream } from "effect"
import { SessionError, Supervisor, SupervisorError } from "../src/index.js"
import * as Fake from "./support/Fake.js"
import { outcome, tick, waitLive, waitUntil, withSupervisor } from "./support/Harness.js"

const turn = (text: string): ReadonlyArray<ChatRequest.Message> => [
  { role: "user", content: text },
  { role: "assistant", content: Fake.answer(text) }
]

const ids = (snapshot: Supervisor.Snapshot) => snapshot.sessions.map((i) => i.id)

let names = 0
const uniqueName = (prefix: string) => `${prefix}-${++names}`

describe("terminated sessions are forgotten", () => {
  it.effect("5,000 sessions spawned and stopped with new ids: the registry never holds more than retainTerminated", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      const N = 5_000
      const retain = 100
      const { value } = yield* withSupervisor({}, (supervisor) =>
        Effect.gen(function*() {
          let largest = 0
          for (let i = 0; i < N; i++) {
            const ref = yield* supervisor.spawn({ id: `s${i}`, provider: fake.provider, model: "m" })
            if (i % 2 === 0) yield* Stream.runDrain(ref.send(`hello ${i}`))
            else yield* ref.tell(`hello ${i}`)
            yield* ref.stop
            if (i % 250 === 0 || i === N - 1) {
              const snapshot = yield* supervisor.snapshot
              largest = Math.max(largest, snapshot.sessions.length)
              expect(snapshot.running).toBe(0)
              expect(snapshot.stopped).toBe(i + 1)
            }
          }
          const snapshot = yield* supervisor.snapshot
          // forgotten: only the last `retain` sessions' Info, oldest first
          expect(snapshot.sessions).toHaveLength(retain)
          expect(ids(snapshot)).toEqual(Array.from({ length: retain }, (_, k) => `s${N - retain + k}`))
          expect(snapshot.sessions.every((i) => i.status === "stopped")).toBe(true)
          expect(snapshot).toMatchObject({ running: 0, stopped: N, failed: 0, fibers: 0, liveStreams: 0 })
          expect(yield* supervisor.get("s0")).toEqual(Option.none())
          expect(yield* supervisor.get(`s${N - 1}`)).toEqual(Option.none())
          // a forgotten id can be spawned again
          const again = yield* supervisor.spawn({ id: "s0", provider: fake.provider, model: "m" })
          yield* Stream.runDrain(again.send("back"))
          expect(Option.getOrUndefined(yield* supervisor.get("s0"))).toBe(again)
          expect(yield* again.history).toEqual(turn("back"))
          return largest
        }))
      expect(value).toBeLessThanOrEqual(retain)
      expect(fake.requests).toHaveLength(N + 1)
    }), 60_000)

  it.effect("stopped, idle exit and failed past intensity: each leaves the registry at once, counted, its Info kept", () =>
    Effect.gen(function*() {
      const fake = Fake.make((text) => (text === "boom" ? Fake.die : Fake.ok))
      yield* withSupervisor({ maxRestarts: 0, backoff: Schedule.forever }, (supervisor) =>
        Effect.gen(function*() {
          // stopped on request: gone when stop returns
          const stopped = yield* supervisor.spawn({ id: "stopped", provider: fake.provider, model: "m" })
          yield* Stream.runDrain(stopped.send("one"))
          yield* stopped.stop
          expect(yield* supervisor.get("stopped")).toEqual(Option.none())
          // failed past its restart intensity (0 restarts allowed)
          const failed = yield* supervisor.spawn({ id: "failed", provider: fake.provider, model: "m" })
          expect(outcome(yield* Effect.exit(Stream.runDrain(failed.send("boom"))))).toBe("SessionCrashed")
          yield* waitUntil(Effect.map(supervisor.snapshot, (s) => s.failed === 1), "failed counted")
          expect(yield* supervisor.get("failed")).toEqual(Option.none())
          // idle exit (transient: not restarted)
          const idle = yield* supervisor.spawn({ id: "idle", provider: fake.provider, model: "m", idleTimeout: "1 minute" })
          yield* tick("1 minute", "the idle timer")
          yield* waitUntil(Effect.map(supervisor.get("idle"), Option.isNone), "idle session forgotten")

          const snapshot = yield* supervisor.snapshot
          expect(snapshot).toMatchObject({ running: 0, stopped: 2, failed: 1, fibers: 0 })
          expect(snapshot.sessions).toEqual([
            expect.objectContaining({ id: "stopped", status: "stopped", turns: 1, pending: 0, currentTurn: null }),
            expect.objectContaining({ id: "failed", status: "failed", turns: 0, restarts: 0 }),
            expect.objectContaining({ id: "idle", status: "stopped", turns: 0 })
          ])
          // a ref held by a caller still answers, and refuses turns
          expect(yield* stopped.history).toEqual(turn("one"))
          expect((yield* failed.info).status).toBe("failed")
          expect(yield* Effect.exit(idle.tell("late"))).toEqual(
            Exit.fail(new SessionError.SessionStopped({ sessionId: "idle", reason: "idle" }))
          )
          yield* stopped.stop // idempotent after it was forgotten
        }))
    }))

  it.effect("retainTerminated: the oldest records go first; an id spawned again replaces its record; 0 keeps none", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      yield* withSupervisor({ retainTerminated: 3 }, (supervisor) =>
        Effect.gen(function*() {
          for (const id of ["a", "b", "c", "d"]) {
            yield* Effect.flatMap(supervisor.spawn({ id, provider: fake.provider, model: "m" }), (ref) => ref.stop)
          }
          expect(ids(yield* supervisor.snapshot)).toEqual(["b", "c", "d"])
          const c = yield* supervisor.spawn({ id: "c", provider: fake.provider, model: "other" })
          let snapshot = yield* supervisor.snapshot
          expect(ids(snapshot)).toEqual(["c", "b", "d"]) // running first, then the record
          expect(snapshot.sessions[0]).toMatchObject({ id: "c", status: "idle", model: "other" })
          yield* c.stop
          snapshot = yield* supervisor.snapshot
          expect(ids(snapshot)).toEqual(["b", "d", "c"])
          expect(snapshot.stopped).toBe(5)
        }))
      yield* withSupervisor({ retainTerminated: 0 }, (supervisor) =>
        Effect.gen(function*() {
          const ref = yield* supervisor.spawn({ id: "x", provider: fake.provider, model: "m" })
          yield* ref.stop
          expect(yield* supervisor.snapshot).toMatchObject({ sessions: [], stopped: 1, running: 0 })
        }))
    }))

  it.effect("retainTerminated must be a non-negative integer", () =>
    Effect.gen(function*() {
      for (const retainTerminated of [-1, 1.5, Number.NaN]) {
        const exit = yield* Effect.exit(Effect.scoped(Supervisor.make({ retainTerminated })))
        expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toBeInstanceOf(SupervisorError.InvalidOptions)
      }
    }))
})

describe("nothing left behind by terminated sessions", () => {
  /**
   * Pending timers of `ms` milliseconds, counted by wrapping `setTimeout` /
   * `clearTimeout` for the scope (Effect's live clock sleeps on them and
   * clears the timer when the sleep is interrupted).
   */
  const trackTimers = (ms: number) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        const pending = new Set<unknown>()
        const { clearTimeout: clear, setTimeout: set } = globalThis
        globalThis.setTimeout = ((callback: (...args: Array<unknown>) => void, delay?: number, ...args: Array<unknown>) => {
          const handle: unknown = set((...a: Array<unknown>) => {
            pending.delete(handle)
            callback(...a)
          }, delay, ...args)
          if (delay === ms) pending.add(handle)
          return handle
        }) as typeof setTimeout
        globalThis.clearTimeout = ((handle: Parameters<typeof clearTimeout>[0]) => {
          pending.delete(handle)
          clear(handle)
        }) as typeof clearTimeout
        return { pending: Effect.sync(() => pending.size), restore: () => Object.assign(globalThis, { setTimeout: set, clearTimeout: clear }) }
      }),
      (t) => Effect.sync(t.restore)
    )

  it.scopedLive("stopping idle-timed, streaming and restarting sessions clears every timer and ends every fiber", () =>
    Effect.gen(function*() {
      const HOUR = 3_600_000
      const timers = (yield* trackTimers(HOUR)).pending
      const fake = Fake.make((text) => (text === "boom" ? Fake.die : text === "slow" ? Fake.slow(HOUR) : Fake.ok))
      yield* withSupervisor(
        { idleTimeout: HOUR, backoff: Schedule.spaced(HOUR), shutdownTimeout: "20 millis" },
        (supervisor) =>
          Effect.gen(function*() {
            const refs = yield* Effect.forEach(
              Array.from({ length: 30 }, (_, i) => i),
              (i) => supervisor.spawn({ id: `t${i}`, provider: fake.provider, model: "m" })
            )
            // ten idle (each with its idle timer), ten streaming a slow turn, ten waiting out a backoff
            yield* Effect.forEach(refs.slice(10, 20), (ref) => ref.tell("slow"), { discard: true })
            yield* Effect.forEach(refs.slice(20), (ref) => ref.tell("boom"), { discard: true })
            // (a session shows `restarting` just before its backoff sleep starts: wait for the timers too)
            yield* waitLive(
              Effect.zipWith(supervisor.snapshot, timers, (s, n) =>
                s.sessions.filter((i) => i.status === "streaming").length === 10 &&
                s.sessions.filter((i) => i.status === "restarting").length === 10 &&
                n === 30),
              "ten streaming, ten restarting, 30 one-hour timers"
            )
            yield* Effect.forEach(refs, (ref) => ref.stop, { concurrency: "unbounded", discard: true })
            expect(yield* supervisor.snapshot).toMatchObject({ running: 0, stopped: 30, fibers: 0, liveStreams: 0 })
            expect(yield* timers).toBe(0)
          })
      )
    }))
})

describe("metrics", () => {
  it.effect("are tagged by supervisor name, direction and outcome only: their number does not grow with sessions", () =>
    Effect.gen(function*() {
      const name = uniqueName("cardinality")
      const fake = Fake.make((text) => (text.endsWith("boom") ? Fake.die : text.endsWith("fail") ? Fake.fail : Fake.ok))
      const ourKeys = Effect.map(Metric.snapshot, (pairs) =>
        pairs.filter((p) =>
          p.metricKey.name.startsWith("streamvisor_supervisor") &&
          p.metricKey.tags.some((t) => t.key === "supervisor" && t.value === name)
        ))
      const run = (from: number, to: number, supervisor: Supervisor.Supervisor) =>
        Effect.forEach(Array.from({ length: to - from }, (_, k) => from + k), (i) =>
          Effect.gen(function*() {
            const ref = yield* supervisor.spawn({ id: `m${i}`, provider: fake.provider, model: `model-${i}` })
            yield* Effect.exit(Stream.runDrain(ref.send(`${i} ok`)))
            yield* Effect.exit(Stream.runDrain(ref.send(`${i} fail`)))
            yield* Effect.exit(Stream.runDrain(ref.send(`${i} boom`)))
            yield* ref.stop
          }), { discard: true })
      yield* withSupervisor({ name, backoff: Schedule.forever }, (supervisor) =>
        Effect.gen(function*() {
          yield* run(0, 10, supervisor)
          const after10 = yield* ourKeys
          yield* run(10, 200, supervisor)
          const after200 = yield* ourKeys
          expect(after200.map((p) => p.metricKey.name + JSON.stringify(p.metricKey.tags)).sort()).toEqual(
            after10.map((p) => p.metricKey.name + JSON.stringify(p.metricKey.tags)).sort()
          )
          const tagKeys = new Set(after200.flatMap((p) => p.metricKey.tags.map((t) => t.key)))
          expect([...tagKeys].sort()).toEqual(["direction", "outcome", "supervisor"])
          const tagValues = after200.flatMap((p) => p.metricKey.tags.map((t) => t.value))
          expect(tagValues.some((v) => /^m\d+$/.test(v) || v.startsWith("model-"))).toBe(false)
          expect(after200.length).toBeLessThanOrEqual(12)
          expect((yield* Metric.value(supervisor.metrics.sessions)).value).toBe(0)
          expect((yield* Metric.value(supervisor.metrics.restarts)).count).toBe(200)
        }))
    }))
})
