/**
 * An idle exit is a normal exit (issue 13 §1): with realistic options — every
 * other option at its default, a short `idleTimeout` — a `permanent` session
 * left idle through many idle periods passivates, is never restarted, never
 * counted toward the restart intensity, and never escalates.
 */
import { describe, expect, it } from "@effect/vitest"
import type { ChatRequest } from "@streamvisor/core"
import { Effect, Exit, Metric, Stream, TestClock } from "effect"
import { SupervisorError } from "../src/index.js"
import * as Fake from "./support/Fake.js"
import { infoOf, waitUntil, withSupervisor } from "./support/Harness.js"

const turn = (text: string): ReadonlyArray<ChatRequest.Message> => [
  { role: "user", content: text },
  { role: "assistant", content: Fake.answer(text) }
]

describe("an idle permanent session is not a crash", () => {
  for (const escalate of [false, true]) {
    it.effect(`defaults + idleTimeout 100 ms, escalate ${escalate}: 20 idle periods, no restart, no escalation`, () =>
      Effect.gen(function*() {
        const fake = Fake.make()
        const { report } = yield* withSupervisor(
          { name: `idle-${escalate}`, restart: "permanent", idleTimeout: "100 millis", escalate },
          (supervisor) =>
            Effect.gen(function*() {
              const ref = yield* supervisor.spawn({ id: "p", provider: fake.provider, model: "m" })
              const history: Array<ChatRequest.Message> = []
              for (let period = 0; period < 20; period++) {
                // idle for 5 idle timeouts (the old behaviour failed it after 4: 3 restarts + 1)
                for (let i = 0; i < 5; i++) yield* TestClock.adjust("100 millis")
                yield* waitUntil(Effect.map(supervisor.snapshot, (s) => s.fibers === 0), `passivated (${period})`)
                const info = yield* infoOf(supervisor, "p")
                expect(info).toMatchObject({ status: "idle", restarts: 0, turns: period })
                expect((yield* supervisor.snapshot).state).toBe("running")
                // and it still answers, then goes idle again
                yield* Stream.runDrain(ref.send(`hello ${period}`))
                history.push(...turn(`hello ${period}`))
              }
              expect(yield* ref.history).toEqual(history)
              const snapshot = yield* supervisor.snapshot
              expect(snapshot).toMatchObject({ state: "running", failed: 0 })
              expect((yield* Metric.value(supervisor.metrics.restarts)).count).toBe(0)
            })
        )
        expect(report.reason).toBe("closed")
      }))
  }

  it.effect("escalate: join succeeds after a shutdown, never RestartIntensityExceeded from idleness", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      yield* withSupervisor({ restart: "permanent", idleTimeout: "1 second", escalate: true }, (supervisor) =>
        Effect.gen(function*() {
          for (let i = 0; i < 10; i++) yield* supervisor.spawn({ provider: fake.provider, model: "m" })
          // a minute of quiet: 60 idle periods of each session
          for (let s = 0; s < 60; s++) yield* TestClock.adjust("1 second")
          yield* waitUntil(Effect.map(supervisor.snapshot, (s) => s.fibers === 0), "all passivated")
          const snapshot = yield* supervisor.snapshot
          expect(snapshot).toMatchObject({ state: "running", running: 10, failed: 0 })
          expect(snapshot.sessions.every((i) => i.restarts === 0 && i.status === "idle")).toBe(true)
          const report = yield* supervisor.shutdown
          expect(yield* Effect.exit(supervisor.join)).toEqual(Exit.succeed(report))
        }))
    }))

  it.effect("transient with idleTimeout: the idle exit stops it (reason idle), not failed", () =>
    Effect.gen(function*() {
      const fake = Fake.make()
      yield* withSupervisor({ idleTimeout: "100 millis", escalate: true }, (supervisor) =>
        Effect.gen(function*() {
          yield* supervisor.spawn({ id: "t", provider: fake.provider, model: "m" })
          yield* TestClock.adjust("100 millis")
          yield* waitUntil(Effect.map(supervisor.snapshot, (s) => s.stopped === 1), "stopped")
          expect(yield* supervisor.snapshot).toMatchObject({ state: "running", failed: 0 })
        }))
    }))
})

describe("RestartIntensityExceeded", () => {
  it("names the last defect, never `undefined`", () => {
    const error = new SupervisorError.RestartIntensityExceeded({ sessionId: "s", restarts: 3, defect: new Error("boom") })
    expect(error.message).toBe("session s exceeded its restart intensity after 3 restart(s); last defect: boom")
  })
})
