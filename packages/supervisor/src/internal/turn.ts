/**
 * One turn of a session: a user message waiting in the mailbox, and what its
 * caller (if any) holds to read the answer and to cancel it.
 *
 * @internal
 */
import type * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import type { ChatRequest } from "@streamvisor/core"
import type { LlmError, StreamEvent } from "@streamvisor/core"
import type { SessionError } from "../SessionError.js"

/** How many events may wait for a slow `send` consumer before the session stops pulling from the provider. */
export const REPLY_CAPACITY = 1024

/**
 * The link between a turn and the caller of `send`.
 *
 * - `claim` decides who owns the start of the turn: the session completes it
 *   with `true` when it starts the turn, the caller with `false` when it goes
 *   away first (the session then skips the turn), whichever is first.
 * - `signal` is completed by a caller that goes away while the turn runs
 *   (`Cancelled`), or by `crash` (`Killed`); the session races the turn
 *   against it, and the first completion wins.
 * - `done` is completed by the session once the turn has settled (its provider
 *   stream released, history committed or not), so a caller that cancels
 *   returns only after the connection is closed.
 */
export interface Caller {
  readonly reply: Mailbox.Mailbox<StreamEvent.StreamEvent, LlmError.LlmError | SessionError>
  readonly claim: Deferred.Deferred<boolean>
  readonly signal: Deferred.Deferred<Signal>
  readonly done: Deferred.Deferred<void>
  /** Set by the consumer when it has read the `Finish` event. */
  sawFinish: boolean
}

/** Why a running turn must stop before its provider stream ends. */
export type Signal =
  | { readonly _tag: "Cancelled" }
  | { readonly _tag: "Killed"; readonly defect: unknown }

/** @internal */
export const Cancelled: Signal = { _tag: "Cancelled" }

/** @internal */
export class Turn {
  constructor(
    readonly number: number,
    readonly text: string,
    readonly caller: Caller | undefined
  ) {}
}

/** A caller's half of a turn, made before the turn is enqueued. */
export const makeCaller: Effect.Effect<Caller> = Effect.all({
  reply: Mailbox.make<StreamEvent.StreamEvent, LlmError.LlmError | SessionError>(REPLY_CAPACITY),
  claim: Deferred.make<boolean>(),
  signal: Deferred.make<Signal>(),
  done: Deferred.make<void>()
}).pipe(Effect.map((parts): Caller => ({ ...parts, sawFinish: false })))

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
    return caller.sawFinish ? wait : Effect.zipRight(Deferred.succeed(caller.signal, Cancelled), wait)
  })

/**
 * Folds a turn's events: the assistant's text and tool calls for history,
 * usage for metrics, and whether `Finish` arrived.
 */
export class Accumulator {
  text = ""
  toolCalls: Array<{ id: string; name: string; arguments: unknown }> | undefined = undefined
  inputTokens = 0
  outputTokens = 0
  finished = false
  firstEventAt: number | undefined = undefined

  add(chunk: Chunk.Chunk<StreamEvent.StreamEvent>): void {
    for (const event of chunk) {
      switch (event._tag) {
        case "TextDelta":
          this.text += event.text
          break
        case "ToolCallEnd":
          ;(this.toolCalls ??= []).push({ id: event.id, name: event.name, arguments: event.arguments })
          break
        case "Usage":
          this.inputTokens = event.inputTokens
          this.outputTokens = event.outputTokens
          break
        case "Finish":
          this.finished = true
          break
      }
    }
  }

  /** The two messages a committed turn appends to history. */
  messages(userText: string): readonly [ChatRequest.Message, ChatRequest.Message] {
    return [
      { role: "user", content: userText },
      this.toolCalls === undefined
        ? { role: "assistant", content: this.text }
        : { role: "assistant", content: this.text, toolCalls: this.toolCalls }
    ]
  }
}
