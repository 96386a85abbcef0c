/**
 * The turn loop of one incarnation of a session: take a message from the
 * mailbox, run its turn against the provider (holding a stream permit while
 * the stream is open), settle it (commit history, tell the caller and
 * subscribers, record metrics), and go on until asked to stop, out of work
 * (passivated) or idle too long.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import type { AgentEvent, ChatRequest, LlmError, StreamEvent } from "@streamvisor/core"
import { Provider } from "@streamvisor/core"
import { type SessionError, SessionCrashed, SessionStopped } from "../SessionError.js"
import * as Durable from "./Durable.js"
import { dropAll, type Turn, type TurnCut } from "./Mailbox.js"
import { agentTurn, type Finished, forwarder, type Meter, requestOf } from "./AgentSession.js"
import { markLive, publish, type SessionImpl, type State, update } from "./SessionState.js"

/**
 * How an incarnation ended by itself: asked to stop, idle too long (a normal
 * exit of a `transient` or `temporary` session), or out of work (passivated;
 * also a `permanent` session's idle exit).
 */
export type Ending = "ended" | "idle" | "passivated"

/** How a turn that was started came out: its messages to commit, or cut first. */
type Outcome = Finished | TurnCut

const NEW_METER: Meter = { started: false, inputTokens: 0, outputTokens: 0 }

const read = (meter: Meter, chunk: Chunk.Chunk<StreamEvent.StreamEvent>): Meter => {
  let { inputTokens, outputTokens } = meter
  for (const event of chunk) {
    if (event._tag === "Usage") {
      inputTokens = event.inputTokens
      outputTokens = event.outputTokens
    }
  }
  return { started: true, inputTokens, outputTokens }
}

/**
 * Run one turn's provider stream, holding a stream permit while it is open,
 * forwarding each chunk to the caller and to subscribers, and fold it with
 * `Provider.collect`. Fails with the provider's `LlmError`, or `Disconnected`
 * when it ended without `Finish`.
 */
const runTurn = (
  s: SessionImpl,
  turn: Turn,
  meter: Ref.Ref<Meter>
): Effect.Effect<Provider.Generation, LlmError.LlmError> =>
  Effect.gen(function*() {
    const { policies, provider } = s.config
    const request = yield* requestOf(s, turn)
    const forward = forwarder(s, turn)
    const answer = (openedAt: number) => {
      const events = Stream.suspend(() => policies === undefined ? provider.stream(request) : policies(provider.stream(request)))
      // every chunk is metered and forwarded; the first one is also timed (time to first token)
      const observe = (chunk: Chunk.Chunk<StreamEvent.StreamEvent>) =>
        Effect.flatMap(Ref.getAndUpdate(meter, (m) => read(m, chunk)), (before) =>
          before.started ? forward(chunk, chunk) : Effect.zipRight(
            Effect.flatMap(Clock.currentTimeMillis, (now) => Metric.update(s.link.metrics.timeToFirstToken, now - openedAt)),
            forward(chunk, chunk)
          ))
      return Provider.collect(provider.name, Stream.mapChunksEffect(events, (chunk) => Effect.as(observe(chunk), chunk)))
    }
    return yield* s.link.streams.withPermits(1)(
      Effect.acquireUseRelease(markLive(s, 1), () => Effect.flatMap(Clock.currentTimeMillis, answer), () => markLive(s, -1))
    )
  })

/** The two messages a committed turn appends to history. */
const committed = (userText: string, answer: Provider.Generation): readonly [ChatRequest.Message, ChatRequest.Message] => [
  { role: "user", content: userText },
  answer.toolCalls.length === 0
    ? { role: "assistant", content: answer.text }
    : { role: "assistant", content: answer.text, toolCalls: answer.toolCalls.map((c) => ({ id: c.id, name: c.name, arguments: c.arguments })) }
]

/**
 * A turn of a session without tools: one provider stream. Its caller, if it
 * asked with `sendAgent`, sees it as an agent turn of one step: `StepStart`
 * before the request, the provider's events, then (the stream released)
 * `StepFinish` and `TurnEnd` with the message the turn commits.
 */
