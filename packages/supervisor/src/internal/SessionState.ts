/**
 * A session's state and settings: the one cell every part of the session
 * (mailbox, turn loop, supervision, stopping, its `SessionRef`) reads and
 * changes.
 *
 * A session is one `Ref` holding its state: the mailbox (the turns waiting,
 * see `Mailbox.ts`), committed history, turn numbering, status, restart
 * bookkeeping; and a sliding `Queue` of capacity 1 that wakes its fiber when
 * it waits for work. While it has work, one fiber runs
 * it (`Supervision.run`), held in the supervisor's `FiberMap` under the
 * session's `key`, which is unique per spawn (an id may be spawned again once
 * its session has terminated, while the old fiber may still be finishing).
 * The mailbox and the state belong to the session, not to an incarnation, so
 * a restart keeps committed history and unprocessed messages.
 *
 * The mailbox lives in the state cell (an immutable `Chunk`), so numbering a
 * turn, queueing it and deciding whether to start a fiber are one
 * `Ref.modify`, and so are taking the next turn and passivating, or refusing
 * new turns and emptying the mailbox on stop: mailbox order is turn order,
 * and no turn is left without a fiber or lost by a stop. (A `SynchronizedRef`
 * would do it too, but its lock makes a freshly forked session fiber's first
 * step asynchronous, and every turn pays for the lock.)
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import type * as Context from "effect/Context"
import type * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import type * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import type * as Schedule from "effect/Schedule"
import * as Ref from "effect/Ref"
import type { ChatRequest, Provider, Toolkit } from "@streamvisor/core"
import type * as Session from "../Session.js"
import type { SessionStopped } from "../SessionError.js"
import type { SessionStore } from "../SessionStore.js"
import type { Metrics } from "../Supervisor.js"
import type { Turn, TurnCut } from "./Mailbox.js"

/** Why a session stops accepting work. */
export type StopReason = SessionStopped["reason"]

/** What a session needs from the supervisor that runs it. */
export interface SupervisorLink {
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
  /** Fork the session's fiber (`Supervision.run`) into the supervisor's `FiberMap`, under its `key`. */
  readonly activate: (s: SessionImpl) => void
  /** The session's fiber, if it has one. */
  readonly fiberOf: (s: SessionImpl) => Option.Option<Fiber.RuntimeFiber<void>>
}

/** A session with `tools`: what its agent turns run with. */
export interface Agent {
  readonly toolkit: Toolkit.Any
  /** The context `spawn` ran in: it holds the toolkit's handlers. */
  readonly context: Context.Context<never>
  readonly maxSteps: number | undefined
  readonly toolTimeout: Duration.DurationInput | undefined
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
  /** Sent with every turn's request. */
  readonly options: Session.RequestOptions | undefined
  /** History keeps the newest `maxTurns` turns (`SessionStore.trim`). */
  readonly maxTurns: number | undefined
  /** Where committed turns are written before they are in memory. */
  readonly store: SessionStore | undefined
  /** Set when the session has `tools`: each turn is an agent turn. */
  readonly agent: Agent | undefined
}

/** Where a session starts: empty, a saved `Session.State`, or a stored conversation. */
export interface Start {
  readonly history: ReadonlyArray<ChatRequest.Message>
  /** How many messages each turn in `history` holds, oldest first (for trimming whole turns). */
  readonly kept: ReadonlyArray<number>
  readonly nextTurn: number
  /** The store's last committed turn (0 before the first; unused without a store). */
  readonly lastCommitted: number
  /** Committed turns so far (a resumed session: the turns it resumed with). */
  readonly committed: number
}

/** The turn being processed, and how to cut it before its provider stream ends. */
export interface Running {
  readonly turn: number
  readonly cut: Deferred.Deferred<TurnCut>
}

