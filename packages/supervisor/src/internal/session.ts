/**
 * The session actor.
 *
 * A session is a `Queue` (its mailbox) and one `Ref` holding everything else:
 * committed history, turn numbering, status, restart bookkeeping. While it
 * has work, one fiber runs it, held in the supervisor's `FiberMap` under the
 * session id: the fiber takes one message at a time and runs the turn, and
 * when an *incarnation* dies of a defect it restarts by policy (intensity
 * window, `Schedule` backoff) in place. The mailbox and the state belong to
 * the session, not to an incarnation, so a restart keeps committed history
 * and unprocessed messages.
 *
 * When the mailbox is empty the fiber ends (the session is *passivated*, as
 * `@effect/cluster` entities are) and the next message starts a new one: an
 * idle session costs a queue and a small record, not a suspended fiber (see
 * the package README). A session with an `idleTimeout` keeps its fiber while
 * idle, since the timer is part of its life. Activation and passivation are
 * decided atomically on the state `Ref`, so no message is ever left without a
 * fiber to take it.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Mailbox from "effect/Mailbox"
import { pipeArguments } from "effect/Pipeable"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as FiberId from "effect/FiberId"
import * as Ref from "effect/Ref"
import type { ChatRequest, Provider, StreamEvent } from "@streamvisor/core"
import { LlmError } from "@streamvisor/core"
import type * as Session from "../Session.js"
import { SessionCrashed, SessionStopped } from "../SessionError.js"
import type { SessionError } from "../SessionError.js"
import type { Metrics } from "../Supervisor.js"
import { Accumulator, type Caller, leave, makeCaller, type Signal, Turn } from "./turn.js"

/** Why a session stops accepting work. */
export type StopReason = SessionStopped["reason"]

/** What a session needs from its supervisor. */
export interface Environment {
  readonly streams: Effect.Semaphore
  readonly shutdownTimeout: Duration.Duration
  readonly maxRestarts: number
  readonly windowMillis: number
  readonly backoff: Schedule.Schedule<unknown, unknown>
  readonly metrics: Metrics
  /** Told (after the session has terminated) that a session gave up restarting. */
  readonly onGiveUp: (sessionId: string, restarts: number, defect: unknown) => Effect.Effect<void>
  /**
   * Told once, as the session terminates (before `Terminated` is published
   * and before its waiters are released), with its final `Info`: the
   * supervisor forgets it.
   */
  readonly onTerminated: (s: SessionImpl, info: Session.Info) => Effect.Effect<void>
  /** Fork the session's fiber (`run`) into the supervisor's `FiberMap`, under its `key`. */
  readonly activate: (s: SessionImpl) => void
  /** The session's fiber, if it has one. */
  readonly fiberOf: (s: SessionImpl) => Option.Option<Fiber.RuntimeFiber<void>>
}

/** A session's settings, resolved from the supervisor's options and `spawn`'s. */
export interface Config {
  /** Unique per spawn (ids may be reused once a session has terminated): the session's key in the `FiberMap`. */
  readonly key: number
  readonly id: string
  readonly provider: Provider.Provider
  readonly model: string
  readonly system: string | undefined
  readonly policies: Session.Policies | undefined
  readonly restart: Session.Restart
  readonly idleTimeout: Duration.Duration | undefined
}

/** The turn being processed, and how to stop it early. */
interface Running {
  readonly turn: number
  readonly signal: Deferred.Deferred<Signal>
}

