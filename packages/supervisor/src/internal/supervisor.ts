/**
 * The supervisor: a registry of sessions (`SynchronizedRef<HashMap>`), their
 * fibers (`FiberMap` keyed by session id, one per session with work), one stream `Semaphore`
 * shared by every session, and the shutdown procedure run by its scope.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberMap from "effect/FiberMap"
import * as HashMap from "effect/HashMap"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import { pipeArguments } from "effect/Pipeable"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as SynchronizedRef from "effect/SynchronizedRef"
import { Ledger } from "@streamvisor/core"
import type * as Session from "../Session.js"
import type * as Supervisor from "../Supervisor.js"
import { RestartIntensityExceeded, SessionIdInUse, SupervisorClosed } from "../SupervisorError.js"
import * as Metrics from "./metrics.js"
import * as Actor from "./session.js"

interface Registry {
  readonly state: "running" | "shutting-down" | "closed"
  readonly sessions: HashMap.HashMap<string, Actor.SessionImpl>
  readonly generated: number
}

/** @internal */
export const defaultBackoff: Schedule.Schedule<unknown> = Schedule.union(
  Schedule.exponential("100 millis"),
  Schedule.spaced("5 seconds")
)

/** @internal */
export const make = (options: Supervisor.Options = {}): Effect.Effect<Supervisor.Supervisor, never, Scope.Scope> =>
  Effect.gen(function*() {
    const name = options.name ?? "supervisor"
    const shutdownTimeout = Duration.decode(options.shutdownTimeout ?? "10 seconds")
    const defaultRestart: Session.Restart = options.restart ?? "transient"
    const defaultIdle = options.idleTimeout === undefined ? undefined : Duration.decode(options.idleTimeout)
    const maxStreams = options.maxConcurrentStreams ?? Number.POSITIVE_INFINITY
    if (!(maxStreams >= 1)) throw new RangeError("maxConcurrentStreams must be at least 1")
    const metrics = Metrics.tagged(name)
    const ledger = yield* Ledger.Ledger

    // Finalizers run in reverse order: the shutdown (added last) runs first,
    // then the FiberMap interrupts any session fiber left.
    const scope = yield* Effect.scope
    const fibers = yield* FiberMap.make<string, void, never>()
    const runFiber = yield* FiberMap.runtime(fibers)<never>()
    const streams = yield* Effect.makeSemaphore(maxStreams)
    const registry = yield* SynchronizedRef.make<Registry>({ state: "running", sessions: HashMap.empty(), generated: 0 })
    const report = yield* Deferred.make<Supervisor.ShutdownReport>()
    const failure = yield* Deferred.make<void, RestartIntensityExceeded>()

    const running = (sessions: HashMap.HashMap<string, Actor.SessionImpl>) =>
      Effect.filter(HashMap.values(sessions), Actor.isRunning)

    const shutdown = (reason: Supervisor.ShutdownReport["reason"]): Effect.Effect<Supervisor.ShutdownReport> =>
      Effect.uninterruptible(Effect.gen(function*() {
        const first = yield* SynchronizedRef.modify(registry, (r) =>
          r.state === "running" ? [true, { ...r, state: "shutting-down" as const }] : [false, r])
        if (!first) return yield* Deferred.await(report)
        const startedAt = yield* Clock.currentTimeMillis
        const sessions = yield* running((yield* SynchronizedRef.get(registry)).sessions)
        let streamsAtStart = 0
        let inFlight = 0
        for (const s of sessions) {
          const activity = yield* Actor.activityOf(s)
          streamsAtStart += activity.live
          if (activity.inFlight) inFlight++
        }
        // 1. stop accepting work, drop what is queued
        const dropped = yield* Effect.forEach(sessions, (s) => Actor.beginStop(s, "shutdown"))
        // 2. drain: let turns in flight finish, within the deadline
        const drained = yield* Effect.interruptible(
          Effect.forEach(sessions, Actor.awaitTerminated, { discard: true })
        ).pipe(Effect.timeoutOption(shutdownTimeout), Effect.map(Option.isSome))
        // 3. interrupt the rest; every finalizer runs before this returns
        const cut = drained
          ? []
          : yield* Effect.forEach(sessions, Actor.forceStop, { concurrency: "unbounded" })
        yield* FiberMap.awaitEmpty(fibers)
        const finishedAt = yield* Clock.currentTimeMillis
        const turnsCut = cut.filter((c) => c.cut).length
        const result: Supervisor.ShutdownReport = {
          reason,
          sessionsStopped: sessions.length,
          sessionsInterrupted: cut.filter((c) => c.interrupted).length,
          turnsCancelled: dropped.reduce((a, b) => a + b, 0) + turnsCut,
          turnsFinished: inFlight - turnsCut,
          streamsReleased: streamsAtStart,
          streamsLive: ledger.snapshot().live.length,
          timedOut: !drained,
          durationMs: finishedAt - startedAt
        }
        yield* SynchronizedRef.update(registry, (r) => ({ ...r, state: "closed" as const }))
        yield* Effect.logInfo(`supervisor ${name} shut down`).pipe(Effect.annotateLogs({ ...result }))
        yield* Deferred.succeed(report, result)
        return result
      }))

    const onGiveUp = (sessionId: string, restarts: number, defect: unknown): Effect.Effect<void> =>
      Effect.gen(function*() {
        yield* Effect.logWarning(`session ${sessionId} exceeded its restart intensity`).pipe(
          Effect.annotateLogs({ supervisor: name, sessionId, restarts, escalate: options.escalate === true })
        )
        if (options.escalate !== true) return
        yield* Deferred.fail(failure, new RestartIntensityExceeded({ sessionId, restarts, defect }))
        yield* Effect.forkIn(shutdown("escalated"), scope)
      })

    const env: Actor.Environment = {
      streams,
      shutdownTimeout,
      maxRestarts: Math.max(0, options.maxRestarts ?? 3),
      windowMillis: Duration.toMillis(Duration.decode(options.window ?? "5 seconds")),
      backoff: options.backoff ?? defaultBackoff,
      metrics,
      onGiveUp,
      activate: (s) => {
        runFiber(s.config.id, Actor.run(s))
      },
      fiberOf: (s) => FiberMap.unsafeGet(fibers, s.config.id)
    }

    const spawn = (spawnOptions: Session.SpawnOptions) =>
      Effect.uninterruptible(SynchronizedRef.modifyEffect(registry, (r) =>
        Effect.gen(function*() {
          if (r.state !== "running") return yield* new SupervisorClosed()
          let id = spawnOptions.id
          let generated = r.generated
          if (id === undefined) {
            do id = `session-${++generated}`
            while (HashMap.has(r.sessions, id))
          }
          const existing = HashMap.get(r.sessions, id)
          if (Option.isSome(existing) && (yield* Actor.isRunning(existing.value))) {
            return yield* new SessionIdInUse({ sessionId: id })
          }
          const idle = spawnOptions.idleTimeout === undefined ? defaultIdle : Duration.decode(spawnOptions.idleTimeout)
          const s = yield* Actor.make(
            {
              id,
              provider: spawnOptions.provider,
              model: spawnOptions.model,
              system: spawnOptions.system,
              policies: spawnOptions.policies,
              restart: spawnOptions.restart ?? defaultRestart,
              idleTimeout: idle
            },
            env,
            spawnOptions.history ?? []
          )
          yield* Metric.modify(metrics.sessions, 1)
          yield* Actor.start(s)
          return [s.ref, { ...r, generated, sessions: HashMap.set(r.sessions, id, s) }] as const
        })
      ))

    const snapshot = Effect.gen(function*() {
      const r = yield* SynchronizedRef.get(registry)
      const sessions = yield* Effect.forEach(HashMap.values(r.sessions), Actor.info)
      let liveStreams = 0
      for (const s of sessions) liveStreams += s.liveStreams
      return {
        state: r.state,
        sessions,
        running: sessions.filter((s) => s.status !== "stopped" && s.status !== "failed").length,
        liveStreams,
        fibers: yield* FiberMap.size(fibers)
      } satisfies Supervisor.Snapshot
    })

    yield* Effect.addFinalizer(() => shutdown("closed"))

    const supervisor: Supervisor.Supervisor = {
      name,
      spawn,
      get: (id) => Effect.map(SynchronizedRef.get(registry), (r) => Option.map(HashMap.get(r.sessions, id), (s) => s.ref)),
      snapshot,
      shutdown: shutdown("closed"),
      shutdownReport: Deferred.await(report),
      join: Effect.zipLeft(Deferred.await(report), Effect.flatMap(Deferred.poll(failure), Option.getOrElse(() => Effect.void))),
      metrics: {
        sessions: metrics.sessions,
        liveStreams: metrics.liveStreams,
        timeToFirstToken: metrics.timeToFirstToken,
        inputTokens: metrics.inputTokens,
        outputTokens: metrics.outputTokens,
        restarts: metrics.restarts,
        sessionsFailed: metrics.sessionsFailed,
        turns: {
          committed: metrics.turnsCommitted,
          failed: metrics.turnsFailed,
          crashed: metrics.turnsCrashed,
          cancelled: metrics.turnsCancelled,
          dropped: metrics.turnsDropped
        }
      },
      pipe() {
        // eslint-disable-next-line prefer-rest-params
        return pipeArguments(this, arguments)
      }
    }
    return supervisor
  })
