/**
 * `Ledger` on its own: counts, outcomes, usage, double releases, the waits.
 */
import { describe, expect, it } from "@effect/vitest"
import { Ledger } from "@streamvisor/core"
import { Effect, Exit, Fiber, TestClock } from "effect"

describe("Ledger", () => {
  it("counts opened, released and live streams and each outcome", () => {
    const ledger = Ledger.make()
    const a = ledger.open("p", "m1")
    const b = ledger.open("p", "m2")
    const c = ledger.open("q", "m3")
    expect(ledger.snapshot().live.map((s) => s.id)).toEqual([a.id, b.id, c.id])
    expect(a.release("completed")).toBe(true)
    expect(b.release("failed")).toBe(true)
    const snapshot = ledger.snapshot()
    expect(snapshot.opened).toBe(3)
    expect(snapshot.released).toBe(2)
    expect(snapshot.outcomes).toEqual({ completed: 1, failed: 1, cancelled: 0 })
    expect(snapshot.live).toHaveLength(1)
    expect(snapshot.live[0]).toMatchObject({ id: c.id, provider: "q", model: "m3" })
  })

  it("a second release is refused and counted as a double release", () => {
    const ledger = Ledger.make()
    const entry = ledger.open("p", "m")
    expect(entry.release("cancelled")).toBe(true)
    expect(entry.isReleased).toBe(true)
    expect(entry.release("completed")).toBe(false)
    expect(ledger.doubleReleases()).toBe(1)
    expect(ledger.snapshot().outcomes).toEqual({ completed: 0, failed: 0, cancelled: 1 })
  })

  it("usage is the latest count per stream, summed over streams, kept after release", () => {
    const ledger = Ledger.make()
    const a = ledger.open("p", "m")
    const b = ledger.open("p", "m")
    a.recordUsage(10, 1)
    a.recordUsage(10, 5) // cumulative, as providers report it: not 20 / 6
    b.recordUsage(3, 2)
    expect(ledger.snapshot().live.find((s) => s.id === a.id)?.usage).toEqual({ inputTokens: 10, outputTokens: 5 })
    a.release("completed")
    expect(ledger.snapshot().usage).toEqual({ inputTokens: 13, outputTokens: 7 })
  })

  it("onNoneLive fires at once when none is live, on the last release otherwise, and can be cancelled", () => {
    const ledger = Ledger.make()
    let calls = 0
    ledger.onNoneLive(() => calls++)
    expect(calls).toBe(1)
    const a = ledger.open("p", "m")
    const b = ledger.open("p", "m")
    ledger.onNoneLive(() => calls++)
    const cancel = ledger.onNoneLive(() => calls += 100)
    cancel()
    a.release("completed")
    expect(calls).toBe(1)
    b.release("completed")
    expect(calls).toBe(2)
  })

  it.effect("Ledger.layer gives a fresh ledger; without one, the global ledger is used", () =>
    Effect.gen(function*() {
      const fresh = yield* Effect.provide(Ledger.Ledger, Ledger.layer)
      expect(fresh).not.toBe(Ledger.global)
      expect(yield* Ledger.Ledger).toBe(Ledger.global)
    }))

  it.effect("assertNoneLive fails with LeakDetected naming the live streams", () =>
    Effect.gen(function*() {
      const ledger = Ledger.make()
      const entry = ledger.open("acme", "big-model")
      const error = yield* Effect.flip(Effect.provideService(Ledger.assertNoneLive, Ledger.Ledger, ledger))
      expect(error._tag).toBe("LeakDetected")
      expect(error.live).toHaveLength(1)
      expect(error.message).toContain("acme/big-model")
      entry.release("completed")
      expect(Exit.isSuccess(yield* Effect.exit(Effect.provideService(Ledger.assertNoneLive, Ledger.Ledger, ledger))))
        .toBe(true)
    }))

  it.effect("awaitNoneLive waits for the last release, and times out listing the survivors", () =>
    Effect.gen(function*() {
      const ledger = Ledger.make()
      const entry = ledger.open("p", "m")
      const waiting = yield* Effect.fork(Effect.provideService(Ledger.awaitNoneLive("1 second"), Ledger.Ledger, ledger))
      entry.release("completed")
      expect(Exit.isSuccess(yield* Fiber.await(waiting))).toBe(true)

      ledger.open("p", "stuck")
      const timingOut = yield* Effect.fork(
        Effect.flip(Effect.provideService(Ledger.awaitNoneLive("1 second"), Ledger.Ledger, ledger))
      )
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(timingOut)
      expect(error.live.map((s) => s.model)).toEqual(["stuck"])
    }))
})