/** Everything about a session but its mailbox, in one cell. */
interface State {
  readonly status: "idle" | "waiting" | "streaming" | "restarting" | "stopped" | "failed"
  /** Termination is complete: the supervisor has forgotten the session and `Terminated` is published. */
  readonly ended: boolean
  /** A fiber is running the session (set when it is started, cleared when it passivates). */
  readonly active: boolean
  /** Set once the session refuses new messages (stop, shutdown, failure, idle exit). */
  readonly stopping: StopReason | undefined
  readonly current: Running | undefined
  readonly live: number
  /** Turns in the mailbox (including ones whose caller left, until they are skipped). */
  readonly queued: number
  readonly history: ReadonlyArray<ChatRequest.Message>
  readonly nextTurn: number
  readonly committed: number
  readonly restarts: number
  /** Times (ms) of restarts inside the intensity window. */
  readonly recent: ReadonlyArray<number>
  readonly driver: Schedule.ScheduleDriver<unknown, unknown> | undefined
  /** A crash requested by `crash`, taken up by the loop (cleared by the restart). */
  readonly crash: { readonly defect: unknown } | undefined
  /** Made on first subscription. */
  readonly pubsub: PubSub.PubSub<Session.Event> | undefined
  /** Made when someone waits for termination (completed and dropped when it has ended). */
  readonly terminated: Deferred.Deferred<void> | undefined
}

/** Wakes a fiber blocked on `take` so it looks at the state again. */
const WAKE = { _tag: "Wake" } as const
type Item = Turn | typeof WAKE

/** How an incarnation ended by itself: asked to stop, idle too long, or out of work (passivated). */
type Ending = "ended" | "idle" | "passivated"

/** What to do after an incarnation ended. */
type Verdict =
  | { readonly _tag: "Terminate"; readonly status: "stopped" | "failed"; readonly reason: StopReason }
  | { readonly _tag: "Restart"; readonly defect: unknown }

/** @internal */
export class SessionImpl {
  readonly ref: Session.SessionRef
  constructor(
    readonly config: Config,
    readonly env: Environment,
    readonly queue: Queue.Queue<Item>,
    readonly state: Ref.Ref<State>
  ) {
    this.ref = new SessionRefImpl(this)
  }
}

/** Make a session (not yet running). */
export const make = (
  config: Config,
  env: Environment,
  history: ReadonlyArray<ChatRequest.Message>,
  nextTurn: number
): Effect.Effect<SessionImpl> =>
  Effect.zipWith(
    Queue.unbounded<Item>(),
    Ref.make<State>({
      status: "idle",
      ended: false,
      active: false,
      stopping: undefined,
      current: undefined,
      live: 0,
      queued: 0,
      history,
      nextTurn,
      committed: 0,
      restarts: 0,
      recent: [],
      driver: undefined,
      crash: undefined,
      pubsub: undefined,
      terminated: undefined
    }),
    (queue, state) => new SessionImpl(config, env, queue, state)
  )

/**
 * A new session waits for its first message without a fiber, unless it has an
 * `idleTimeout`: then its fiber starts now, so the timer runs from spawn.
 */
export const start = (s: SessionImpl): Effect.Effect<void> =>
  s.config.idleTimeout === undefined ? Effect.void : Effect.zipRight(
    Ref.update(s.state, (st) => ({ ...st, active: true })),
    Effect.sync(() => s.env.activate(s))
  )

// -----------------------------------------------------------------------------
// turns
// -----------------------------------------------------------------------------

const update = (s: SessionImpl, f: (st: State) => State) => Ref.update(s.state, f)

const publish = (s: SessionImpl, event: Session.Event): Effect.Effect<void> =>
  Effect.flatMap(Ref.get(s.state), (st) => st.pubsub === undefined ? Effect.void : PubSub.publish(st.pubsub, event))

const isTerminated = (st: State) => st.status === "stopped" || st.status === "failed"

/**
 * Put a turn in the mailbox, numbered, and start the session's fiber if it has
 * none. Numbering, offering and the activation decision are one atomic step
 * (the offer to an unbounded queue cannot block), so mailbox order is turn
 * order and no message is left without a fiber. Refused with
 * `SessionStopped` once the session stops accepting.
 */
const enqueue = (s: SessionImpl, text: string, caller: Caller | undefined): Effect.Effect<Turn, SessionStopped> =>
  Effect.flatMap(
    Ref.modify(s.state, (st): readonly [{ readonly turn: Turn; readonly start: boolean } | StopReason, State] => {
      if (st.stopping !== undefined) return [st.stopping, st]
      const turn = new Turn(st.nextTurn, text, caller)
      s.queue.unsafeOffer(turn)
      return [{ turn, start: !st.active }, { ...st, nextTurn: st.nextTurn + 1, queued: st.queued + 1, active: true }]
    }),
    (result) => {
      if (typeof result === "string") return Effect.fail(new SessionStopped({ sessionId: s.config.id, reason: result }))
      if (!result.start) return Effect.succeed(result.turn)
      return Effect.sync(() => {
        s.env.activate(s)
        return result.turn
      })
    }
  )

