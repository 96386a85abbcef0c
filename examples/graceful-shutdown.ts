/**
 * A supervisor that shuts down cleanly on Ctrl-C (SIGINT) or SIGTERM.
 *
 *   node --import tsx examples/graceful-shutdown.ts     # then press Ctrl-C
 *
 * (Not `npx tsx`: on Ctrl-C npm's wrapper exits at once, before the program
 * has printed its report. A second Ctrl-C during the shutdown kills the
 * process, as usual.)
 *
 * Five sessions each get five messages to answer (slow answers, about a
 * second each). On the signal the supervisor's scope closes: it refuses new
 * work, drops the queued turns, lets the turns in flight finish within
 * `shutdownTimeout` (interrupting them after that), waits for every finalizer,
 * and reports. The ledger then shows every stream released.
 */
import { Supervisor } from "@streamvisor/supervisor"
import { Script } from "@streamvisor/testkit"
import { Console, Effect } from "effect"
import { Backend, deltas, runMain } from "./support/Backend.js"

/** Wait for SIGINT or SIGTERM; the handlers are removed when the wait ends. */
const waitForSignal = Effect.async<NodeJS.Signals>((resume) => {
  const onSignal = (signal: NodeJS.Signals) => resume(Effect.succeed(signal))
  process.once("SIGINT", onSignal)
  process.once("SIGTERM", onSignal)
  return Effect.sync(() => {
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
  })
})

const program = Effect.gen(function*() {
  const { model, provider, server } = yield* Backend
  // Slow answers: 50 words, 20 ms apart.
  server.setScript(Script.text(deltas("lorem ipsum dolor sit amet ".repeat(10)), { delayMs: 20 }))

  const supervisor = yield* Effect.scoped(Effect.gen(function*() {
    const supervisor = yield* Supervisor.make({ maxConcurrentStreams: 3, shutdownTimeout: "2 seconds" })
    for (const name of ["ada", "bob", "cy", "dee", "eve"]) {
      const session = yield* supervisor.spawn({ id: name, provider: provider("ollama"), model: model("ollama") })
      // `tell`: queue a turn and return at once (its answer goes to `events` subscribers).
      for (let i = 1; i <= 5; i++) yield* session.tell(`${name}, question ${i}`)
    }
    const snapshot = yield* supervisor.snapshot
    yield* Console.log(`${snapshot.running} sessions running, 25 turns queued, at most 3 streams at once.`)
    yield* Console.log("Press Ctrl-C to stop.")

    const signal = yield* waitForSignal
    const before = yield* supervisor.snapshot
    yield* Console.log(`\ngot ${signal}: closing the supervisor's scope (${before.liveStreams} streams open)`)
    return supervisor
  }))

  // The scope is closed: the supervisor has shut down, and here is how.
  const report = yield* supervisor.shutdownReport
  yield* Console.log("shutdown report:")
  yield* Console.log(`  sessions stopped      ${report.sessionsStopped}`)
  yield* Console.log(`  turns finished        ${report.turnsFinished} (in flight, allowed to finish)`)
  yield* Console.log(`  turns cancelled       ${report.turnsCancelled} (queued, dropped)`)
  yield* Console.log(`  sessions interrupted  ${report.sessionsInterrupted} (still busy at the deadline)`)
  yield* Console.log(`  streams released      ${report.streamsReleased}, still live ${report.streamsLive}`)
  yield* Console.log(`  took                  ${report.durationMs} ms${report.timedOut ? " (timed out)" : ""}`)
})

runMain(program)
