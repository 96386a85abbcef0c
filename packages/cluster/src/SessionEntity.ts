/**
 * A streamvisor session as an `@effect/cluster` entity, addressed by the
 * session id and sharded across runners. Its state lives in the
 * `SessionStore`: an entity holds only a cache of it, so a session moves to
 * another runner (a crash, a deploy, a rebalance) with every committed turn.
 *
 * RPCs (all volatile: nothing here is written to the cluster's message table):
 *
 * - `Create { provider, model, system?, maxTurns? }`: store a new session.
 * - `Send { text, key }` → a stream of `StreamEvent`s: one turn, committed to
 *   the store (`commitTurn({ after })`) before the stream ends successfully.
 *   `key` names the request: it is claimed in the store when the turn starts,
 *   so a request the cluster re-sends after its runner died fails with
 *   `SessionUnavailable` `RunnerLost` instead of running twice.
 * - `Tell { text }` → the turn's number at once; the turn runs in the background.
 * - `History` → the committed messages.
 * - `Stop`: queued turns fail `SessionStopped`, the current one finishes.
 *
 * @since 0.1.0
 */
import * as Entity from "@effect/cluster/Entity"
import * as Rpc from "@effect/rpc/Rpc"
import * as Schema from "effect/Schema"
import { ChatRequest, LlmError, StreamEvent } from "@streamvisor/core"
import { SessionError, Sessions } from "@streamvisor/supervisor"

/**
 * @since 0.1.0
 * @category rpcs
 */
export const Create = Rpc.make("Create", {
  payload: {
    provider: Schema.String,
    model: Schema.String,
    system: Schema.optional(Schema.String),
    maxTurns: Schema.optional(Schema.Int.pipe(Schema.positive()))
  },
  error: Sessions.SessionUnavailable
})

/**
 * Every error a `Send` reply may end with (`LlmError`s cross through core's
 * `LlmError.LlmError` schema and are rebuilt as core's classes).
 *
 * @since 0.1.0
 * @category models
 */
export type SendError = LlmError.LlmError | SessionError.SessionError | Sessions.SessionUnavailable

/**
 * @since 0.1.0
 * @category rpcs
 */
export const Send = Rpc.make("Send", {
  payload: { text: Schema.String, key: Schema.String },
  success: StreamEvent.StreamEvent,
  error: Schema.Union(LlmError.LlmError, SessionError.SessionStopped, SessionError.SessionCrashed, Sessions.SessionUnavailable),
  stream: true
})

/**
 * @since 0.1.0
 * @category rpcs
 */
export const Tell = Rpc.make("Tell", {
  payload: { text: Schema.String },
  success: Schema.Number,
  error: Schema.Union(SessionError.SessionStopped, Sessions.SessionUnavailable)
})

/**
 * @since 0.1.0
 * @category rpcs
 */
export const History = Rpc.make("History", {
  success: Schema.Array(ChatRequest.Message),
  error: Sessions.SessionUnavailable
})

/**
 * @since 0.1.0
 * @category rpcs
 */
export const Stop = Rpc.make("Stop", { error: Sessions.SessionUnavailable })

/**
 * The entity type, `StreamvisorSession`.
 *
 * @since 0.1.0
 * @category entities
 */
export const SessionEntity = Entity.make("StreamvisorSession", [Create, Send, Tell, History, Stop])