/** A queued turn that will never run: its caller gets `SessionStopped`. */
const drop = (s: SessionImpl, turn: Turn, reason: StopReason): Effect.Effect<boolean> => {
  const error = new SessionStopped({ sessionId: s.config.id, turn: turn.number, reason })
  const caller = turn.caller
  return Effect.gen(function*() {
    if (caller !== undefined) {
      if (!(yield* Deferred.succeed(caller.claim, false))) return false // its caller had already left
      yield* caller.reply.fail(error)
      yield* Deferred.succeed(caller.done, undefined)
    }
    yield* publish(s, { _tag: "TurnFailed", turn: turn.number, error })
    yield* Metric.increment(s.env.metrics.turns.dropped)
    return true
  })
}

/** Take every queued message out of the mailbox and drop the turns among them; returns how many had a taker. */
const dropAll = (s: SessionImpl, items: Chunk.Chunk<Item>, reason: StopReason): Effect.Effect<number> =>
  Effect.reduce(items, 0, (n, item) => item instanceof Turn ? Effect.map(drop(s, item, reason), (d) => d ? n + 1 : n) : Effect.succeed(n))

const markLive = (s: SessionImpl, delta: 1 | -1) =>
  Effect.zipRight(
    update(s, (st) => ({ ...st, status: delta === 1 ? "streaming" : "idle", live: st.live + delta })),
    Metric.modify(s.env.metrics.liveStreams, delta)
  )

const tag = (turn: number) => (event: StreamEvent.StreamEvent): Session.Event => ({ _tag: "TurnEvent", turn, event })

/**
 * Run one turn's provider stream, holding a stream permit while it is open,
 * forwarding each chunk to the caller and to subscribers. Fails with the
 * provider's `LlmError`, or `Disconnected` when it ended without `Finish`.
 */
const runTurn = (s: SessionImpl, turn: Turn, acc: Accumulator): Effect.Effect<void, LlmError.LlmError> =>
  Effect.gen(function*() {
    const { model, policies, provider, system } = s.config
    const messages = [...(yield* Ref.get(s.state)).history, { role: "user" as const, content: turn.text }]
    const request: ChatRequest.ChatRequest = system === undefined ? { model, messages } : { model, system, messages }
    const reply = turn.caller?.reply
    const tagTurn = tag(turn.number)
    const forward = (chunk: Chunk.Chunk<StreamEvent.StreamEvent>) =>
      Effect.zipRight(
        reply === undefined ? Effect.void : reply.offerAll(chunk),
        Effect.flatMap(Ref.get(s.state), (st) =>
          st.pubsub === undefined ? Effect.void : PubSub.publishAll(st.pubsub, Chunk.map(chunk, tagTurn)))
      )
    const stream = Effect.acquireUseRelease(
      markLive(s, 1),
      () =>
        Effect.flatMap(Clock.currentTimeMillis, (openedAt) => {
          const events = Stream.suspend(() =>
            policies === undefined ? provider.stream(request) : policies(provider.stream(request))
          )
          return Stream.runForEachChunk(events, (chunk) => {
            const first = acc.firstEventAt === undefined
            acc.add(chunk)
            if (!first) return forward(chunk)
            return Effect.flatMap(Clock.currentTimeMillis, (now) => {
              acc.firstEventAt = now
              return Effect.zipRight(Metric.update(s.env.metrics.timeToFirstToken, now - openedAt), forward(chunk))
            })
          })
        }),
      () => markLive(s, -1)
    )
    yield* s.env.streams.withPermits(1)(stream)
    if (!acc.finished) {
      return yield* new LlmError.Disconnected({
        provider: provider.name,
        message: `${provider.name}: stream ended without a finish`
      })
    }
  })

