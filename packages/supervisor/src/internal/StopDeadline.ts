/**
 * Stopping a session by a deadline: refuse new messages and drop the queued
 * ones at once, let the turn in flight finish within the deadline, then
 * interrupt the session's fiber. The supervisor's shutdown runs the same two
 * halves across every session, with one deadline for all.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import { dropAll, type Turn } from "./Mailbox.js"
import { isTerminated, type SessionImpl, type State, type StopReason } from "./SessionState.js"
import { terminate } from "./Supervision.js"

/**
 * First half of a graceful stop: refuse new messages and drop the queued ones
 * (their callers get `SessionStopped`). The current turn goes on. A session
 * without a fiber is terminated here and now. Returns how many turns were
 * dropped.
 */
export const beginStop = (s: SessionImpl, reason: StopReason): Effect.Effect<number> =>
  Effect.uninterruptible(Effect.gen(function*() {
    // refuse new turns and empty the mailbox in one step
    const st = yield* Ref.getAndUpdate(
      s.state,
      (st) => st.stopping === undefined ? { ...st, stopping: reason, mailbox: Chunk.empty<Turn>() } : st
    )
    if (st.stopping !== undefined) return 0
    const dropped = yield* dropAll(s, st.mailbox, reason)
    if (!st.active) {
      // no fiber, and none will start now: end it here
      yield* terminate(s, "stopped", reason)
    } else if (st.status === "restarting") {
      // nothing in flight: no need to wait out the backoff
      yield* Option.match(s.link.fiberOf(s), { onNone: () => Effect.void, onSome: Fiber.interrupt })
    } else {
      yield* Queue.offer(s.wakeups, undefined)
    }
    return dropped
  }))

/** Wait until the session has terminated (and the supervisor has forgotten it). */
export const awaitTerminated = (s: SessionImpl): Effect.Effect<void> =>
  Effect.flatMap(Deferred.make<void>(), (made) =>
    Effect.flatMap(
      Ref.modify(s.state, (st): readonly [Deferred.Deferred<void> | undefined, State] => {
        if (st.ended) return [undefined, st]
        if (st.terminated !== undefined) return [st.terminated, st]
        return [made, { ...st, terminated: made }]
      }),
      (waiter) => waiter === undefined ? Effect.void : Deferred.await(waiter)
    ))

/**
 * Second half, once the deadline has passed: interrupt the session's fiber (a
 * turn in flight fails to its caller with `SessionStopped` and its provider
 * stream is released) and wait until it has terminated. Reports whether it
 * had to interrupt, and whether a turn was cut.
 */
export const forceStop = (s: SessionImpl): Effect.Effect<{ readonly interrupted: boolean; readonly cut: boolean }> =>
  Effect.gen(function*() {
    const st = yield* Ref.get(s.state)
    if (isTerminated(st)) {
      yield* awaitTerminated(s) // it may be in the middle of terminating
      return { interrupted: false, cut: false }
    }
    const fiber = s.link.fiberOf(s)
    if (Option.isSome(fiber)) yield* Fiber.interrupt(fiber.value)
    yield* awaitTerminated(s)
    return { interrupted: true, cut: st.current !== undefined }
  })

/**
 * Graceful stop: refuse new messages, drop queued ones, let the current turn
 * finish within `timeout`, then interrupt the session. Returns once it has
 * terminated. If the caller is interrupted meanwhile, the session is
 * interrupted at once.
 */
export const stop = (s: SessionImpl, reason: StopReason, timeout: Duration.Duration): Effect.Effect<void> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.gen(function*() {
      yield* beginStop(s, reason)
      const finished = yield* restore(Effect.timeoutOption(awaitTerminated(s), timeout)).pipe(
        Effect.catchAllCause(() => Effect.succeedNone)
      )
      if (Option.isNone(finished)) yield* forceStop(s)
    })
  )
