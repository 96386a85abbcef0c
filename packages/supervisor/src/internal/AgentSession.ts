/**
 * A turn of a session with `tools`: the whole agent loop (`AgentTurn.stream`)
 * over the session's toolkit, its handlers taken from the context `spawn` ran
 * in. Each step's provider stream holds a stream permit only while it is open
 * (the permit is taken in the step's `policies`, which core wraps around the
 * step's stream and nothing else), so a turn waiting on its tools holds none.
 *
 * The caller of `send` and the `events` subscribers see every step's provider
 * events (each step ending with its own `Finish`), the caller of `sendAgent`
 * every `AgentEvent`; the turn's progress (step, running tools) is in the
 * session's `Info`. The messages the turn appended
 * arrive once, in `TurnEnd`, and are committed with the user's message by the
 * turn loop — or nothing is.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as PubSub from "effect/PubSub"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import { type AgentEvent, AgentTurn, type ChatRequest, LlmError, type StreamEvent } from "@streamvisor/core"
import type * as Session from "../Session.js"
import type { SessionError } from "../SessionError.js"
import type { Turn } from "./Mailbox.js"
import { type Agent, markLive, type SessionImpl, update } from "./SessionState.js"

/** What a finished turn commits: its messages (the user's first) and usage. */
export interface Finished {
  readonly _tag: "Finished"
  readonly messages: ReadonlyArray<ChatRequest.Message>
  readonly usage: { readonly inputTokens: number; readonly outputTokens: number } | undefined
}

/** Tokens a turn was billed for so far (kept apart from the fold: a failed turn is billed too). */
export interface Meter {
  readonly started: boolean
  readonly inputTokens: number
  readonly outputTokens: number
}

/** The request of a turn: the session's settings, its history and the user's message. */
export const requestOf = (s: SessionImpl, turn: Turn): Effect.Effect<ChatRequest.ChatRequest> =>
  Effect.map(Ref.get(s.state), (st) => {
    const { model, options, system } = s.config
    const messages = [...st.history, { role: "user" as const, content: turn.text }]
    return system === undefined ? { ...options, model, messages } : { ...options, model, system, messages }
  })

/**
 * Forward a chunk of the turn: `events` to a `sendAgent` caller, its provider
 * events (`provided`, the same chunk in a turn without tools) to a `send`
 * caller and to the session's subscribers.
 */
export const forwarder = (s: SessionImpl, turn: Turn) => {
  const caller = turn.caller
  const tagTurn = (event: StreamEvent.StreamEvent): Session.Event => ({ _tag: "TurnEvent", turn: turn.number, event })
  return (events: Chunk.Chunk<AgentEvent.AgentEvent>, provided: Chunk.Chunk<StreamEvent.StreamEvent>): Effect.Effect<void> => {
    const mine = caller === undefined ? undefined : caller.agent ? events : provided
    return Effect.zipRight(
      mine === undefined || Chunk.isEmpty(mine) ? Effect.void : caller!.reply.offerAll(mine),
      Chunk.isEmpty(provided) ? Effect.void : Effect.flatMap(Ref.get(s.state), (st) =>
        st.pubsub === undefined ? Effect.void : PubSub.publishAll(st.pubsub, Chunk.map(provided, tagTurn)))
    )
  }
}

/**
 * One step's provider stream under the session's policies, holding a stream
 * permit (status `waiting` until it has one, `streaming` while it is open)
 * and timing its first event.
 */
const permitted = (s: SessionImpl) =>
(
  events: Stream.Stream<StreamEvent.StreamEvent, LlmError.LlmError>
): Stream.Stream<StreamEvent.StreamEvent, LlmError.LlmError> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const streams = s.link.streams
    yield* update(s, (st) => ({ ...st, status: "waiting" }))
    // masked so that a permit taken is always given back, and one waited for and interrupted is never taken
    yield* Effect.uninterruptibleMask((restore) =>
      Effect.zipRight(restore(streams.take(1)), Effect.addFinalizer(() => streams.release(1)))
    )
    yield* Effect.acquireRelease(markLive(s, 1), () => markLive(s, -1))
    const openedAt = yield* Clock.currentTimeMillis
    let first = true
    const shaped = s.config.policies === undefined ? events : s.config.policies(events)
    return Stream.mapChunksEffect(shaped, (chunk) => {
      if (!first) return Effect.succeed(chunk)
      first = false
      return Effect.flatMap(
        Clock.currentTimeMillis,
        (now) => Effect.as(Metric.update(s.link.metrics.timeToFirstToken, now - openedAt), chunk)
      )
    })
  }))