/**
 * Settle a turn after it ran (or was cut): commit history on success, tell the
 * caller and subscribers, record metrics, and release the caller.
 */
const settle = (
  s: SessionImpl,
  turn: Turn,
  acc: Accumulator,
  exit: Exit.Exit<Signal | undefined, LlmError.LlmError>
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const caller = turn.caller
    const metrics = s.env.metrics
    const sessionId = s.config.id
    let error: LlmError.LlmError | SessionError | undefined = undefined
    if (Exit.isSuccess(exit)) {
      const signal = exit.value
      if (signal === undefined) {
        const [user, assistant] = acc.messages(turn.text)
        yield* update(s, (st) => ({ ...st, history: [...st.history, user, assistant], committed: st.committed + 1 }))
        if (caller !== undefined) yield* caller.reply.end
        yield* publish(s, { _tag: "TurnCommitted", turn: turn.number })
        yield* Metric.increment(metrics.turns.committed)
      } else if (signal._tag === "Cancelled") {
        yield* publish(s, { _tag: "TurnCancelled", turn: turn.number })
        yield* Metric.increment(metrics.turns.cancelled)
      } else {
        error = new SessionCrashed({ sessionId, turn: turn.number, defect: signal.defect })
        yield* Metric.increment(metrics.turns.crashed)
      }
    } else {
      const failure = Cause.failureOption(exit.cause)
      if (Cause.isDie(exit.cause)) {
        error = new SessionCrashed({ sessionId, turn: turn.number, defect: Cause.squash(exit.cause) })
        yield* Metric.increment(metrics.turns.crashed)
      } else if (Option.isSome(failure) && !Cause.isInterrupted(exit.cause)) {
        error = failure.value
        yield* Metric.increment(metrics.turns.failed)
      } else {
        const reason = (yield* Ref.get(s.state)).stopping ?? "shutdown"
        error = new SessionStopped({ sessionId, turn: turn.number, reason })
        yield* Metric.increment(metrics.turns.cancelled)
      }
    }
    if (error !== undefined) {
      if (caller !== undefined) yield* caller.reply.fail(error)
      yield* publish(s, { _tag: "TurnFailed", turn: turn.number, error })
    }
    if (acc.inputTokens > 0) yield* Metric.incrementBy(metrics.inputTokens, acc.inputTokens)
    if (acc.outputTokens > 0) yield* Metric.incrementBy(metrics.outputTokens, acc.outputTokens)
    yield* update(s, (st) => ({ ...st, status: "idle", current: undefined }))
    if (caller !== undefined) yield* Deferred.succeed(caller.done, undefined)
  })

type Restore = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

/**
 * Process one turn taken from the mailbox. Runs uninterruptibly except for the
 * turn itself (`restore`), so a taken turn is always settled: never lost.
 * A defect, a kill or an interruption is passed on after settling, to end the
 * incarnation; an `LlmError` only fails the turn.
 */
const processTurn = (s: SessionImpl, turn: Turn, restore: Restore): Effect.Effect<void> =>
  Effect.gen(function*() {
    const caller = turn.caller
    yield* update(s, (st) => ({ ...st, queued: st.queued - 1 }))
    if (caller !== undefined && !(yield* Deferred.succeed(caller.claim, true))) {
      // the caller went away while the turn was queued: skip it
      yield* publish(s, { _tag: "TurnCancelled", turn: turn.number })
      yield* Metric.increment(s.env.metrics.turns.cancelled)
      return
    }
    const signal = caller?.signal ?? (yield* Deferred.make<Signal>())
    yield* update(s, (st) => ({ ...st, status: "waiting", current: { turn: turn.number, signal } }))
    yield* publish(s, { _tag: "TurnStarted", turn: turn.number, text: turn.text })
    const acc = new Accumulator()
    // The provider stream runs in its own fiber so that, however the turn
    // ends (finished, failed, cancelled, killed, or the session interrupted),
    // it is interrupted and *awaited* here: its release has run before the
    // turn is settled and before the session goes on.
    const running = yield* Effect.fork(Effect.interruptible(runTurn(s, turn, acc)))
    const raced = yield* Effect.exit(restore(
      Effect.raceFirst(Effect.as(Fiber.join(running), undefined), Deferred.await(signal))
    ))
    yield* Fiber.interrupt(running)
    const exit: Exit.Exit<Signal | undefined, LlmError.LlmError> = raced
    yield* settle(s, turn, acc, exit)
    if (Exit.isSuccess(exit)) {
      if (exit.value?._tag === "Killed") return yield* Effect.die(exit.value.defect)
    } else if (Cause.isDie(exit.cause) || Cause.isInterrupted(exit.cause)) {
      return yield* Effect.failCause(Cause.stripFailures(exit.cause))
    }
  })

