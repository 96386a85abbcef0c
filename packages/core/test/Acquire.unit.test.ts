import { describe, expect, it } from "@effect/vitest"
import { acquire, Ledger, LlmError } from "@streamvisor/core"
import { Chunk, Effect, Exit, Fiber, Stream } from "effect"

/** An async generator that records how it was closed. */
const source = (n: number, options: { hangAfter?: number; failAfter?: number } = {}) => {
  const log = { returned: 0, aborted: false, pulled: 0 }
  const open = (signal: AbortSignal) => {
    signal.addEventListener("abort", () => {
      log.aborted = true
    })
    return (async function*() {
      try {
        for (let i = 0; i < n; i++) {
          if (options.hangAfter === i) {
            await new Promise<void>((_, reject) => signal.addEventListener("abort", () => reject(new Error("aborted"))))
          }
          if (options.failAfter === i) throw new TypeError("terminated")
          log.pulled++
          yield i
        }
      } finally {
        log.returned++
      }
    })()
  }
  return { log, open }
}

describe("acquire (in-memory sources)", () => {
  it.effect("reads to the end, in chunks, and releases once as completed", () =>
    Effect.gen(function*() {
      const { log, open } = source(5000)
      const ledger = Ledger.make()
      const chunks = yield* acquire({ provider: "test", model: "m", open }).pipe(
        Stream.chunks,
        Stream.runCollect,
        Effect.provideService(Ledger.Ledger, ledger)
      )
      const all = Chunk.toReadonlyArray(chunks).flatMap((c) => Chunk.toReadonlyArray(c))
      expect(all).toEqual(Array.from({ length: 5000 }, (_, i) => i))
      expect(chunks.length).toBeLessThan(50)
      expect(log.returned).toBe(1)
      expect(log.aborted).toBe(false)
      const snap = ledger.snapshot()
      expect(snap).toMatchObject({ opened: 1, released: 1, live: [], outcomes: { completed: 1 } })
      expect(ledger.doubleReleases()).toBe(0)
    }))

  it.effect("take(n) aborts first and closes the iterator", () =>
    Effect.gen(function*() {
      const { log, open } = source(1_000_000)
      const ledger = Ledger.make()
      const got = yield* acquire({ provider: "test", model: "m", open }).pipe(
        Stream.take(3),
        Stream.runCollect,
        Effect.provideService(Ledger.Ledger, ledger)
      )
      expect(Chunk.toReadonlyArray(got)).toEqual([0, 1, 2])
      expect(log.aborted).toBe(true)
      expect(log.returned).toBe(1)
      expect(log.pulled).toBeLessThanOrEqual(1024 + 2)
      expect(ledger.snapshot()).toMatchObject({ opened: 1, released: 1, live: [], outcomes: { cancelled: 1 } })
    }))

  it.live("interruption during a pending next() on a hung source releases promptly", () =>
    Effect.gen(function*() {
      const { log, open } = source(10, { hangAfter: 2 })
      const ledger = Ledger.make()
      const fiber = yield* acquire({ provider: "test", model: "m", open }).pipe(
        Stream.runDrain,
        Effect.provideService(Ledger.Ledger, ledger),
        Effect.fork
      )
      yield* Effect.promise(() => new Promise<void>((r) => setTimeout(r, 20)))
      const started = Date.now()
      yield* Fiber.interrupt(fiber)
      expect(Date.now() - started).toBeLessThan(500)
      expect(log.aborted).toBe(true)
      expect(log.returned).toBe(1)
      expect(ledger.snapshot().live).toEqual([])
    }))

  it.effect("a source failure is mapped and the stream is released as failed", () =>
    Effect.gen(function*() {
      const { open } = source(10, { failAfter: 4 })
      const ledger = Ledger.make()
      const exit = yield* acquire({
        provider: "test",
        model: "m",
        open,
        mapError: (cause) => new LlmError.Disconnected({ provider: "test", message: String(cause) })
      }).pipe(Stream.runCollect, Effect.provideService(Ledger.Ledger, ledger), Effect.exit)
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(exit.cause.toString()).toContain("Disconnected")
      expect(ledger.snapshot()).toMatchObject({ opened: 1, released: 1, outcomes: { failed: 1 } })
    }))
})
