/**
 * The `StreamvisorSession` entity's handlers: one activation of a session on
 * one runner. State is the store's; the activation keeps a cache of it and
 * the order of its turns.
 *
 * @internal
 */
import * as Entity from "@effect/cluster/Entity"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import type { DurationInput } from "effect/Duration"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { ChatRequest, StreamEvent } from "@streamvisor/core"
import { LlmError } from "@streamvisor/core"
import { SessionError, Sessions, SessionStore } from "@streamvisor/supervisor"
import { SessionEntity } from "../SessionEntity.js"

interface Cache {
  readonly session: SessionStore.StoredSession
  /** Kept turns, decoded, oldest first. */
  readonly turns: ReadonlyArray<{ readonly turn: number; readonly messages: ReadonlyArray<ChatRequest.Message> }>
}

/** Folds a turn's events into the assistant message and usage it commits. */
class Answer {
  text = ""
  toolCalls: Array<{ id: string; name: string; arguments: unknown }> | undefined = undefined
  usage: { inputTokens: number; outputTokens: number } | undefined = undefined
  finished = false
  add(events: Iterable<StreamEvent.StreamEvent>): void {
    for (const event of events) {
      if (event._tag === "TextDelta") this.text += event.text
      else if (event._tag === "ToolCallEnd") {
        ;(this.toolCalls ??= []).push({ id: event.id, name: event.name, arguments: event.arguments })
      } else if (event._tag === "Usage") this.usage = { inputTokens: event.inputTokens, outputTokens: event.outputTokens }
      else if (event._tag === "Finish") this.finished = true
    }
  }
  messages(text: string): ReadonlyArray<ChatRequest.Message> {
    return [
      { role: "user", content: text },
      this.toolCalls === undefined
        ? { role: "assistant", content: this.text }
        : { role: "assistant", content: this.text, toolCalls: this.toolCalls }
    ]
  }
}

/** Turn order: each turn waits for the one enqueued before it. */
interface Ticket {
  readonly turn: number
  readonly previous: Deferred.Deferred<void>
  readonly done: Deferred.Deferred<void>
}

// Claims older than a day are deleted, every 256 claims a runner makes: a
// request is re-sent within seconds of its runner's death, never a day later.
const CLAIM_RETENTION_MS = 86_400_000
const CLAIM_SWEEP_EVERY = 256
let claimsMade = 0

/** Turns running or waiting on this runner, across its sessions (see {@link layerDrain}). */
export class ActiveTurns extends Context.Tag("@streamvisor/cluster/ActiveTurns")<ActiveTurns, { count: number }>() {
  static readonly layer = Layer.sync(ActiveTurns, () => ({ count: 0 }))
}

/**
 * Before the cluster's own shutdown: wait (up to `timeout`) until no turn runs
 * on this runner. The cluster interrupts the entities' requests when it shuts
 * down (volatile ones are not re-sent), so without this a graceful shutdown
 * would cut every `send` in flight. Turns that arrive meanwhile still run here.
 */
export const layerDrain = (timeout: DurationInput) =>
  Layer.scopedDiscard(Effect.gen(function*() {
    const turns = yield* ActiveTurns
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => turns.count === 0 ? Effect.void : Effect.fail("busy" as const)).pipe(
        Effect.retry({ while: () => true, schedule: Schedule.spaced("50 millis") }),
        Effect.timeoutOption(Duration.decode(timeout)),
        Effect.ignore
      )
    )
  }))

const unavailable = (sessionId: string, reason: Sessions.SessionUnavailable["reason"], detail: string, turn?: number) =>
  new Sessions.SessionUnavailable({ sessionId, reason, detail, ...(turn === undefined ? {} : { turn }) })