/** What the loop does next, decided atomically with passivation. */
type Next =
  | { readonly _tag: "Stop" }
  | { readonly _tag: "Crash"; readonly defect: unknown }
  | { readonly _tag: "Take" }
  | { readonly _tag: "Wait" }
  | { readonly _tag: "Passivate" }

const STOP: Next = { _tag: "Stop" }
const TAKE: Next = { _tag: "Take" }
const WAIT: Next = { _tag: "Wait" }
const PASSIVATE: Next = { _tag: "Passivate" }

const next = (s: SessionImpl): Effect.Effect<Next> =>
  Ref.modify(s.state, (st): readonly [Next, State] => {
    if (st.stopping !== undefined) return [STOP, st]
    if (st.crash !== undefined) return [{ _tag: "Crash", defect: st.crash.defect }, st]
    if (st.queued > 0) return [TAKE, st]
    if (s.config.idleTimeout !== undefined) return [WAIT, st]
    // out of work: the fiber ends; the next message starts another
    return [PASSIVATE, { ...st, active: false }]
  })

/**
 * The actor loop: one turn at a time until asked to stop, out of work, or
 * idle too long. A taken turn is always processed (the take and the turn's
 * start are uninterruptible), so no message is lost.
 */
const incarnation = (s: SessionImpl): Effect.Effect<Ending> =>
  Effect.uninterruptibleMask((restore) => {
    const take = restore(Queue.take(s.queue))
    const wait: Effect.Effect<Item | "idle"> = s.config.idleTimeout === undefined ? take : Effect.timeoutTo(
      take,
      { duration: s.config.idleTimeout, onTimeout: () => "idle" as const, onSuccess: (item): Item | "idle" => item }
    )
    const handle = (item: Item | "idle"): Effect.Effect<Ending | undefined> =>
      item === "idle"
        ? Effect.succeed("idle")
        : item instanceof Turn
        ? Effect.as(processTurn(s, item, restore), undefined)
        : Effect.succeed(undefined) // woken: look at the state again
    const step = Effect.flatMap(next(s), (n): Effect.Effect<Ending | undefined> => {
      switch (n._tag) {
        case "Stop":
          return Effect.succeed("ended")
        case "Crash":
          return Effect.die(n.defect)
        case "Passivate":
          return Effect.succeed("passivated")
        case "Take":
          return Effect.flatMap(take, handle)
        case "Wait":
          return Effect.flatMap(wait, handle)
      }
    })
    const loop: Effect.Effect<Ending> = Effect.flatMap(step, (ending) => ending === undefined ? loop : Effect.succeed(ending))
    return loop
  })

// -----------------------------------------------------------------------------
// supervision: restarts and termination
// -----------------------------------------------------------------------------

const judge = (s: SessionImpl, exit: Exit.Exit<Ending>): Effect.Effect<Verdict> =>
  Effect.map(Ref.get(s.state), (st): Verdict => {
    if (st.stopping !== undefined) return { _tag: "Terminate", status: "stopped", reason: st.stopping }
    if (Exit.isSuccess(exit)) {
      if (exit.value === "ended") return { _tag: "Terminate", status: "stopped", reason: "stopped" }
      // an idle exit is a normal exit: only permanent sessions come back
      if (s.config.restart !== "permanent") return { _tag: "Terminate", status: "stopped", reason: "idle" }
      return { _tag: "Restart", defect: undefined }
    }
    if (s.config.restart === "temporary") return { _tag: "Terminate", status: "failed", reason: "failed" }
    return { _tag: "Restart", defect: Cause.squash(exit.cause) }
  })