const plainTurn = (s: SessionImpl, turn: Turn, meter: Ref.Ref<Meter>): Effect.Effect<Finished, LlmError.LlmError> => {
  const finished = (answer: Provider.Generation): Finished => ({
    _tag: "Finished",
    messages: committed(turn.text, answer),
    usage: answer.usage
  })
  const reply = turn.caller?.agent === true ? turn.caller.reply : undefined
  if (reply === undefined) return Effect.map(runTurn(s, turn, meter), finished)
  return Effect.gen(function*() {
    yield* reply.offer({ _tag: "StepStart", step: 1 })
    const answer = yield* runTurn(s, turn, meter)
    const done = finished(answer)
    const usage = answer.usage === undefined
      ? undefined
      : { inputTokens: answer.usage.inputTokens, outputTokens: answer.usage.outputTokens }
    const stepFinish: AgentEvent.StepFinish = { _tag: "StepFinish", step: 1, finish: answer.finish.reason, toolCalls: answer.toolCalls.length }
    yield* reply.offerAll([
      usage === undefined ? stepFinish : { ...stepFinish, usage },
      {
        _tag: "TurnEnd",
        reason: "finished",
        steps: 1,
        text: answer.text,
        messages: done.messages.slice(1),
        usage: usage ?? { inputTokens: 0, outputTokens: 0 }
      }
    ])
    return done
  })
}

/**
 * Settle a turn after it ran (or was cut): commit history on success, tell the
 * caller and subscribers, record metrics, and release the caller.
 */
