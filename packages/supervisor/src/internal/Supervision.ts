/**
 * Supervision of one session: its fiber runs incarnations one after another,
 * restarts a dead one by policy (restart type, intensity window, `Schedule`
 * backoff) in place, and terminates the session when it is done: stopped,
 * failed, or given up.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as Schedule from "effect/Schedule"
import * as Ref from "effect/Ref"
import { dropAll, type Turn } from "./Mailbox.js"
import { info, isTerminated, publish, type SessionImpl, type StopReason, update } from "./SessionState.js"
import { type Ending, incarnation, type Restore } from "./TurnLoop.js"

/** The session ends, with this status. */
interface Terminate {
  readonly _tag: "Terminate"
  readonly status: "stopped" | "failed"
  readonly reason: StopReason
  /** Set when the session gave up restarting: the supervisor is told after it has terminated. */
  readonly gaveUp?: { readonly restarts: number; readonly defect: unknown } | undefined
}

/** What to do after an incarnation ended. */
type Verdict = Terminate | { readonly _tag: "Restart"; readonly defect: unknown }

/** How the session's fiber ends: the session handed back (passivated), or terminated. */
type FiberEnd = { readonly _tag: "Passivated" } | Terminate

const PASSIVATED: FiberEnd = { _tag: "Passivated" }

const terminateWith = (status: "stopped" | "failed", reason: StopReason): Terminate => ({
  _tag: "Terminate",
  status,
  reason
})

const judge = (s: SessionImpl, exit: Exit.Exit<Ending>): Effect.Effect<Verdict> =>
  Effect.map(Ref.get(s.state), (st): Verdict => {
    if (st.stopping !== undefined) return terminateWith("stopped", st.stopping)
    if (Exit.isSuccess(exit)) {
      // a normal exit (a permanent session's idle exit passivates instead, in `TurnLoop`): never restarted
      return terminateWith("stopped", exit.value === "idle" ? "idle" : "stopped")
    }
    if (s.config.restart === "temporary") return terminateWith("failed", "failed")
    return { _tag: "Restart", defect: Cause.squash(exit.cause) }
  })

/**
 * Wait out the backoff before a restart, unless the restart intensity is
 * exceeded or the schedule is done (give up), or a stop came meanwhile.
 * `restarts` counts the restart from the moment it begins (status
 * `restarting`), so `info.restarts`, `status` and the `Restarting` event
 * agree at every moment; a restart the schedule refuses, or a stop cuts
 * short during the backoff, is taken back.
 */
const restart = (s: SessionImpl, defect: unknown, restore: Restore): Effect.Effect<"go" | "stop" | "give-up"> =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const st = yield* Ref.get(s.state)
    const recent = st.recent.filter((t) => now - t < s.link.windowMillis)
    if (recent.length >= s.link.maxRestarts) return "give-up"
    const driver = st.driver ?? (yield* Schedule.driver(s.link.backoff))
    if (st.driver !== undefined && recent.length === 0) yield* driver.reset // a calm window: the backoff starts over
    const restarts = st.restarts + 1
    yield* update(s, (st) => ({ ...st, status: "restarting", restarts, current: undefined, live: 0, recent: [...recent, now], driver }))
    yield* publish(s, { _tag: "Restarting", restarts, defect })
    const waited = yield* Effect.match(restore(driver.next(undefined)), { onFailure: () => false, onSuccess: () => true })
    if (!waited) return "give-up" // still `restarting`: `terminate` takes the restart back
    if ((yield* Ref.get(s.state)).stopping !== undefined) return "stop"
    yield* update(s, (st) => ({ ...st, status: "idle", crash: undefined }))
    yield* Metric.increment(s.link.metrics.restarts)
    return "go"
  })

/**
 * End the session: refuse and drop remaining messages, have the supervisor
 * forget it (keeping its final `Info` in the bounded record of terminated
 * sessions), then tell subscribers and waiters. Waiters are released only
 * once all of this is done, so when `stop` returns the session is out of the
 * registry.
 */
