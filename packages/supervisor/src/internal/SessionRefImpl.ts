/**
 * A session's handle, `Session.SessionRef`, and the constructor that makes a
 * session with it.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import { pipeArguments } from "effect/Pipeable"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Ref from "effect/Ref"
import type { AgentEvent, ChatRequest, LlmError, StreamEvent } from "@streamvisor/core"
import type * as Session from "../Session.js"
import type { InvalidMessage, SessionError, SessionStopped } from "../SessionError.js"
import { enqueue, leave, makeCaller } from "./Mailbox.js"
import * as SessionState from "./SessionState.js"
import { stop } from "./StopDeadline.js"
import { messageText } from "./Validation.js"

/**
 * Whether a chunk ends the turn's answer: for `sendAgent` its `TurnEnd`; for
 * `send` its `Finish`. In an agent turn a step that ends with tool calls is
 * followed by more steps, so its `Finish` does not end the turn (a caller who
 * leaves after it cuts the turn).
 */
const isEndChunk = (chunk: Chunk.Chunk<AgentEvent.AgentEvent>, agentSession: boolean, agentCaller: boolean): boolean => {
  const last = Chunk.last(chunk)
  if (Option.isNone(last)) return false
  if (agentCaller) return last.value._tag === "TurnEnd"
  return last.value._tag === "Finish" && !(agentSession && last.value.reason === "tool_calls")
}

const DEFAULT_DEFECT = "Session.crash"

/**
 * Enqueue `text` when the stream is run and stream what the session offers
 * the caller; leaving (end, failure, interruption) cancels the turn unless
 * its end was read.
 */
const ask = (
  s: SessionState.SessionImpl,
  text: string,
  agent: boolean
): Stream.Stream<AgentEvent.AgentEvent, LlmError.LlmError | SessionError> =>
  Stream.unwrapScoped(
    Effect.gen(function*() {
      const valid = yield* messageText(s.config.id, text)
      const caller = yield* makeCaller(agent)
      yield* Effect.acquireRelease(enqueue(s, valid, caller), () => leave(caller))
      return Stream.mapChunks(Mailbox.toStream(caller.reply), (chunk) => {
        if (isEndChunk(chunk, s.config.agent !== undefined, agent)) caller.sawFinish = true
        return chunk
      })
    })
  )

/**
 * A session's handle. Methods live on the prototype (an idle session should
 * cost little); the `Effect`s are made when asked for.
 */
class SessionRefImpl implements Session.SessionRef {
  constructor(readonly s: SessionState.SessionImpl) {}
  get id(): string {
    return this.s.config.id
  }
  send(text: string): Stream.Stream<StreamEvent.StreamEvent, LlmError.LlmError | SessionError> {
    // a caller that is not `agent` is offered the provider's events only
    return ask(this.s, text, false) as Stream.Stream<StreamEvent.StreamEvent, LlmError.LlmError | SessionError>
  }
  sendAgent(text: string): Stream.Stream<AgentEvent.AgentEvent, LlmError.LlmError | SessionError> {
    return ask(this.s, text, true)
  }
  tell(text: string): Effect.Effect<number, SessionStopped | InvalidMessage> {
    const s = this.s
    return Effect.flatMap(messageText(s.config.id, text), (valid) => Effect.map(enqueue(s, valid, undefined), (turn) => turn.number))
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
      if (SessionState.isTerminated(yield* Ref.get(s.state))) yield* Queue.shutdown(queue)
      return queue
    })
  }
  get stop(): Effect.Effect<void> {
    return stop(this.s, "stopped", this.s.link.shutdownTimeout)
  }
  get info(): Effect.Effect<Session.Info> {
    return SessionState.info(this.s)
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
      if (st.current !== undefined) yield* Deferred.succeed(st.current.cut, { _tag: "Killed", defect: value })
      if (st.active) yield* Queue.offer(s.wakeups, undefined)
      else yield* Effect.sync(() => s.link.activate(s))
    }))
  }
  pipe() {
    // eslint-disable-next-line prefer-rest-params
    return pipeArguments(this, arguments)
  }
}

/** Make a session (not yet running) and its handle. */
export const make = (
  config: SessionState.Config,
  link: SessionState.SupervisorLink,
  start: SessionState.Start
): Effect.Effect<SessionState.SessionImpl> =>
  SessionState.make(config, link, start, (s) => new SessionRefImpl(s))
