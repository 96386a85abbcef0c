/**
 * The supervisor: a registry of sessions (`SynchronizedRef<HashMap>`), their
 * fibers (`FiberMap` keyed per spawn, one per session with work), one stream `Semaphore`
 * shared by every session, and the shutdown procedure run by its scope.
 *
 * The registry holds running sessions only: a session that terminates is
 * forgotten at once, leaving its final `Info` in a bounded record of the
 * last `retainTerminated` terminated sessions and its outcome in two
 * counters. So a long-running supervisor that spawns sessions with ever-new
 * ids holds memory for the sessions running now, not for every session it
 * ever ran.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
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
import { Ledger, type Toolkit } from "@streamvisor/core"
import type * as Session from "../Session.js"
import type * as Supervisor from "../Supervisor.js"
import {
  type InvalidOptions,
  type NameInUse,
  RestartIntensityExceeded,
  SessionIdInUse,
  SupervisorClosed
} from "../SupervisorError.js"
import * as Durable from "./Durable.js"
import * as Metrics from "./metrics.js"
import * as Names from "./Names.js"
import * as Retained from "./Retained.js"
import * as SessionRefImpl from "./SessionRefImpl.js"
import * as SessionState from "./SessionState.js"
import * as StopDeadline from "./StopDeadline.js"
import * as Supervision from "./Supervision.js"
import * as Validation from "./Validation.js"

interface Registry {
  readonly state: "running" | "shutting-down" | "closed"
  /** Sessions not terminated yet (and one that is terminating, until it has been forgotten), by id. */
  readonly sessions: HashMap.HashMap<string, SessionState.SessionImpl>
  /** The final `Info` of the last `retainTerminated` terminated sessions. */
  readonly retained: Retained.Retained
  /** Ids generated so far (`session-N`). */
  readonly generated: number
  /** Spawns so far: each session's key in the `FiberMap`. */
  readonly spawned: number
  /** Sessions that have terminated, by final status, since the supervisor was made. */
  readonly stopped: number
  readonly failed: number
}

/** @internal */
export const DEFAULT_RETAIN_TERMINATED = 100

/** @internal */
export const defaultBackoff: Schedule.Schedule<unknown> = Schedule.union(
  Schedule.exponential("100 millis"),
  Schedule.spaced("5 seconds")
)

