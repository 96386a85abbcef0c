/**
 * The streamvisor demo: a supervisor runs a few hundred chat sessions across
 * all four providers (five wire formats) while the embedded fake server
 * injects rate limits, overloads, disconnects, hangs and provider error
 * events, users cancel answers halfway, and a few sessions are crashed on
 * purpose. A hedge and a fallback are in the mix. A live view shows it as it
 * runs; at the end the ledger proves every stream was released and every
 * connection closed. Exit status 1 if anything leaked.
 *
 *   npm run demo                                          # installs, builds, runs
 *   npx tsx examples/demo/main.ts --sessions 50 --seed 7  # once installed
 *   npx tsx examples/demo/main.ts --help
 */
import { parseArgs } from "node:util"
import { fallback, hedge, Ledger, type Provider, retry, timeouts } from "@streamvisor/core"
import { type Session, Supervisor } from "@streamvisor/supervisor"
import { FakeLlmServer } from "@streamvisor/testkit"
import { Cause, Console, Effect, Exit, Fiber, Logger, LogLevel, Metric, Schedule, Stream } from "effect"
import {
  connectionPool,
  liveRequested,
  makeService,
  report,
  type Service,
  type Wire,
  wires,
  withModel
} from "../support/Backend.js"
import * as Plan from "./Plan.js"
import * as View from "./View.js"

const help = `streamvisor demo: a supervisor over hundreds of chat sessions, with faults, and a leak check.

usage: npx tsx examples/demo/main.ts [options]      (or: npm run demo -- [options])

options:
  --sessions N   how many chat sessions (default 300; 20 with --live)
  --seed S       seed of every random choice (default 1). The same seed gives the same run:
                 the same sessions, providers, messages, injected faults, cancellations and
                 crashes, hence the same turn outcomes (committed, failed by error, cancelled,
                 crashed). Timing and interleaving differ, and with them how many streams a
                 hedge opens and the live view (and on a machine loaded enough to fire a
                 timeout that should not fire, an outcome).
  --live         use the real API for each provider whose key is in the environment
                 (ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY, OLLAMA_HOST); the
                 others stay on the embedded fake server. Faults are only injected there.
  --help         this text

With no API keys everything runs against the embedded FakeLlmServer, a real HTTP server on
127.0.0.1 speaking each provider's wire format. The last lines are the ledger: streams opened,
released, live (must be 0), and the server's open connections (must be 0).`

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

const { values: flags } = parseArgs({
  options: {
    sessions: { type: "string" },
    seed: { type: "string", default: "1" },
    live: { type: "boolean", default: false },
    help: { type: "boolean", default: false }
  }
})
if (flags.help) {
  console.log(help)
  process.exit(0)
}
const live = liveRequested()
const sessionCount = Number(flags.sessions ?? (live ? 20 : 300))
if (!Number.isInteger(sessionCount) || sessionCount < 1) {
  console.error(`--sessions must be a positive integer, got ${flags.sessions}\n\n${help}`)
  process.exit(2)
}

// ---------------------------------------------------------------------------
// Counters the users update and the view reads
// ---------------------------------------------------------------------------

class Tally {
  committed = 0
  cancelled = 0
  crashed = 0
  events = 0
  readonly failed = new Map<string, number>()
  fail(reason: string) {
    this.failed.set(reason, (this.failed.get(reason) ?? 0) + 1)
  }
  get failedTotal() {
    let total = 0
    for (const n of this.failed.values()) total += n
    return total
  }
}

// ---------------------------------------------------------------------------
// One user: spawns a session, chats through its planned turns, stops it
// ---------------------------------------------------------------------------

