/**
 * A `SessionStore` on `@effect/sql`: any `SqlClient` in the environment
 * (SQLite through `@streamvisor/cluster/sqlite`, PostgreSQL through
 * `@streamvisor/cluster/pg`, or a client you built).
 *
 * Tables (created by {@link migrate}, recorded in `streamvisor_migrations`):
 *
 * - `streamvisor_sessions(id PK, provider, model, system, options, max_turns,
 *   last_turn, created_at, updated_at)` — one row per session.
 * - `streamvisor_turns(session_id, turn, messages, usage, committed_at,
 *   PK (session_id, turn))` — one row per kept turn; `messages` is a JSON array,
 *   `usage` JSON or NULL.
 *
 * A commit is one transaction: a compare-and-set of `last_turn`
 * (`UPDATE … WHERE last_turn = after`), the turn's insert, then the trim. Any
 * failure rolls the three back together.
 *
 * @since 0.1.0
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { SessionStore } from "@streamvisor/supervisor"
import * as Migrations from "./internal/migrations.js"

/**
 * The table where applied migrations are recorded (not `@effect/sql`'s
 * default `effect_sql_migrations`, which an application's own migrations use:
 * ids in one table would collide).
 *
 * @since 0.1.0
 * @category migrations
 */
export const migrationsTable = "streamvisor_migrations"

/**
 * The migrations this package ships, for `Migrator.make` or a dialect's migrator.
 *
 * @since 0.1.0
 * @category migrations
 */
export const migrations: Migrator.Loader = Migrator.fromRecord({
  "0001_create_sessions": Migrations.create_sessions,
  "0002_create_send_claims": Migrations.create_send_claims
})

/**
 * Apply the migrations not yet applied; returns the ones it ran. Uses
 * `@effect/sql`'s dialect-neutral migrator (the one `SqliteMigrator` and
 * `PgMigrator` wrap): theirs add only a schema dump through the `sqlite3` /
 * `pg_dump` command line, which would make every user provide `FileSystem`,
 * `Path` and `CommandExecutor`. PostgreSQL runs it under `LOCK TABLE`, so
 * runners starting together migrate once.
 *
 * @since 0.1.0
 * @category migrations
 */
export const migrate: Effect.Effect<
  ReadonlyArray<readonly [id: number, name: string]>,
  Migrator.MigrationError | SqlError,
  SqlClient.SqlClient
> = Migrator.make({})({ loader: migrations, table: migrationsTable })

// PostgreSQL returns BIGINT as a string (pg-types keeps 64-bit integers exact).
const Millis = Schema.Union(Schema.Number, Schema.NumberFromString)
const Int = Schema.Union(Schema.Number, Schema.NumberFromString)

const SessionRow = Schema.Struct({
  id: Schema.String,
  provider: Schema.String,
  model: Schema.String,
  system: Schema.NullOr(Schema.String),
  options: Schema.NullOr(Schema.String),
  max_turns: Schema.NullOr(Int),
  last_turn: Int,
  created_at: Millis,
  updated_at: Millis
})

const LoadRow = Schema.Struct({
  ...SessionRow.fields,
  turn: Schema.NullOr(Int),
  messages: Schema.NullOr(Schema.String),
  usage: Schema.NullOr(Schema.String),
  committed_at: Schema.NullOr(Millis)
})

const decodeLoadRows = Schema.decodeUnknown(Schema.Array(LoadRow))
const decodeSummaryRows = Schema.decodeUnknown(Schema.Array(SessionRow))

// SqlError's own message is generic ("Failed to execute statement"); the
// driver's error under it says what happened.
const describe = (cause: unknown): string => {
  const message = cause instanceof Error ? cause.message : String(cause)
  const inner = cause instanceof Error ? cause.cause : undefined
  return inner instanceof Error && inner.message !== message ? `${message}: ${inner.message}` : message
}

const backend = (sessionId: string | undefined) => (cause: unknown) =>
  new SessionStore.SessionStoreError({
    reason: "Backend",
    ...(sessionId === undefined ? {} : { sessionId }),
    detail: describe(cause),
    cause
  })