/** @internal */
export const make = (
  options: Supervisor.Options = {}
): Effect.Effect<Supervisor.Supervisor, InvalidOptions | NameInUse, Scope.Scope> =>
  Effect.gen(function*() {
    yield* Validation.supervisorOptions(options)
    // claimed first, so it is released last: after the shutdown's last metric update
    const name = yield* Names.claim(options.name)
    const store = options.store
    const shutdownTimeout = Duration.decode(options.shutdownTimeout ?? "10 seconds")
    const defaultRestart: Session.Restart = options.restart ?? "transient"
    const defaultIdle = options.idleTimeout === undefined ? undefined : Duration.decode(options.idleTimeout)
    const maxStreams = options.maxConcurrentStreams ?? Number.POSITIVE_INFINITY
    const retain = options.retainTerminated ?? DEFAULT_RETAIN_TERMINATED
    const metrics = Metrics.tagged(name)
    const ledger = yield* Ledger.Ledger

    // Finalizers run in reverse order: the shutdown (added last) runs first,
    // then the FiberMap interrupts any session fiber left.
    const scope = yield* Effect.scope
    const fibers = yield* FiberMap.make<number, void, never>()
    const runFiber = yield* FiberMap.runtime(fibers)<never>()
    const streams = yield* Effect.makeSemaphore(maxStreams)
    const registry = yield* SynchronizedRef.make<Registry>({
      state: "running",
      sessions: HashMap.empty(),
      retained: Retained.empty,
      generated: 0,
      spawned: 0,
      stopped: 0,
      failed: 0
    })
    const report = yield* Deferred.make<Supervisor.ShutdownReport>()
    const failure = yield* Deferred.make<void, RestartIntensityExceeded>()

    const running = (sessions: HashMap.HashMap<string, SessionState.SessionImpl>) =>
      Effect.filter(HashMap.values(sessions), SessionState.isRunning)

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
          const activity = yield* SessionState.activityOf(s)
          streamsAtStart += activity.live
          if (activity.inFlight) inFlight++
        }
        // 1. stop accepting work, drop what is queued
        const dropped = yield* Effect.forEach(sessions, (s) => StopDeadline.beginStop(s, "shutdown"))
        // 2. drain: let turns in flight finish, within the deadline
        const drained = yield* Effect.interruptible(
          Effect.forEach(sessions, StopDeadline.awaitTerminated, { discard: true })
        ).pipe(Effect.timeoutOption(shutdownTimeout), Effect.map(Option.isSome))
        // 3. interrupt the rest; every finalizer runs before this returns
        const cut = drained
          ? []
          : yield* Effect.forEach(sessions, StopDeadline.forceStop, { concurrency: "unbounded" })
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

    const onTerminated = (s: SessionState.SessionImpl, info: Session.Info): Effect.Effect<void> =>
      SynchronizedRef.update(registry, (r) => {
        const id = s.config.id
        const current = HashMap.get(r.sessions, id)
        // not there any more: its id was spawned again while it was terminating
        const mine = Option.isSome(current) && current.value === s
        return {
          ...r,
          sessions: mine ? HashMap.remove(r.sessions, id) : r.sessions,
          retained: mine ? Retained.add(r.retained, info, retain) : r.retained,
          stopped: info.status === "failed" ? r.stopped : r.stopped + 1,
          failed: info.status === "failed" ? r.failed + 1 : r.failed
        }
      })

    const link: SessionState.SupervisorLink = {
      streams,
      shutdownTimeout,
      maxRestarts: Math.max(0, options.maxRestarts ?? 3),
      windowMillis: Duration.toMillis(Duration.decode(options.window ?? "5 seconds")),
      backoff: options.backoff ?? defaultBackoff,
      metrics,
      onGiveUp,
      onTerminated,
      activate: (s) => {
        runFiber(s.config.key, Supervision.run(s))
      },
      fiberOf: (s) => FiberMap.unsafeGet(fibers, s.config.key)
    }

    /** Refused before the store is asked: closed, or the id is held by a running session. */
    const admit = (id: string | undefined) =>
      Effect.gen(function*() {
        const r = yield* SynchronizedRef.get(registry)
        if (r.state !== "running") return yield* new SupervisorClosed()
        const existing = id === undefined ? Option.none() : HashMap.get(r.sessions, id)
        if (Option.isSome(existing) && (yield* SessionState.isRunning(existing.value))) {
          return yield* new SessionIdInUse({ sessionId: existing.value.config.id })
        }
      })

    // The store is asked outside the registry's lock (a database round trip
    // must not hold up other spawns and terminations); `admit` first, so a
    // session that is still running (and may still commit) is never loaded.
    const spawn = <TK extends Toolkit.Any = never>(spawnOptions: Session.SpawnOptions<TK>) =>
      Validation.spawnOptions(spawnOptions).pipe(
        Effect.zipRight(admit(spawnOptions.id)),
        Effect.zipRight(Durable.resolve(spawnOptions, store)),
        Effect.zipWith(Effect.context<Toolkit.Handlers<TK>>(), (resolved, context) => ({ resolved, context })),
        Effect.flatMap(({ context, resolved }) =>
          register(spawnOptions as Session.SpawnOptions<Toolkit.Any>, resolved, context as Context.Context<never>))
      )

    const register = (
      spawnOptions: Session.SpawnOptions<Toolkit.Any>,
      resolved: Durable.Resolved,
      context: Context.Context<never>
    ) =>
      Effect.uninterruptible(SynchronizedRef.modifyEffect(registry, (r) =>
        Effect.gen(function*() {
          if (r.state !== "running") return yield* new SupervisorClosed()
          let id = resolved.id
          let generated = r.generated
          if (id === undefined) {
            do id = `session-${++generated}`
            while (HashMap.has(r.sessions, id))
          }
          const existing = HashMap.get(r.sessions, id)
          if (Option.isSome(existing) && (yield* SessionState.isRunning(existing.value))) {
            return yield* new SessionIdInUse({ sessionId: id })
          }
          const idle = spawnOptions.idleTimeout === undefined ? defaultIdle : Duration.decode(spawnOptions.idleTimeout)
          const s = yield* SessionRefImpl.make(
            {
              key: r.spawned + 1,
              id,
              provider: spawnOptions.provider,
              model: resolved.model,
              system: resolved.system,
              options: resolved.options,
              maxTurns: resolved.maxTurns,
              store,
              policies: spawnOptions.policies,
              restart: spawnOptions.restart ?? defaultRestart,
              idleTimeout: idle,
              agent: spawnOptions.tools === undefined ? undefined : {
                toolkit: spawnOptions.tools,
                context,
                maxSteps: spawnOptions.maxSteps,
                toolTimeout: spawnOptions.toolTimeout
              }
            },
            link,
            resolved.start
          )
          yield* Metric.modify(metrics.sessions, 1)
          yield* Supervision.start(s)
          return [s.ref, {
            ...r,
            generated,
            spawned: r.spawned + 1,
            sessions: HashMap.set(r.sessions, id, s),
            retained: Retained.forget(r.retained, id) // a record of an earlier session with this id gives way to the new one
          }] as const
        })
      ))

    const snapshot = Effect.gen(function*() {
      // the registry and the record of terminated sessions, read together
      const r = yield* SynchronizedRef.get(registry)
      const terminated = Retained.infos(r.retained)
      const live = yield* Effect.forEach(HashMap.values(r.sessions), SessionState.info)
      let liveStreams = 0
      for (const s of live) liveStreams += s.liveStreams
      const running = live.filter((s) => s.status !== "stopped" && s.status !== "failed")
      // a session terminating right now (not forgotten yet) is shown with the terminated ones
      const ended = running.length === live.length ? terminated : [...live.filter((s) => !running.includes(s)), ...terminated]
      return {
        state: r.state,
        sessions: ended.length === 0 ? running : [...running, ...ended],
        runningSessions: running,
        terminatedSessions: ended,
        running: running.length,
        stopped: r.stopped,
        failed: r.failed,
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
      metrics,
      pipe() {
        // eslint-disable-next-line prefer-rest-params
        return pipeArguments(this, arguments)
      }
    }
    return supervisor
  })