/** One turn as planned: read the answer, cancel it, or crash the session midway. */
const runTurn = (chat: Session.SessionRef, turn: Plan.Turn, tally: Tally) =>
  Effect.suspend(() => {
    const user = turn.user
    let seen = 0
    let crashed = false
    let answer = chat.send(turn.text)
    if (user.kind === "cancel") answer = Stream.take(answer, user.after) // stop reading: the turn is cancelled
    return answer.pipe(
      Stream.runForEachChunk((chunk) => {
        seen += chunk.length
        tally.events += chunk.length
        if (user.kind === "crash" && seen >= user.after && !crashed) {
          crashed = true
          return chat.crash("chaos drill") // as if the session died of a bug
        }
        return Effect.void
      }),
      Effect.match({
        onSuccess: () => (user.kind === "cancel" ? tally.cancelled++ : tally.committed++),
        onFailure: (error) =>
          error._tag === "SessionCrashed"
            ? tally.crashed++
            : tally.fail(error._tag === "Timeout" ? `Timeout (${error.phase})` : error._tag)
      })
    )
  })

const runUser = (
  supervisor: Supervisor.Supervisor,
  session: Plan.Session,
  provider: Provider.Provider,
  policies: Session.Policies,
  tally: Tally
) =>
  Effect.gen(function*() {
    yield* Effect.sleep(session.startMs)
    const chat = yield* supervisor.spawn({ id: session.id, provider, model: session.route, system: "Be brief.", policies })
    for (const turn of session.turns) {
      yield* runTurn(chat, turn, tally)
      yield* Effect.sleep(turn.thinkMs)
    }
    yield* chat.stop
  })

// ---------------------------------------------------------------------------
// Providers and policies
// ---------------------------------------------------------------------------

/** A provider per route: the five wire formats, a hedge and a fallback. */
const routeProviders = (backend: Service): Record<Plan.Route, Provider.Provider> => {
  // hedge and fallback send the same request to both providers: pin each one's model
  const pinned = (wire: Wire) => withModel(backend.provider(wire), backend.model(wire))
  return {
    anthropic: pinned("anthropic"),
    "openai-chat": pinned("openai-chat"),
    "openai-responses": pinned("openai-responses"),
    gemini: pinned("gemini"),
    ollama: pinned("ollama"),
    hedge: hedge([pinned(Plan.hedgeWires[0]), pinned(Plan.hedgeWires[1])], { after: "400 millis" }),
    fallback: fallback([pinned(Plan.fallbackWires[0]), pinned(Plan.fallbackWires[1])])
  }
}

/** Timeouts end hangs; retry covers failures before the first event. Real APIs get more time. */
const policiesFor = (isLive: boolean): Session.Policies => (events) =>
  events.pipe(
    timeouts(isLive ? { firstToken: "30 seconds", idle: "15 seconds" } : { firstToken: "2 seconds", idle: "1 second" }),
    retry({ times: 2, schedule: Schedule.exponential("100 millis") })
  )

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