/**
 * Wait out the backoff before a restart, unless the restart intensity is
 * exceeded or the schedule is done (give up), or a stop came meanwhile.
 */
const restart = (s: SessionImpl, defect: unknown): Effect.Effect<"go" | "stop" | "give-up"> =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const st = yield* Ref.get(s.state)
    const recent = st.recent.filter((t) => now - t < s.env.windowMillis)
    if (recent.length >= s.env.maxRestarts) return "give-up"
    let driver = st.driver
    if (driver === undefined) driver = yield* Schedule.driver(s.env.backoff)
    else if (recent.length === 0) yield* driver.reset // a calm window: the backoff starts over
    const restarts = st.restarts + 1
    yield* update(s, (st) => ({ ...st, status: "restarting", current: undefined, live: 0, recent: [...recent, now], driver }))
    yield* publish(s, { _tag: "Restarting", restarts, defect })
    const waited = yield* Effect.match(driver.next(undefined), { onFailure: () => false, onSuccess: () => true })
    if (!waited) return "give-up"
    if ((yield* Ref.get(s.state)).stopping !== undefined) return "stop"
    yield* update(s, (st) => ({ ...st, status: "idle", restarts, crash: undefined }))
    yield* Metric.increment(s.env.metrics.restarts)
    return "go"
  })

/**
 * End the session: refuse and drop remaining messages, have the supervisor
 * forget it (keeping its final `Info` in the bounded record of terminated
 * sessions), then tell subscribers and waiters. Waiters are released only
 * once all of this is done, so when `stop` returns the session is out of the
 * registry.
 */
const terminate = (s: SessionImpl, status: "stopped" | "failed", reason: StopReason): Effect.Effect<void> =>
  Effect.gen(function*() {
    yield* update(s, (st) => ({ ...st, active: false, stopping: st.stopping ?? reason, current: undefined, live: 0, queued: 0 }))
    yield* dropAll(s, yield* Queue.takeAll(s.queue), reason)
    const st = yield* Ref.getAndUpdate(s.state, (st) => isTerminated(st) ? st : { ...st, status })
    if (isTerminated(st)) return
    yield* s.env.onTerminated(s, yield* info(s))
    yield* Metric.modify(s.env.metrics.sessions, -1)
    if (status === "failed") yield* Metric.increment(s.env.metrics.sessionsFailed)
    // the last event; the PubSub is not shut down, so subscribers read everything before it
    yield* publish(s, { _tag: "Terminated", status })
    const waiter = yield* Ref.modify(s.state, (st) => [st.terminated, { ...st, ended: true, terminated: undefined }] as const)
    if (waiter !== undefined) yield* Deferred.succeed(waiter, undefined)
  })

/**
 * The session's fiber: incarnations one after another, restarted by policy,
 * until it runs out of work (passivates) or terminates. Never fails. A
 * session that gives up is terminated first and only then reported to the
 * supervisor (which may escalate).
 */