const build = Effect.gen(function*() {
  const address = yield* Entity.CurrentAddress
  const id: string = address.entityId
  const store = yield* SessionStore.SessionStore
  const registry = yield* Sessions.ProviderRegistry
  const active = yield* ActiveTurns
  const sql = (yield* SqlClient.SqlClient).withoutTransforms()
  const scope = yield* Scope.Scope
  const background = yield* FiberSet.make<void, never>()
  // Added after the FiberSet, so it runs before the set interrupts its
  // fibers: a graceful shutdown lets told turns finish (the cluster bounds it
  // by `entityTerminationTimeout`).
  yield* Scope.addFinalizer(scope, FiberSet.awaitEmpty(background))

  let cache: Cache | undefined
  let nextTurn = 1
  let tail = Deferred.unsafeMake<void>(FiberId.none)
  yield* Deferred.succeed(tail, undefined)
  let stopped = false

  const storeError = (turn?: number) => (error: SessionStore.SessionStoreError) =>
    unavailable(id, error.reason === "NotFound" ? "NotFound" : "Store", error.message, turn)

  const load: Effect.Effect<Cache, Sessions.SessionUnavailable> = Effect.suspend(() => {
    if (cache !== undefined) return Effect.succeed(cache)
    return store.load(id).pipe(
      Effect.flatMap(Option.match({
        onNone: (): Effect.Effect<Cache, Sessions.SessionUnavailable | SessionStore.SessionStoreError> =>
          Effect.fail(unavailable(id, "NotFound", "no such session")),
        onSome: (session) =>
          Effect.forEach(session.turns, (turn) =>
            Effect.map(SessionStore.history({ ...session, turns: [turn] }), (messages) => ({ turn: turn.turn, messages })))
            .pipe(Effect.map((turns): Cache => ({ session, turns })))
      })),
      Effect.mapError((error) => error._tag === "SessionStoreError" ? storeError()(error) : error),
      Effect.tap((loaded) =>
        Effect.sync(() => {
          cache ??= loaded
          nextTurn = Math.max(nextTurn, loaded.session.lastTurn + 1)
        })
      ),
      Effect.map(() => cache!)
    )
  })

  // One synchronous step gives the number and the place in line, so numbers follow the order of turns.
  const enqueue: Effect.Effect<Ticket, Sessions.SessionUnavailable | SessionError.SessionStopped> = Effect.zipRight(
    load,
    Effect.suspend(() => {
      if (stopped) return Effect.fail(new SessionError.SessionStopped({ sessionId: id, reason: "stopped" }))
      const ticket: Ticket = { turn: nextTurn++, previous: tail, done: Deferred.unsafeMake<void>(FiberId.none) }
      tail = ticket.done
      return Effect.succeed(ticket)
    })
  )

  const claim = (key: string, turn: number) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const claimed = yield* sql`INSERT INTO streamvisor_send_claims (request_key, session_id, claimed_at)
        VALUES (${key}, ${id}, ${now}) ON CONFLICT (request_key) DO NOTHING RETURNING request_key`
      if (++claimsMade % CLAIM_SWEEP_EVERY === 0) {
        yield* sql`DELETE FROM streamvisor_send_claims WHERE claimed_at < ${now - CLAIM_RETENTION_MS}`
      }
      if (claimed.length === 0) {
        return yield* unavailable(id, "RunnerLost", "the runner running this turn was lost; it is not run again", turn)
      }
    }).pipe(Effect.catchTag("SqlError", (error) => Effect.fail(unavailable(id, "Store", error.message, turn))))

  const commit = (turn: number, text: string, answer: Answer) =>
    Effect.gen(function*() {
      if (!answer.finished) {
        return yield* new LlmError.Disconnected({ provider: "session", message: "stream ended without a finish" })
      }
      const current = yield* load
      const messages = answer.messages(text)
      const encoded = yield* SessionStore.encode(messages)
      yield* store.commitTurn(id, {
        after: current.session.lastTurn,
        turn,
        messages: encoded,
        ...(answer.usage === undefined ? {} : { usage: answer.usage })
      }).pipe(Effect.tapError((error) =>
        // Another writer moved the session on: read it again before the next turn.
        Effect.sync(() => {
          if (error.reason === "Conflict") cache = undefined
        })
      ))
      const appended = [...current.turns, { turn, messages }]
      const drop = new Set(SessionStore.trim(appended.map((kept) => kept.turn), current.session.maxTurns))
      cache = {
        session: { ...current.session, lastTurn: turn },
        turns: appended.filter((kept) => !drop.has(kept.turn))
      }
    }).pipe(Effect.mapError((error) => error._tag === "SessionStoreError" ? storeError(turn)(error) : error))

  /** One turn, once its place in line comes; commits before the stream ends. */
  const run = (ticket: Ticket, text: string, key: string | undefined) =>
    Stream.unwrapScoped(Effect.gen(function*() {
      yield* Effect.acquireRelease(Effect.sync(() => active.count++), () => Effect.sync(() => active.count--))
      // Whatever happens to this turn, the next one starts only after the previous one settled.
      yield* Effect.addFinalizer(() =>
        Effect.forkIn(Effect.zipRight(Deferred.await(ticket.previous), Deferred.succeed(ticket.done, undefined)), scope)
      )
      yield* Deferred.await(ticket.previous)
      if (stopped) {
        return yield* new SessionError.SessionStopped({ sessionId: id, turn: ticket.turn, reason: "stopped" })
      }
      if (key !== undefined) yield* claim(key, ticket.turn)
      const current = yield* load
      const provider = yield* Sessions.provider(registry, id, current.session.provider)
      const request: ChatRequest.ChatRequest = {
        model: current.session.model,
        ...(current.session.system === undefined ? {} : { system: current.session.system }),
        messages: [...current.turns.flatMap((kept) => kept.messages), { role: "user", content: text }]
      }
      const answer = new Answer()
      return provider.stream(request).pipe(
        Stream.mapChunks((chunk) => {
          answer.add(chunk)
          return chunk
        }),
        Stream.concat(Stream.drain(Stream.fromEffect(commit(ticket.turn, text, answer))))
      )
    }))

  return SessionEntity.of({
    Create: ({ payload }) =>
      store.create({ id, ...payload }).pipe(
        Effect.mapError((error) =>
          error.reason === "AlreadyExists" ? unavailable(id, "AlreadyExists", "already stored") : storeError()(error)
        ),
        Effect.flatMap((session) =>
          Effect.sync(() => {
            cache = { session, turns: [] }
          })
        )
      ),
    Send: ({ payload }) => Stream.unwrap(Effect.map(enqueue, (ticket) => run(ticket, payload.text, payload.key))),
    Tell: ({ payload }) =>
      Effect.flatMap(enqueue, (ticket) =>
        FiberSet.run(background, Effect.ignore(Stream.runDrain(run(ticket, payload.text, undefined)))).pipe(
          Effect.as(ticket.turn)
        )),
    History: () => Effect.map(load, (current) => current.turns.flatMap((kept) => kept.messages)),
    Stop: () =>
      Effect.suspend(() => {
        stopped = true
        return Deferred.await(tail)
      })
  })
})

/** The entity, registered with the runner's `Sharding`. */
export const layer = (options?: { readonly maxIdleTime?: DurationInput | undefined }) =>
  SessionEntity.toLayer(build, { concurrency: "unbounded", maxIdleTime: options?.maxIdleTime })
