/**
 * A session's mailbox: the turns waiting to run, each with the caller (if
 * any) that reads its answer and may cancel it. Putting a turn in (numbered,
 * and starting the session's fiber if it has none), and dropping the turns
 * that will never run.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import * as Metric from "effect/Metric"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import type { AgentEvent, LlmError } from "@streamvisor/core"
import { type SessionError, SessionStopped } from "../SessionError.js"
import { publish, type SessionImpl, type State, type StopReason } from "./SessionState.js"

/** How many events may wait for a slow `send` consumer before the session stops pulling from the provider. */
export const REPLY_CAPACITY = 1024

/**
 * The link between a turn and the caller of `send`.
 *
 * - `claim` decides who owns the start of the turn: the session completes it
 *   with `true` when it starts the turn, the caller with `false` when it goes
 *   away first (the session then skips the turn), whichever is first.
 * - `cut` is completed by a caller that goes away while the turn runs
 *   (`Cancelled`), or by `crash` (`Killed`); the session races the turn
 *   against it, and the first completion wins.
 * - `done` is completed by the session once the turn has settled (its provider
 *   stream released, history committed or not), so a caller that cancels
 *   returns only after the connection is closed.
 */
export interface Caller {
  /** The turn's events for the caller: only provider events for `send`, every `AgentEvent` for `sendAgent`. */
  readonly reply: Mailbox.Mailbox<AgentEvent.AgentEvent, LlmError.LlmError | SessionError>
  /** Asked with `sendAgent`: offered the turn's steps, tool results and end, not only its provider events. */
  readonly agent: boolean
  readonly claim: Deferred.Deferred<boolean>
  readonly cut: Deferred.Deferred<TurnCut>
  readonly done: Deferred.Deferred<void>
  /** Set by the consumer when it has read the end of the answer: the `Finish` (`send`) or the `TurnEnd` (`sendAgent`). */
  sawFinish: boolean
}

/** Why a running turn is cut before its provider stream ends. */
export type TurnCut =
  | { readonly _tag: "Cancelled" }
  | { readonly _tag: "Killed"; readonly defect: unknown }

/** @internal */
export const Cancelled: TurnCut = { _tag: "Cancelled" }

/** @internal */
export class Turn {
  constructor(
    readonly number: number,
    readonly text: string,
    readonly caller: Caller | undefined
  ) {}
}

/** A caller's half of a turn (of `sendAgent` when `agent`), made before the turn is enqueued. */
export const makeCaller = (agent: boolean): Effect.Effect<Caller> =>
  Effect.all({
    reply: Mailbox.make<AgentEvent.AgentEvent, LlmError.LlmError | SessionError>(REPLY_CAPACITY),
    claim: Deferred.make<boolean>(),
    cut: Deferred.make<TurnCut>(),
    done: Deferred.make<void>()
  }).pipe(Effect.map((parts): Caller => ({ ...parts, agent, sawFinish: false })))

/**
 * What a caller does when its stream ends or is interrupted: nothing more if
 * the session had not started the turn (it will skip it); otherwise ask the
 * session to cut the turn (unless the caller already read `Finish`, in which
 * case the turn is allowed to commit) and wait until it has settled.
 */
export const leave = (caller: Caller): Effect.Effect<void> =>
  Effect.flatMap(Deferred.succeed(caller.claim, false), (first) => {
    if (first) return caller.reply.shutdown
    const wait = Deferred.await(caller.done)
    return caller.sawFinish ? wait : Effect.zipRight(Deferred.succeed(caller.cut, Cancelled), wait)
  })

/**
 * Put a turn in the mailbox, numbered, and start the session's fiber if it has
 * none (or wake it). Numbering, queueing and the activation decision are one
 * `Ref.modify`, so mailbox order is turn order and no message is left without
 * a fiber. Refused with `SessionStopped` once the session stops accepting.
 */
export const enqueue = (s: SessionImpl, text: string, caller: Caller | undefined): Effect.Effect<Turn, SessionStopped> =>
  Effect.flatMap(
    Ref.modify(s.state, (st): readonly [{ readonly turn: Turn; readonly start: boolean } | StopReason, State] => {
      if (st.stopping !== undefined) return [st.stopping, st]
      const turn = new Turn(st.nextTurn, text, caller)
      return [
        { turn, start: !st.active },
        { ...st, nextTurn: st.nextTurn + 1, mailbox: Chunk.append(st.mailbox, turn), active: true }
      ]
    }),
    (result) => {
      if (typeof result === "string") return Effect.fail(new SessionStopped({ sessionId: s.config.id, reason: result }))
      if (!result.start) return Effect.as(Queue.offer(s.wakeups, undefined), result.turn)
      return Effect.sync(() => {
        s.link.activate(s)
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
    yield* Metric.increment(s.link.metrics.turns.dropped)
    return true
  })
}

/** Drop turns taken out of the mailbox; returns how many had a taker. */
export const dropAll = (s: SessionImpl, turns: Chunk.Chunk<Turn>, reason: StopReason): Effect.Effect<number> =>
  Effect.reduce(turns, 0, (n, turn) => Effect.map(drop(s, turn, reason), (d) => d ? n + 1 : n))