export const run = (s: SessionImpl): Effect.Effect<void> => {
  let passivated = false
  let gaveUp: { readonly restarts: number; readonly defect: unknown } | undefined = undefined
  const terminateWith = (status: "stopped" | "failed", reason: StopReason) =>
    Effect.succeed({ _tag: "Terminate" as const, status, reason })
  const loop: Effect.Effect<{ readonly _tag: "Terminate"; readonly status: "stopped" | "failed"; readonly reason: StopReason } | undefined> =
    Effect.flatMap(Effect.exit(incarnation(s)), (exit) => {
      if (Exit.isSuccess(exit) && exit.value === "passivated") {
        passivated = true
        return Effect.succeed(undefined)
      }
      return Effect.flatMap(judge(s, exit), (verdict) => {
        if (verdict._tag === "Terminate") return Effect.succeed(verdict)
        return Effect.flatMap(restart(s, verdict.defect), (outcome) => {
          if (outcome === "go") return loop
          if (outcome === "stop") return Effect.flatMap(Ref.get(s.state), (st) => terminateWith("stopped", st.stopping ?? "stopped"))
          return Effect.flatMap(Ref.get(s.state), (st) => {
            gaveUp = { restarts: st.restarts, defect: verdict.defect }
            return terminateWith("failed", "failed")
          })
        })
      })
    })
  return Effect.onExit(loop, (exit) => {
    // a passivated fiber has handed the session back; whatever happens to it now is not the session's end
    if (passivated) return Effect.void
    return Effect.flatMap(Ref.get(s.state), (st) => {
      const final = Exit.isSuccess(exit) && exit.value !== undefined
        ? exit.value
        : { status: "stopped" as const, reason: st.stopping ?? ("shutdown" as const) } // interrupted
      return Effect.zipRight(
        terminate(s, final.status, final.reason),
        gaveUp === undefined ? Effect.void : s.env.onGiveUp(s.config.id, gaveUp.restarts, gaveUp.defect)
      )
    })
  }).pipe(Effect.asVoid)
}

// -----------------------------------------------------------------------------
// stopping
// -----------------------------------------------------------------------------

/**
 * First half of a graceful stop: refuse new messages and drop the queued ones
 * (their callers get `SessionStopped`). The current turn goes on. A session
 * without a fiber is terminated here and now. Returns how many turns were
 * dropped.
 */
export const beginStop = (s: SessionImpl, reason: StopReason): Effect.Effect<number> =>
  Effect.uninterruptible(Effect.gen(function*() {
    const st = yield* Ref.getAndUpdate(s.state, (st) => st.stopping === undefined ? { ...st, stopping: reason } : st)
    if (st.stopping !== undefined) return 0
    // nothing can be enqueued from here on; the fiber may still take one turn concurrently
    const items = yield* Queue.takeAll(s.queue)
    const turns = Chunk.reduce(items, 0, (n, item) => item instanceof Turn ? n + 1 : n)
    yield* update(s, (st) => ({ ...st, queued: st.queued - turns }))
    const dropped = yield* dropAll(s, items, reason)
    if (!st.active) {
      // no fiber, and none will start now: end it here
      yield* terminate(s, "stopped", reason)
    } else if (st.status === "restarting") {
      // nothing in flight: no need to wait out the backoff
      yield* Option.match(s.env.fiberOf(s), { onNone: () => Effect.void, onSome: Fiber.interrupt })
    } else {
      yield* Queue.offer(s.queue, WAKE)
    }
    return dropped
  }))

/** Wait until the session has terminated (and the supervisor has forgotten it). */
export const awaitTerminated = (s: SessionImpl): Effect.Effect<void> =>
  Effect.flatMap(
    Ref.modify(s.state, (st): readonly [Deferred.Deferred<void> | undefined, State] => {
      if (st.ended) return [undefined, st]
      if (st.terminated !== undefined) return [st.terminated, st]
      const waiter = Deferred.unsafeMake<void>(FiberId.none)
      return [waiter, { ...st, terminated: waiter }]
    }),
    (waiter) => waiter === undefined ? Effect.void : Deferred.await(waiter)
  )

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
    const fiber = s.env.fiberOf(s)
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

// -----------------------------------------------------------------------------
// SessionRef
// -----------------------------------------------------------------------------

const isFinishChunk = (chunk: Chunk.Chunk<StreamEvent.StreamEvent>): boolean => {
  const last = Chunk.last(chunk)
  return Option.isSome(last) && last.value._tag === "Finish"
}

/** Everything `Supervisor.snapshot` shows about a session. */
export const info = (s: SessionImpl): Effect.Effect<Session.Info> =>
  Effect.map(Ref.get(s.state), (st) => ({
    id: s.config.id,
    provider: s.config.provider.name,
    model: s.config.model,
    status: st.stopping !== undefined && !isTerminated(st) ? "stopping" : st.status,
    restart: s.config.restart,
    turns: st.committed,
    pending: st.queued,
    currentTurn: st.current?.turn ?? null,
    restarts: st.restarts,
    liveStreams: st.live
  }))