/** Everything about a session but its mailbox, in one cell. */
export interface State {
  readonly status: "idle" | "waiting" | "streaming" | "tools" | "restarting" | "stopped" | "failed"
  /** Termination is complete: the supervisor has forgotten the session and `Terminated` is published. */
  readonly ended: boolean
  /** A fiber is running the session (set when it is started, cleared when it passivates). */
  readonly active: boolean
  /** Set once the session refuses new messages (stop, shutdown, failure, idle exit). */
  readonly stopping: StopReason | undefined
  readonly current: Running | undefined
  readonly live: number
  /** An agent turn's step in flight (`null` between turns), and its tool calls still running. */
  readonly step: number | null
  readonly runningTools: number
  /** The mailbox: turns waiting, in order (including ones whose caller left, until they are skipped). */
  readonly mailbox: Chunk.Chunk<Turn>
  readonly history: ReadonlyArray<ChatRequest.Message>
  /** How many messages each turn in `history` holds, oldest first. */
  readonly kept: ReadonlyArray<number>
  readonly nextTurn: number
  readonly committed: number
  /** The last turn committed to the store: the next commit's `after`. */
  readonly lastCommitted: number
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

/** @internal */
export class SessionImpl {
  readonly ref: Session.SessionRef
  constructor(
    readonly config: Config,
    readonly link: SupervisorLink,
    /** Wakes the session's fiber when it waits for work (`idleTimeout`), is crashed or is stopped. */
    readonly wakeups: Queue.Queue<void>,
    readonly state: Ref.Ref<State>,
    makeRef: (s: SessionImpl) => Session.SessionRef
  ) {
    this.ref = makeRef(this)
  }
}

/** Make a session (not yet running), with its handle made by `makeRef`. */
export const make = (
  config: Config,
  link: SupervisorLink,
  start: Start,
  makeRef: (s: SessionImpl) => Session.SessionRef
): Effect.Effect<SessionImpl> =>
  Effect.zipWith(
    Queue.sliding<void>(1),
    Ref.make<State>({
      status: "idle",
      ended: false,
      active: false,
      stopping: undefined,
      current: undefined,
      live: 0,
      step: null,
      runningTools: 0,
      mailbox: Chunk.empty(),
      history: start.history,
      kept: start.kept,
      nextTurn: start.nextTurn,
      committed: start.committed,
      lastCommitted: start.lastCommitted,
      restarts: 0,
      recent: [],
      driver: undefined,
      crash: undefined,
      pubsub: undefined,
      terminated: undefined
    }),
    (queue, state) => new SessionImpl(config, link, queue, state, makeRef)
  )

/** @internal */
export const update = (s: SessionImpl, f: (st: State) => State): Effect.Effect<void> => Ref.update(s.state, f)

/** A provider stream of the session opens (`1`) or is released (`-1`). */
export const markLive = (s: SessionImpl, delta: 1 | -1): Effect.Effect<void> =>
  Effect.zipRight(
    // a step that called tools closes its stream into running them (its Finish set `runningTools` first)
    update(s, (st) => ({ ...st, status: delta === 1 ? "streaming" : st.runningTools > 0 ? "tools" : "idle", live: st.live + delta })),
    Metric.modify(s.link.metrics.liveStreams, delta)
  )

/** Publish to the session's subscribers, if it has any. */
export const publish = (s: SessionImpl, event: Session.Event): Effect.Effect<void> =>
  Effect.flatMap(Ref.get(s.state), (st) => st.pubsub === undefined ? Effect.void : PubSub.publish(st.pubsub, event))

/** @internal */
export const isTerminated = (st: State): boolean => st.status === "stopped" || st.status === "failed"

/** Everything `Supervisor.snapshot` shows about a session. */
export const info = (s: SessionImpl): Effect.Effect<Session.Info> =>
  Effect.map(Ref.get(s.state), (st) => ({
    id: s.config.id,
    provider: s.config.provider.name,
    model: s.config.model,
    status: st.stopping !== undefined && !isTerminated(st) ? "stopping" : st.status,
    restart: s.config.restart,
    turns: st.committed,
    pending: Chunk.size(st.mailbox),
    currentTurn: st.current?.turn ?? null,
    restarts: st.restarts,
    liveStreams: st.live,
    ...(s.config.agent === undefined ? {} : { step: st.step, runningTools: st.runningTools })
  }))

/** Running sessions hold their id. */
export const isRunning = (s: SessionImpl): Effect.Effect<boolean> =>
  Effect.map(Ref.get(s.state), (st) => !isTerminated(st))

/** For the shutdown report. */
export const activityOf = (s: SessionImpl): Effect.Effect<{ readonly live: number; readonly inFlight: boolean }> =>
  Effect.map(Ref.get(s.state), (st) => ({ live: st.live, inFlight: st.current !== undefined }))
