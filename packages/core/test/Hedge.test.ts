/**
 * `Hedge.hedge` over in-memory providers (TestClock for `after`): which
 * contender starts, which wins, and that the loser is released first. The
 * same policy over real HTTP is in Policies.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { Hedge, LlmError, Provider } from "@streamvisor/core"
import type { StreamEvent } from "@streamvisor/core"
import { Chunk, type Duration, Effect, Fiber, Stream, TestClock } from "effect"

const request = { model: "m", messages: [{ role: "user" as const, content: "hi" }] }
const delta = (text: string): StreamEvent.StreamEvent => ({ _tag: "TextDelta", text })

interface Log {
  readonly lines: Array<string>
}

/** A provider that waits `delay` (TestClock), then emits `texts` or fails; it logs its start and its release. */
const fake = (
  log: Log,
  name: string,
  behaviour: { readonly delay: Duration.DurationInput; readonly texts?: ReadonlyArray<string>; readonly fail?: LlmError.LlmError }
) =>
  Provider.make({
    name,
    stream: () =>
      Stream.suspend(() => {
        log.lines.push(`${name} start`)
        const body = behaviour.fail !== undefined
          ? Stream.fail(behaviour.fail)
          : Stream.fromIterable((behaviour.texts ?? []).map(delta))
        return Stream.concat(Stream.fromEffect(Effect.sleep(behaviour.delay)).pipe(Stream.drain), body)
      }).pipe(Stream.ensuring(Effect.sync(() => log.lines.push(`${name} released`))))
  })

const texts = (chunk: Chunk.Chunk<StreamEvent.StreamEvent>) =>
  Chunk.toReadonlyArray(chunk).flatMap((event) => (event._tag === "TextDelta" ? [event.text] : []))

describe("Hedge", () => {
  it("is named after both providers", () => {
    const log = { lines: [] }
    const provider = Hedge.hedge([fake(log, "a", { delay: "1 millis" }), fake(log, "b", { delay: "1 millis" })], {
      after: "1 second"
    })
    expect(provider.name).toBe("hedge(a,b)")
  })

  it.effect("a primary that answers before `after` never starts the secondary", () =>
    Effect.gen(function*() {
      const log: Log = { lines: [] }
      const hedged = Hedge.hedge([
        fake(log, "a", { delay: "100 millis", texts: ["x", "y"] }),
        fake(log, "b", { delay: "0 millis", texts: ["z"] })
      ], { after: "1 second" })
      const fiber = yield* Effect.fork(Stream.runCollect(hedged.stream(request)))
      yield* TestClock.adjust("2 seconds")
      expect(texts(yield* Fiber.join(fiber))).toEqual(["x", "y"])
      expect(log.lines).toEqual(["a start", "a released"])
    }))

  it.effect("a silent primary is raced by the secondary after `after`; the loser is released before the winner's events", () =>
    Effect.gen(function*() {
      const log: Log = { lines: [] }
      const hedged = Hedge.hedge([
        fake(log, "a", { delay: "10 seconds", texts: ["late"] }),
        fake(log, "b", { delay: "100 millis", texts: ["fast"] })
      ], { after: "1 second" })
      const fiber = yield* Effect.fork(
        hedged.stream(request).pipe(
          Stream.tap(() => Effect.sync(() => log.lines.push("event"))),
          Stream.runCollect
        )
      )
      yield* TestClock.adjust("999 millis")
      expect(log.lines).toEqual(["a start"])
      yield* TestClock.adjust("1 second")
      expect(texts(yield* Fiber.join(fiber))).toEqual(["fast"])
      expect(log.lines).toEqual(["a start", "b start", "a released", "event", "b released"])
    }))

  it.effect("a non-retryable failure of the primary is passed on without starting the secondary", () =>
    Effect.gen(function*() {
      const log: Log = { lines: [] }
      const hedged = Hedge.hedge([
        fake(log, "a", { delay: "0 millis", fail: new LlmError.Unauthorized({ provider: "a", status: 401 }) }),
        fake(log, "b", { delay: "0 millis", texts: ["z"] })
      ], { after: "1 second" })
      const fiber = yield* Effect.fork(Stream.runCollect(hedged.stream(request)).pipe(Effect.flip))
      yield* TestClock.adjust("2 seconds")
      expect((yield* Fiber.join(fiber))._tag).toBe("Unauthorized")
      expect(log.lines).toEqual(["a start", "a released"])
    }))

  it.effect("when both fail retryably, the secondary's failure is the answer", () =>
    Effect.gen(function*() {
      const log: Log = { lines: [] }
      const hedged = Hedge.hedge([
        fake(log, "a", { delay: "2 seconds", fail: new LlmError.Overloaded({ provider: "a" }) }),
        fake(log, "b", { delay: "3 seconds", fail: new LlmError.ServerError({ provider: "b", status: 503 }) })
      ], { after: "1 second" })
      const fiber = yield* Effect.fork(Stream.runCollect(hedged.stream(request)).pipe(Effect.flip))
      yield* TestClock.adjust("10 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("ServerError")
      expect(error.provider).toBe("b")
      expect(log.lines.filter((line) => line.endsWith("released")).sort()).toEqual(["a released", "b released"])
    }))
})