/** Running sessions hold their id. */
export const isRunning = (s: SessionImpl): Effect.Effect<boolean> =>
  Effect.map(Ref.get(s.state), (st) => !isTerminated(st))

/** For the shutdown report. */
export const activityOf = (s: SessionImpl): Effect.Effect<{ readonly live: number; readonly inFlight: boolean }> =>
  Effect.map(Ref.get(s.state), (st) => ({ live: st.live, inFlight: st.current !== undefined }))

const DEFAULT_DEFECT = "Session.crash"

/**
 * A session's handle. Methods live on the prototype (an idle session should
 * cost little); the `Effect`s are made when asked for.
 */
class SessionRefImpl implements Session.SessionRef {
  constructor(readonly s: SessionImpl) {}
  get id(): string {
    return this.s.config.id
  }
  send(text: string): Stream.Stream<StreamEvent.StreamEvent, LlmError.LlmError | SessionError> {
    const s = this.s
    return Stream.unwrapScoped(
      Effect.gen(function*() {
        const caller = yield* makeCaller
        yield* Effect.acquireRelease(enqueue(s, text, caller), () => leave(caller))
        return Stream.mapChunks(Mailbox.toStream(caller.reply), (chunk) => {
          if (isFinishChunk(chunk)) caller.sawFinish = true
          return chunk
        })
      })
    )
  }
  tell(text: string): Effect.Effect<number, SessionStopped> {
    return Effect.map(enqueue(this.s, text, undefined), (turn) => turn.number)
  }
  get history(): Effect.Effect<ReadonlyArray<ChatRequest.Message>> {
    return Effect.map(Ref.get(this.s.state), (st) => st.history)
  }
  get events(): Effect.Effect<Queue.Dequeue<Session.Event>, never, Scope.Scope> {
    const s = this.s
    return Effect.gen(function*() {
      const made = yield* PubSub.unbounded<Session.Event>()
      const pubsub = yield* Ref.modify(s.state, (st) =>
        st.pubsub !== undefined ? [st.pubsub, st] as const : [made, { ...st, pubsub: made }] as const)
      const queue = yield* PubSub.subscribe(pubsub)
      // subscribed after the session terminated: nothing will come, end at once
      if (isTerminated(yield* Ref.get(s.state))) yield* Queue.shutdown(queue)
      return queue
    })
  }
  get stop(): Effect.Effect<void> {
    return stop(this.s, "stopped", this.s.env.shutdownTimeout)
  }
  get info(): Effect.Effect<Session.Info> {
    return info(this.s)
  }
  get state(): Effect.Effect<Session.State> {
    const config = this.s.config
    return Effect.map(Ref.get(this.s.state), (st) => {
      const state: Session.State = { id: config.id, model: config.model, history: st.history, nextTurn: st.nextTurn }
      return config.system === undefined ? state : { ...state, system: config.system }
    })
  }
  crash(defect?: unknown): Effect.Effect<void> {
    const s = this.s
    const value = defect === undefined ? new Error(DEFAULT_DEFECT) : defect
    return Effect.uninterruptible(Effect.gen(function*() {
      const st = yield* Ref.getAndUpdate(s.state, (st) =>
        st.status === "restarting" || st.stopping !== undefined
          ? st
          : { ...st, crash: { defect: value }, active: true })
      if (st.status === "restarting" || st.stopping !== undefined) return
      // kill the turn in flight, wake a waiting fiber, or start one: the loop takes the crash up
      if (st.current !== undefined) yield* Deferred.succeed(st.current.signal, { _tag: "Killed", defect: value })
      if (st.active) yield* Queue.offer(s.queue, WAKE)
      else yield* Effect.sync(() => s.env.activate(s))
    }))
  }
  pipe() {
    // eslint-disable-next-line prefer-rest-params
    return pipeArguments(this, arguments)
  }
}