/**
 * Run one agent turn to its `TurnEnd`, forwarding provider events, keeping
 * the session's step and running tools up to date, and metering usage by
 * step (a step cut midway counts what its last `Usage` reported). Fails with a step's `LlmError`, a `ToolError` / `ToolTimeout`, or
 * `Disconnected` if the turn ended without `TurnEnd`.
 */
export const agentTurn = (
  s: SessionImpl,
  turn: Turn,
  meter: Ref.Ref<Meter>,
  agent: Agent
): Effect.Effect<Finished, LlmError.LlmError | SessionError> =>
  Effect.gen(function*() {
    const provider = s.config.provider
    const request = yield* requestOf(s, turn)
    const forward = forwarder(s, turn)
    const events = AgentTurn.stream(provider, request, agent.toolkit, {
      maxSteps: agent.maxSteps,
      toolTimeout: agent.toolTimeout,
      policies: permitted(s)
    }).pipe(Stream.provideContext(agent.context as Context.Context<any>))
    let end: AgentEvent.TurnEnd | undefined = undefined
    // tool calls the model made in the step in flight; they run once its Finish is in
    let calls = 0
    // Tokens of the steps finished, and the last `Usage` of the step in flight:
    // a step cut midway (cancelled, failed, crashed) is billed for what it reported.
    let doneIn = 0
    let doneOut = 0
    let stepIn = 0
    let stepOut = 0
    yield* Stream.runForEachChunk(events, (chunk) => {
      const provided: Array<StreamEvent.StreamEvent> = []
      let progress: ((st: { step: number | null; runningTools: number }) => { step: number | null; runningTools: number }) | undefined
      for (const event of chunk) {
        switch (event._tag) {
          case "StepStart": {
            calls = 0
            stepIn = 0
            stepOut = 0
            const step = event.step
            progress = () => ({ step, runningTools: 0 })
            break
          }
          case "ToolResult": {
            const before = progress
            progress = (p) => {
              const q = before === undefined ? p : before(p)
              return { step: q.step, runningTools: Math.max(0, q.runningTools - 1) }
            }
            break
          }
          case "StepFinish":
            doneIn += event.usage?.inputTokens ?? stepIn
            doneOut += event.usage?.outputTokens ?? stepOut
            stepIn = 0
            stepOut = 0
            break
          case "TurnEnd":
            end = event
            break
          default: {
            if (event._tag === "ToolCallEnd") calls++
            else if (event._tag === "Usage") {
              stepIn = event.inputTokens
              stepOut = event.outputTokens
            }
            if (event._tag === "Finish") {
              const running = calls
              const before = progress
              progress = (p) => ({ step: (before === undefined ? p : before(p)).step, runningTools: running })
            }
            provided.push(event)
          }
        }
      }
      const apply = progress
      return Effect.all([
        Ref.set(meter, { started: true, inputTokens: doneIn + stepIn, outputTokens: doneOut + stepOut }),
        apply === undefined ? Effect.void : update(s, (st) => ({ ...st, ...apply(st) })),
        // a chunk of provider events only (the usual one: deltas) is passed on as it is
        forward(chunk, provided.length === chunk.length ? chunk as Chunk.Chunk<StreamEvent.StreamEvent> : Chunk.unsafeFromArray(provided))
      ], { discard: true })
    })
    const last = end as AgentEvent.TurnEnd | undefined
    if (last === undefined) {
      return yield* new LlmError.Disconnected({ provider: provider.name, message: `${provider.name}: the turn ended without a TurnEnd` })
    }
    return {
      _tag: "Finished",
      messages: [{ role: "user", content: turn.text }, ...last.messages],
      usage: last.usage
    }
  })
