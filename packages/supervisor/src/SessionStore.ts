/**
 * Where a session's conversation lives between turns, so it can outlive the
 * process that ran it.
 *
 * A store keeps, per session id: the spawn settings needed to resume it
 * (provider NAME — a provider object is not serialisable — model, system
 * prompt, request options as JSON, history bound) and its committed turns,
 * each one the messages it appended (the user message, the assistant steps,
 * the tool results) plus its usage. Messages are kept as JSON values (the
 * `Schema`-encoded form of `ChatRequest.Message`), so the store does not care
 * what a message looks like: a widened message model needs no new store.
 *
 * A commit states the turn it follows (`after`); a store holding another last
 * turn refuses it with `SessionStoreError` reason `"Conflict"`, so two writers
 * can never both commit after the same turn (optimistic concurrency).
 *
 * `layerMemory` is the in-memory store (tests, and the no-store default);
 * `@streamvisor/cluster` has the SQL one (SQLite, PostgreSQL).
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import { ChatRequest } from "@streamvisor/core"

/**
 * Why a store operation failed.
 *
 * - `NotFound`: no session has this id (commit).
 * - `AlreadyExists`: `create` of an id the store knows.
 * - `Conflict`: the commit's `after` is not the stored last turn; `lastTurn`
 *   says what is stored. Another writer committed first: reload, do not retry blindly.
 * - `InvalidInput`: a bad id, turn number or limit, or a value that is not JSON.
 * - `Backend`: the database failed (`cause` holds its error).
 *
 * @since 0.1.0
 * @category errors
 */
