/**
 * Test helpers: a fresh ledger per test, bounded waits on conditions (never
 * sleeps hoping), and the invariants every supervisor test ends with.
 */
import { Ledger } from "@streamvisor/core"
import { Cause, Chunk, Duration, Effect, Exit, Fiber, Logger, LogLevel, Option, Scope, TestClock } from "effect"
import { expect } from "vitest"
import { Supervisor, type SupervisorError } from "../../src/index.js"

/**
 * Waits until `condition` holds, giving other fibers a turn between checks;
 * fails after `tries` checks. Works under `TestClock` (no real time passes).
 */
export const waitUntil = <E, R>(
  condition: Effect.Effect<boolean, E, R>,
  label: string,
  tries = 5_000
): Effect.Effect<void, E | Error, R> =>
  Effect.gen(function*() {
    for (let i = 0; i < tries; i++) {
      if (yield* condition) return
      yield* Effect.yieldNow()
    }
    return yield* Effect.fail(new Error(`condition not reached: ${label}`))
  })

/**
 * Under `TestClock`: wait until some fiber sleeps (a provider's delay, a
 * timeout, a backoff), then move the clock by `duration`.
 */
export const tick = (duration: Duration.DurationInput, label = "a sleeper") =>
  Effect.zipRight(
    waitUntil(Effect.map(TestClock.sleeps(), (sleeps) => Chunk.size(sleeps) > 0), label),
    TestClock.adjust(duration)
  )

/** Like `waitUntil`, in real time: polls every `everyMs`, fails after `timeoutMs`. */
export const waitLive = <E, R>(
  condition: Effect.Effect<boolean, E, R>,
  label: string,
  timeoutMs = 3_000,
  everyMs = 5
): Effect.Effect<void, E | Error, R> =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (yield* condition) return
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, everyMs)))
    }
    if (yield* condition) return
    return yield* Effect.fail(new Error(`condition not reached within ${timeoutMs} ms: ${label}`))
  })

/** The status of session `id` in the snapshot. */
export const statusOf = (supervisor: Supervisor.Supervisor, id: string) =>
  Effect.map(supervisor.snapshot, (s) => s.sessions.find((i) => i.id === id)?.status)

export const infoOf = (supervisor: Supervisor.Supervisor, id: string) =>
  Effect.map(supervisor.snapshot, (s) => {
    const info = s.sessions.find((i) => i.id === id)
    if (info === undefined) throw new Error(`no session ${id}`)
    return info
  })

/** The failure's `_tag`, or "success" / "interrupted" / "die". */
export const outcome = (exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return "success"
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) return (failure.value as { readonly _tag: string })._tag
  return Cause.isInterruptedOnly(exit.cause) ? "interrupted" : "die"
}

/**
 * Runs `body` with a fresh ledger and a supervisor in its own scope; closes
 * the scope and then checks invariant 5: no live stream in the ledger, no
 * double release, no session fiber alive, every session stopped or failed.
 */
export const withSupervisor = <A, E>(
  options: Supervisor.Options,
  body: (supervisor: Supervisor.Supervisor, ledger: Ledger.Service) => Effect.Effect<A, E, Scope.Scope>
): Effect.Effect<
  { readonly value: A; readonly report: Supervisor.ShutdownReport; readonly ledger: Ledger.Service },
  E | SupervisorError.InvalidOptions | SupervisorError.NameInUse
> => {
  const ledger = Ledger.make()
  return Effect.gen(function*() {
    const scope = yield* Scope.make()
    const supervisor = yield* Scope.extend(Supervisor.make(options), scope)
    const exit = yield* Effect.exit(Scope.extend(body(supervisor, ledger), scope))
    if (Exit.isFailure(exit)) {
      // a failed body may leave a hung turn behind: under TestClock the
      // shutdown deadline only passes if the clock moves (in live tests it passes by itself)
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      if ("adjust" in (yield* Effect.clock)) yield* TestClock.adjust("1 hour")
      yield* Fiber.join(closing)
      return yield* Effect.failCause(exit.cause)
    }
    yield* Scope.close(scope, Exit.void)
    const report = yield* supervisor.shutdownReport
    const snapshot = yield* supervisor.snapshot
    expect(snapshot.state).toBe("closed")
    expect(snapshot.fibers).toBe(0)
    expect(snapshot.liveStreams).toBe(0)
    for (const session of snapshot.sessions) expect(["stopped", "failed"]).toContain(session.status)
    expect(ledger.snapshot().live).toEqual([])
    expect(ledger.doubleReleases()).toBe(0)
    expect(report.streamsLive).toBe(0)
    const value = yield* exit
    return { value, report, ledger }
  }).pipe(Effect.provideService(Ledger.Ledger, ledger), Logger.withMinimumLogLevel(LogLevel.Warning))
}