const program = Effect.gen(function*() {
  const plan = yield* Plan.make({ sessions: sessionCount, seed: flags.seed })
  const turnCount = plan.sessions.reduce((sum, s) => sum + s.turns.length, 0)
  yield* Console.log(
    `streamvisor demo: ${plan.sessions.length} sessions, ${turnCount} turns, seed ${plan.seed} (plan ${Plan.digest(plan)})`
  )
  for (const line of Plan.describe(plan)) yield* Console.log(line)
  yield* Console.log("")

  // The embedded fake server plays the plan; one connection pool for every client.
  const server = yield* FakeLlmServer.make({ script: Plan.script(plan) })
  const pool = yield* connectionPool
  const backend = makeService(server, live, (line) => console.log(line))
  if (live) {
    for (const wire of wires) backend.isLive(wire) // says, once per provider, whether it is live
    yield* Console.log("")
  }
  const isLive = (route: Plan.Route) =>
    route === "hedge"
      ? Plan.hedgeWires.some(backend.isLive)
      : route === "fallback"
      ? Plan.fallbackWires.some(backend.isLive)
      : backend.isLive(route)
  const providers = routeProviders(backend)

  const tally = new Tally()
  const view = View.make(process.stdout.isTTY === true)
  const startedAt = Date.now()

  const supervisor = yield* Effect.scoped(Effect.gen(function*() {
    const supervisor = yield* Supervisor.make({
      name: "demo",
      maxConcurrentStreams: 32,
      restart: "transient",
      maxRestarts: 3,
      window: "5 seconds",
      backoff: Schedule.exponential("50 millis"),
      shutdownTimeout: "3 seconds"
    })

    // The view: sample everything every `intervalMs` and draw.
    let lastEvents = 0
    let lastAt = startedAt
    let eventsPerSecond = 0
    const draw = Effect.gen(function*() {
      const snapshot = yield* supervisor.snapshot
      const ledger = yield* Ledger.snapshot
      const stats = server.stats()
      const now = Date.now()
      if (now - lastAt >= 500) {
        eventsPerSecond = ((tally.events - lastEvents) * 1000) / (now - lastAt)
        lastEvents = tally.events
        lastAt = now
      }
      // `snapshot.sessions` lists the running sessions (and a few terminated
      // ones); `stopped` and `failed` count every terminated one.
      const states: Record<string, number> = { stopped: snapshot.stopped, failed: snapshot.failed }
      for (const s of snapshot.sessions) {
        if (s.status !== "stopped" && s.status !== "failed") states[s.status] = (states[s.status] ?? 0) + 1
      }
      states.pending = plan.sessions.length - snapshot.running - snapshot.stopped - snapshot.failed
      const restarts = yield* Metric.value(supervisor.metrics.restarts)
      const liveByProvider: Record<string, number> = {}
      for (const s of ledger.live) liveByProvider[s.provider] = (liveByProvider[s.provider] ?? 0) + 1
      view.render({
        elapsedMs: now - startedAt,
        sessionsTotal: plan.sessions.length,
        states,
        liveStreams: ledger.live.length,
        liveByProvider,
        streamsOpened: ledger.opened,
        serverOpen: stats.open,
        serverInflight: stats.inflight,
        eventsPerSecond,
        restarts: restarts.count,
        committed: tally.committed,
        failed: tally.failedTotal,
        cancelled: tally.cancelled,
        crashed: tally.crashed
      })
    })
    const viewer = yield* Effect.fork(Effect.repeat(draw, Schedule.spaced(view.intervalMs)))

    // Every user at once; each waits for its planned start.
    yield* Effect.forEach(
      plan.sessions,
      (session) => runUser(supervisor, session, providers[session.route], policiesFor(isLive(session.route)), tally),
      { concurrency: "unbounded", discard: true }
    )

    yield* Fiber.interrupt(viewer)
    yield* draw
    view.done()
    return supervisor
  }))

  // The supervisor's scope is closed: it has shut down, leaving no session fiber.
  const shutdown = yield* supervisor.shutdownReport
  const after = yield* supervisor.snapshot
  const restarts = (yield* Metric.value(supervisor.metrics.restarts)).count
  const failures = [...tally.failed.entries()].sort().map(([reason, n]) => `${reason} ${n}`).join(", ")
  const policy = Plan.policyOutcomes(plan, server.requests)
  yield* Console.log(`\ndone in ${((Date.now() - startedAt) / 1000).toFixed(1)}s`)
  yield* Console.log(
    `turns: committed ${tally.committed}, failed ${tally.failedTotal}${failures ? ` (${failures})` : ""}, ` +
      `cancelled ${tally.cancelled}, crashed ${tally.crashed}; session restarts ${restarts}`
  )
  yield* Console.log(
    `hedge: ${policy.hedged} of ${policy.hedgeTurns} turns asked the second provider; ` +
      `fallback: ${policy.movedOn} of ${policy.fallbackTurns} turns moved on`
  )
  yield* Console.log(
    `supervisor: ${after.state}, ${after.stopped} sessions stopped, ${after.failed} failed, ` +
      `${after.running} running, ${after.fibers} fibers left (shutdown took ${shutdown.durationMs} ms)`
  )

  // Close the pool and check for leaks.
  return yield* report(server, pool.agent)
})

// Info logs (the supervisor's shutdown line) would cut through the live view.
const main = program.pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Warning))

Effect.runPromiseExit(main).then((exit) => {
  if (Exit.isFailure(exit)) {
    console.error(Cause.pretty(exit.cause))
    process.exit(1)
  }
  // The ledger, last.
  console.log("")
  for (const line of exit.value.lines) console.log(line)
  process.exit(exit.value.leaked ? 1 : 0)
})