export class SessionStoreError extends Schema.TaggedError<SessionStoreError>(
  "@streamvisor/supervisor/SessionStoreError"
)("SessionStoreError", {
  reason: Schema.Literal("NotFound", "AlreadyExists", "Conflict", "InvalidInput", "Backend"),
  sessionId: Schema.optional(Schema.String),
  detail: Schema.String,
  lastTurn: Schema.optional(Schema.Number),
  cause: Schema.optional(Schema.Defect)
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const id = this.sessionId === undefined ? "" : ` (session ${this.sessionId})`
    return `${this.reason}${id}: ${this.detail}`
  }
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isSessionStoreError = (u: unknown): u is SessionStoreError => u instanceof SessionStoreError

const TurnNumber = Schema.Int.pipe(Schema.positive())

/**
 * What `create` takes: the settings a session is resumed with. `options` is
 * any JSON value (the request options the supervisor passes on each turn).
 * `maxTurns` bounds history: see {@link trim}.
 *
 * @since 0.1.0
 * @category schemas
 */
export const NewSession = Schema.Struct({
  id: Schema.String.pipe(Schema.minLength(1)),
  provider: Schema.String,
  model: Schema.String,
  system: Schema.optional(Schema.String),
  options: Schema.optional(Schema.Unknown),
  maxTurns: Schema.optional(TurnNumber)
})

/**
 * @since 0.1.0
 * @category models
 */
export type NewSession = typeof NewSession.Type

/**
 * One committed turn. `messages` are JSON values, in the order the turn
 * appended them; `usage` is absent when the turn reported none.
 * `committedAt` is epoch milliseconds.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Turn = Schema.Struct({
  turn: TurnNumber,
  messages: Schema.Array(Schema.Unknown),
  usage: Schema.optional(Schema.Unknown),
  committedAt: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export type Turn = typeof Turn.Type

/**
 * A stored session: its settings, `lastTurn` (the number of the last
 * committed turn, 0 before the first; a resumed session numbers on from
 * `lastTurn + 1`) and the turns kept after trimming, oldest first.
 * Times are epoch milliseconds.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StoredSession = Schema.Struct({
  ...NewSession.fields,
  lastTurn: Schema.Int.pipe(Schema.nonNegative()),
  turns: Schema.Array(Turn),
  createdAt: Schema.Number,
  updatedAt: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export type StoredSession = typeof StoredSession.Type

/**
 * One line of `list`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Summary = Schema.Struct({
  id: Schema.String,
  provider: Schema.String,
  model: Schema.String,
  lastTurn: Schema.Number,
  createdAt: Schema.Number,
  updatedAt: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export type Summary = typeof Summary.Type

/**
 * What `commitTurn` takes: turn `turn`, which follows the stored last turn
 * `after` (0 for the first). `turn > after`; turn numbers may skip (a failed
 * turn used a number and committed nothing).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Commit = Schema.Struct({
  after: Schema.Int.pipe(Schema.nonNegative()),
  turn: TurnNumber,
  messages: Schema.Array(Schema.Unknown),
  usage: Schema.optional(Schema.Unknown)
})

/**
 * @since 0.1.0
 * @category models
 */
export type Commit = typeof Commit.Type

/**
 * What a successful commit did: the new last turn, and how many old turns the
 * history bound removed.
 *
 * @since 0.1.0
 * @category models
 */
export interface Committed {
  readonly lastTurn: number
  readonly trimmed: number
}

/**
 * The store.
 *
 * @since 0.1.0
 * @category models
 */
export interface SessionStore {
  /** Store a new session with no turns; `AlreadyExists` if the id is taken. */
  readonly create: (session: NewSession) => Effect.Effect<StoredSession, SessionStoreError>
  /** The session and its kept turns, or `None`. */
  readonly load: (id: string) => Effect.Effect<Option.Option<StoredSession>, SessionStoreError>
  /**
   * Append one turn atomically, then trim history to the session's
   * `maxTurns`. All or nothing: a failed commit leaves the session as it was.
   */
  readonly commitTurn: (id: string, commit: Commit) => Effect.Effect<Committed, SessionStoreError>
  /** Every stored session, by id. */
  readonly list: Effect.Effect<ReadonlyArray<Summary>, SessionStoreError>
  /** Forget a session and its turns; `false` when it was not stored. */
  readonly remove: (id: string) => Effect.Effect<boolean, SessionStoreError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export const SessionStore: Context.Tag<SessionStore, SessionStore> = Context.GenericTag<SessionStore>(
  "@streamvisor/supervisor/SessionStore"
)

/**
 * The trimming rule, applied on every commit: when a session has `maxTurns`,
 * only its newest `maxTurns` turns are kept; older turns are deleted whole.
 * A turn is never split, so an assistant's tool call and its result (both in
 * the same turn) are kept or dropped together, and kept history never starts
 * with an unanswered call. `lastTurn` is unaffected. Returns the turn numbers
 * to delete, oldest first.
 *
 * @since 0.1.0
 * @category trimming
 */
export const trim = (turns: ReadonlyArray<number>, maxTurns: number | undefined): ReadonlyArray<number> =>
  maxTurns === undefined || turns.length <= maxTurns ? [] : turns.slice(0, turns.length - maxTurns)

/**
 * A session's kept history: every kept turn's messages, in order, still JSON.
 *
 * @since 0.1.0
 * @category history
 */
export const messages = (session: StoredSession): ReadonlyArray<unknown> =>
  session.turns.flatMap((turn) => turn.messages)

const decodeMessages = Schema.decodeUnknown(Schema.Array(ChatRequest.Message))
const encodeMessages = Schema.encode(Schema.Array(ChatRequest.Message))

/**
 * A session's kept history decoded with core's `ChatRequest.Message`;
 * `InvalidInput` if a stored message does not fit the current model.
 *
 * @since 0.1.0
 * @category history
 */
export const history = (session: StoredSession): Effect.Effect<ReadonlyArray<ChatRequest.Message>, SessionStoreError> =>
  decodeMessages(messages(session)).pipe(
    Effect.mapError((error) =>
      new SessionStoreError({ reason: "InvalidInput", sessionId: session.id, detail: error.message })
    )
  )

/**
 * Messages as a commit takes them: `Schema`-encoded `ChatRequest.Message`s.
 *
 * @since 0.1.0
 * @category history
 */
export const encode = (
  messages: ReadonlyArray<ChatRequest.Message>
): Effect.Effect<ReadonlyArray<unknown>, SessionStoreError> =>
  encodeMessages(messages).pipe(
    Effect.mapError((error) => new SessionStoreError({ reason: "InvalidInput", detail: error.message }))
  )

/**
 * A value as JSON text, or `InvalidInput` when it has none (a `bigint`, a
 * cycle, `undefined`, a function). Every store keeps JSON text, the memory one
 * included, so what a store gives back is what `JSON.parse` makes of it in
 * every implementation (e.g. a property holding `undefined` is dropped).
 *
 * @since 0.1.0
 * @category codec
 */
export const toJson = (sessionId: string, what: string, value: unknown): Effect.Effect<string, SessionStoreError> =>
  Effect.suspend(() => {
    try {
      const text = JSON.stringify(value)
      if (typeof text === "string") return Effect.succeed(text)
    } catch (cause) {
      return Effect.fail(invalid(sessionId, `${what} is not JSON: ${String(cause)}`))
    }
    return Effect.fail(invalid(sessionId, `${what} is not JSON`))
  })

/**
 * Checks a commit and returns it as JSON text (`messages` an array, `usage`
 * absent or a value), before any write.
 *
 * @since 0.1.0
 * @category codec
 */
export const encodeCommit = (
  sessionId: string,
  commit: Commit
): Effect.Effect<{ readonly messages: string; readonly usage: string | null }, SessionStoreError> =>
  Effect.gen(function*() {
    yield* validate(sessionId, Commit, commit)
    if (commit.turn <= commit.after) {
      return yield* invalid(sessionId, `turn ${commit.turn} does not follow turn ${commit.after}`)
    }
    const messages = yield* toJson(sessionId, "messages", commit.messages)
    const usage = commit.usage === undefined ? null : yield* toJson(sessionId, "usage", commit.usage)
    return { messages, usage }
  })

/**
 * Checks a new session (its id, its `maxTurns`, `options` as JSON) before any write.
 *
 * @since 0.1.0
 * @category codec
 */
export const encodeNewSession = (
  session: NewSession
): Effect.Effect<{ readonly options: string | null }, SessionStoreError> =>
  Effect.gen(function*() {
    yield* validate(session.id, NewSession, session)
    return { options: session.options === undefined ? null : yield* toJson(session.id, "options", session.options) }
  })

const validate = <A, I>(sessionId: string, schema: Schema.Schema<A, I>, value: A) =>
  Schema.validate(schema)(value).pipe(Effect.mapError((error) => invalid(sessionId, error.message)))

const invalid = (sessionId: string, detail: string) =>
  new SessionStoreError({ reason: "InvalidInput", sessionId, detail })

interface MemoryRow {
  readonly session: Omit<StoredSession, "turns" | "options">
  readonly options: string | null
  readonly turns: ReadonlyArray<{ readonly turn: number; readonly messages: string; readonly usage: string | null; readonly committedAt: number }>
}

type CommitOutcome =
  | { readonly _tag: "NotFound" }
  | { readonly _tag: "Conflict"; readonly lastTurn: number }
  | { readonly _tag: "Committed"; readonly trimmed: number }

const fromRow = (row: MemoryRow): StoredSession => ({
  ...row.session,
  ...(row.options === null ? {} : { options: JSON.parse(row.options) }),
  turns: row.turns.map((turn) => ({
    turn: turn.turn,
    messages: JSON.parse(turn.messages),
    ...(turn.usage === null ? {} : { usage: JSON.parse(turn.usage) }),
    committedAt: turn.committedAt
  }))
})

/**
 * An in-memory store: one process, gone with it. Keeps JSON text like the SQL
 * store does, so both give back the same values.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<SessionStore> = Effect.gen(function*() {
  const rows = yield* Ref.make<ReadonlyMap<string, MemoryRow>>(new Map())
  const create = (session: NewSession) =>
    Effect.gen(function*() {
      const { options } = yield* encodeNewSession(session)
      const now = yield* Clock.currentTimeMillis
      // Absent as the SQL store gives it back: a setting holding `undefined` is no setting.
      const settings = Object.fromEntries(
        Object.entries(session).filter(([key, value]) => key !== "options" && value !== undefined)
      ) as Omit<NewSession, "options">
      const row: MemoryRow = { session: { ...settings, lastTurn: 0, createdAt: now, updatedAt: now }, options, turns: [] }
      const created = yield* Ref.modify(rows, (map): [boolean, ReadonlyMap<string, MemoryRow>] => {
        if (map.has(session.id)) return [false, map]
        return [true, new Map(map).set(session.id, row)]
      })
      if (!created) {
        return yield* new SessionStoreError({ reason: "AlreadyExists", sessionId: session.id, detail: "already stored" })
      }
      return fromRow(row)
    })

  const commitTurn = (id: string, commit: Commit) =>
    Effect.gen(function*() {
      const encoded = yield* encodeCommit(id, commit)
      const now = yield* Clock.currentTimeMillis
      // One Ref.modify is the transaction: the check and the write cannot interleave.
      const outcome = yield* Ref.modify(rows, (map): [CommitOutcome, ReadonlyMap<string, MemoryRow>] => {
        const row = map.get(id)
        if (row === undefined) return [{ _tag: "NotFound" }, map]
        if (row.session.lastTurn !== commit.after) return [{ _tag: "Conflict", lastTurn: row.session.lastTurn }, map]
        const appended = [...row.turns, { turn: commit.turn, ...encoded, committedAt: now }]
        const drop = new Set(trim(appended.map((turn) => turn.turn), row.session.maxTurns))
        const next: MemoryRow = {
          session: { ...row.session, lastTurn: commit.turn, updatedAt: now },
          options: row.options,
          turns: appended.filter((turn) => !drop.has(turn.turn))
        }
        return [{ _tag: "Committed", trimmed: drop.size }, new Map(map).set(id, next)]
      })
      if (outcome._tag === "NotFound") return yield* notFound(id)
      if (outcome._tag === "Conflict") return yield* conflict(id, commit.after, outcome.lastTurn)
      return { lastTurn: commit.turn, trimmed: outcome.trimmed }
    })

  return SessionStore.of({
    create,
    load: (id) => Effect.map(Ref.get(rows), (map) => Option.map(Option.fromNullable(map.get(id)), fromRow)),
    commitTurn,
    list: Effect.map(Ref.get(rows), (map) =>
      [...map.values()]
        .map(({ session: { createdAt, id, lastTurn, model, provider, updatedAt } }) => ({ id, provider, model, lastTurn, createdAt, updatedAt }))
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))),
    remove: (id) =>
      Ref.modify(rows, (map): [boolean, ReadonlyMap<string, MemoryRow>] => {
        if (!map.has(id)) return [false, map]
        const next = new Map(map)
        next.delete(id)
        return [true, next]
      })
  })
})

/**
 * The `Conflict` error every store raises when `after` is not the stored last turn.
 *
 * @since 0.1.0
 * @category errors
 */
export const conflict = (sessionId: string, after: number, lastTurn: number): SessionStoreError =>
  new SessionStoreError({
    reason: "Conflict",
    sessionId,
    lastTurn,
    detail: `commit expected last turn ${after}, the store has ${lastTurn}`
  })

/**
 * The `NotFound` error every store raises on a commit to an unknown id.
 *
 * @since 0.1.0
 * @category errors
 */
export const notFound = (sessionId: string): SessionStoreError =>
  new SessionStoreError({ reason: "NotFound", sessionId, detail: "no such session" })

/**
 * The in-memory store as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<SessionStore> = Layer.effect(SessionStore, makeMemory)