const settle = (
  s: SessionImpl,
  turn: Turn,
  meter: Meter,
  exit: Exit.Exit<Outcome, LlmError.LlmError | SessionError>
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const caller = turn.caller
    const metrics = s.link.metrics
    const sessionId = s.config.id
    let error: LlmError.LlmError | SessionError | undefined = undefined
    let conflict = false
    if (Exit.isSuccess(exit)) {
      const outcome = exit.value
      if (outcome._tag === "Finished") {
        // to the store (if any) and then to memory, or to neither; the caller's stream ends after
        const written = yield* Effect.either(Durable.commit(s, turn.number, outcome.messages, outcome.usage))
        if (Either.isRight(written)) {
          if (caller !== undefined) yield* caller.reply.end
          yield* publish(s, { _tag: "TurnCommitted", turn: turn.number })
          yield* Metric.increment(metrics.turns.committed)
        } else {
          error = written.left
          yield* Metric.increment(metrics.turns.failed)
          if (written.left.error.reason === "Conflict") conflict = true
        }
      } else if (outcome._tag === "Cancelled") {
        yield* publish(s, { _tag: "TurnCancelled", turn: turn.number })
        yield* Metric.increment(metrics.turns.cancelled)
      } else {
        error = new SessionCrashed({ sessionId, turn: turn.number, defect: outcome.defect })
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
    if (conflict) {
      // another owner committed to this session: this one is stale, it stops (the loop sees `stopping`)
      const left = yield* Ref.modify(s.state, (st): readonly [Chunk.Chunk<Turn>, State] =>
        st.stopping !== undefined ? [Chunk.empty(), st] : [st.mailbox, { ...st, stopping: "conflict", mailbox: Chunk.empty() }])
      yield* dropAll(s, left, "conflict")
    }
    if (meter.inputTokens > 0) yield* Metric.incrementBy(metrics.inputTokens, meter.inputTokens)
    if (meter.outputTokens > 0) yield* Metric.incrementBy(metrics.outputTokens, meter.outputTokens)
    yield* update(s, (st) => ({ ...st, status: "idle", current: undefined, step: null, runningTools: 0 }))
    if (caller !== undefined) yield* Deferred.succeed(caller.done, undefined)
  })

export type Restore = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

/**
 * Process one turn taken from the mailbox. Runs uninterruptibly except for the
 * turn itself (`restore`), so a taken turn is always settled: never lost.
 * A defect, a kill or an interruption is passed on after settling, to end the
 * incarnation; an `LlmError` only fails the turn.
 */
const processTurn = (s: SessionImpl, turn: Turn, restore: Restore): Effect.Effect<void> =>
  Effect.gen(function*() {
    const caller = turn.caller
    if (caller !== undefined && !(yield* Deferred.succeed(caller.claim, true))) {
      // the caller went away while the turn was queued: skip it
      yield* publish(s, { _tag: "TurnCancelled", turn: turn.number })
      yield* Metric.increment(s.link.metrics.turns.cancelled)
      return
    }
    const cut = caller?.cut ?? (yield* Deferred.make<TurnCut>())
    yield* update(s, (st) => ({ ...st, status: "waiting", current: { turn: turn.number, cut } }))
    yield* publish(s, { _tag: "TurnStarted", turn: turn.number, text: turn.text })
    const meter = yield* Ref.make(NEW_METER)
    // The provider stream runs in its own fiber so that, however the turn
    // ends (finished, failed, cancelled, killed, or the session interrupted),
    // it is interrupted and *awaited* here: its release has run before the
    // turn is settled and before the session goes on.
    const agent = s.config.agent
    const run: Effect.Effect<Finished, LlmError.LlmError | SessionError> = agent === undefined
      ? plainTurn(s, turn, meter)
      : agentTurn(s, turn, meter, agent)
    const running = yield* Effect.fork(Effect.interruptible(run))
    const finished: Effect.Effect<Outcome, LlmError.LlmError | SessionError> = Fiber.join(running)
    const exit = yield* Effect.exit(restore(Effect.raceFirst(finished, Deferred.await(cut))))
    yield* Fiber.interrupt(running)
    yield* settle(s, turn, yield* Ref.get(meter), exit)
    if (Exit.isSuccess(exit)) {
      if (exit.value._tag === "Killed") return yield* Effect.die(exit.value.defect)
    } else if (Cause.isDie(exit.cause) || Cause.isInterrupted(exit.cause)) {
      return yield* Effect.failCause(Cause.stripFailures(exit.cause))
    }
  })

/** What the loop does next, decided atomically with passivation. */
type Next =
  | { readonly _tag: "Stop" }
  | { readonly _tag: "Crash"; readonly defect: unknown }
  | { readonly _tag: "Take"; readonly turn: Turn }
  | { readonly _tag: "Wait" }
  | { readonly _tag: "Passivate" }

const STOP: Next = { _tag: "Stop" }
const WAIT: Next = { _tag: "Wait" }
const PASSIVATE: Next = { _tag: "Passivate" }

const next = (s: SessionImpl): Effect.Effect<Next> =>
  Ref.modify(s.state, (st): readonly [Next, State] => {
    if (st.stopping !== undefined) return [STOP, st]
    if (st.crash !== undefined) return [{ _tag: "Crash", defect: st.crash.defect }, st]
    if (Chunk.isNonEmpty(st.mailbox)) {
      return [{ _tag: "Take", turn: Chunk.headNonEmpty(st.mailbox) }, { ...st, mailbox: Chunk.drop(st.mailbox, 1) }]
    }
    if (s.config.idleTimeout !== undefined) return [WAIT, st]
    // out of work: the fiber ends; the next message starts another
    return [PASSIVATE, { ...st, active: false }]
  })

/**
 * The idle timer ran out. An idle exit is a normal exit, never a crash: a
 * `permanent` session passivates (it keeps its id, history and mailbox, and
 * its next message starts it again), any other ends (`stopped`, reason
 * `idle`). Decided with the state, so a message or a stop that came at the
 * same moment is looked at first.
 */
const idleExit = (s: SessionImpl): Effect.Effect<Ending | undefined> =>
  Ref.modify(s.state, (st): readonly [Ending | undefined, State] => {
    if (st.stopping !== undefined || st.crash !== undefined || Chunk.isNonEmpty(st.mailbox)) return [undefined, st]
    if (s.config.restart === "permanent") return ["passivated", { ...st, active: false }]
    return ["idle", st]
  })

/**
 * One incarnation: one turn at a time until asked to stop, out of work, or
 * idle too long. Runs uninterruptibly (its fiber, `Supervision.run`, masks
 * it) but for the take and the turn itself (`restore`): a taken turn is
 * always processed, so no message is lost.
 */
export const incarnation = (s: SessionImpl, restore: Restore): Effect.Effect<Ending> =>
  Effect.suspend(() => {
    // woken (a message, a crash, a stop): look at the state again; or idle too long
    const wait: Effect.Effect<Ending | undefined> = Effect.flatMap(
      restore(Effect.timeoutTo(Queue.take(s.wakeups), {
        duration: s.config.idleTimeout ?? Duration.infinity,
        onTimeout: () => true,
        onSuccess: () => false
      })),
      (idle) => idle ? idleExit(s) : Effect.succeed(undefined)
    )
    const step = Effect.flatMap(next(s), (n): Effect.Effect<Ending | undefined> => {
      switch (n._tag) {
        case "Stop":
          return Effect.succeed("ended")
        case "Crash":
          return Effect.die(n.defect)
        case "Passivate":
          return Effect.succeed("passivated")
        case "Take":
          return Effect.as(processTurn(s, n.turn, restore), undefined)
        case "Wait":
          return wait
      }
    })
    const loop: Effect.Effect<Ending> = Effect.flatMap(step, (ending) => ending === undefined ? loop : Effect.succeed(ending))
    return loop
  })