export const terminate = (s: SessionImpl, status: "stopped" | "failed", reason: StopReason): Effect.Effect<void> =>
  Effect.gen(function*() {
    const left = yield* Ref.modify(s.state, (st) => [st.mailbox, {
      ...st,
      // a restart stopped during its backoff never happened
      restarts: st.status === "restarting" ? st.restarts - 1 : st.restarts,
      active: false,
      stopping: st.stopping ?? reason,
      current: undefined,
      live: 0,
      mailbox: Chunk.empty<Turn>()
    }] as const)
    yield* dropAll(s, left, reason)
    const st = yield* Ref.getAndUpdate(s.state, (st) => isTerminated(st) ? st : { ...st, status })
    if (isTerminated(st)) return
    yield* s.link.onTerminated(s, yield* info(s))
    yield* Metric.modify(s.link.metrics.sessions, -1)
    if (status === "failed") yield* Metric.increment(s.link.metrics.sessionsFailed)
    // the last event; the PubSub is not shut down, so subscribers read everything before it
    yield* publish(s, { _tag: "Terminated", status })
    const waiter = yield* Ref.modify(
      s.state,
      (st) => [st.terminated, { ...st, ended: true, terminated: undefined }] as const
    )
    if (waiter !== undefined) yield* Deferred.succeed(waiter, undefined)
  })

/**
 * The session's fiber: incarnations one after another, restarted by policy,
 * until it runs out of work (passivates) or terminates. Never fails. A
 * session that gives up is terminated first and only then reported to the
 * supervisor (which may escalate).
 */
export const run = (s: SessionImpl): Effect.Effect<void> =>
  // Uninterruptible but for taking a message, running a turn and waiting out
  // a backoff (`restore`): an incarnation that has passivated or decided to
  // end is never mistaken for an interrupted one.
  Effect.uninterruptibleMask((restore) => {
    const loop: Effect.Effect<FiberEnd> = Effect.flatMap(Effect.exit(incarnation(s, restore)), (exit) => {
      if (Exit.isSuccess(exit) && exit.value === "passivated") return Effect.succeed(PASSIVATED)
      return Effect.flatMap(judge(s, exit), (verdict): Effect.Effect<FiberEnd> => {
        if (verdict._tag === "Terminate") return Effect.succeed(verdict)
        return Effect.flatMap(restart(s, verdict.defect, restore), (outcome) => {
          if (outcome === "go") return loop
          return Effect.map(Ref.get(s.state), (st): FiberEnd =>
            outcome === "stop"
              ? terminateWith("stopped", st.stopping ?? "stopped")
              : {
                ...terminateWith("failed", "failed"),
                gaveUp: { restarts: st.status === "restarting" ? st.restarts - 1 : st.restarts, defect: verdict.defect }
              })
        })
      })
    })
    return Effect.onExit(loop, (exit) => {
      // a passivated fiber has handed the session back; whatever happens to it now is not the session's end
      if (Exit.isSuccess(exit) && exit.value._tag === "Passivated") return Effect.void
      return Effect.flatMap(Ref.get(s.state), (st) => {
        const final: Terminate = Exit.isSuccess(exit) && exit.value._tag === "Terminate"
          ? exit.value
          : terminateWith("stopped", st.stopping ?? "shutdown") // interrupted
        const gaveUp = final.gaveUp
        return Effect.zipRight(
          terminate(s, final.status, final.reason),
          gaveUp === undefined ? Effect.void : s.link.onGiveUp(s.config.id, gaveUp.restarts, gaveUp.defect)
        )
      })
    }).pipe(Effect.asVoid)
  })

/**
 * A new session waits for its first message without a fiber, unless it has an
 * `idleTimeout`: then its fiber starts now, so the timer runs from spawn.
 */
export const start = (s: SessionImpl): Effect.Effect<void> =>
  s.config.idleTimeout === undefined ? Effect.void : Effect.zipRight(
    update(s, (st) => ({ ...st, active: true })),
    Effect.sync(() => s.link.activate(s))
  )