/**
 * The store over the `SqlClient` in the environment. Does not migrate: use
 * {@link layer}, or run {@link migrate} first.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<SessionStore.SessionStore, never, SqlClient.SqlClient> = Effect.gen(function*() {
  // Our own column names, whatever name transforms the application's client uses.
  const client = yield* SqlClient.SqlClient
  const sql = client.withoutTransforms()

  const create = (session: SessionStore.NewSession) =>
    Effect.gen(function*() {
      const { options } = yield* SessionStore.encodeNewSession(session)
      const now = yield* Clock.currentTimeMillis
      const inserted = yield* sql`INSERT INTO streamvisor_sessions
        (id, provider, model, system, options, max_turns, last_turn, created_at, updated_at)
        VALUES (${session.id}, ${session.provider}, ${session.model}, ${session.system ?? null}, ${options},
                ${session.maxTurns ?? null}, 0, ${now}, ${now})
        ON CONFLICT (id) DO NOTHING RETURNING id`.pipe(Effect.mapError(backend(session.id)))
      if (inserted.length === 0) {
        return yield* new SessionStore.SessionStoreError({
          reason: "AlreadyExists",
          sessionId: session.id,
          detail: "already stored"
        })
      }
      // Given back as `load` would: `options` through JSON, absent settings absent.
      const { options: _, system, maxTurns, ...settings } = session
      return {
        ...settings,
        ...(system === undefined ? {} : { system }),
        ...(options === null ? {} : { options: JSON.parse(options) }),
        ...(maxTurns === undefined ? {} : { maxTurns }),
        lastTurn: 0,
        turns: [],
        createdAt: now,
        updatedAt: now
      }
    })

  // One statement, so one snapshot: the session row and its turns cannot
  // disagree even under PostgreSQL's READ COMMITTED.
  const load = (id: string) =>
    sql`SELECT s.id, s.provider, s.model, s.system, s.options, s.max_turns, s.last_turn, s.created_at,
               s.updated_at, t.turn, t.messages, t.usage, t.committed_at
        FROM streamvisor_sessions s LEFT JOIN streamvisor_turns t ON t.session_id = s.id
        WHERE s.id = ${id} ORDER BY t.turn`.pipe(
      Effect.flatMap(decodeLoadRows),
      Effect.map((rows): Option.Option<SessionStore.StoredSession> => {
        if (rows.length === 0) return Option.none()
        const first = rows[0]!
        return Option.some({
          id: first.id,
          provider: first.provider,
          model: first.model,
          ...(first.system === null ? {} : { system: first.system }),
          ...(first.options === null ? {} : { options: JSON.parse(first.options) }),
          ...(first.max_turns === null ? {} : { maxTurns: first.max_turns }),
          lastTurn: first.last_turn,
          createdAt: first.created_at,
          updatedAt: first.updated_at,
          turns: rows.flatMap((row) =>
            row.turn === null ? [] : [{
              turn: row.turn,
              messages: JSON.parse(row.messages!),
              ...(row.usage === null ? {} : { usage: JSON.parse(row.usage) }),
              committedAt: row.committed_at!
            }]
          )
        })
      }),
      Effect.mapError(backend(id))
    )

  const commitTurn = (id: string, commit: SessionStore.Commit) =>
    Effect.gen(function*() {
      const encoded = yield* SessionStore.encodeCommit(id, commit)
      const now = yield* Clock.currentTimeMillis
      // The compare-and-set: PostgreSQL locks the row, so a concurrent commit
      // after the same turn waits, re-reads `last_turn` and matches nothing.
      const updated = yield* sql<{ max_turns: number | string | null }>`UPDATE streamvisor_sessions
        SET last_turn = ${commit.turn}, updated_at = ${now}
        WHERE id = ${id} AND last_turn = ${commit.after} RETURNING max_turns`
      if (updated.length === 0) {
        const current = yield* sql<{ last_turn: number | string }>`SELECT last_turn FROM streamvisor_sessions WHERE id = ${id}`
        if (current.length === 0) return yield* SessionStore.notFound(id)
        return yield* SessionStore.conflict(id, commit.after, Number(current[0]!.last_turn))
      }
      yield* sql`INSERT INTO streamvisor_turns (session_id, turn, messages, usage, committed_at)
        VALUES (${id}, ${commit.turn}, ${encoded.messages}, ${encoded.usage}, ${now})`
      const maxTurns = updated[0]!.max_turns
      // The trimming rule (SessionStore.trim): keep the newest `max_turns` turns, whole.
      const trimmed = maxTurns === null ? [] : yield* sql`DELETE FROM streamvisor_turns
        WHERE session_id = ${id} AND turn NOT IN (
          SELECT turn FROM streamvisor_turns WHERE session_id = ${id} ORDER BY turn DESC LIMIT ${Number(maxTurns)}
        ) RETURNING turn`
      return { lastTurn: commit.turn, trimmed: trimmed.length }
    }).pipe(
      sql.withTransaction,
      Effect.catchTag("SqlError", (error) => Effect.fail(backend(id)(error)))
    )

  const list = sql`SELECT id, provider, model, system, options, max_turns, last_turn, created_at, updated_at
    FROM streamvisor_sessions ORDER BY id`.pipe(
    Effect.flatMap(decodeSummaryRows),
    Effect.map((rows) =>
      rows.map((row) => ({
        id: row.id,
        provider: row.provider,
        model: row.model,
        lastTurn: row.last_turn,
        createdAt: row.created_at,
        updatedAt: row.updated_at
      }))
    ),
    Effect.mapError(backend(undefined))
  )

  const remove = (id: string) =>
    Effect.gen(function*() {
      yield* sql`DELETE FROM streamvisor_turns WHERE session_id = ${id}`
      const removed = yield* sql`DELETE FROM streamvisor_sessions WHERE id = ${id} RETURNING id`
      return removed.length > 0
    }).pipe(sql.withTransaction, Effect.mapError(backend(id)))

  return SessionStore.SessionStore.of({ create, load, commitTurn, list, remove })
})

/**
 * The store over the `SqlClient` in the environment, after {@link migrate}.
 *
 * @example
 * ```ts
 * import { SqlSessionStore } from "@streamvisor/cluster"
 * import { SqliteClient } from "@effect/sql-sqlite-node"
 * import { Layer } from "effect"
 *
 * const StoreLive = SqlSessionStore.layer.pipe(Layer.provide(SqliteClient.layer({ filename: "sessions.db" })))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<SessionStore.SessionStore, Migrator.MigrationError | SqlError, SqlClient.SqlClient> =
  Layer.effect(SessionStore.SessionStore, Effect.zipRight(migrate, make))
